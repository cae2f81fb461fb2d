//! Socket types as routing policies over the shared strategies. Each type is
//! a small [`Routing`] implementation; the socket core does the waiting,
//! timeouts and reactor hand-off for all of them.

mod dealer;
mod pair;
mod publisher;
mod pull;
mod push;
mod rep;
mod req;
mod router;
mod subscriber;
mod xpub;
mod xsub;

use std::sync::Arc;

pub use zmio_proto::SocketKind;

use crate::core::pipe::{Pipe, PipeId};
use crate::error::{Error, Result};
use zmio_proto::Msg;

/// What a socket type decides; the socket core calls it on the application thread.
pub(crate) trait Routing: Send + std::fmt::Debug {
    /// A peer's pipe is ready to use.
    fn attach(&mut self, pipe: Arc<Pipe>);

    /// A peer's pipe is gone for sending (its unread input may still be read).
    fn detach(&mut self, id: PipeId);

    /// A connecting pipe got a new connection after losing one (SUB re-sends
    /// its subscriptions here).
    fn reconnected(&mut self, _pipe: &Arc<Pipe>) {}

    /// A peer's connection ended (see `SocketEvent::Lost`).
    fn lost(&mut self, _pipe: &Arc<Pipe>, _reconnecting: bool) {}

    /// A connecting pipe completed a handshake; its peer's routing id is on
    /// the pipe (ROUTER names the peer by it).
    fn ready(&mut self, _pipe: &Arc<Pipe>) {}

    /// Queues a message. `Ok(Some(msg))` hands it back: no peer can take it now.
    fn send(&mut self, _msg: Msg) -> Result<Option<Msg>> {
        Err(Error::InvalidState("this socket type cannot send"))
    }

    /// Whether a send would not have to wait now (ZMQ_POLLOUT). A type whose
    /// send can wait arms the wake-up for room, as a refused send does.
    fn writable(&mut self) -> bool {
        false
    }

    /// A message was received here but is not yet with the application (the
    /// socket peeked it for readiness). Whether a send may go ahead as if it
    /// were unread: `Ok(false)` keeps it, `Ok(true)` drops it (a relaxed REQ
    /// abandons the request it answers), an error when the send must wait
    /// for it to be received (REQ, REP).
    fn send_over_unread(&self) -> Result<bool> {
        Ok(false)
    }

    /// The next message, `Ok(None)` if none is waiting.
    fn recv(&mut self) -> Result<Option<Msg>> {
        Err(Error::InvalidState("this socket type cannot receive"))
    }

    /// Adds (`on`) or drops one subscription to `prefix`.
    fn subscribe(&mut self, _prefix: &[u8], _on: bool) -> Result<()> {
        Err(Error::InvalidState("only SUB sockets subscribe"))
    }

    /// ZMQ_XPUB_VERBOSE: pass every subscribe up, not only a prefix's first.
    fn set_xpub_verbose(&mut self, _on: bool) -> Result<()> {
        Err(Error::InvalidState("only XPUB sockets have xpub_verbose"))
    }

    /// ZMQ_ROUTER_MANDATORY: fail sends to unknown or full peers instead of
    /// dropping them.
    fn set_router_mandatory(&mut self, _on: bool) -> Result<()> {
        Err(Error::InvalidState(
            "only ROUTER sockets have router_mandatory",
        ))
    }

    /// ZMQ_ROUTER_HANDOVER: a peer claiming a taken routing id takes it over.
    fn set_router_handover(&mut self, _on: bool) -> Result<()> {
        Err(Error::InvalidState(
            "only ROUTER sockets have router_handover",
        ))
    }

    /// ZMQ_REQ_RELAXED: a send while a reply is awaited abandons that request.
    fn set_req_relaxed(&mut self, _on: bool) -> Result<()> {
        Err(Error::InvalidState("only REQ sockets have req_relaxed"))
    }

    /// ZMQ_REQ_CORRELATE: requests carry an id the reply must echo.
    fn set_req_correlate(&mut self, _on: bool) -> Result<()> {
        Err(Error::InvalidState("only REQ sockets have req_correlate"))
    }
}

/// The routing policy for `kind`, or `None` for a type not built yet.
pub(crate) fn routing_for(kind: SocketKind) -> Option<Box<dyn Routing>> {
    Some(match kind {
        SocketKind::Push => Box::<push::Push>::default(),
        SocketKind::Pull => Box::<pull::Pull>::default(),
        SocketKind::Pub => Box::<publisher::Pub>::default(),
        SocketKind::Sub => Box::<subscriber::Sub>::default(),
        SocketKind::Req => Box::<req::Req>::default(),
        SocketKind::Rep => Box::<rep::Rep>::default(),
        SocketKind::Dealer => Box::<dealer::Dealer>::default(),
        SocketKind::Router => Box::<router::Router>::default(),
        SocketKind::Pair => Box::<pair::Pair>::default(),
        SocketKind::XPub => Box::<xpub::XPub>::default(),
        SocketKind::XSub => Box::<xsub::XSub>::default(),
        _ => return None,
    })
}

/// Whether a socket of `kind` moves a lost peer's queued messages to live
/// peers (PUSH, DEALER).
pub(crate) fn reroutes_lost_peers(kind: SocketKind) -> bool {
    matches!(kind, SocketKind::Push | SocketKind::Dealer)
}
