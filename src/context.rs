//! The context: owns the reactor threads; sockets are made from it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::reactor::ReactorThread;
use crate::socket::{Socket, SocketType};
use crate::transport::inproc::Registry;

#[derive(Debug)]
struct ContextInner {
    reactors: Vec<ReactorThread>,
    next_socket: AtomicU64,
    /// The context's inproc endpoints.
    inproc: Registry,
}

/// A zmio context: its I/O threads and the sockets made from it. Cheap to
/// clone (all clones share the threads). When the last clone and the last
/// socket are gone, dropping blocks until every closed socket has delivered
/// its queued messages or its linger time ran out (like `zmq_ctx_term`).
#[derive(Clone, Debug)]
pub struct Context {
    inner: Arc<ContextInner>,
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
        let reactors = (0..threads)
            .map(|i| ReactorThread::spawn(format!("zmio-io-{i}")))
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Context {
            inner: Arc::new(ContextInner {
                reactors,
                next_socket: AtomicU64::new(0),
                inproc: Registry::default(),
            }),
        })
    }

    /// The inproc endpoints of this context.
    pub(crate) fn inproc(&self) -> &Registry {
        &self.inner.inproc
    }

    /// A new socket of type `T`, e.g. `ctx.socket::<zmio::Push>()`.
    pub fn socket<T: SocketType>(&self) -> Result<Socket<T>> {
        let id = self.inner.next_socket.fetch_add(1, Ordering::Relaxed);
        let reactor = &self.inner.reactors[id as usize % self.inner.reactors.len()];
        Socket::new(self.clone(), id, reactor.shared().clone())
    }
}
