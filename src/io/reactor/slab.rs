//! Entries keyed by mio tokens that carry a generation, so an event for a
//! removed source can never reach the entry that reused its slot.

use mio::Token;

#[derive(Debug)]
struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

/// A slab whose keys are `Token(index | generation << 32)`.
#[derive(Debug)]
pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<usize>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

/// Index bits of a token; indexes stay below this, so the waker's
/// `Token(usize::MAX)` never collides.
const INDEX_MASK: usize = 0xffff_fffe;

fn split(token: Token) -> (usize, u32) {
    (token.0 & 0xffff_ffff, (token.0 >> 32) as u32)
}

impl<T> Slab<T> {
    pub(crate) fn insert(&mut self, value: T) -> Token {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    value: None,
                });
                self.slots.len() - 1
            }
        };
        debug_assert!(index <= INDEX_MASK);
        let slot = &mut self.slots[index];
        slot.value = Some(value);
        self.len += 1;
        Token(index | (slot.generation as usize) << 32)
    }

    pub(crate) fn get_mut(&mut self, token: Token) -> Option<&mut T> {
        let (index, generation) = split(token);
        let slot = self.slots.get_mut(index)?;
        if slot.generation != generation {
            return None;
        }
        slot.value.as_mut()
    }

    pub(crate) fn remove(&mut self, token: Token) -> Option<T> {
        let (index, generation) = split(token);
        let slot = self.slots.get_mut(index)?;
        if slot.generation != generation {
            return None;
        }
        let value = slot.value.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(index);
        self.len -= 1;
        Some(value)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Tokens of the entries for which `pred` holds.
    pub(crate) fn tokens_where(&self, mut pred: impl FnMut(&T) -> bool) -> Vec<Token> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let v = s.value.as_ref()?;
                pred(v).then_some(Token(i | (s.generation as usize) << 32))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_tokens_miss() {
        let mut slab = Slab::default();
        let a = slab.insert("a");
        assert_eq!(slab.remove(a), Some("a"));
        let b = slab.insert("b");
        assert_ne!(a, b, "a reused slot gets a new generation");
        assert!(slab.get_mut(a).is_none());
        assert!(slab.remove(a).is_none());
        assert_eq!(slab.get_mut(b).copied(), Some("b"));
        assert!(!slab.is_empty());
        assert_eq!(slab.tokens_where(|v| *v == "b"), vec![b]);
    }
}
