//! ZMTP frames: [`FrameDecoder`] slices frames out of received bytes without
//! copying their bodies; [`Encoder`] queues outgoing frames for a vectored
//! write, copying small ones into one staging buffer and queueing large bodies
//! as their own chunks.
//!
//! ```text
//! frame      = flags size body
//! flags      = %b00000CLM          ; C = COMMAND, L = LONG, M = MORE
//! size       = OCTET | 8OCTET      ; 8 octets (big-endian) when LONG is set
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::io::IoSlice;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::ProtocolError;

use super::wire::{
    COPY_BODY_THRESHOLD, FLAG_COMMAND, FLAG_LONG, FLAG_MORE, FLAG_RESERVED, LARGE_BODY_THRESHOLD,
    LONG_HEADER_LEN, MAX_FRAME_BODY, MAX_FRAMES_PER_MESSAGE, MAX_SHORT_BODY, SHORT_HEADER_LEN,
};

/// Where encoded frames go: the raw [`Encoder`], or a connection's
/// [`Transmit`](crate::transmit::Transmit), which passes each frame through
/// the mechanism's transform first. Commands encode into either.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use zmio_proto::{Encoder, frame::FrameSink};
/// fn greet(out: &mut impl FrameSink) {
///     out.push_frame(false, &Bytes::from_static(b"hello"));
/// }
/// let mut enc = Encoder::new();
/// greet(&mut enc);
/// assert_eq!(enc.pending(), 7);
/// ```
pub trait FrameSink {
    /// Queues one message frame (`more`: further frames of the message follow).
    fn push_frame(&mut self, more: bool, body: &Bytes);
    /// Queues one command frame: `name` (at most 255 octets) then the
    /// concatenation of `data`.
    fn push_command(&mut self, name: &[u8], data: &[&[u8]]);
}

impl FrameSink for Encoder {
    fn push_frame(&mut self, more: bool, body: &Bytes) {
        Encoder::push_frame(self, more, body);
    }

    fn push_command(&mut self, name: &[u8], data: &[&[u8]]) {
        Encoder::push_command(self, name, data);
    }
}

/// One decoded frame.
///
/// ```
/// use bytes::BytesMut;
/// use zmio_proto::{Decoded, FrameDecoder};
/// let mut input = BytesMut::from(&b"\x01\x02id\x00\x04body"[..]);
/// let mut decoder = FrameDecoder::new(None, 64 * 1024);
/// let Ok(Some(Decoded::Frame(first))) = decoder.decode(&mut input) else { panic!() };
/// assert!(first.more && !first.command && &first.body[..] == b"id");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The MORE flag: further frames of this message follow.
    pub more: bool,
    /// The COMMAND flag: a command, not message data.
    pub command: bool,
    /// The body, sliced out of the input buffer (zero copy).
    pub body: Bytes,
}

/// What one call to [`FrameDecoder::decode`] took off the input.
///
/// ```
/// use bytes::BytesMut;
/// use zmio_proto::{Decoded, FrameDecoder};
/// let mut decoder = FrameDecoder::new(Some(4), 64 * 1024);
/// let mut input = BytesMut::from(&b"\x00\x05hello\x00\x02hi"[..]);
/// // Over the limit: skipped, not an error, and the stream goes on.
/// assert!(matches!(decoder.decode(&mut input), Ok(Some(Decoded::Discarding(_)))));
/// let Ok(Some(Decoded::Frame(next))) = decoder.decode(&mut input) else { panic!() };
/// assert_eq!(&next.body[..], b"hi");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// One complete frame.
    Frame(Frame),
    /// The data frame at the front would take its message over a limit
    /// (the error says which): the frames of that message returned so far
    /// must be dropped, and the rest of it is skipped as it arrives, never
    /// buffered. The next data frame returned starts a new message.
    Discarding(ProtocolError),
}

/// Decodes frames from the front of a receive buffer, enforcing size limits
/// before waiting for (let alone buffering) a frame's body.
///
/// Tracks the size and frame count of the message in progress, so that
/// `max_msg_size` counts every frame of a multipart message and an
/// unterminated message cannot grow past its frame limit
/// ([`MAX_FRAMES_PER_MESSAGE`] unless set). A message over either limit is
/// discarded as it streams ([`Decoded::Discarding`]): one oversized message
/// costs only itself, not the connection. Broken framing (reserved flags, a
/// size beyond 2^63-1, an oversized command) is an error, which ends the
/// connection.
///
/// ```
/// use bytes::BytesMut;
/// use zmio_proto::{Decoded, FrameDecoder, ProtocolError};
/// let mut decoder = FrameDecoder::new(Some(4), 64 * 1024);
/// // A frame claiming 5 bytes is refused before its body arrives.
/// let mut input = BytesMut::from(&b"\x00\x05"[..]);
/// assert!(matches!(
///     decoder.decode(&mut input),
///     Ok(Some(Decoded::Discarding(ProtocolError::MessageTooLarge { .. })))
/// ));
/// ```
#[derive(Debug)]
pub struct FrameDecoder {
    /// Largest message (all frames) accepted; `None` is unlimited.
    max_msg_size: Option<u64>,
    /// Largest command body accepted.
    max_command_size: u64,
    /// Body bytes of the data frames of the message in progress.
    msg_size: u64,
    /// Data frames of the message in progress.
    msg_frames: usize,
    /// Most data frames one message may have.
    max_frames: usize,
    /// Header plus body length of a frame whose header has arrived (and
    /// passed the limits) but whose body has not, else 0: how many bytes
    /// the reader should make room for.
    awaiting: usize,
    /// The message being skipped, if one broke a limit.
    discard: Option<Discard>,
    /// Messages discarded since the decoder was made.
    discarded: u64,
}

/// Where a discarded message's skipping stands.
#[derive(Clone, Copy, Debug)]
struct Discard {
    /// Body bytes of the current frame still to skip.
    skip: u64,
    /// Whether that frame is the message's last (no MORE flag).
    last: bool,
}

impl FrameDecoder {
    /// A decoder for a connection with the given limits.
    pub fn new(max_msg_size: Option<u64>, max_command_size: u64) -> FrameDecoder {
        FrameDecoder {
            max_msg_size,
            // Whatever the configuration, no frame exceeds 2^63-1 octets.
            max_command_size: max_command_size.min(MAX_FRAME_BODY),
            msg_size: 0,
            msg_frames: 0,
            max_frames: MAX_FRAMES_PER_MESSAGE,
            awaiting: 0,
            discard: None,
            discarded: 0,
        }
    }

    /// The same decoder with another frame count limit per message (at least 1).
    pub fn with_max_frames(mut self, max_frames: usize) -> FrameDecoder {
        self.max_frames = max_frames.max(1);
        self
    }

    /// Changes the largest command body accepted (the handshake takes a
    /// smaller one than the traffic that follows).
    pub fn set_max_command_size(&mut self, max_command_size: u64) {
        self.max_command_size = max_command_size.min(MAX_FRAME_BODY);
    }

    /// The length of the frame at the front of the input when its header
    /// has been checked but its body is incomplete, else 0. The size already
    /// passed every limit; a reader still reserves only a bounded part of it
    /// at a time, so a claimed length never reserves memory by itself.
    pub fn awaiting(&self) -> usize {
        self.awaiting
    }

    /// Whether a message over a limit is being skipped: then "need more"
    /// ([`decode`](Self::decode) returning `Ok(None)`) has consumed the
    /// whole input.
    pub fn is_discarding(&self) -> bool {
        self.discard.is_some()
    }

    /// How many messages were discarded for breaking a limit.
    pub fn discarded(&self) -> u64 {
        self.discarded
    }

    /// Removes one complete frame from the front of `input`, or starts
    /// discarding a message that breaks a limit.
    ///
    /// `Ok(None)` means "need more bytes": `input` is left untouched, except
    /// while a discarded message is skipped, whose bytes are consumed as
    /// they come. A size that breaks a limit is known as soon as the size
    /// field is in, without waiting for the body. An error (broken framing)
    /// consumes nothing. Never reserves memory by a claimed length.
    pub fn decode(&mut self, input: &mut BytesMut) -> Result<Option<Decoded>, ProtocolError> {
        loop {
            if let Some(discard) = &mut self.discard {
                let n = discard.skip.min(input.len() as u64);
                // `n` is at most `input.len()`, so it fits a usize.
                input.advance(n as usize);
                discard.skip -= n;
                if discard.skip > 0 {
                    return Ok(None);
                }
                if discard.last {
                    self.discard = None;
                    self.discarded += 1;
                }
            }
            let Some(&flags) = input.first() else {
                return Ok(None);
            };
            // "Bits 7-3 are reserved for future use and MUST be zero."
            if flags & FLAG_RESERVED != 0 {
                return Err(ProtocolError::ReservedFlags(flags));
            }
            let (header_len, size) = if flags & FLAG_LONG != 0 {
                let Some(field) = input.get(1..LONG_HEADER_LEN) else {
                    return Ok(None);
                };
                let mut be = [0u8; 8];
                be.copy_from_slice(field);
                (LONG_HEADER_LEN, u64::from_be_bytes(be))
            } else {
                let Some(&size) = input.get(1) else {
                    return Ok(None);
                };
                (SHORT_HEADER_LEN, u64::from(size))
            };
            let more = flags & FLAG_MORE != 0;
            let command = flags & FLAG_COMMAND != 0;
            if command {
                return self.command(input, header_len, size, more);
            }
            // "A long frame has a body of 0 to 2^63-1 octets": beyond that
            // the framing is broken, not merely large.
            if size > MAX_FRAME_BODY {
                return Err(ProtocolError::MessageTooLarge {
                    size,
                    max: MAX_FRAME_BODY,
                });
            }
            let skip = Discard {
                skip: size,
                last: !more,
            };
            if self.discard.is_some() {
                // A further frame of a discarded message.
                input.advance(header_len);
                self.discard = Some(skip);
                continue;
            }
            let total = self.msg_size.saturating_add(size);
            let breach = match self.max_msg_size {
                Some(max) if total > max => {
                    Some(ProtocolError::MessageTooLarge { size: total, max })
                }
                _ if self.msg_frames >= self.max_frames => Some(ProtocolError::TooManyFrames {
                    max: self.max_frames,
                }),
                _ => None,
            };
            if let Some(breach) = breach {
                input.advance(header_len);
                self.awaiting = 0;
                self.msg_size = 0;
                self.msg_frames = 0;
                self.discard = Some(skip);
                return Ok(Some(Decoded::Discarding(breach)));
            }
            let Some(body) = self.body(input, header_len, size, total)? else {
                return Ok(None);
            };
            if more {
                self.msg_size = total;
                self.msg_frames += 1;
            } else {
                self.msg_size = 0;
                self.msg_frames = 0;
            }
            return Ok(Some(Decoded::Frame(Frame {
                more,
                command: false,
                body,
            })));
        }
    }

    /// A command frame whose header is at the front of `input`: commands are
    /// parsed whole, so one over the cap ends the connection.
    fn command(
        &mut self,
        input: &mut BytesMut,
        header_len: usize,
        size: u64,
        more: bool,
    ) -> Result<Option<Decoded>, ProtocolError> {
        // MORE: "This bit SHALL be zero on command frames."
        if more {
            return Err(ProtocolError::MalformedCommand(
                "command frame with the MORE flag set",
            ));
        }
        if size > self.max_command_size {
            return Err(ProtocolError::CommandTooLarge {
                size,
                max: self.max_command_size,
            });
        }
        Ok(self
            .body(input, header_len, size, self.msg_size)?
            .map(|body| {
                Decoded::Frame(Frame {
                    more: false,
                    command: true,
                    body,
                })
            }))
    }

    /// Takes the header and body of a frame that passed the limits, or
    /// notes how much it awaits (`None`). `msg_size` is for the error of a
    /// size that does not fit this platform's memory.
    fn body(
        &mut self,
        input: &mut BytesMut,
        header_len: usize,
        size: u64,
        msg_size: u64,
    ) -> Result<Option<Bytes>, ProtocolError> {
        let Ok(len) = usize::try_from(size) else {
            return Err(ProtocolError::MessageTooLarge {
                size: msg_size,
                max: usize::MAX as u64,
            });
        };
        // `len > remaining`, never `pos + len > end` (CVE-2019-6250).
        let remaining = input.len().saturating_sub(header_len);
        if len > remaining {
            self.awaiting = header_len.saturating_add(len);
            return Ok(None);
        }
        self.awaiting = 0;
        input.advance(header_len);
        Ok(Some(if len == 0 {
            Bytes::new()
        } else if len < COPY_BODY_THRESHOLD {
            // Its own allocation: a slice would keep the whole read buffer
            // alive for as long as the application keeps this frame.
            let body = Bytes::copy_from_slice(&input[..len]);
            input.advance(len);
            body
        } else {
            input.split_to(len).freeze()
        }))
    }
}

/// Initial capacity of the encoder's staging buffer.
const STAGING_CAPACITY: usize = 8 * 1024;

/// The transmit queue: bytes waiting to be written to the peer, in order.
///
/// Small frames (header and body) are copied into one coalescing staging
/// buffer; a message body of [`LARGE_BODY_THRESHOLD`] bytes or more is queued
/// as its own [`Bytes`] chunk after its header, without copying. All `chunks`
/// precede `staging` on the wire. [`Encoder::slices`] exposes the queue as
/// `IoSlice`s for one vectored write; [`Encoder::advance`] consumes what was
/// written, partial writes included.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use zmio_proto::Encoder;
/// let mut enc = Encoder::new();
/// enc.push_frame(true, &Bytes::from_static(b"a"));
/// enc.push_command(b"PING", &[b"\x00\x00"]);
/// let mut wire = BytesMut::new();
/// enc.drain_into(&mut wire);
/// assert_eq!(&wire[..], b"\x01\x01a\x04\x07\x04PING\x00\x00");
/// ```
pub struct Encoder {
    /// Frozen chunks, transmitted before `staging`.
    chunks: VecDeque<Bytes>,
    /// Coalesced small writes, transmitted after every chunk.
    staging: BytesMut,
    /// Total bytes queued (chunks + staging).
    pending: usize,
}

impl fmt::Debug for Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Counts only: the queued bytes are application data and, during a
        // PLAIN handshake, a password.
        f.debug_struct("Encoder")
            .field("chunks", &self.chunks.len())
            .field("staging", &self.staging.len())
            .field("pending", &self.pending)
            .finish()
    }
}

impl Default for Encoder {
    fn default() -> Encoder {
        Encoder::new()
    }
}

impl Encoder {
    /// An empty queue.
    pub fn new() -> Encoder {
        Encoder {
            chunks: VecDeque::new(),
            // Allocated on first use: an idle connection (and a REQ/REP
            // pipe's direct-path encoder, often never used) costs nothing.
            staging: BytesMut::new(),
            pending: 0,
        }
    }

    /// Queues raw bytes (the greeting).
    pub fn push_raw(&mut self, bytes: &[u8]) {
        self.make_room();
        self.staging.extend_from_slice(bytes);
        self.pending += bytes.len();
    }

    /// Queues one message frame; `more` sets the MORE flag. A body of
    /// [`LARGE_BODY_THRESHOLD`] bytes or more is queued without copying.
    pub fn push_frame(&mut self, more: bool, body: &Bytes) {
        let flags = if more { FLAG_MORE } else { 0 };
        self.put_header(flags, body.len());
        if body.len() >= LARGE_BODY_THRESHOLD {
            // The header (and anything before it) goes out first, as a chunk.
            let head = self.staging.split().freeze();
            self.chunks.push_back(head);
            self.chunks.push_back(body.clone());
        } else {
            self.staging.extend_from_slice(body);
        }
        self.pending += body.len();
    }

    /// Queues one command frame: `name` (at most 255 octets) then the
    /// concatenation of `data`.
    pub fn push_command(&mut self, name: &[u8], data: &[&[u8]]) {
        debug_assert!(!name.is_empty() && name.len() <= MAX_SHORT_BODY);
        let name_len = u8::try_from(name.len()).unwrap_or(u8::MAX);
        let name = &name[..usize::from(name_len)];
        let body_len = 1 + name.len() + data.iter().map(|d| d.len()).sum::<usize>();
        self.put_header(FLAG_COMMAND, body_len);
        self.staging.put_u8(name_len);
        self.staging.extend_from_slice(name);
        for part in data {
            self.staging.extend_from_slice(part);
        }
        self.pending += body_len;
    }

    /// Writes a frame header for a body of `len` bytes: short form up to 255,
    /// long form above.
    fn put_header(&mut self, flags: u8, len: usize) {
        self.make_room();
        if len <= MAX_SHORT_BODY {
            self.staging.put_u8(flags);
            self.staging.put_u8(len as u8);
            self.pending += SHORT_HEADER_LEN;
        } else {
            self.staging.put_u8(flags | FLAG_LONG);
            self.staging.put_u64(len as u64);
            self.pending += LONG_HEADER_LEN;
        }
    }

    /// Gives the staging buffer a whole block when it has none left, so
    /// small frames coalesce instead of growing it a frame at a time.
    fn make_room(&mut self) {
        if self.staging.capacity() == self.staging.len() {
            self.staging.reserve(STAGING_CAPACITY);
        }
    }

    /// Bytes queued for transmission.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// Fills `dst` with the queued bytes in order, one slice per chunk and one
    /// for the staging buffer; returns how many slices it filled.
    pub fn slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let parts = self
            .chunks
            .iter()
            .map(|c| &c[..])
            .chain(std::iter::once(&self.staging[..]))
            .filter(|s| !s.is_empty());
        let mut filled = 0;
        for (slot, part) in dst.iter_mut().zip(parts) {
            *slot = IoSlice::new(part);
            filled += 1;
        }
        filled
    }

    /// Moves every pending byte to the end of `out` (a copy, for tests and
    /// tools; a transport writes [`slices`](Self::slices) instead).
    ///
    /// ```
    /// use zmio_proto::Encoder;
    /// let mut enc = Encoder::new();
    /// enc.push_frame(false, &bytes::Bytes::from_static(b"hi"));
    /// let mut out = bytes::BytesMut::new();
    /// enc.drain_into(&mut out);
    /// assert_eq!(&out[..], b"\x00\x02hi");
    /// ```
    pub fn drain_into(&mut self, out: &mut BytesMut) {
        while self.pending() > 0 {
            let mut slices = [IoSlice::new(&[]); 16];
            let n = self.slices(&mut slices);
            let mut written = 0;
            for slice in &slices[..n] {
                out.extend_from_slice(slice);
                written += slice.len();
            }
            self.advance(written);
        }
    }

    /// Drops the first `n` queued bytes (they were written). `n` may end in
    /// the middle of a chunk or of the staging buffer.
    pub fn advance(&mut self, n: usize) {
        debug_assert!(n <= self.pending, "advance past the queued bytes");
        let mut n = n.min(self.pending);
        self.pending -= n;
        while n > 0 {
            match self.chunks.front_mut() {
                Some(front) if n >= front.len() => {
                    n -= front.len();
                    self.chunks.pop_front();
                }
                Some(front) => {
                    front.advance(n);
                    return;
                }
                None => {
                    self.staging.advance(n);
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMD_MAX: u64 = 1 << 20;

    /// Whether `body` points into the memory of `buffer`.
    fn inside(body: &Bytes, buffer: std::ops::Range<usize>) -> bool {
        buffer.contains(&(body.as_ptr() as usize))
    }

    #[test]
    fn small_bodies_are_copied_out_of_the_read_buffer() {
        let mut input = BytesMut::with_capacity(1 << 20);
        input.extend_from_slice(b"\x00\x0aten bytes!\x00\x03abc");
        let start = input.as_ptr() as usize;
        let buffer = start..start + input.capacity();
        let mut dec = decoder();
        let first = frame_of(dec.decode(&mut input));
        assert_eq!(&input[..], b"\x00\x03abc");
        let second = frame_of(dec.decode(&mut input));
        assert_eq!(
            (&first.body[..], &second.body[..]),
            (&b"ten bytes!"[..], &b"abc"[..])
        );
        // Their own allocations: keeping them keeps nothing of the buffer.
        assert!(!inside(&first.body, buffer.clone()) && !inside(&second.body, buffer));
        assert!(first.body.is_unique() && second.body.is_unique());
    }

    #[test]
    fn large_bodies_are_sliced_from_the_read_buffer() {
        let len = COPY_BODY_THRESHOLD;
        let mut input = BytesMut::with_capacity(len + 16);
        input.put_u8(FLAG_LONG);
        input.put_u64(len as u64);
        input.put_bytes(7, len);
        let start = input.as_ptr() as usize;
        let buffer = start..start + input.capacity();
        let frame = frame_of(decoder().decode(&mut input));
        assert_eq!(frame.body.len(), len);
        assert!(inside(&frame.body, buffer), "zero copy at the threshold");
    }

    fn decoder() -> FrameDecoder {
        FrameDecoder::new(None, CMD_MAX)
    }

    /// The frame a decode step returned, which must be one.
    fn frame_of(step: Result<Option<Decoded>, ProtocolError>) -> Frame {
        match step {
            Ok(Some(Decoded::Frame(frame))) => frame,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// What decoding `bytes` gives: frames, and a `None` for each message
    /// discarded, in order.
    fn decode_stream(dec: &mut FrameDecoder, bytes: &[u8]) -> (Vec<Option<Frame>>, BytesMut) {
        let mut input = BytesMut::from(bytes);
        let mut frames = Vec::new();
        while let Some(step) = dec.decode(&mut input).unwrap() {
            frames.push(match step {
                Decoded::Frame(frame) => Some(frame),
                Decoded::Discarding(_) => None,
            });
        }
        (frames, input)
    }

    /// The frames `bytes` decode to, none of them discarded.
    fn decode_all(dec: &mut FrameDecoder, bytes: &[u8]) -> (Vec<Frame>, BytesMut) {
        let (frames, rest) = decode_stream(dec, bytes);
        (
            frames.into_iter().map(|f| f.expect("no discard")).collect(),
            rest,
        )
    }

    #[test]
    fn awaiting_names_the_whole_frame_once_its_header_is_in() {
        let mut dec = decoder();
        let mut input = BytesMut::from(&[0x02u8, 0, 0, 0, 0, 0, 1, 0][..]);
        assert_eq!(dec.decode(&mut input), Ok(None));
        assert_eq!(dec.awaiting(), 0, "the size field is not complete yet");
        input.extend_from_slice(&[0x00, 1, 2, 3]);
        assert_eq!(dec.decode(&mut input), Ok(None));
        assert_eq!(dec.awaiting(), 9 + 65_536);
        input.extend_from_slice(&vec![7u8; 65_536 - 3]);
        let frame = frame_of(dec.decode(&mut input));
        assert_eq!(frame.body.len(), 65_536);
        assert_eq!(dec.awaiting(), 0);
        // A refused size is skipped, never something to wait for.
        let mut limited = FrameDecoder::new(Some(100), 64 * 1024);
        let mut big = BytesMut::from(&[0x00u8, 200][..]);
        assert!(matches!(
            limited.decode(&mut big),
            Ok(Some(Decoded::Discarding(_)))
        ));
        assert_eq!(limited.awaiting(), 0);
    }

    fn frame(more: bool, command: bool, body: &[u8]) -> Frame {
        Frame {
            more,
            command,
            body: Bytes::copy_from_slice(body),
        }
    }

    /// Everything the encoder queued, concatenated.
    fn queued(enc: &Encoder) -> Vec<u8> {
        let mut slots = vec![IoSlice::new(&[]); 64];
        let n = enc.slices(&mut slots);
        slots[..n].iter().flat_map(|s| s.iter().copied()).collect()
    }

    #[test]
    fn short_frame_last() {
        let (f, rest) = decode_all(&mut decoder(), b"\x00\x03abc");
        assert_eq!(f, vec![frame(false, false, b"abc")]);
        assert!(rest.is_empty());
    }

    #[test]
    fn short_frame_more() {
        let (f, _) = decode_all(&mut decoder(), b"\x01\x01a\x00\x01b");
        assert_eq!(f, vec![frame(true, false, b"a"), frame(false, false, b"b")]);
    }

    #[test]
    fn empty_body() {
        let (f, rest) = decode_all(
            &mut decoder(),
            b"\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00",
        );
        assert_eq!(f, vec![frame(false, false, b""), frame(false, false, b"")]);
        assert!(rest.is_empty());
    }

    #[test]
    fn short_command() {
        let (f, _) = decode_all(&mut decoder(), b"\x04\x05\x04PING");
        assert_eq!(f, vec![frame(false, true, b"\x04PING")]);
    }

    #[test]
    fn long_command() {
        let mut bytes = b"\x06\x00\x00\x00\x00\x00\x00\x01\x00".to_vec();
        bytes.extend_from_slice(&[7; 256]);
        let (f, _) = decode_all(&mut decoder(), &bytes);
        assert_eq!(f, vec![frame(false, true, &[7; 256])]);
    }

    #[test]
    fn long_form_with_small_size_is_accepted() {
        let (f, _) = decode_all(
            &mut decoder(),
            b"\x03\x00\x00\x00\x00\x00\x00\x00\x02hi\x02\x00\x00\x00\x00\x00\x00\x00\x00",
        );
        assert_eq!(f, vec![frame(true, false, b"hi"), frame(false, false, b"")]);
    }

    #[test]
    fn exactly_255_and_256_bytes() {
        let mut enc = Encoder::new();
        enc.push_frame(true, &Bytes::from(vec![1u8; 255]));
        enc.push_frame(false, &Bytes::from(vec![2u8; 256]));
        let wire = queued(&enc);
        assert_eq!(&wire[..2], b"\x01\xff");
        assert_eq!(&wire[257..266], b"\x02\x00\x00\x00\x00\x00\x00\x01\x00");
        assert_eq!(wire.len(), 2 + 255 + 9 + 256);
        let (f, rest) = decode_all(&mut decoder(), &wire);
        assert_eq!(
            f,
            vec![
                frame(true, false, &[1; 255]),
                frame(false, false, &[2; 256])
            ]
        );
        assert!(rest.is_empty());
    }

    #[test]
    fn incomplete_frames_leave_input_untouched() {
        let whole = b"\x02\x00\x00\x00\x00\x00\x00\x00\x03abc";
        for n in 0..whole.len() {
            let mut input = BytesMut::from(&whole[..n]);
            assert_eq!(decoder().decode(&mut input), Ok(None), "prefix {n}");
            assert_eq!(&input[..], &whole[..n]);
        }
    }

    #[test]
    fn reserved_flag_bits_must_be_zero() {
        for bit in 3..8 {
            let flags = 1u8 << bit;
            let mut input = BytesMut::from(&[flags][..]);
            assert_eq!(
                decoder().decode(&mut input),
                Err(ProtocolError::ReservedFlags(flags))
            );
        }
    }

    #[test]
    fn more_bit_shall_be_zero_on_command_frames() {
        let mut input = BytesMut::from(&b"\x05\x05\x04PING"[..]);
        assert!(matches!(
            decoder().decode(&mut input),
            Err(ProtocolError::MalformedCommand(_))
        ));
    }

    #[test]
    fn size_above_max_msg_size_is_discarded_before_the_body_arrives() {
        let mut dec = FrameDecoder::new(Some(100), CMD_MAX);
        // A long frame claiming 4 GiB, then 10 bytes of its body.
        let mut input = BytesMut::from(&b"\x02\x00\x00\x00\x01\x00\x00\x00\x00"[..]);
        input.extend_from_slice(&[0; 10]);
        assert_eq!(
            dec.decode(&mut input),
            Ok(Some(Decoded::Discarding(ProtocolError::MessageTooLarge {
                size: 1 << 32,
                max: 100
            })))
        );
        // The body is consumed as it comes and never awaited whole.
        assert_eq!(dec.decode(&mut input), Ok(None));
        assert!(input.is_empty() && dec.is_discarding());
        assert_eq!(dec.awaiting(), 0);
    }

    #[test]
    fn max_msg_size_counts_every_frame_of_the_message() {
        let mut dec = FrameDecoder::new(Some(5), CMD_MAX);
        let mut input = BytesMut::from(&b"\x01\x03abc\x04\x02\x01X\x00\x03def"[..]);
        assert!(!frame_of(dec.decode(&mut input)).command);
        // A command in between does not count.
        assert!(frame_of(dec.decode(&mut input)).command);
        assert_eq!(
            dec.decode(&mut input),
            Ok(Some(Decoded::Discarding(ProtocolError::MessageTooLarge {
                size: 6,
                max: 5
            })))
        );
        // A completed message resets the count.
        let mut dec = FrameDecoder::new(Some(5), CMD_MAX);
        let (f, _) = decode_all(&mut dec, b"\x00\x05abcde\x00\x05abcde");
        assert_eq!(f.len(), 2);
    }

    #[test]
    fn a_discarded_message_costs_only_itself() {
        let mut dec = FrameDecoder::new(Some(5), CMD_MAX);
        // "ok", then a 3-frame message whose second frame breaks the limit
        // (a PING between its frames still comes through), then "next".
        let wire = b"\x00\x02ok\x01\x03abc\x01\x03def\x04\x05\x04PING\x00\x01g\x00\x04next";
        let (f, rest) = decode_stream(&mut dec, wire);
        assert_eq!(
            f,
            vec![
                Some(frame(false, false, b"ok")),
                Some(frame(true, false, b"abc")),
                None,
                Some(frame(false, true, b"\x04PING")),
                Some(frame(false, false, b"next")),
            ]
        );
        assert!(rest.is_empty() && !dec.is_discarding());
        assert_eq!(dec.discarded(), 1);
        // Byte by byte, the same.
        let mut dec = FrameDecoder::new(Some(5), CMD_MAX);
        let mut input = BytesMut::new();
        let mut steps = Vec::new();
        for &b in wire.iter() {
            input.extend_from_slice(&[b]);
            while let Some(step) = dec.decode(&mut input).unwrap() {
                steps.push(match step {
                    Decoded::Frame(frame) => Some(frame),
                    Decoded::Discarding(_) => None,
                });
            }
        }
        assert_eq!(steps, f);
    }

    #[test]
    fn broken_framing_inside_a_discarded_message_is_an_error() {
        let mut dec = FrameDecoder::new(Some(1), CMD_MAX);
        let mut input = BytesMut::from(&b"\x01\x02ab\x08\x00"[..]);
        assert!(matches!(
            dec.decode(&mut input),
            Ok(Some(Decoded::Discarding(_)))
        ));
        assert_eq!(
            dec.decode(&mut input),
            Err(ProtocolError::ReservedFlags(0x08))
        );
    }

    #[test]
    fn long_frame_of_2_pow_63_is_refused() {
        let mut input = BytesMut::from(&b"\x02\x80\x00\x00\x00\x00\x00\x00\x00"[..]);
        assert!(matches!(
            decoder().decode(&mut input),
            Err(ProtocolError::MessageTooLarge { .. })
        ));
        let mut input = BytesMut::from(&b"\x02\xff\xff\xff\xff\xff\xff\xff\xff"[..]);
        assert!(matches!(
            FrameDecoder::new(Some(10), CMD_MAX).decode(&mut input),
            Err(ProtocolError::MessageTooLarge { .. })
        ));
    }

    #[test]
    fn unlimited_4gib_claim_holds_only_what_arrived() {
        let mut input = BytesMut::with_capacity(64);
        input.extend_from_slice(b"\x02\x00\x00\x00\x01\x00\x00\x00\x00");
        input.extend_from_slice(&[0; 10]);
        let cap = input.capacity();
        assert_eq!(decoder().decode(&mut input), Ok(None));
        assert_eq!(input.len(), 19);
        assert_eq!(input.capacity(), cap);
    }

    #[test]
    fn command_size_is_capped() {
        let mut dec = FrameDecoder::new(None, 10);
        let mut input = BytesMut::from(&b"\x04\x0b"[..]);
        assert_eq!(
            dec.decode(&mut input),
            Err(ProtocolError::CommandTooLarge { size: 11, max: 10 })
        );
        let mut input = BytesMut::from(&b"\x06\xff\xff\xff\xff\xff\xff\xff\xff"[..]);
        assert!(matches!(
            dec.decode(&mut input),
            Err(ProtocolError::CommandTooLarge { .. })
        ));
    }

    #[test]
    fn frames_per_message_are_capped() {
        let mut dec = decoder().with_max_frames(1000);
        let mut input = BytesMut::new();
        for _ in 0..1000 {
            input.extend_from_slice(b"\x01\x00");
        }
        input.extend_from_slice(b"\x01\x00\x00\x00\x00\x01z");
        for _ in 0..1000 {
            frame_of(dec.decode(&mut input));
        }
        assert_eq!(
            dec.decode(&mut input),
            Ok(Some(Decoded::Discarding(ProtocolError::TooManyFrames {
                max: 1000
            })))
        );
        // The rest of that message is skipped; the next one comes whole.
        assert_eq!(frame_of(dec.decode(&mut input)), frame(false, false, b"z"));
    }

    #[test]
    fn the_default_frame_cap_takes_a_100_000_frame_message() {
        let mut input = BytesMut::new();
        for _ in 0..99_999 {
            input.extend_from_slice(b"\x01\x01x");
        }
        input.extend_from_slice(b"\x00\x01y");
        let (f, rest) = decode_all(&mut decoder(), &input);
        assert_eq!(f.len(), 100_000);
        assert!(rest.is_empty());
    }

    #[test]
    fn the_frame_limit_is_configurable_and_per_message() {
        let mut dec = decoder().with_max_frames(3);
        // Two whole 3-frame messages pass; a 4th frame in the third breaks it.
        let mut input = BytesMut::from(&b"\x01\x00\x01\x00\x00\x00\x01\x00\x01\x00\x00\x00"[..]);
        for _ in 0..6 {
            frame_of(dec.decode(&mut input));
        }
        input.extend_from_slice(b"\x01\x00\x01\x00\x01\x00\x00\x00");
        for _ in 0..3 {
            frame_of(dec.decode(&mut input));
        }
        assert_eq!(
            dec.decode(&mut input),
            Ok(Some(Decoded::Discarding(ProtocolError::TooManyFrames {
                max: 3
            })))
        );
    }

    #[test]
    fn encoder_writes_byte_literal_frames() {
        let mut enc = Encoder::new();
        enc.push_frame(true, &Bytes::from_static(b"a"));
        enc.push_frame(false, &Bytes::new());
        enc.push_command(b"PING", &[b"\x00\x0a", b"ctx"]);
        assert_eq!(
            queued(&enc),
            b"\x01\x01a\x00\x00\x04\x0a\x04PING\x00\x0actx"
        );
        assert_eq!(enc.pending(), 17);
    }

    #[test]
    fn encoder_coalesces_small_frames_into_one_slice() {
        let mut enc = Encoder::new();
        enc.push_raw(b"greeting");
        for _ in 0..100 {
            enc.push_frame(false, &Bytes::from_static(b"0123456789"));
        }
        let mut slots = [IoSlice::new(&[]); 8];
        assert_eq!(enc.slices(&mut slots), 1);
        assert_eq!(slots[0].len(), 8 + 100 * 12);
        assert_eq!(enc.pending(), 8 + 100 * 12);
    }

    #[test]
    fn encoder_queues_large_bodies_as_their_own_chunks() {
        let big = Bytes::from(vec![9u8; LARGE_BODY_THRESHOLD]);
        let just_under = Bytes::from(vec![8u8; LARGE_BODY_THRESHOLD - 1]);
        let mut enc = Encoder::new();
        enc.push_frame(true, &Bytes::from_static(b"hdr"));
        enc.push_frame(true, &big);
        enc.push_frame(true, &just_under);
        enc.push_frame(false, &big);
        let mut slots = [IoSlice::new(&[]); 8];
        let n = enc.slices(&mut slots);
        // [hdr frame + big header] [big] [small frame + big header] [big]
        assert_eq!(n, 4);
        assert_eq!(slots[0].len(), 5 + 9);
        assert_eq!(slots[1].as_ptr(), big.as_ptr(), "large body not copied");
        assert_eq!(slots[1].len(), big.len());
        assert_eq!(slots[2].len(), 9 + just_under.len() + 9);
        assert_eq!(slots[3].as_ptr(), big.as_ptr());
        let total: usize = slots[..n].iter().map(|s| s.len()).sum();
        assert_eq!(total, enc.pending());
        // A short `dst` gets the first slices only.
        let mut two = [IoSlice::new(&[]); 2];
        assert_eq!(enc.slices(&mut two), 2);
        assert_eq!(enc.slices(&mut []), 0);
        // Frames decode back in order.
        let (f, rest) = decode_all(&mut decoder(), &queued(&enc));
        assert_eq!(f.len(), 4);
        assert_eq!(f[1].body, big);
        assert_eq!(f[2].body, just_under);
        assert!(rest.is_empty());
    }

    #[test]
    fn encoder_handles_partial_advance_inside_chunks_and_staging() {
        let big = Bytes::from((0..5000u32).map(|i| i as u8).collect::<Vec<u8>>());
        let mut enc = Encoder::new();
        enc.push_frame(true, &Bytes::from_static(b"head"));
        enc.push_frame(false, &big);
        enc.push_frame(false, &Bytes::from_static(b"tail"));
        let whole = queued(&enc);
        let total = whole.len();
        assert_eq!(total, enc.pending());
        // Write it out in awkward step sizes and check the bytes stay in order.
        let mut written = Vec::new();
        for step in [1usize, 3, 10, 2000, 7, 2999, 1, 5, 1000] {
            let step = step.min(enc.pending());
            let now = queued(&enc);
            assert_eq!(now.len(), enc.pending());
            written.extend_from_slice(&now[..step]);
            enc.advance(step);
        }
        written.extend_from_slice(&queued(&enc));
        let rest = enc.pending();
        enc.advance(rest);
        assert_eq!(written, whole);
        assert_eq!(enc.pending(), 0);
        assert_eq!(enc.slices(&mut [IoSlice::new(&[])]), 0);
        // The queue is reusable after draining.
        enc.push_frame(false, &Bytes::from_static(b"x"));
        assert_eq!(queued(&enc), b"\x00\x01x");
    }
}
