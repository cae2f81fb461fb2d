//! Socket types as routing policies over the shared strategies. Each type is
//! a small [`Routing`] implementation; the socket core does the waiting,
//! timeouts and reactor hand-off for all of them.
//!
//! The policies and their trait are `pub` in this crate-private module, so
//! the public `SocketType` can name each type's policy while nothing outside
//! the crate can reach them; their methods take crate-private pipes, which
//! is what `private_interfaces` would warn about.
#![allow(private_interfaces)]

pub(crate) mod dealer;
pub(crate) mod pair;
pub(crate) mod publisher;
pub(crate) mod pull;
pub(crate) mod push;
pub(crate) mod rep;
pub(crate) mod req;
pub(crate) mod router;
pub(crate) mod subscriber;
pub(crate) mod xpub;
pub(crate) mod xsub;

use std::sync::Arc;

pub use zmio_proto::SocketKind;

use crate::core::pipe::{Pipe, PipeId};
use crate::core::rules::TypeRules;
use crate::error::{Error, Result};
use zmio_proto::Msg;

/// What a socket type decides; the socket core calls it on the application
/// thread. Only what every type has is here: a type's own options are
/// inherent methods of its policy, reached from `Socket<T>` for that `T`.
/// (`pub` in a crate-private module, so `SocketType` can name it without
/// making it reachable.)
pub trait Routing: Send + std::fmt::Debug + Default {
    /// The type's rules, for the layers that see only its kind.
    const RULES: TypeRules;

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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every policy's rules, with its kind.
    fn all() -> [TypeRules; 11] {
        [
            dealer::DealerRouting::RULES,
            pair::PairRouting::RULES,
            publisher::PubRouting::RULES,
            pull::PullRouting::RULES,
            push::PushRouting::RULES,
            rep::RepRouting::RULES,
            req::ReqRouting::RULES,
            router::RouterRouting::RULES,
            subscriber::SubRouting::RULES,
            xpub::XPubRouting::RULES,
            xsub::XSubRouting::RULES,
        ]
    }

    #[test]
    fn each_kind_has_one_policy_and_the_rules_follow_libzmq() {
        let rules = all();
        for kind in SocketKind::ALL {
            assert_eq!(rules.iter().filter(|r| r.kind == kind).count(), 1, "{kind}");
        }
        let with = |f: fn(&TypeRules) -> bool| {
            let mut kinds: Vec<_> = rules
                .iter()
                .filter(|r| f(r))
                .map(|r| r.kind.as_str())
                .collect();
            kinds.sort_unstable();
            kinds
        };
        // ZMQ_CONFLATE's list in libzmq's zmq_setsockopt(3).
        assert_eq!(
            with(|r| r.conflates),
            ["DEALER", "PUB", "PULL", "PUSH", "SUB"]
        );
        assert_eq!(with(|r| !r.sends), ["PULL", "SUB"]);
        assert_eq!(with(|r| !r.receives), ["PUB", "PUSH"]);
        assert_eq!(with(|r| !r.lingers), ["SUB"]);
        assert_eq!(with(|r| r.reroutes_lost_peers), ["DEALER", "PUSH"]);
        assert_eq!(with(|r| r.writes_directly), ["REP", "REQ"]);
        assert_eq!(with(|r| r.needs_peer_ready), ["ROUTER"]);
        for r in rules {
            // The wire's view (zmio-proto) and the policy's agree.
            assert_eq!(r.sends_subscriptions, r.kind.is_subscriber(), "{}", r.kind);
            assert_eq!(
                r.receives_subscriptions,
                r.kind.is_publisher(),
                "{}",
                r.kind
            );
        }
    }
}
