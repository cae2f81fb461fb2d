//! Round-robin over the pipes that have room (libzmq's lb).

use std::collections::VecDeque;
use std::sync::Arc;

use crate::core::pipe::{Pipe, PipeId};
use zmio_proto::Msg;

/// Sends each message to the next pipe in turn that has room; a pipe at its
/// high water mark is skipped, and only when every pipe is full does a send fail.
#[derive(Debug, Default)]
pub(crate) struct LoadBalancer {
    pipes: Vec<Arc<Pipe>>,
    next: usize,
    /// Messages of peers that are gone for good, waiting for room at live
    /// peers; they go out before any new message (see [`Self::reroute`]).
    rerouted: VecDeque<Msg>,
}

impl LoadBalancer {
    /// Adds a pipe to the rotation.
    pub(crate) fn attach(&mut self, pipe: Arc<Pipe>) {
        self.pipes.push(pipe);
    }

    /// Removes a pipe from the rotation.
    pub(crate) fn detach(&mut self, id: PipeId) {
        if let Some(i) = self.pipes.iter().position(|p| p.id() == id) {
            self.pipes.remove(i);
            if self.next > i {
                self.next -= 1;
            }
        }
    }

    /// Whether some pipe has room (a send would not be handed back); when
    /// none has, each is armed to wake the socket once it has.
    pub(crate) fn has_room(&mut self) -> bool {
        self.place_rerouted();
        self.rerouted.is_empty()
            && self
                .pipes
                .iter()
                .any(|pipe| pipe.has_room_or_wake_me(pipe.out()))
    }

    /// Queues `msg` on the next pipe with room and says which; hands the
    /// message back when every pipe is full (or there is none), or while
    /// re-routed messages still wait for room.
    pub(crate) fn send(&mut self, msg: Msg) -> Result<PipeId, Msg> {
        if !self.rerouted.is_empty() {
            self.place_rerouted();
            if !self.rerouted.is_empty() {
                return Err(msg);
            }
        }
        self.place(msg, |p| p.is_eligible())
    }

    /// Places re-routed messages, in order, while some peer has room:
    /// peers that are up first, else any that may take them.
    fn place_rerouted(&mut self) {
        while let Some(msg) = self.rerouted.pop_front() {
            let placed = match self.place(msg, |p| p.is_peer_up()) {
                Err(msg) => self.place(msg, |p| p.is_eligible()),
                placed => placed,
            };
            if let Err(msg) = placed {
                self.rerouted.push_front(msg);
                return;
            }
        }
    }

    /// The peer behind `lost` lost its connection: what waits in its queue
    /// (never written to the connection) goes round robin to the peers
    /// whose connection is up, as far as they have room. libzmq drops it.
    ///
    /// A `reconnecting` peer keeps what finds no room, for its next
    /// connection. A peer gone for good leaves the rotation at once, and
    /// what finds no room waits here and goes out, in order, before any
    /// newer message: sends wait (or say `WouldBlock`) until it has gone,
    /// so nothing is dropped and the high water marks still hold. Only a
    /// socket closed meanwhile drops it.
    pub(crate) fn reroute(&mut self, lost: &Arc<Pipe>, reconnecting: bool) {
        if !reconnecting {
            // It will not come back: nothing more goes to it, even before
            // the socket is told it is gone.
            self.detach(lost.id());
            lost.take_all(lost.out(), &mut self.rerouted);
            self.place_rerouted();
            return;
        }
        if lost.is_peer_up() {
            // Reconnected before this socket looked: nothing to move.
            return;
        }
        let mut waiting = VecDeque::new();
        lost.take_all(lost.out(), &mut waiting);
        let mut left = VecDeque::new();
        for msg in waiting {
            if let Err(msg) = self.place(msg, |p| p.id() != lost.id() && p.is_peer_up()) {
                left.push_back(msg);
            }
        }
        lost.unshift(lost.out(), &mut left);
    }

    /// Queues `msg` on the next pipe `eligible` accepts that has room.
    fn place(&mut self, mut msg: Msg, eligible: impl Fn(&Pipe) -> bool) -> Result<PipeId, Msg> {
        let n = self.pipes.len();
        for step in 0..n {
            let i = (self.next + step) % n;
            let pipe = &self.pipes[i];
            if !eligible(pipe) {
                continue;
            }
            match pipe.try_push(pipe.out(), msg) {
                Ok(()) => {
                    self.next = (i + 1) % n;
                    return Ok(pipe.id());
                }
                Err(back) => msg = back,
            }
        }
        Err(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::pipe::testing::{pipe, sent};

    #[test]
    fn round_robin_skips_full_pipes_and_hands_back_when_all_are_full() {
        let pipes: Vec<_> = (0..3).map(|_| pipe(2).0).collect();
        let mut lb = LoadBalancer::default();
        for p in &pipes {
            lb.attach(p.clone());
        }
        for i in 0..6 {
            assert!(lb.send(Msg::from(format!("{i}"))).is_ok());
        }
        assert_eq!(sent(&pipes[0]), ["0", "3"]);
        assert_eq!(sent(&pipes[1]), ["1", "4"]);
        assert_eq!(sent(&pipes[2]), ["2", "5"]);
        // Fill 0 and 2; everything goes to 1 until it is full too.
        for p in [&pipes[0], &pipes[2]] {
            p.try_push(p.out(), Msg::from("f")).unwrap();
            p.try_push(p.out(), Msg::from("f")).unwrap();
        }
        assert_eq!(lb.send(Msg::from("a")), Ok(pipes[1].id()));
        assert_eq!(lb.send(Msg::from("b")), Ok(pipes[1].id()));
        assert_eq!(lb.send(Msg::from("c")), Err(Msg::from("c")));
        lb.detach(pipes[1].id());
        assert_eq!(sent(&pipes[1]), ["a", "b"]);
        assert_eq!(
            lb.send(Msg::from("d")),
            Err(Msg::from("d")),
            "a detached pipe gets nothing"
        );
    }

    #[test]
    fn a_lost_peers_queue_goes_to_live_peers() {
        let pipes: Vec<_> = (0..3).map(|_| pipe(3).0).collect();
        let mut lb = LoadBalancer::default();
        for p in &pipes {
            lb.attach(p.clone());
        }
        for i in 0..6 {
            lb.send(Msg::from(format!("{i}"))).unwrap();
        }
        // Peer 0 dies with "0" and "3" queued: they go to 1 and 2.
        pipes[0].set_peer_up(false);
        lb.reroute(&pipes[0], true);
        assert_eq!(sent(&pipes[0]), Vec::<String>::new());
        let (one, two) = (sent(&pipes[1]), sent(&pipes[2]));
        let mut all: Vec<String> = one.iter().chain(&two).cloned().collect();
        all.sort();
        assert_eq!(all, ["0", "1", "2", "3", "4", "5"]);
        assert_eq!((one.len(), two.len()), (3, 3), "round robin");

        // No room among the live ones: a reconnecting pipe keeps the rest.
        pipes[0].try_push(pipes[0].out(), Msg::from("a")).unwrap();
        pipes[0].try_push(pipes[0].out(), Msg::from("b")).unwrap();
        for p in &pipes[1..] {
            while p.try_push(p.out(), Msg::from("x")).is_ok() {}
        }
        lb.reroute(&pipes[0], true);
        assert_eq!(sent(&pipes[0]), ["a", "b"], "kept for the reconnect");

        // Reconnected before the socket looked: left alone.
        pipes[0].try_push(pipes[0].out(), Msg::from("c")).unwrap();
        pipes[0].set_peer_up(true);
        for p in &pipes[1..] {
            sent(p);
        }
        lb.reroute(&pipes[0], true);
        assert_eq!(sent(&pipes[0]), ["c"]);

        // Gone for good with the live peers full: the messages may go to a
        // peer that is down but reconnecting (here: pipe 1, marked down).
        pipes[0].set_peer_up(false);
        pipes[0].try_push(pipes[0].out(), Msg::from("d")).unwrap();
        pipes[1].set_peer_up(false);
        while pipes[2].try_push(pipes[2].out(), Msg::from("x")).is_ok() {}
        lb.reroute(&pipes[0], false);
        assert_eq!(sent(&pipes[1]), ["d"]);

        // Gone for good and every peer full: the messages wait, and new
        // sends wait behind them until there is room.
        pipes[1].set_peer_up(true);
        let [_, one, two] = <[_; 3]>::try_from(pipes).unwrap();
        let doomed = pipe(3).0;
        lb.attach(doomed.clone());
        for p in [&one, &two] {
            while p.try_push(p.out(), Msg::from("x")).is_ok() {}
        }
        doomed.try_push(doomed.out(), Msg::from("e")).unwrap();
        doomed.try_push(doomed.out(), Msg::from("f")).unwrap();
        doomed.set_peer_up(false);
        lb.reroute(&doomed, false);
        assert_eq!(lb.send(Msg::from("new")), Err(Msg::from("new")));
        assert!(!lb.has_room());
        sent(&one);
        assert!(lb.has_room(), "the waiting ones went out");
        assert_eq!(lb.send(Msg::from("new")), Ok(one.id()));
        assert_eq!(sent(&one), ["e", "f", "new"]);
        assert_eq!(sent(&doomed), Vec::<String>::new());
    }

    #[test]
    fn no_pipe_means_no_send() {
        let mut lb = LoadBalancer::default();
        assert!(lb.send(Msg::from("x")).is_err());
    }
}
