//! What a context shares with its sockets: its reactor threads and its
//! inproc names. A socket holds it, so the threads outlive every socket;
//! the last holder to go joins them (after each closed socket lingered).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::core::mailbox::SocketId;
use crate::io::reactor::{ReactorShared, ReactorThread};
use crate::io::transport::inproc::Registry;

/// A context's I/O threads and inproc endpoint table.
#[derive(Debug)]
pub(crate) struct IoThreads {
    reactors: Vec<ReactorThread>,
    next_socket: AtomicU64,
    /// The context's inproc endpoints.
    inproc: Registry,
}

impl IoThreads {
    /// `threads` reactor threads (at least one, checked by the caller).
    pub(crate) fn spawn(threads: usize) -> std::io::Result<IoThreads> {
        let reactors = (0..threads)
            .map(|i| ReactorThread::spawn(format!("zmio-io-{i}")))
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(IoThreads {
            reactors,
            next_socket: AtomicU64::new(0),
            inproc: Registry::default(),
        })
    }

    /// The inproc endpoints of this context.
    pub(crate) fn inproc(&self) -> &Registry {
        &self.inproc
    }

    /// An id for a new socket and the reactor that serves it (round-robin).
    pub(crate) fn place_socket(&self) -> (SocketId, Arc<ReactorShared>) {
        let id = self.next_socket.fetch_add(1, Ordering::Relaxed);
        let reactor = &self.reactors[id as usize % self.reactors.len()];
        (id, reactor.shared().clone())
    }
}
