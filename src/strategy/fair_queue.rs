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
