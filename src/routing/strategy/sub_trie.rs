//! Subscription prefixes with counts, as a compressed (radix) trie: an edge
//! holds a run of bytes, so a subscription costs a node and its bytes, not
//! a node per byte (libzmq's trie has one per byte).
//!
//! A peer chooses its prefixes, and a pattern like `a`, `aa`, `aaa`, ...
//! still makes a node per prefix: nothing here recurses over the depth, not
//! even dropping the trie or formatting it for `Debug`.

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
    /// How many times the prefix ending here was added and not yet removed.
    count: usize,
    /// Edges to children, sorted by their first byte (unique per node).
    children: Vec<Edge>,
}

/// A run of bytes (never empty) leading to a node.
struct Edge {
    label: Box<[u8]>,
    node: Node,
}

impl Node {
    /// The index of the edge whose label starts with `byte`.
    fn edge(&self, byte: u8) -> Result<usize, usize> {
        self.children.binary_search_by_key(&byte, |e| e.label[0])
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
        let mut stack: Vec<Node> = self.children.drain(..).map(|e| e.node).collect();
        while let Some(mut node) = stack.pop() {
            stack.extend(node.children.drain(..).map(|e| e.node));
        }
    }
}

impl Edge {
    /// The node this edge leads to has no count and one child: the edge
    /// now leads to that child, its label the two labels joined.
    fn merge_with_only_child(&mut self) {
        if let Some(child) = self.node.children.pop() {
            let mut label = self.label.to_vec();
            label.extend_from_slice(&child.label);
            self.label = label.into();
            self.node = child.node;
        }
    }
}

/// How many leading bytes `a` and `b` share.
fn common_len(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl SubTrie {
    /// Adds one count of `prefix`; true if the prefix was not there before.
    pub(crate) fn add(&mut self, prefix: &[u8]) -> bool {
        let mut node = &mut self.root;
        let mut rest = prefix;
        while let Some(&first) = rest.first() {
            let i = match node.edge(first) {
                Ok(i) => i,
                Err(i) => {
                    node.children.insert(
                        i,
                        Edge {
                            label: rest.into(),
                            node: Node::default(),
                        },
                    );
                    i
                }
            };
            let edge = &mut node.children[i];
            let shared = common_len(&edge.label, rest);
            if shared < edge.label.len() {
                // Split the edge where `rest` leaves it.
                let tail: Box<[u8]> = edge.label[shared..].into();
                let below = std::mem::take(&mut edge.node);
                edge.label = edge.label[..shared].into();
                edge.node.children.push(Edge {
                    label: tail,
                    node: below,
                });
            }
            rest = &rest[shared..];
            node = &mut node.children[i].node;
        }
        node.count += 1;
        node.count == 1
    }

    /// Removes one count of `prefix`; true if that was its last count. A
    /// node left with no count is pruned (no children) or merged into its
    /// one child, so the trie stays as small as its prefixes.
    pub(crate) fn remove(&mut self, prefix: &[u8]) -> bool {
        // The edge indices down to the prefix's node.
        let mut path = Vec::new();
        if self
            .node_of(prefix, |i| path.push(i))
            .is_none_or(|node| node.count == 0)
        {
            return false;
        }
        // Down again, mutably, keeping the parent of the prefix's node.
        let Some((&last, above)) = path.split_last() else {
            self.root.count -= 1;
            return self.root.count == 0;
        };
        let mut parent = &mut self.root;
        for &i in above {
            parent = &mut parent.children[i].node;
        }
        let target = &mut parent.children[last].node;
        target.count -= 1;
        if target.count > 0 {
            return false;
        }
        match target.children.len() {
            0 => {
                parent.children.remove(last);
            }
            1 => parent.children[last].merge_with_only_child(),
            _ => {}
        }
        // A parent (not the root) left with no count and one child merges too.
        if !above.is_empty() && parent.count == 0 && parent.children.len() == 1 {
            let mut grand = &mut self.root;
            for &i in &above[..above.len() - 1] {
                grand = &mut grand.children[i].node;
            }
            grand.children[above[above.len() - 1]].merge_with_only_child();
        }
        true
    }

    /// Whether `prefix` is present.
    pub(crate) fn contains(&self, prefix: &[u8]) -> bool {
        self.node_of(prefix, |_| {})
            .is_some_and(|node| node.count > 0)
    }

    /// The node where `prefix` ends exactly, if the trie has one; `edge` is
    /// told the index of each edge taken on the way down.
    fn node_of(&self, prefix: &[u8], mut edge: impl FnMut(usize)) -> Option<&Node> {
        let mut node = &self.root;
        let mut rest = prefix;
        while let Some(&first) = rest.first() {
            let i = node.edge(first).ok()?;
            let next = &node.children[i];
            rest = rest.strip_prefix(&next.label[..])?;
            edge(i);
            node = &next.node;
        }
        Some(node)
    }

    /// Whether some prefix in the trie is a prefix of `data`.
    pub(crate) fn matches(&self, data: &[u8]) -> bool {
        let mut node = &self.root;
        let mut rest = data;
        loop {
            if node.count > 0 {
                return true;
            }
            let Some(&first) = rest.first() else {
                return false;
            };
            let Ok(i) = node.edge(first) else {
                return false;
            };
            let edge = &node.children[i];
            if !rest.starts_with(&edge.label) {
                return false;
            }
            rest = &rest[edge.label.len()..];
            node = &edge.node;
        }
    }

    /// Every prefix present, once each.
    pub(crate) fn prefixes(&self) -> Vec<Bytes> {
        let mut out = Vec::new();
        if self.root.count > 0 {
            out.push(Bytes::new());
        }
        // Explicit stack of (node, next edge index, path length when the
        // node was entered), so a deep trie cannot overflow the stack.
        let mut path: Vec<u8> = Vec::new();
        let mut stack: Vec<(&Node, usize, usize)> = vec![(&self.root, 0, 0)];
        while let Some((node, i, len)) = stack.pop() {
            path.truncate(len);
            if let Some(edge) = node.children.get(i) {
                stack.push((node, i + 1, len));
                path.extend_from_slice(&edge.label);
                if edge.node.count > 0 {
                    out.push(Bytes::copy_from_slice(&path));
                }
                stack.push((&edge.node, 0, path.len()));
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

    proptest::proptest! {
        /// The radix trie answers as a plain map of counted prefixes does,
        /// whatever the adds and removes (short prefixes over a tiny
        /// alphabet, so they share, split and merge edges all the time).
        #[test]
        fn behaves_as_a_map_of_counted_prefixes(
            ops in proptest::collection::vec(
                (proptest::bool::ANY, proptest::collection::vec(0u8..3, 0..6)),
                0..60,
            ),
            probes in proptest::collection::vec(proptest::collection::vec(0u8..3, 0..8), 0..20),
        ) {
            use std::collections::BTreeMap;
            let mut trie = SubTrie::default();
            let mut model: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
            for (add, prefix) in ops {
                if add {
                    let count = model.entry(prefix.clone()).or_default();
                    *count += 1;
                    proptest::prop_assert_eq!(trie.add(&prefix), *count == 1);
                } else {
                    let last = match model.get_mut(&prefix) {
                        Some(count) => {
                            *count -= 1;
                            let last = *count == 0;
                            if last {
                                model.remove(&prefix);
                            }
                            last
                        }
                        None => false,
                    };
                    proptest::prop_assert_eq!(trie.remove(&prefix), last);
                }
            }
            let mut got: Vec<Vec<u8>> = trie.prefixes().iter().map(|p| p.to_vec()).collect();
            got.sort();
            let want: Vec<Vec<u8>> = model.keys().cloned().collect();
            proptest::prop_assert_eq!(got, want);
            for probe in probes {
                proptest::prop_assert_eq!(trie.contains(&probe), model.contains_key(&probe));
                let matches = model.keys().any(|p| probe.starts_with(p));
                proptest::prop_assert_eq!(trie.matches(&probe), matches);
            }
            proptest::prop_assert_eq!(trie.is_empty(), model.is_empty());
        }
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
