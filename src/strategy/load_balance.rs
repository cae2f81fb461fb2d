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
