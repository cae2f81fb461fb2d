//! The context: owns the reactor threads; sockets are made from it.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::io::threads::IoThreads;
use crate::socket::{Socket, SocketType};

/// A zmio context: its I/O threads and the sockets made from it. Cheap to
/// clone (all clones share the threads). When the last clone and the last
/// socket are gone, dropping blocks until every closed socket has delivered
/// its queued messages or its linger time ran out (like `zmq_ctx_term`).
#[derive(Clone, Debug)]
pub struct Context {
    inner: Arc<IoThreads>,
}

impl Context {
    /// A context with one I/O thread.
    pub fn new() -> Result<Context> {
        Context::with_io_threads(1)
    }

    /// A context with `threads` I/O threads (at least 1); sockets are
    /// spread over them round-robin.
    pub fn with_io_threads(threads: usize) -> Result<Context> {
        if threads == 0 {
            return Err(Error::InvalidOption {
                option: "ZMQ_IO_THREADS",
                reason: "needs at least one I/O thread".into(),
            });
        }
        Ok(Context {
            inner: Arc::new(IoThreads::spawn(threads)?),
        })
    }

    /// A new socket of type `T`, e.g. `ctx.socket::<zmio::Push>()`.
    pub fn socket<T: SocketType>(&self) -> Result<Socket<T>> {
        let (id, reactor) = self.inner.place_socket();
        Socket::new(self.inner.clone(), id, reactor)
    }
}
