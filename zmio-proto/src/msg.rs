//! [`Msg`]: one multipart message, its frames held as [`bytes::Bytes`] so that
//! cloning, fan-out and slicing received data never copy payloads.

use bytes::Bytes;

/// A message: one or more frames, sent and received atomically.
///
/// A single-frame message does not allocate beyond its payload; frames are
/// reference-counted [`Bytes`], so cloning a message (as PUB does for every
/// subscriber) copies no payload.
///
/// ```
/// use zmio_proto::Msg;
/// let mut msg = Msg::from("header");
/// msg.push_back("body");
/// assert_eq!(msg.frame_count(), 2);
/// assert_eq!(&msg.frame(1).unwrap()[..], b"body");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Msg {
    first: Bytes,
    rest: Vec<Bytes>,
}

impl Msg {
    /// A message of one empty frame.
    pub fn new() -> Msg {
        Msg::default()
    }

    /// A message from its frames, in order. An empty iterator gives a message of
    /// one empty frame, because ZMTP has no message without a frame.
    pub fn from_frames<I, F>(frames: I) -> Msg
    where
        I: IntoIterator<Item = F>,
        F: Into<Bytes>,
    {
        let mut iter = frames.into_iter();
        let first = iter.next().map(Into::into).unwrap_or_default();
        Msg {
            first,
            rest: iter.map(Into::into).collect(),
        }
    }

    /// Number of frames (always at least one).
    pub fn frame_count(&self) -> usize {
        1 + self.rest.len()
    }

    /// Frame `index`, if there is one.
    pub fn frame(&self, index: usize) -> Option<&Bytes> {
        match index {
            0 => Some(&self.first),
            i => self.rest.get(i - 1),
        }
    }

    /// The frames in order.
    pub fn frames(&self) -> impl ExactSizeIterator<Item = &Bytes> + DoubleEndedIterator {
        std::slice::from_ref(&self.first)
            .iter()
            .chain_exact(&self.rest)
    }

    /// Total payload bytes over all frames.
    pub fn size(&self) -> usize {
        self.first.len() + self.rest.iter().map(Bytes::len).sum::<usize>()
    }

    /// Appends a frame at the end.
    pub fn push_back(&mut self, frame: impl Into<Bytes>) {
        self.rest.push(frame.into());
    }

    /// Inserts a frame at the front.
    pub fn push_front(&mut self, frame: impl Into<Bytes>) {
        let old = std::mem::replace(&mut self.first, frame.into());
        self.rest.insert(0, old);
    }

    /// The frames as a vector.
    pub fn into_frames(self) -> Vec<Bytes> {
        let mut frames = Vec::with_capacity(self.frame_count());
        frames.push(self.first);
        frames.extend(self.rest);
        frames
    }

    /// The only frame, if the message has exactly one (subscriptions are
    /// one-frame messages `0x01|0x00 + topic`).
    pub fn single_frame(&self) -> Option<&Bytes> {
        self.rest.is_empty().then_some(&self.first)
    }
}

/// `chain` that keeps `ExactSizeIterator`, which `std::iter::Chain` does not.
trait ChainExact<'a>: Sized {
    fn chain_exact(self, rest: &'a [Bytes]) -> Frames<'a>;
}

impl<'a> ChainExact<'a> for std::slice::Iter<'a, Bytes> {
    fn chain_exact(self, rest: &'a [Bytes]) -> Frames<'a> {
        Frames {
            head: self,
            tail: rest.iter(),
        }
    }
}

/// Iterator over a message's frames.
struct Frames<'a> {
    head: std::slice::Iter<'a, Bytes>,
    tail: std::slice::Iter<'a, Bytes>,
}

impl<'a> Iterator for Frames<'a> {
    type Item = &'a Bytes;
    fn next(&mut self) -> Option<&'a Bytes> {
        self.head.next().or_else(|| self.tail.next())
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.head.len() + self.tail.len();
        (n, Some(n))
    }
}

impl ExactSizeIterator for Frames<'_> {}

impl DoubleEndedIterator for Frames<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.tail.next_back().or_else(|| self.head.next_back())
    }
}

impl From<Bytes> for Msg {
    fn from(frame: Bytes) -> Msg {
        Msg {
            first: frame,
            rest: Vec::new(),
        }
    }
}

impl From<Vec<u8>> for Msg {
    fn from(frame: Vec<u8>) -> Msg {
        Msg::from(Bytes::from(frame))
    }
}

impl From<&[u8]> for Msg {
    fn from(frame: &[u8]) -> Msg {
        Msg::from(Bytes::copy_from_slice(frame))
    }
}

impl<const N: usize> From<&[u8; N]> for Msg {
    fn from(frame: &[u8; N]) -> Msg {
        Msg::from(&frame[..])
    }
}

impl From<&str> for Msg {
    fn from(frame: &str) -> Msg {
        Msg::from(frame.as_bytes())
    }
}

impl From<String> for Msg {
    fn from(frame: String) -> Msg {
        Msg::from(Bytes::from(frame))
    }
}

impl From<Vec<Bytes>> for Msg {
    fn from(frames: Vec<Bytes>) -> Msg {
        Msg::from_frames(frames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_keep_order_and_count() {
        let mut m = Msg::from_frames(["b", "c"]);
        m.push_front("a");
        m.push_back("d");
        let got: Vec<&[u8]> = m.frames().map(|f| &f[..]).collect();
        assert_eq!(got, vec![&b"a"[..], b"b", b"c", b"d"]);
        assert_eq!(m.frames().len(), 4);
        assert_eq!(m.frames().next_back().map(|f| &f[..]), Some(&b"d"[..]));
        assert_eq!(m.size(), 4);
        assert_eq!(m.clone().into_frames().len(), 4);
    }

    #[test]
    fn empty_frame_list_is_one_empty_frame() {
        let m = Msg::from_frames(Vec::<Bytes>::new());
        assert_eq!(m.frame_count(), 1);
        assert!(m.frame(0).unwrap().is_empty());
        assert!(m.frame(1).is_none());
    }
}
