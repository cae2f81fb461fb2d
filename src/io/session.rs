//! A session is one peer slot of a socket: for a connect, it lives as long as
//! the endpoint and keeps its pipe across reconnects (messages wait there for
//! the next connection); for an accepted connection, it lives as long as the
//! connection, and its pipe is made when the handshake completes.

use std::sync::Arc;

use crate::core::mailbox::{SocketId, SocketShared};
use crate::core::pipe::Pipe;
use crate::endpoint::Endpoint;
use crate::io::engine::Engine;
use crate::monitor::{MonitorEvent, MonitorEventKind};
use crate::options::Options;

/// Where a session came from.
#[derive(Debug)]
pub(crate) enum Origin {
    /// `connect()`: reconnects until disconnected.
    Connect {
        endpoint: Endpoint,
        /// Failed attempts since the last handshake, for the backoff.
        failures: u32,
        /// A handshake has completed on this session before (so a new one is a reconnect).
        was_ready: bool,
        /// The host name lookup in flight, by attempt number (the answer
        /// of an older one is ignored).
        lookup: Option<u64>,
    },
    /// Accepted by the listener with this token.
    Accepted {
        listener: mio::Token,
        /// The listener's endpoint, for monitor events.
        endpoint: Arc<str>,
        /// The peer's address (tcp), for monitor events.
        peer: Option<Arc<str>>,
        /// Counted among the listener's pending handshakes.
        pending: bool,
    },
}

/// One peer slot.
#[derive(Debug)]
pub(crate) struct Session {
    pub socket_id: SocketId,
    pub socket: Arc<SocketShared>,
    pub options: Arc<Options>,
    pub pipe: Option<Arc<Pipe>>,
    pub origin: Origin,
    /// The live connection; `None` while waiting to reconnect.
    pub engine: Option<Engine>,
    /// The socket was closed: deliver what is queued, then go.
    pub lingering: bool,
}

impl Session {
    /// Whether messages still wait to go out (in the pipe or encoded).
    pub(crate) fn has_pending_output(&self) -> bool {
        self.pipe.as_ref().is_some_and(|p| p.out().len() > 0)
            || self.engine.as_ref().is_some_and(Engine::has_pending_output)
    }

    /// Reports an event to the socket's monitor, if it has one (`kind` is
    /// only built then).
    pub(crate) fn emit(&self, kind: impl FnOnce() -> MonitorEventKind) {
        self.socket.monitor.emit(|| {
            let (endpoint, peer) = match &self.origin {
                Origin::Connect { endpoint, .. } => (endpoint.to_string(), None),
                Origin::Accepted { endpoint, peer, .. } => {
                    (endpoint.to_string(), peer.as_deref().map(str::to_owned))
                }
            };
            MonitorEvent {
                endpoint,
                peer,
                kind: kind(),
            }
        });
    }

    /// A lingering session with nothing left to deliver is done.
    pub(crate) fn linger_done(&self) -> bool {
        self.lingering && !self.has_pending_output()
    }
}
