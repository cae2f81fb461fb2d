//! The NULL security mechanism (RFC 23/37, "The NULL Security Mechanism"):
//! no authentication, no confidentiality; each side sends READY with its
//! metadata and the handshake is done once both have.
//!
//! ```text
//! null = ready *message | error
//! ```

use bytes::Bytes;

use crate::ProtocolError;

use super::{HandshakeContext, peer_info, unexpected};
use crate::command::{self, RawCommand, Ready};
use crate::connection::ConnectionConfig;
use crate::connection::PeerInfo;
use crate::frame::Encoder;
use crate::greeting::{MechanismName, mechanism_name};

/// The NULL handshake after the greetings: our READY is queued and we wait
/// for the peer's. Consumed by value by [`Null::handle_command`], whose one
/// successful outcome is the end of the handshake.
#[derive(Debug)]
pub struct Null {
    _waiting_for_ready: (),
}

impl Null {
    /// The mechanism name in the greeting.
    pub const NAME: MechanismName = mechanism_name(Self::DISPLAY);
    /// The mechanism name for errors and logs.
    pub const DISPLAY: &'static str = "NULL";
    /// "When a peer uses the NULL security mechanism, the as-server field
    /// MUST be zero."
    pub const AS_SERVER: bool = false;

    /// Starts the handshake once the greetings are exchanged: queues our
    /// READY with `Socket-Type` and, for the kinds that announce one,
    /// `Identity`. Both sides send READY without waiting, as libzmq does.
    pub fn start(config: &ConnectionConfig, enc: &mut Encoder) -> Null {
        let kind = config.socket_kind;
        Ready {
            socket_type: Bytes::from_static(kind.as_str().as_bytes()),
            identity: kind.sends_identity().then(|| config.routing_id.clone()),
        }
        .encode(enc);
        Null {
            _waiting_for_ready: (),
        }
    }

    /// Handles one command from the peer during the handshake.
    pub fn handle_command(
        self,
        raw: RawCommand,
        ctx: HandshakeContext,
        enc: &mut Encoder,
    ) -> Result<PeerInfo, ProtocolError> {
        match &raw.name[..] {
            // "The server SHOULD parse, and MAY validate the READY command."
            Ready::NAME => {
                let ready = Ready::decode(&raw.data)?;
                peer_info(ready, ctx, enc)
            }
            // "The peer SHALL treat an incoming ERROR command as fatal."
            command::Error::NAME => {
                let error = command::Error::decode(&raw.data)?;
                Err(ProtocolError::PeerError(error.reason_lossy()))
            }
            // null = ready *message | error: nothing else may come first.
            _ => Err(unexpected(&raw)),
        }
    }
}
