//! Thin wrappers over crate-internal types, for the micro-benchmarks in
//! `benches/codec.rs` and `benches/handoff.rs` only.
//!
//! Compiled with the `bench-internals` feature and hidden from the docs: this
//! is not part of zmio's API and may change or go away at any time. Every
//! method delegates to the code the engine and the sockets run; nothing here
//! changes how the library behaves.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use crate::error::ProtocolError;
use crate::msg::Msg;
use crate::pipe::{Pipe, Pushed};
use crate::reactor::ReactorShared;
use crate::socket::SocketShared;
use crate::socket_types::SocketKind;
use crate::zmtp::{Connection, ConnectionConfig, Event, Timing};

/// One ZMTP connection past its NULL handshake, driven as the engine drives
/// it: messages in through [`send`](Self::send), encoded bytes out through
/// [`transmit_slices`](Self::transmit_slices) /
/// [`advance_transmit`](Self::advance_transmit); received bytes in through
/// [`handle_input`](Self::handle_input), messages out through
/// [`poll_message`](Self::poll_message). The frame decoder and encoder behind
/// it are the real ones.
#[derive(Debug)]
pub struct FrameCodec {
    conn: Connection,
    /// The time given to the connection (it has no timers armed).
    now: Instant,
}

impl FrameCodec {
    /// Our side (`ours`) of a connection to a `peer`, after both sides'
    /// greetings and READY commands were exchanged in memory. `None` if the
    /// handshake fails (the two socket types cannot talk to each other).
    /// Neither side has a message size limit.
    pub fn new(ours: SocketKind, peer: SocketKind) -> Option<FrameCodec> {
        let config = |socket_kind| ConnectionConfig {
            socket_kind,
            routing_id: Bytes::new(),
            max_msg_size: None,
            max_frames: 65_536,
            max_metadata_size: 8192,
            timing: Timing::NONE,
        };
        let now = Instant::now();
        let mut a = Connection::new(config(ours), now);
        let mut b = Connection::new(config(peer), now);
        let (mut a_in, mut b_in) = (BytesMut::new(), BytesMut::new());
        // Greeting, then READY: a few rounds suffice; bounded all the same.
        for _ in 0..8 {
            move_transmit(&mut a, &mut b_in);
            move_transmit(&mut b, &mut a_in);
            a.handle_input(&mut a_in, now).ok()?;
            b.handle_input(&mut b_in, now).ok()?;
            if a.is_ready() && b.is_ready() && a.pending_transmit() == 0 {
                break;
            }
        }
        if !(a.is_ready() && a_in.is_empty() && a.pending_transmit() == 0) {
            return None;
        }
        // The Ready event.
        while a.poll_event().is_some() {}
        Some(FrameCodec { conn: a, now })
    }

    /// Queues a message for transmission (`Connection::send_message`).
    pub fn send(&mut self, msg: Msg) {
        self.conn.send_message(msg);
    }

    /// Bytes queued for transmission.
    pub fn pending_transmit(&self) -> usize {
        self.conn.pending_transmit()
    }

    /// Fills `dst` with slices of the queued bytes, in order, as the engine
    /// passes them to `write_vectored`; returns how many it filled.
    pub fn transmit_slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        self.conn.transmit_slices(dst)
    }

    /// Marks `n` queued bytes as written.
    pub fn advance_transmit(&mut self, n: usize) {
        self.conn.advance_transmit(n);
    }

    /// Feeds received bytes: every complete frame is sliced out of the front
    /// of `input` (`Connection::handle_input`).
    pub fn handle_input(&mut self, input: &mut BytesMut) -> Result<(), ProtocolError> {
        self.conn.handle_input(input, self.now)
    }

    /// The next complete message received, if any.
    pub fn poll_message(&mut self) -> Option<Msg> {
        loop {
            match self.conn.poll_event()? {
                Event::Message(msg) => return Some(msg),
                Event::Ready(_) => {}
            }
        }
    }
}

/// Moves everything `from` has to transmit to the end of `to`.
fn move_transmit(from: &mut Connection, to: &mut BytesMut) {
    while from.pending_transmit() > 0 {
        let mut slices = [IoSlice::new(&[]); 16];
        let n = from.transmit_slices(&mut slices);
        let mut written = 0;
        for slice in &slices[..n] {
            to.extend_from_slice(slice);
            written += slice.len();
        }
        from.advance_transmit(written);
    }
}

/// One pipe between a socket (application side) and a peer connection
/// (reactor side), with no socket or reactor thread behind it: the wake-ups
/// the pipe sends the reactor accumulate in a detached command queue
/// (through the real `Waker`), and the ones it sends the socket bump its
/// mailbox's sequence number.
#[derive(Debug)]
pub struct HandOff {
    pipe: Arc<Pipe>,
    reactor: Arc<ReactorShared>,
}

impl HandOff {
    /// A pipe whose queues hold at most `hwm` messages each (0 = unlimited).
    pub fn new(hwm: usize) -> HandOff {
        let socket = SocketShared::new(SocketKind::Push);
        let reactor = ReactorShared::detached();
        HandOff {
            pipe: Pipe::new(hwm, hwm, socket, reactor.clone()),
            reactor,
        }
    }

    /// Socket side, sending: queues `msg` on the outbound queue unless it is
    /// at its high water mark, as PUSH's load balancer does
    /// (`Pipe::try_push`); a refused message is handed back.
    pub fn send(&self, msg: Msg) -> Result<(), Msg> {
        self.pipe.try_push(self.pipe.out(), msg)
    }

    /// Reactor side, sending: takes every outbound message into `into` (a
    /// swap when `into` is empty), as the engine's flush does
    /// (`Pipe::take_all`).
    pub fn take_outbound(&self, into: &mut VecDeque<Msg>) {
        self.pipe.take_all(self.pipe.out(), into);
    }

    /// Reactor side, receiving: how many messages the inbound queue takes
    /// before its high water mark (`Pipe::room`).
    pub fn inbound_room(&self) -> usize {
        self.pipe.room(self.pipe.inb())
    }

    /// Reactor side, receiving: moves as many messages from the front of
    /// `msgs` as the inbound queue has room for, with one lock, as the
    /// engine's delivery does (`Pipe::push_batch`); `true` when the queue is
    /// now at its high water mark (what did not fit stays in `msgs`).
    pub fn deliver(&self, msgs: &mut VecDeque<Msg>) -> bool {
        self.pipe.push_batch(self.pipe.inb(), msgs) == Pushed::NowFull
    }

    /// Socket side, receiving: takes every inbound message into `into`, as
    /// the fair queue's read cache does (`Pipe::take_all`).
    pub fn recv_batch(&self, into: &mut VecDeque<Msg>) {
        self.pipe.take_all(self.pipe.inb(), into);
    }

    /// Reactor side: empties the detached reactor's command queue, as the
    /// reactor loop does once per turn, and says how many commands (pipe
    /// activations) were waiting. The next command queued after this wakes
    /// the `Waker` again.
    pub fn take_reactor_commands(&self) -> usize {
        self.reactor.take_commands().len()
    }
}
