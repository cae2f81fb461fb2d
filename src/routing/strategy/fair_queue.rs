//! Round-robin reading across pipes (libzmq's fq), so one busy peer cannot
//! starve the others.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::core::pipe::{Pipe, PipeId};
use zmio_proto::Msg;

#[derive(Debug)]
struct Source {
    pipe: Arc<Pipe>,
    /// Messages already taken from the pipe (all it held, in one swap), in
    /// order, not yet received: a busy socket locks a pipe once per batch,
    /// not per message. So a peer has at most twice the receive high water
    /// mark waiting: in the pipe and here.
    cache: VecDeque<Msg>,
}

/// Takes one message from each pipe in turn (libzmq's fq).
///
/// Pipes found empty leave the rotation (`sources[active..]`) until a push
/// activates them again, so a socket with many quiet peers does not lock
/// every one of them for each message it receives.
#[derive(Debug, Default)]
pub(crate) struct FairQueue {
    sources: Vec<Source>,
    /// `sources[..active]` are in the rotation; the rest were found empty.
    active: usize,
    /// The next in the rotation, below `active` (or 0).
    next: usize,
}

impl FairQueue {
    /// Adds a pipe to the rotation.
    pub(crate) fn attach(&mut self, pipe: Arc<Pipe>) {
        self.sources.push(Source {
            pipe,
            cache: VecDeque::new(),
        });
        let last = self.sources.len() - 1;
        self.sources.swap(self.active, last);
        self.active += 1;
    }

    /// Brings pipes activated since they were found empty back into the
    /// rotation; costs one atomic operation when none was.
    fn reactivate(&mut self) {
        let Some(first) = self.sources.first() else {
            return;
        };
        if !first.pipe.take_socket_activations() {
            return;
        }
        for i in self.active..self.sources.len() {
            if self.sources[i].pipe.inb().take_activated() {
                self.sources.swap(self.active, i);
                self.active += 1;
            }
        }
    }

    /// The next message, from the pipe after the one that gave the last.
    /// A pipe whose connection has closed stays until its last message is read.
    pub(crate) fn recv(&mut self) -> Option<(PipeId, Msg)> {
        self.reactivate();
        while self.active > 0 {
            let i = self.next.min(self.active - 1);
            let source = &mut self.sources[i];
            if source.cache.is_empty() {
                let pipe = &source.pipe;
                pipe.take_all(pipe.inb(), &mut source.cache);
            }
            if let Some(msg) = source.cache.pop_front() {
                let id = source.pipe.id();
                self.next = (i + 1) % self.active;
                return Some((id, msg));
            }
            // Empty: out of the rotation (the last active one takes its
            // place, and its turn), or gone for good once closed.
            self.active -= 1;
            self.sources.swap(i, self.active);
            if self.sources[self.active].pipe.inb().is_closed_and_empty() {
                self.sources.remove(self.active);
            }
            if self.next >= self.active {
                self.next = 0;
            }
        }
        None
    }

    /// The attached pipes.
    pub(crate) fn pipes(&self) -> impl Iterator<Item = &Arc<Pipe>> {
        self.sources.iter().map(|s| &s.pipe)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::pipe::testing::{deliver, pipes_of_one_socket};

    fn text(m: &Msg) -> String {
        String::from_utf8_lossy(&m.frames().next().unwrap()[..]).into_owned()
    }

    #[test]
    fn takes_one_message_from_each_pipe_in_turn() {
        let [a, b] = <[_; 2]>::try_from(pipes_of_one_socket(2, 10)).unwrap();
        let mut fq = FairQueue::default();
        fq.attach(a.clone());
        fq.attach(b.clone());
        for m in ["a1", "a2", "a3"] {
            deliver(&a, m);
        }
        deliver(&b, "b1");
        let got: Vec<String> = std::iter::from_fn(|| fq.recv().map(|(_, m)| text(&m))).collect();
        assert_eq!(got, ["a1", "b1", "a2", "a3"]);
    }

    #[test]
    fn a_closed_pipe_is_read_to_the_end_then_dropped() {
        let [a, b] = <[_; 2]>::try_from(pipes_of_one_socket(2, 10)).unwrap();
        let mut fq = FairQueue::default();
        fq.attach(a.clone());
        fq.attach(b.clone());
        deliver(&a, "last");
        a.close();
        assert_eq!(
            fq.recv().map(|(id, m)| (id, text(&m))),
            Some((a.id(), "last".into()))
        );
        assert!(fq.recv().is_none());
        assert_eq!(fq.pipes().count(), 1);
        deliver(&b, "b");
        assert_eq!(fq.recv().map(|(id, _)| id), Some(b.id()));
    }

    #[test]
    fn an_idle_pipe_leaves_the_rotation_and_a_push_brings_it_back() {
        let pipes = pipes_of_one_socket(3, 10);
        let mut fq = FairQueue::default();
        for p in &pipes {
            fq.attach(p.clone());
        }
        assert!(fq.recv().is_none());
        assert_eq!(fq.active, 0, "all three were found empty");
        deliver(&pipes[1], "b1");
        deliver(&pipes[1], "b2");
        deliver(&pipes[2], "c1");
        let got: Vec<String> = std::iter::from_fn(|| fq.recv().map(|(_, m)| text(&m))).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got.iter().filter(|m| m.starts_with('b')).count(), 2);
        assert!(got[0] != got[1], "one from each in turn: {got:?}");
        assert_eq!(fq.active, 0);
        // Closed while idle: looked at again, read to the end, let go.
        deliver(&pipes[0], "a-last");
        pipes[0].close();
        assert_eq!(fq.recv().map(|(_, m)| text(&m)).as_deref(), Some("a-last"));
        assert!(fq.recv().is_none());
        assert_eq!(fq.pipes().count(), 2);
    }

    #[test]
    fn a_busy_pipe_does_not_keep_an_activated_one_waiting() {
        let pipes = pipes_of_one_socket(2, 0);
        let mut fq = FairQueue::default();
        fq.attach(pipes[0].clone());
        fq.attach(pipes[1].clone());
        for i in 0..100 {
            deliver(&pipes[0], &format!("busy{i}"));
        }
        assert!(fq.recv().is_some());
        // The quiet pipe was found empty on its turn...
        assert!(fq.recv().is_some());
        deliver(&pipes[1], "quiet");
        // ...and is back within a turn of its push.
        let next: Vec<String> = (0..2)
            .filter_map(|_| fq.recv().map(|(_, m)| text(&m)))
            .collect();
        assert!(next.contains(&"quiet".to_owned()), "{next:?}");
    }
}
