//! A connection's output: its [`Encoder`] behind the mechanism's traffic
//! [`Transform`]. After the greeting, every frame a connection sends passes
//! here, so no mechanism's transform (CURVE's encryption) can be skipped.

use std::io::IoSlice;

use bytes::{Bytes, BytesMut};

use crate::Msg;
use crate::frame::{Decoded, Encoder, FrameDecoder, FrameSink};
use crate::mechanism::Transform;

/// The bytes a connection has to send, and the transform that every frame
/// queued from now on goes through ([`Transform::Identity`] until a
/// mechanism's handshake installs its own).
///
/// ```
/// use zmio_proto::Msg;
/// use zmio_proto::transmit::Transmit;
///
/// let mut out = Transmit::default();
/// out.push_message(&Msg::from_frames(["id", "body"]));
/// let mut wire = bytes::BytesMut::new();
/// out.drain_into(&mut wire);
/// assert_eq!(&wire[..], b"\x01\x02id\x00\x04body");
/// ```
#[derive(Debug, Default)]
pub struct Transmit {
    encoder: Encoder,
    transform: Transform,
}

impl Transmit {
    /// Queues bytes as they are, around the transform: the greeting only.
    pub(crate) fn push_greeting(&mut self, greeting: &[u8]) {
        self.encoder.push_raw(greeting);
    }

    /// Installs the transform the handshake agreed on, for every frame
    /// queued from now on.
    pub(crate) fn set_transform(&mut self, transform: Transform) {
        self.transform = transform;
    }

    /// Queues every frame of `msg`, in order.
    pub fn push_message(&mut self, msg: &Msg) {
        let last = msg.frame_count() - 1;
        for (i, frame) in msg.frames().enumerate() {
            self.push_frame(i < last, frame);
        }
    }

    /// Bytes queued.
    pub fn pending(&self) -> usize {
        self.encoder.pending()
    }

    /// Fills `dst` with slices of the queued bytes in order; returns how
    /// many it filled.
    pub fn slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        self.encoder.slices(dst)
    }

    /// Marks `n` bytes as written (`n <= pending()`).
    pub fn advance(&mut self, n: usize) {
        self.encoder.advance(n);
    }

    /// Moves every queued byte to the end of `out` (a copy, for tests and tools).
    pub fn drain_into(&mut self, out: &mut BytesMut) {
        self.encoder.drain_into(out);
    }

    /// Empties the queue, giving back the messages queued from `skip` bytes
    /// into it on (where a message's first frame begins): what a connection
    /// that ended never sent, for another connection to send. Commands are
    /// left out. Only the identity transform can be read back; under any
    /// other (CURVE's encryption) nothing is given back.
    ///
    /// ```
    /// use zmio_proto::Msg;
    /// use zmio_proto::transmit::Transmit;
    /// let mut out = Transmit::default();
    /// out.push_message(&Msg::from("sent"));
    /// out.advance(6);
    /// out.push_message(&Msg::from_frames(["a", "b"]));
    /// assert_eq!(out.take_unsent(0), vec![Msg::from_frames(["a", "b"])]);
    /// assert_eq!(out.pending(), 0);
    /// ```
    pub fn take_unsent(&mut self, skip: usize) -> Vec<Msg> {
        let mut bytes = BytesMut::with_capacity(self.encoder.pending());
        self.encoder.drain_into(&mut bytes);
        if !matches!(self.transform, Transform::Identity) || skip > bytes.len() {
            return Vec::new();
        }
        let _ = bytes.split_to(skip);
        // Our own frames: no limit applies to reading them back.
        let mut decoder = FrameDecoder::new(None, u64::MAX).with_max_frames(usize::MAX);
        let mut unsent = Vec::new();
        let mut partial: Option<Msg> = None;
        while let Ok(Some(Decoded::Frame(frame))) = decoder.decode(&mut bytes) {
            if frame.command {
                continue;
            }
            let msg = match partial.take() {
                None => Msg::from(frame.body),
                Some(mut msg) => {
                    msg.push_back(frame.body);
                    msg
                }
            };
            if frame.more {
                partial = Some(msg);
            } else {
                unsent.push(msg);
            }
        }
        unsent
    }
}

impl FrameSink for Transmit {
    fn push_frame(&mut self, more: bool, body: &Bytes) {
        self.transform.push_frame(&mut self.encoder, more, body);
    }

    fn push_command(&mut self, name: &[u8], data: &[&[u8]]) {
        self.transform.push_command(&mut self.encoder, name, data);
    }
}
