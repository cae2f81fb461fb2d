//! A socket type's rules, as the layers that know only its kind at run time
//! read them (the pipe, the reactor, the inproc table, the proxy). Each
//! type's values are an associated const of its policy in
//! `routing::types`, next to the rest of that type's behaviour.

use zmio_proto::SocketKind;

/// What distinguishes one socket type from another outside its routing
/// policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TypeRules {
    /// The ZMTP socket type.
    pub(crate) kind: SocketKind,
    /// Whether `send` exists for it.
    pub(crate) sends: bool,
    /// Whether `recv` exists for it.
    pub(crate) receives: bool,
    /// Whether what it queued is delivered at close within its linger. A
    /// SUB sends only subscriptions, which mean nothing once it is closed.
    pub(crate) lingers: bool,
    /// Whether a lost peer's queued messages move to the live peers (PUSH,
    /// DEALER: any peer would do; libzmq drops them).
    pub(crate) reroutes_lost_peers: bool,
    /// Whether a message is written on the socket's own thread when the
    /// connection is idle (REQ, REP: one message, then a wait for the
    /// answer, so a reactor wake-up would be most of the latency).
    pub(crate) writes_directly: bool,
    /// Whether it must hear that a connect peer completed a handshake, to
    /// learn the peer's routing id (ROUTER).
    pub(crate) needs_peer_ready: bool,
    /// Whether its peers send it subscriptions (PUB, XPUB): they are never
    /// conflated, and a gone peer's are forgotten with what was queued for it.
    pub(crate) receives_subscriptions: bool,
    /// Whether it sends subscriptions (SUB, XSUB): they are never
    /// conflated and never linger.
    pub(crate) sends_subscriptions: bool,
    /// Whether ZMQ_CONFLATE applies to it (libzmq's list).
    pub(crate) conflates: bool,
}

impl TypeRules {
    /// The rules of a type that sends and receives and does none of the
    /// special things; a policy's const starts from here.
    pub(crate) const fn plain(kind: SocketKind) -> TypeRules {
        TypeRules {
            kind,
            sends: true,
            receives: true,
            lingers: true,
            reroutes_lost_peers: false,
            writes_directly: false,
            needs_peer_ready: false,
            receives_subscriptions: false,
            sends_subscriptions: false,
            conflates: false,
        }
    }
}
