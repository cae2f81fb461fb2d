//! Security mechanisms: the command handshake that follows the greeting,
//! and the traffic [`Transform`] every later frame passes through.
//!
//! A mechanism is three things here, each an enum with a variant per
//! mechanism so the hot path has no dynamic dispatch:
//! - [`Security`]: which mechanism a side speaks, with its credentials (part
//!   of [`ConnectionConfig`]); it names the mechanism and the as-server flag
//!   in the greeting and starts the handshake.
//! - `Handshake`: a handshake in progress. Each step consumes it and says
//!   what comes next (`Step`): wait for the peer's next command, wait for
//!   the authenticator (ZAP, RFC 27), or done with the peer's properties and
//!   user id and the transform to install each way.
//! - [`Transform`]: applied to every frame in both directions once the
//!   handshake is done; the identity for NULL (and PLAIN), encryption for
//!   CURVE.
//!
//! Adding PLAIN or CURVE means a module beside [`null`] and a variant in each
//! of the three enums; the connection's state machine does not change.
//!
//! ```
//! use zmio_proto::mechanism::Security;
//! assert_eq!(Security::default().name(), "NULL");
//! assert!(!Security::Null.as_server());
//! ```

pub mod null;
pub mod plain;
#[cfg(test)]
pub(crate) mod test_mechanism;

use std::fmt;

use bytes::Bytes;

use crate::command::{self, RawCommand, Ready};
use crate::connection::{ConnectionConfig, PeerInfo};
use crate::frame::{Encoder, Frame};
use crate::greeting::{MechanismName, mechanism_name};
use crate::transmit::Transmit;
use crate::{ProtocolError, SocketKind};

/// Which security mechanism one side of a connection speaks, with what it
/// needs to run it. Both sides must name the same mechanism in their
/// greetings, or the connection ends with
/// [`ProtocolError::MechanismMismatch`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Security {
    /// NULL (RFC 23/37): no authentication, no confidentiality.
    #[default]
    Null,
    /// PLAIN (RFC 24) client: presents a user name and password (sent in
    /// clear text; `Debug` never shows the password).
    PlainClient(plain::PlainCredentials),
    /// PLAIN (RFC 24) server: asks the authenticator (ZAP) about each
    /// client's user name and password.
    PlainServer,
    /// A test-only mechanism exercising every step of the seam.
    #[cfg(test)]
    Test(test_mechanism::Role),
}

impl Security {
    /// The mechanism's name, as in the greeting (`"NULL"`, later `"PLAIN"`,
    /// `"CURVE"`).
    pub fn name(&self) -> &'static str {
        match self {
            Security::Null => null::Null::NAME,
            Security::PlainClient(_) | Security::PlainServer => plain::Plain::NAME,
            #[cfg(test)]
            Security::Test(_) => test_mechanism::NAME,
        }
    }

    /// The greeting's as-server flag: whether this side is the mechanism's
    /// server (always false for NULL).
    pub fn as_server(&self) -> bool {
        match self {
            Security::Null | Security::PlainClient(_) => false,
            Security::PlainServer => true,
            #[cfg(test)]
            Security::Test(role) => *role == test_mechanism::Role::Server,
        }
    }

    /// The name padded to the greeting's 20-octet field.
    pub(crate) fn greeting_name(&self) -> MechanismName {
        mechanism_name(self.name())
    }

    /// Starts the handshake once the greetings are exchanged, queuing this
    /// side's first commands on `out`.
    pub(crate) fn start(&self, config: &ConnectionConfig, out: &mut Transmit) -> Handshake {
        match self {
            Security::Null => Handshake::Null(null::Null::start(config, out)),
            Security::PlainClient(credentials) => {
                Handshake::Plain(plain::Plain::start_client(credentials, config, out))
            }
            Security::PlainServer => Handshake::Plain(plain::Plain::start_server(config)),
            #[cfg(test)]
            Security::Test(role) => {
                Handshake::Test(test_mechanism::TestMechanism::start(*role, config, out))
            }
        }
    }
}

/// What a mechanism needs to know about the connection to judge the peer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HandshakeContext {
    /// Our socket type.
    pub ours: SocketKind,
    /// The peer's ZMTP minor version, from its greeting.
    pub peer_minor: u8,
}

/// A handshake in progress, one variant per mechanism.
#[derive(Debug)]
pub(crate) enum Handshake {
    /// NULL: waiting for the peer's READY.
    Null(null::Null),
    /// PLAIN, either side.
    Plain(plain::Plain),
    /// The test mechanism.
    #[cfg(test)]
    Test(test_mechanism::TestMechanism),
}

/// What a handshake step leads to.
#[derive(Debug)]
pub(crate) enum Step {
    /// Wait for the peer's next command.
    Continue(Handshake),
    /// Wait for the authenticator's answer to this request; the connection
    /// reports it as [`Event::Authenticate`](crate::Event::Authenticate) and
    /// resumes with [`Connection::handle_auth`](crate::Connection::handle_auth).
    Authenticate(Handshake, AuthRequest),
    /// The handshake is over: messages may flow, each way through its own
    /// transform (a direction's state, such as CURVE's nonces, is its own).
    Done {
        /// Who the peer is.
        peer: PeerInfo,
        /// Applied to every frame we send from now on.
        output: Transform,
        /// Applied to every frame we receive from now on.
        input: Transform,
    },
}

impl Handshake {
    /// One command from the peer.
    pub(crate) fn handle_command(
        self,
        raw: RawCommand,
        ctx: HandshakeContext,
        out: &mut Transmit,
    ) -> Result<Step, ProtocolError> {
        match self {
            Handshake::Null(null) => null.handle_command(raw, ctx, out),
            Handshake::Plain(plain) => plain.handle_command(raw, ctx, out),
            #[cfg(test)]
            Handshake::Test(test) => test.handle_command(raw, ctx, out),
        }
    }

    /// The reason in a frame body that is no well-formed command but that
    /// this mechanism knows as a peer's broken ERROR (libzmq 4.3's PLAIN
    /// server garbles the name), so the refusal is reported as such.
    pub(crate) fn malformed_error_reason(&self, body: &Bytes) -> Option<String> {
        match self {
            Handshake::Plain(plain) => plain.malformed_error_reason(body),
            _ => None,
        }
    }

    /// The authenticator's answer to the request this handshake made.
    pub(crate) fn handle_auth(
        self,
        reply: AuthReply,
        ctx: HandshakeContext,
        out: &mut Transmit,
    ) -> Result<Step, ProtocolError> {
        match self {
            // NULL asks no authenticator (a ZAP handler for NULL, as libzmq
            // has with a ZAP domain, would add a step here).
            Handshake::Null(_) => Err(ProtocolError::UnexpectedAuthReply),
            Handshake::Plain(plain) => plain.handle_auth(reply, ctx, out),
            #[cfg(test)]
            Handshake::Test(test) => test.handle_auth(reply, ctx, out),
        }
    }
}

/// What a mechanism asks the authenticator (ZAP, RFC 27) about a peer.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthRequest {
    /// The mechanism asking (`"PLAIN"`, `"CURVE"`, ...).
    pub mechanism: &'static str,
    /// The credentials the peer presented (a PLAIN user name and password,
    /// a CURVE public key). Never shown by `Debug`.
    pub credentials: Vec<Bytes>,
}

impl fmt::Debug for AuthRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Credentials may hold a password: only their number is shown.
        f.debug_struct("AuthRequest")
            .field("mechanism", &self.mechanism)
            .field(
                "credentials",
                &format_args!("<{} redacted>", self.credentials.len()),
            )
            .finish()
    }
}

/// The authenticator's answer (RFC 27's status code, text and user id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthReply {
    /// `200` accepts the peer; `300` (temporary failure), `400` (denied)
    /// and `500` (internal error) refuse it.
    pub status_code: u16,
    /// Why, for logs and the ERROR command sent to a refused peer.
    pub status_text: String,
    /// The user id an accepted peer's messages are attributed to.
    pub user_id: Bytes,
}

impl AuthReply {
    /// Whether the peer is accepted.
    ///
    /// ```
    /// use zmio_proto::mechanism::AuthReply;
    /// let ok = AuthReply { status_code: 200, status_text: "OK".into(), user_id: "alice".into() };
    /// assert!(ok.is_accepted());
    /// ```
    pub fn is_accepted(&self) -> bool {
        self.status_code == 200
    }
}

/// The traffic transform a handshake installs: every frame after it, both
/// ways, passes through. A variant per mechanism that changes frames.
#[derive(Debug, Default)]
#[non_exhaustive]
pub enum Transform {
    /// Frames go to the wire as they are (NULL, PLAIN).
    #[default]
    Identity,
    /// The test mechanism's transform (XOR of every body byte).
    #[cfg(test)]
    Test(test_mechanism::Xor),
}

impl Transform {
    /// Encodes one message frame onto `enc`.
    #[inline]
    pub(crate) fn push_frame(&mut self, enc: &mut Encoder, more: bool, body: &Bytes) {
        match self {
            Transform::Identity => enc.push_frame(more, body),
            #[cfg(test)]
            Transform::Test(xor) => xor.push_frame(enc, more, body),
        }
    }

    /// Encodes one command frame onto `enc`.
    #[inline]
    pub(crate) fn push_command(&mut self, enc: &mut Encoder, name: &[u8], data: &[&[u8]]) {
        match self {
            Transform::Identity => enc.push_command(name, data),
            #[cfg(test)]
            Transform::Test(xor) => xor.push_command(enc, name, data),
        }
    }

    /// Turns one frame from the wire back into what the peer queued.
    #[inline]
    pub(crate) fn decode(&mut self, frame: Frame) -> Result<Frame, ProtocolError> {
        match self {
            Transform::Identity => Ok(frame),
            #[cfg(test)]
            Transform::Test(xor) => Ok(xor.decode(frame)),
        }
    }
}

/// The one way to refuse a command the handshake does not allow at this point.
pub(crate) fn unexpected(raw: &RawCommand) -> ProtocolError {
    ProtocolError::UnexpectedCommand(raw.display_name())
}

/// Reason we send in ERROR when the peer's socket type cannot talk to ours.
const INVALID_SOCKET_TYPE: &[u8] = b"Invalid socket type";

/// Our READY: `Socket-Type` and, for the kinds that announce one, `Identity`.
pub(crate) fn our_ready(config: &ConnectionConfig) -> Ready {
    let kind = config.socket_kind;
    Ready {
        socket_type: Bytes::from_static(kind.as_str().as_bytes()),
        identity: kind.sends_identity().then(|| config.routing_id.clone()),
    }
}

/// Checks the peer's metadata against our socket type and builds its
/// [`PeerInfo`]. On an unknown or incompatible type, queues an ERROR command
/// first: "When a peer validates the socket type, it SHOULD handle errors by
/// returning an ERROR command, and then disconnecting the peer." (RFC 37)
pub(crate) fn peer_info(
    ready: Ready,
    user_id: Option<Bytes>,
    ctx: HandshakeContext,
    out: &mut Transmit,
) -> Result<PeerInfo, ProtocolError> {
    match SocketKind::from_wire(&ready.socket_type) {
        Some(theirs) if ctx.ours.is_compatible(theirs) => Ok(PeerInfo {
            socket_kind: theirs,
            routing_id: ready.identity.filter(|id| !id.is_empty()),
            minor_version: ctx.peer_minor,
            user_id,
        }),
        _ => {
            command::ErrorCommand {
                reason: Bytes::from_static(INVALID_SOCKET_TYPE),
            }
            .encode(out);
            Err(ProtocolError::IncompatibleSocketType {
                ours: ctx.ours,
                theirs: String::from_utf8_lossy(&ready.socket_type).into_owned(),
            })
        }
    }
}
