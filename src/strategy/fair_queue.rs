//! Round-robin reading across pipes (libzmq's fq), so one busy peer cannot
//! starve the others.

use std::sync::Arc;

use crate::msg::Msg;
use crate::pipe::{Pipe, PipeId};

/// Takes one message from each pipe in turn.
#[derive(Debug, Default)]
pub(crate) struct FairQueue {
    pipes: Vec<Arc<Pipe>>,
    next: usize,
}

impl FairQueue {
    /// Adds a pipe to the rotation.
    pub(crate) fn attach(&mut self, pipe: Arc<Pipe>) {
        self.pipes.push(pipe);
    }

    /// The next message, from the pipe after the one that gave the last.
    /// A pipe whose connection has closed stays until its last message is read.
    pub(crate) fn recv(&mut self) -> Option<(PipeId, Msg)> {
        let mut step = 0;
        while step < self.pipes.len() {
            let i = (self.next + step) % self.pipes.len();
            let pipe = &self.pipes[i];
            if let Some(msg) = pipe.pop(pipe.inb()) {
                self.next = (i + 1) % self.pipes.len();
                return Some((pipe.id(), msg));
            }
            if pipe.inb().is_closed_and_empty() {
                self.pipes.remove(i);
                if self.next > i {
                    self.next -= 1;
                }
                continue;
            }
            step += 1;
        }
        None
    }

    /// The attached pipes.
    pub(crate) fn pipes(&self) -> &[Arc<Pipe>] {
        &self.pipes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipe::testing::{deliver, pipe};

    fn text(m: &Msg) -> String {
        String::from_utf8_lossy(&m.frames().next().unwrap()[..]).into_owned()
    }

    #[test]
    fn takes_one_message_from_each_pipe_in_turn() {
        let (a, b) = (pipe(10).0, pipe(10).0);
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
        let (a, b) = (pipe(10).0, pipe(10).0);
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
        assert_eq!(fq.pipes().len(), 1);
        deliver(&b, "b");
        assert_eq!(fq.recv().map(|(id, _)| id), Some(b.id()));
    }
}
