//! A thin wrapper over the crate-internal pipe, for the micro-benchmark in
//! `benches/handoff.rs` only (the codec's bench is zmio-proto's, on its API).
//!
//! Compiled with the `bench-internals` feature and hidden from the docs: this
//! is not part of zmio's API and may change or go away at any time. Every
//! method delegates to the code the engine and the sockets run; nothing here
//! changes how the library behaves.

use std::collections::VecDeque;
use std::sync::Arc;

use zmio_proto::Msg;

use crate::routing::types::Routing;
use crate::routing::types::push::PushRouting;

use crate::core::mailbox::SocketShared;
use crate::core::pipe::{Pipe, Pushed};
use crate::io::reactor::ReactorShared;

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
        let socket = SocketShared::new(<PushRouting as Routing>::RULES);
        let reactor = ReactorShared::detached();
        HandOff {
            pipe: Pipe::new(hwm, hwm, &socket.owner(), reactor.clone()),
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
