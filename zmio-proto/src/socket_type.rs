//! The socket types of ZMTP, which may talk to which (RFC 23 and RFC 28-31),
//! and the facts about each that the wire protocol needs.

use std::fmt;

/// A ZMTP socket type, as announced in the `Socket-Type` READY property.
///
/// ```
/// use zmio_proto::SocketKind;
/// assert_eq!(SocketKind::from_wire(b"PUSH"), Some(SocketKind::Push));
/// assert!(SocketKind::Push.is_compatible(SocketKind::Pull));
/// assert!(!SocketKind::Push.is_compatible(SocketKind::Sub));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SocketKind {
    /// Exclusive pair.
    Pair,
    /// Publisher.
    Pub,
    /// Subscriber.
    Sub,
    /// Request (client) side of request-reply.
    Req,
    /// Reply (service) side of request-reply.
    Rep,
    /// Asynchronous request side.
    Dealer,
    /// Asynchronous reply side, routing by peer identity.
    Router,
    /// Pipeline receiver.
    Pull,
    /// Pipeline sender.
    Push,
    /// Publisher that sees subscriptions.
    XPub,
    /// Subscriber that sends subscriptions as messages.
    XSub,
}

impl SocketKind {
    /// Every socket type, in the order of RFC 23's list.
    ///
    /// ```
    /// assert_eq!(zmio_proto::SocketKind::ALL.len(), 11);
    /// ```
    pub const ALL: [SocketKind; 11] = [
        SocketKind::Pair,
        SocketKind::Pub,
        SocketKind::Sub,
        SocketKind::Req,
        SocketKind::Rep,
        SocketKind::Dealer,
        SocketKind::Router,
        SocketKind::Pull,
        SocketKind::Push,
        SocketKind::XPub,
        SocketKind::XSub,
    ];

    /// The name used on the wire (`"PUSH"`, `"XPUB"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SocketKind::Pair => "PAIR",
            SocketKind::Pub => "PUB",
            SocketKind::Sub => "SUB",
            SocketKind::Req => "REQ",
            SocketKind::Rep => "REP",
            SocketKind::Dealer => "DEALER",
            SocketKind::Router => "ROUTER",
            SocketKind::Pull => "PULL",
            SocketKind::Push => "PUSH",
            SocketKind::XPub => "XPUB",
            SocketKind::XSub => "XSUB",
        }
    }

    /// Parses a wire name. RFC 23 gives the names in upper case; we match
    /// them exactly, as libzmq does.
    pub fn from_wire(name: &[u8]) -> Option<SocketKind> {
        Some(match name {
            b"PAIR" => SocketKind::Pair,
            b"PUB" => SocketKind::Pub,
            b"SUB" => SocketKind::Sub,
            b"REQ" => SocketKind::Req,
            b"REP" => SocketKind::Rep,
            b"DEALER" => SocketKind::Dealer,
            b"ROUTER" => SocketKind::Router,
            b"PULL" => SocketKind::Pull,
            b"PUSH" => SocketKind::Push,
            b"XPUB" => SocketKind::XPub,
            b"XSUB" => SocketKind::XSub,
            _ => return None,
        })
    }

    /// Whether a socket of this kind may talk to a peer of kind `peer`
    /// (the compatibility table of RFC 23 section "The Socket Type property").
    pub fn is_compatible(self, peer: SocketKind) -> bool {
        use SocketKind::*;
        matches!(
            (self, peer),
            (Req, Rep | Router)
                | (Rep, Req | Dealer)
                | (Dealer, Rep | Dealer | Router)
                | (Router, Req | Dealer | Router)
                | (Pub, Sub | XSub)
                | (XPub, Sub | XSub)
                | (Sub, Pub | XPub)
                | (XSub, Pub | XPub)
                | (Push, Pull)
                | (Pull, Push)
                | (Pair, Pair)
        )
    }

    /// Whether READY carries an `Identity` property for this kind (libzmq
    /// sends it for the kinds whose peers may route by it).
    pub fn sends_identity(self) -> bool {
        matches!(
            self,
            SocketKind::Req | SocketKind::Dealer | SocketKind::Router
        )
    }

    /// Whether this kind sends subscriptions upstream (SUB, XSUB).
    pub fn is_subscriber(self) -> bool {
        matches!(self, SocketKind::Sub | SocketKind::XSub)
    }

    /// Whether this kind receives subscriptions (PUB, XPUB).
    pub fn is_publisher(self) -> bool {
        matches!(self, SocketKind::Pub | SocketKind::XPub)
    }
}

impl fmt::Display for SocketKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::SocketKind::{self, *};

    const ALL: [SocketKind; 11] = SocketKind::ALL;

    #[test]
    fn compatibility_is_symmetric() {
        for a in ALL {
            for b in ALL {
                assert_eq!(a.is_compatible(b), b.is_compatible(a), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn wire_names_round_trip() {
        for k in ALL {
            assert_eq!(SocketKind::from_wire(k.as_str().as_bytes()), Some(k));
        }
        assert_eq!(SocketKind::from_wire(b"push"), None);
        assert_eq!(SocketKind::from_wire(b""), None);
    }

    #[test]
    fn rfc23_pairs() {
        assert!(Push.is_compatible(Pull));
        assert!(!Push.is_compatible(Push));
        assert!(!Pub.is_compatible(Pull));
        assert!(Req.is_compatible(Router));
        assert!(!Req.is_compatible(Req));
    }
}
