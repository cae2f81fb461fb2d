//! The socket types as Rust types: one marker per ZMTP socket type, the
//! traits that say which can send and receive, and (sealed) the routing
//! policy each one names.

use super::*;
use crate::routing::types;

mod sealed {
    /// What a socket type brings that only zmio may name: its routing
    /// policy (with the type's rules, `Routing::RULES`).
    pub trait Sealed {
        type Routing: crate::routing::types::Routing;
    }
}

/// A socket type: one of the marker types [`Push`], [`Pull`], [`Pub`],
/// [`Sub`], [`Req`], [`Rep`], [`Dealer`], [`Router`], [`Pair`], [`XPub`],
/// [`XSub`].
pub trait SocketType: sealed::Sealed + 'static {
    /// The ZMTP socket type.
    const KIND: SocketKind;
}

/// Socket types that send.
pub trait SendSocketType: SocketType {}

/// Socket types that receive.
pub trait RecvSocketType: SocketType {}

macro_rules! socket_type {
    ($(#[$doc:meta])* $name:ident, $routing:ty $(, $cap:ident)*) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub enum $name {}
        impl sealed::Sealed for $name {
            type Routing = $routing;
        }
        impl SocketType for $name {
            const KIND: SocketKind = <$routing as Routing>::RULES.kind;
        }
        $(impl $cap for $name {})*
    };
}

socket_type!(
    /// PUSH: sends round-robin to its peers, blocking when all are full.
    Push, types::push::PushRouting, SendSocketType
);
socket_type!(
    /// PULL: receives fair-queued from its peers.
    Pull, types::pull::PullRouting, RecvSocketType
);
socket_type!(
    /// PUB: sends to every subscribed peer; drops for a peer at its high
    /// water mark; never blocks.
    Pub, types::publisher::PubRouting, SendSocketType
);
socket_type!(
    /// SUB: receives the messages matching its subscriptions.
    Sub, types::subscriber::SubRouting, RecvSocketType
);
socket_type!(
    /// REQ: sends a request, then receives its reply, in strict turns.
    Req, types::req::ReqRouting, SendSocketType, RecvSocketType
);
socket_type!(
    /// REP: receives a request, then sends its reply, in strict turns.
    Rep, types::rep::RepRouting, SendSocketType, RecvSocketType
);
socket_type!(
    /// DEALER: sends round-robin to its peers (blocking when all are full,
    /// as PUSH does) and receives fair-queued from them, with no envelope
    /// handling. Its routing id ([`Socket::set_routing_id`]) names it to a ROUTER.
    Dealer, types::dealer::DealerRouting, SendSocketType, RecvSocketType
);
socket_type!(
    /// ROUTER: every received message starts with a frame naming the peer
    /// it came from; a sent message's first frame names the peer it goes to.
    ///
    /// A peer is named by the routing id it sent in its handshake, or, if it
    /// sent none, by an id the ROUTER makes up: a zero byte and a 4-byte
    /// counter, as libzmq does. A peer that claims an id another connected
    /// peer already has is refused (its connection closed, nothing it sent
    /// received), as libzmq does without ZMQ_ROUTER_HANDOVER; with
    /// [`Socket::set_router_handover`] the newcomer takes the id over.
    ///
    /// A message for an unknown peer is dropped, as is one for a peer at its
    /// high water mark, so `send` never blocks; with
    /// [`Socket::set_router_mandatory`] the first fails with
    /// [`Error::HostUnreachable`] and the second waits as other sends do.
    Router, types::router::RouterRouting, SendSocketType, RecvSocketType
);
socket_type!(
    /// PAIR: talks to exactly one peer; sends block at the high water mark.
    /// A second peer connecting while one is attached is refused (its
    /// connection is closed and a warning logged), as libzmq does.
    Pair, types::pair::PairRouting, SendSocketType, RecvSocketType
);
socket_type!(
    /// XPUB: a [`Pub`] whose peers' subscriptions are received as messages:
    /// `0x01 + prefix` for a subscribe, `0x00 + prefix` for a cancel.
    ///
    /// As libzmq, a subscribe is passed up only when it is the first to its
    /// prefix over all peers, and a cancel only when it removes the last
    /// (a peer that goes away cancels what it had); with
    /// [`Socket::set_xpub_verbose`] every subscribe is passed up. Other
    /// messages from peers are ignored. A subscription received is in
    /// effect for the next send.
    XPub, types::xpub::XPubRouting, SendSocketType, RecvSocketType
);
socket_type!(
    /// XSUB: receives every message its peers send (no filtering of its
    /// own); subscribes by sending `0x01 + prefix` and cancels by sending
    /// `0x00 + prefix` (one frame each), which go to every peer and again
    /// to a peer that reconnects. Every subscribe is sent on; a cancel only
    /// when it drops the last count of its prefix, as libzmq. Any other
    /// message goes to every connected peer, dropped for one at its high
    /// water mark.
    XSub, types::xsub::XSubRouting, SendSocketType, RecvSocketType
);
