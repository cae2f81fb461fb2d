//! Entry points into the crate-internal ZMTP codec, for the cargo-fuzz
//! targets in `fuzz/` only.
//!
//! Compiled with the `fuzz-internals` feature and hidden from the docs: this
//! is not part of zmio's API and may change or go away at any time. Each
//! function runs the code the engine runs on received bytes; nothing here
//! changes how the library behaves.

use std::io::IoSlice;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::error::ProtocolError;
use crate::socket_types::SocketKind;
use crate::zmtp::command::{RawCommand, Ready};
use crate::zmtp::frame::{Encoder, FrameDecoder};
use crate::zmtp::metadata::Properties;
use crate::zmtp::{Connection, ConnectionConfig, Event, Timing};

/// One frame as the decoder returned it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedFrame {
    /// The MORE flag.
    pub more: bool,
    /// The COMMAND flag.
    pub command: bool,
    /// The body.
    pub body: Bytes,
}

/// The frame decoder of one connection (`FrameDecoder`).
#[derive(Debug)]
pub struct Frames {
    decoder: FrameDecoder,
}

impl Frames {
    /// A decoder with these limits (`None`: messages of any size).
    pub fn new(max_msg_size: Option<u64>, max_command_size: u64, max_frames: usize) -> Frames {
        Frames {
            decoder: FrameDecoder::new(max_msg_size, max_command_size).with_max_frames(max_frames),
        }
    }

    /// Removes one complete frame from the front of `input`; `Ok(None)`
    /// means more bytes are needed (`input` is then untouched).
    pub fn decode(&mut self, input: &mut BytesMut) -> Result<Option<DecodedFrame>, ProtocolError> {
        Ok(self.decoder.decode(input)?.map(|f| DecodedFrame {
            more: f.more,
            command: f.command,
            body: f.body,
        }))
    }

    /// The whole length of a frame whose header is in but whose body is not, else 0.
    pub fn awaiting(&self) -> usize {
        self.decoder.awaiting()
    }
}

/// Encodes `frames` as our side would send them: data frames with
/// `Encoder::push_frame`, commands (split into name and data) with
/// `Encoder::push_command`. `None` if a command's body does not split into
/// a name and data (we never send such a command).
pub fn encode_frames(frames: &[DecodedFrame]) -> Option<Vec<u8>> {
    let mut enc = Encoder::new();
    for frame in frames {
        if frame.command {
            let raw = RawCommand::parse(frame.body.clone()).ok()?;
            enc.push_command(&raw.name, &[&raw.data]);
        } else {
            enc.push_frame(frame.more, &frame.body);
        }
    }
    Some(drain(&mut enc))
}

/// One parsed property: `(name, value)`, or why the block is malformed.
pub type ParsedProperty<'a> = Result<(&'a [u8], &'a [u8]), ProtocolError>;

/// The properties of a metadata block (`Properties`), as far as they parse.
pub fn parse_metadata(metadata: &[u8]) -> Vec<ParsedProperty<'_>> {
    Properties::new(metadata).collect()
}

/// READY's metadata decoded (`Ready::decode`): the socket type and identity.
pub fn decode_ready(data: &Bytes) -> Result<(Bytes, Option<Bytes>), ProtocolError> {
    Ready::decode(data).map(|r| (r.socket_type, r.identity))
}

/// A connection's input side at a fixed clock (a `Connection` that has
/// sent its greeting): greeting check, NULL handshake, then traffic.
#[derive(Debug)]
pub struct InputSide {
    conn: Connection,
    now: Instant,
}

/// What [`InputSide::handle_input`] produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Produced {
    /// The handshake completed (an `Event::Ready` came out).
    pub ready: bool,
    /// Complete messages, each as its frames.
    pub messages: Vec<Vec<Bytes>>,
}

impl InputSide {
    /// Our side, a socket of kind `ours`, with these limits, libzmq's 30 s
    /// handshake limit and heartbeats every second (so PINGs and TTLs are
    /// honoured).
    pub fn new(
        ours: SocketKind,
        max_msg_size: Option<u64>,
        max_frames: usize,
        max_metadata_size: u64,
    ) -> InputSide {
        let now = Instant::now();
        let timing = Timing {
            heartbeat_ivl: Some(Duration::from_secs(1)),
            ..Timing::default()
        };
        let config = ConnectionConfig {
            socket_kind: ours,
            routing_id: Bytes::new(),
            max_msg_size,
            max_frames,
            max_metadata_size,
            timing,
        };
        InputSide {
            conn: Connection::new(config, now),
            now,
        }
    }

    /// Feeds received bytes (`Connection::handle_input`), then collects the
    /// events. The clock does not move.
    pub fn handle_input(&mut self, input: &mut BytesMut) -> (Produced, Result<(), ProtocolError>) {
        let result = self.conn.handle_input(input, self.now);
        let mut produced = Produced::default();
        while let Some(event) = self.conn.poll_event() {
            match event {
                Event::Ready(_) => produced.ready = true,
                Event::Message(msg) => produced.messages.push(msg.frames().cloned().collect()),
            }
        }
        (produced, result)
    }

    /// Moves the clock forward by `by` and runs the due timers
    /// (`Connection::handle_timeout`); `false` if the connection timed out.
    pub fn advance_clock(&mut self, by: Duration) -> bool {
        self.now += by;
        self.conn.handle_timeout(self.now).is_ok()
    }

    /// Whether the handshake is complete.
    pub fn is_ready(&self) -> bool {
        self.conn.is_ready()
    }

    /// How many bytes the input buffer should hold for the next unit (`Connection::input_wanted`).
    pub fn input_wanted(&self) -> usize {
        self.conn.input_wanted()
    }

    /// Takes every byte queued for transmission (greeting, READY, PONGs, ERROR).
    pub fn take_transmit(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while self.conn.pending_transmit() > 0 {
            let mut slices = [IoSlice::new(&[]); 16];
            let n = self.conn.transmit_slices(&mut slices);
            let mut written = 0;
            for slice in &slices[..n] {
                out.extend_from_slice(slice);
                written += slice.len();
            }
            self.conn.advance_transmit(written);
        }
        out
    }
}

/// Everything an encoder holds, in order.
fn drain(enc: &mut Encoder) -> Vec<u8> {
    let mut out = Vec::new();
    while enc.pending() > 0 {
        let mut slices = [IoSlice::new(&[]); 16];
        let n = enc.slices(&mut slices);
        let mut written = 0;
        for slice in &slices[..n] {
            out.extend_from_slice(slice);
            written += slice.len();
        }
        enc.advance(written);
    }
    out
}
