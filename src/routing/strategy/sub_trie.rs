//! A byte trie of subscription prefixes with counts (libzmq's trie).

use bytes::Bytes;

/// Prefixes with a count each; a message matches when any prefix is a prefix of it.
#[derive(Debug, Default)]
pub(crate) struct SubTrie {
    root: Node,
}

#[derive(Debug, Default)]
struct Node {
    /// How many times this exact prefix was added and not yet removed.
    count: usize,
    /// Children sorted by byte.
    children: Vec<(u8, Node)>,
}

impl Node {
    fn child(&self, byte: u8) -> Option<&Node> {
        self.children
            .binary_search_by_key(&byte, |(b, _)| *b)
            .ok()
            .map(|i| &self.children[i].1)
    }

    fn is_empty(&self) -> bool {
        self.count == 0 && self.children.is_empty()
    }
}

impl SubTrie {
    /// Adds one count of `prefix`; true if the prefix was not there before.
    pub(crate) fn add(&mut self, prefix: &[u8]) -> bool {
        let mut node = &mut self.root;
        for &byte in prefix {
            let i = match node.children.binary_search_by_key(&byte, |(b, _)| *b) {
                Ok(i) => i,
                Err(i) => {
                    node.children.insert(i, (byte, Node::default()));
                    i
                }
            };
            node = &mut node.children[i].1;
        }
        node.count += 1;
        node.count == 1
    }

    /// Removes one count of `prefix`; true if that was its last count.
    pub(crate) fn remove(&mut self, prefix: &[u8]) -> bool {
        fn go(node: &mut Node, prefix: &[u8]) -> Option<bool> {
            match prefix.split_first() {
                None => {
                    if node.count == 0 {
                        return None;
                    }
                    node.count -= 1;
                    Some(node.count == 0)
                }
                Some((&byte, rest)) => {
                    let i = node
                        .children
                        .binary_search_by_key(&byte, |(b, _)| *b)
                        .ok()?;
                    let gone = go(&mut node.children[i].1, rest)?;
                    if node.children[i].1.is_empty() {
                        node.children.remove(i);
                    }
                    Some(gone)
                }
            }
        }
        // Recursion depth is the prefix length, which the caller's message
        // size bounds; subscriptions come from our own user or a peer whose
        // messages are capped by the max message size.
        go(&mut self.root, prefix).unwrap_or(false)
    }

    /// Whether `prefix` is present.
    pub(crate) fn contains(&self, prefix: &[u8]) -> bool {
        let mut node = &self.root;
        for &byte in prefix {
            match node.child(byte) {
                Some(next) => node = next,
                None => return false,
            }
        }
        node.count > 0
    }

    /// Whether some prefix in the trie is a prefix of `data`.
    pub(crate) fn matches(&self, data: &[u8]) -> bool {
        let mut node = &self.root;
        if node.count > 0 {
            return true;
        }
        for &byte in data {
            match node.child(byte) {
                Some(next) => node = next,
                None => return false,
            }
            if node.count > 0 {
                return true;
            }
        }
        false
    }

    /// Every prefix present, once each.
    pub(crate) fn prefixes(&self) -> Vec<Bytes> {
        let mut out = Vec::new();
        let mut path = Vec::new();
        // Explicit stack of (node, next child index) so a long prefix cannot overflow the stack.
        let mut stack: Vec<(&Node, usize)> = vec![(&self.root, 0)];
        if self.root.count > 0 {
            out.push(Bytes::new());
        }
        while let Some((node, i)) = stack.pop() {
            if let Some((byte, child)) = node.children.get(i) {
                stack.push((node, i + 1));
                path.push(*byte);
                if child.count > 0 {
                    out.push(Bytes::copy_from_slice(&path));
                }
                stack.push((child, 0));
            } else {
                path.pop();
            }
        }
        out
    }

    /// Whether there is no prefix at all.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.root.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_matching() {
        let mut t = SubTrie::default();
        assert!(!t.matches(b"anything"));
        assert!(t.add(b"ab"));
        assert!(t.matches(b"abc"));
        assert!(t.matches(b"ab"));
        assert!(!t.matches(b"a"));
        assert!(!t.matches(b"ba"));
        assert!(t.add(b""));
        assert!(t.matches(b"zzz"));
    }

    #[test]
    fn counts_and_pruning() {
        let mut t = SubTrie::default();
        assert!(t.add(b"x"));
        assert!(!t.add(b"x"));
        assert!(!t.remove(b"x"));
        assert!(t.contains(b"x"));
        assert!(t.remove(b"x"));
        assert!(!t.contains(b"x"));
        assert!(!t.remove(b"x"));
        assert!(!t.remove(b"never"));
        assert!(t.is_empty());
    }

    #[test]
    fn lists_prefixes() {
        let mut t = SubTrie::default();
        for p in [&b"b"[..], b"a", b"abc", b"", b"ab"] {
            t.add(p);
        }
        let mut got = t.prefixes();
        got.sort();
        let want: Vec<Bytes> = [&b""[..], b"a", b"ab", b"abc", b"b"]
            .iter()
            .map(|p| Bytes::copy_from_slice(p))
            .collect();
        assert_eq!(got, want);
    }
}
