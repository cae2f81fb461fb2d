//! Security mechanisms. Each runs the command handshake that follows the
//! greeting and ends with the peer's metadata. Only NULL exists so far, and
//! its handshake is a single step; PLAIN and CURVE, which take several, would
//! sit beside it, return their next state by value from each command, and
//! reuse [`peer_info`] and [`unexpected`].

pub mod null;

use crate::ProtocolError;
use crate::SocketKind;

use super::command::{self, RawCommand, Ready};
use super::connection::PeerInfo;
use super::frame::Encoder;

/// What a mechanism needs to know about the connection to judge the peer.
#[derive(Clone, Copy, Debug)]
pub struct HandshakeContext {
    /// Our socket type.
    pub ours: SocketKind,
    /// The peer's ZMTP minor version, from its greeting.
    pub peer_minor: u8,
}

/// The one way to refuse a command the handshake does not allow at this point.
pub fn unexpected(raw: &RawCommand) -> ProtocolError {
    ProtocolError::UnexpectedCommand(raw.display_name())
}

/// Reason we send in ERROR when the peer's socket type cannot talk to ours.
const INVALID_SOCKET_TYPE: &[u8] = b"Invalid socket type";

/// Checks the peer's metadata against our socket type and builds its
/// [`PeerInfo`]. On an unknown or incompatible type, queues an ERROR command
/// first: "When a peer validates the socket type, it SHOULD handle errors by
/// returning an ERROR command, and then disconnecting the peer." (RFC 37)
pub fn peer_info(
    ready: Ready,
    ctx: HandshakeContext,
    enc: &mut Encoder,
) -> Result<PeerInfo, ProtocolError> {
    match SocketKind::from_wire(&ready.socket_type) {
        Some(theirs) if ctx.ours.is_compatible(theirs) => Ok(PeerInfo {
            socket_kind: theirs,
            routing_id: ready.identity.filter(|id| !id.is_empty()),
            minor_version: ctx.peer_minor,
        }),
        _ => {
            command::Error {
                reason: bytes::Bytes::from_static(INVALID_SOCKET_TYPE),
            }
            .encode(enc);
            Err(ProtocolError::IncompatibleSocketType {
                ours: ctx.ours,
                theirs: String::from_utf8_lossy(&ready.socket_type).into_owned(),
            })
        }
    }
}
