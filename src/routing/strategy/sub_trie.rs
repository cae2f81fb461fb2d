//! A byte trie of subscription prefixes with counts (libzmq's trie).
//!
//! A prefix is one node per byte, and a peer chooses its prefixes, so the
//! trie can be as deep as the longest subscription a peer may send (its
//! message or command size limit): nothing here recurses over the depth,
//! not even dropping it or formatting it for `Debug`.

use std::fmt;

use bytes::Bytes;

/// Prefixes with a count each; a message matches when any prefix is a prefix of it.
#[derive(Default)]
pub(crate) struct SubTrie {
    root: Node,
}

impl fmt::Debug for SubTrie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the nodes: formatting them would recurse over the depth.
        f.debug_struct("SubTrie")
            .field("prefixes", &self.prefixes().len())
            .finish()
    }
}

#[derive(Default)]
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

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.count == 0 && self.children.is_empty()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Children are taken out onto a heap stack and dropped one by one,
        // each once its own children are out: no recursion over the depth.
        let mut stack: Vec<Node> = self.children.drain(..).map(|(_, node)| node).collect();
        while let Some(mut node) = stack.pop() {
            stack.extend(node.children.drain(..).map(|(_, child)| child));
        }
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

    /// Removes one count of `prefix`; true if that was its last count. A
    /// prefix left with no count and no longer ones is pruned with the
    /// nodes that led only to it.
    pub(crate) fn remove(&mut self, prefix: &[u8]) -> bool {
        // First pass, read only: the prefix's node must exist with a count;
        // `cut` is the depth of the last node on the way that must stay (it
        // has a count of its own or another child), below which the chain
        // serves only this prefix.
        let mut node = &self.root;
        let mut cut = 0;
        for (depth, &byte) in prefix.iter().enumerate() {
            if node.count > 0 || node.children.len() > 1 || depth == 0 {
                cut = depth;
            }
            match node.child(byte) {
                Some(next) => node = next,
                None => return false,
            }
        }
        if node.count == 0 {
            return false;
        }
        let last = node.count == 1;
        let prune = last && node.children.is_empty();
        // Second pass: down to the node, then either decrement or drop the
        // chain below `cut` in one removal (dropped without recursion).
        let mut node = &mut self.root;
        for (depth, &byte) in prefix.iter().enumerate() {
            let Ok(i) = node.children.binary_search_by_key(&byte, |(b, _)| *b) else {
                return false;
            };
            if prune && depth == cut {
                node.children.remove(i);
                return true;
            }
            node = &mut node.children[i].1;
        }
        node.count -= 1;
        last
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
    fn pruning_keeps_what_other_prefixes_need() {
        let mut t = SubTrie::default();
        for p in [&b"a"[..], b"abcd", b"abxy"] {
            t.add(p);
        }
        assert!(t.remove(b"abcd"));
        assert!(t.contains(b"a") && t.contains(b"abxy") && !t.contains(b"abcd"));
        assert!(t.remove(b"abxy"));
        assert!(t.contains(b"a"));
        assert!(t.remove(b"a"));
        assert!(t.is_empty());
        // A prefix below a longer one: only its count goes.
        t.add(b"ab");
        t.add(b"abc");
        assert!(t.remove(b"ab"));
        assert!(t.contains(b"abc") && !t.contains(b"ab"));
        assert!(t.remove(b"abc"));
        assert!(t.is_empty());
    }

    #[test]
    fn a_subscription_of_a_million_bytes_is_added_matched_removed_and_dropped() {
        // One node per byte: anything recursive over the depth would
        // overflow the test thread's stack here.
        let long = vec![b'x'; 1 << 20];
        let mut t = SubTrie::default();
        assert!(t.add(&long));
        assert!(t.matches(&long));
        assert_eq!(t.prefixes().len(), 1);
        assert!(format!("{t:?}").contains("prefixes: 1"));
        assert!(t.remove(&long));
        assert!(t.is_empty());
        t.add(&long);
        drop(t);
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
