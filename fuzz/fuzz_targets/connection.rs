//! A connection's input side (greeting check, NULL handshake, traffic) on
//! arbitrary bytes, fed in chunks, at a fixed clock: no panic, a failed
//! connection stays failed with the same error, messages only after the
//! handshake, every complete unit consumed, and what we transmit bounded by
//! what we received.
//!
//! Input: selector octet (low 4 bits: our socket kind, as in
//! SocketKind::ALL; bit 7: a 1 KiB message limit; bit 6: at most 4
//! frames per message; bit 5: the smallest metadata limit, 512 bytes),
//! chunk size octet (0: everything at once), then the stream.
#![no_main]

use std::time::{Duration, Instant};

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use zmio_proto::{Connection, ConnectionConfig, Event, ProtocolError, SocketKind, Timing};

/// What one call of [`InputSide::handle_input`] produced.
#[derive(Debug, Default, PartialEq, Eq)]
struct Produced {
    /// An `Event::Ready` came out.
    ready: bool,
    /// The frame counts of the complete messages.
    messages: Vec<usize>,
    /// Messages discarded for breaking a limit.
    discarded: usize,
}

/// A connection's input side at a clock that moves only when told.
struct InputSide {
    conn: Connection,
    now: Instant,
}

impl InputSide {
    /// libzmq's 30 s handshake limit and heartbeats every second (so PINGs
    /// and TTLs are honoured), with these limits.
    fn new(kind: SocketKind, max_msg: Option<u64>, max_frames: usize, max_meta: u64) -> Self {
        let mut config = ConnectionConfig::new(kind);
        config.max_msg_size = max_msg;
        config.max_frames = max_frames;
        config.max_metadata_size = max_meta;
        config.timing = Timing {
            heartbeat_ivl: Some(Duration::from_secs(1)),
            ..Timing::default()
        };
        let now = Instant::now();
        InputSide {
            conn: Connection::new(config, now),
            now,
        }
    }

    fn handle_input(&mut self, input: &mut BytesMut) -> (Produced, Result<(), ProtocolError>) {
        let result = self.conn.handle_input(input, self.now);
        let mut produced = Produced::default();
        while let Some(event) = self.conn.poll_event() {
            match event {
                Event::Ready(_) => produced.ready = true,
                Event::Message(msg) => produced.messages.push(msg.frame_count()),
                Event::Discarded(_) => produced.discarded += 1,
                Event::Authenticate(_) => panic!("NULL never asks an authenticator"),
            }
        }
        (produced, result)
    }

    fn take_transmit(&mut self) -> usize {
        let mut out = BytesMut::new();
        self.conn.drain_transmit(&mut out);
        out.len()
    }

    fn advance_clock(&mut self, by: Duration) {
        self.now += by;
        let _ = self.conn.handle_timeout(self.now);
    }
}

/// Greeting, READY and an ERROR with a 255-byte reason: what we may send
/// beyond echoing PINGs.
const OWN_TRANSMIT: usize = 64 + 512 + 300;

fuzz_target!(|data: &[u8]| {
    let [selector, chunk, stream @ ..] = data else {
        return;
    };
    let kind = SocketKind::ALL[usize::from(selector & 0x0F) % SocketKind::ALL.len()];
    let max_msg = (selector & 0x80 != 0).then_some(1024);
    let max_frames = if selector & 0x40 != 0 { 4 } else { 65_536 };
    let max_metadata = if selector & 0x20 != 0 { 512 } else { 8192 };
    let chunk = if *chunk == 0 {
        stream.len().max(1)
    } else {
        usize::from(*chunk)
    };

    let mut side = InputSide::new(kind, max_msg, max_frames, max_metadata);
    let mut transmitted = side.take_transmit();
    let mut input = BytesMut::new();
    let mut consumed = 0;
    let mut ready = false;
    for piece in stream.chunks(chunk) {
        input.extend_from_slice(piece);
        let before = input.len();
        let (produced, result) = side.handle_input(&mut input);
        consumed += before - input.len();
        transmitted += side.take_transmit();
        assert!(produced.messages.iter().all(|&frames| frames > 0));
        if produced.ready {
            assert!(!ready, "one Ready event");
            ready = true;
        }
        assert!(
            (produced.messages.is_empty() && produced.discarded == 0) || ready,
            "messages before Ready"
        );
        match result {
            Ok(()) => {
                // Every complete unit was taken: what is left is shorter
                // than the greeting, a frame header or the awaited frame.
                let wanted = side.conn.input_wanted().max(9);
                assert!(input.len() < wanted.max(64));
                if side.conn.is_ready() {
                    assert!(input.len() < wanted);
                }
            }
            Err(error) => {
                let (again, second) = side.handle_input(&mut input);
                assert_eq!(second, Err(error));
                assert_eq!(again, Default::default());
                assert!(!side.conn.is_ready());
                break;
            }
        }
        assert!(
            transmitted <= OWN_TRANSMIT + consumed,
            "transmit bounded by input"
        );
    }
    // Timers at a later time: a PING or a timeout, never a panic.
    side.advance_clock(Duration::from_secs(1));
    side.advance_clock(Duration::from_secs(60));
});
