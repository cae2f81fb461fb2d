//! The NULL security mechanism (RFC 23/37, "The NULL Security Mechanism"):
//! no authentication, no confidentiality; each side sends READY with its
//! metadata and the handshake is done once both have. Its transform is the
//! identity.
//!
//! ```text
//! null = ready *message | error
//! ```

use crate::ProtocolError;
use crate::command::{self, RawCommand, Ready};
use crate::connection::ConnectionConfig;
use crate::transmit::Transmit;

use super::{HandshakeContext, Step, Transform, our_ready, peer_info, unexpected};

/// The NULL handshake after the greetings: our READY is queued and we wait
/// for the peer's. Consumed by value by its command handler, whose one
/// successful outcome is the end of the handshake.
///
/// ```
/// use zmio_proto::mechanism::{Security, null::Null};
/// assert_eq!(Security::Null.name(), Null::NAME);
/// ```
#[derive(Debug)]
pub struct Null {
    _waiting_for_ready: (),
}

impl Null {
    /// The mechanism name in the greeting, errors and logs.
    pub const NAME: &'static str = "NULL";

    /// Starts the handshake once the greetings are exchanged: queues our
    /// READY. Both sides send READY without waiting, as libzmq does.
    pub(crate) fn start(config: &ConnectionConfig, out: &mut Transmit) -> Null {
        our_ready(config).encode(out);
        Null {
            _waiting_for_ready: (),
        }
    }

    /// Handles one command from the peer during the handshake.
    pub(crate) fn handle_command(
        self,
        raw: RawCommand,
        ctx: HandshakeContext,
        out: &mut Transmit,
    ) -> Result<Step, ProtocolError> {
        match &raw.name[..] {
            // "The server SHOULD parse, and MAY validate the READY command."
            Ready::NAME => {
                let ready = Ready::decode(&raw.data)?;
                let peer = peer_info(ready, None, ctx, out)?;
                Ok(Step::Done {
                    peer,
                    output: Transform::Identity,
                    input: Transform::Identity,
                })
            }
            // "The peer SHALL treat an incoming ERROR command as fatal."
            command::ErrorCommand::NAME => {
                let error = command::ErrorCommand::decode(&raw.data)?;
                Err(ProtocolError::PeerError(error.reason_lossy()))
            }
            // null = ready *message | error: nothing else may come first.
            _ => Err(unexpected(&raw)),
        }
    }
}
