//! Round-robin over the pipes that have room (libzmq's lb).

use std::sync::Arc;

use crate::msg::Msg;
use crate::pipe::{Pipe, PipeId};

/// Sends each message to the next pipe in turn that has room; a pipe at its
/// high water mark is skipped, and only when every pipe is full does a send fail.
#[derive(Debug, Default)]
pub(crate) struct LoadBalancer {
    pipes: Vec<Arc<Pipe>>,
    next: usize,
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

    /// Queues `msg` on the next pipe with room and says which; hands the
    /// message back when every pipe is full (or there is none).
    pub(crate) fn send(&mut self, mut msg: Msg) -> Result<PipeId, Msg> {
        let n = self.pipes.len();
        for step in 0..n {
            let i = (self.next + step) % n;
            let pipe = &self.pipes[i];
            if !pipe.is_eligible() {
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
    use crate::pipe::testing::{pipe, sent};

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
    fn no_pipe_means_no_send() {
        let mut lb = LoadBalancer::default();
        assert!(lb.send(Msg::from("x")).is_err());
    }
}
