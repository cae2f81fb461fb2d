//! Round-robin reading across pipes (libzmq's fq), so one busy peer cannot
//! starve the others.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::msg::Msg;
use crate::pipe::{Pipe, PipeId};

#[derive(Debug)]
struct Source {
    pipe: Arc<Pipe>,
    /// Messages already taken from the pipe (all it held, in one swap), in
    /// order, not yet received: a busy socket locks a pipe once per batch,
    /// not per message. So a peer has at most twice the receive high water
    /// mark waiting: in the pipe and here.
    cache: VecDeque<Msg>,
}

/// Takes one message from each pipe in turn.
#[derive(Debug, Default)]
pub(crate) struct FairQueue {
    sources: Vec<Source>,
    next: usize,
}

impl FairQueue {
    /// Adds a pipe to the rotation.
    pub(crate) fn attach(&mut self, pipe: Arc<Pipe>) {
        self.sources.push(Source {
            pipe,
            cache: VecDeque::new(),
        });
    }

    /// The next message, from the pipe after the one that gave the last.
    /// A pipe whose connection has closed stays until its last message is read.
    pub(crate) fn recv(&mut self) -> Option<(PipeId, Msg)> {
        let mut step = 0;
        while step < self.sources.len() {
            let i = (self.next + step) % self.sources.len();
            let source = &mut self.sources[i];
            if source.cache.is_empty() {
                let pipe = &source.pipe;
                pipe.take_all(pipe.inb(), &mut source.cache);
            }
            if let Some(msg) = source.cache.pop_front() {
                let id = source.pipe.id();
                self.next = (i + 1) % self.sources.len();
                return Some((id, msg));
            }
            if source.pipe.inb().is_closed_and_empty() {
                self.sources.remove(i);
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
    pub(crate) fn pipes(&self) -> impl Iterator<Item = &Arc<Pipe>> {
        self.sources.iter().map(|s| &s.pipe)
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
        assert_eq!(fq.pipes().count(), 1);
        deliver(&b, "b");
        assert_eq!(fq.recv().map(|(id, _)| id), Some(b.id()));
    }
}
