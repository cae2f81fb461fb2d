//! The PLAIN security mechanism (RFC 24, "ZMTP-PLAIN"): the client presents
//! a user name and password in clear text, the server asks the authenticator
//! (ZAP, RFC 27) about them; no confidentiality, so its transform is the
//! identity.
//!
//! ```text
//! C:hello S:welcome C:initiate S:ready *message | C:hello S:error
//! hello    = command-size %d5 "HELLO" username password
//! username = OCTET 0*255username-char   ; size, then the name
//! password = OCTET 0*255password-char   ; size, then the password
//! welcome  = command-size %d7 "WELCOME"
//! initiate = command-size %d8 "INITIATE" metadata
//! ready    = command-size %d5 "READY" metadata
//! ```
//!
//! What libzmq 4.3.5 does, and this module matches (from its
//! `plain_server.cpp`, `plain_client.cpp` and `zap_client.cpp`):
//! - The server asks ZAP on HELLO and sends WELCOME only once the answer is
//!   200: a refused client never gets WELCOME.
//! - A 400 or 500 answer is reported to the client as ERROR whose reason is
//!   the three-digit status code (`"400"`, `"500"`), not the status text,
//!   which stays with the server. A 300 (temporary failure) sends no ERROR:
//!   the client is disconnected silently, as the CURVE RFC asks (libzmq
//!   then just stops and closes when its handshake timer fires; we close
//!   at once).
//! - HELLO is parsed strictly: each size octet and its bytes lie inside the
//!   command and nothing follows the password.
//!
//! One place we do not match it: libzmq 4.3's PLAIN ERROR is garbled on
//! the wire (`^RROR` for `\x05ERROR`, see `LIBZMQ_ERROR_PREFIX`), and
//! its PLAIN client recognises only that form. We send RFC 24's ERROR, so a
//! libzmq client we refuse reports a protocol error (an unexpected command)
//! rather than an authentication failure; it is refused all the same. Our
//! client takes both forms, so a libzmq server's refusal reads as
//! [`ProtocolError::PeerError`] with the status code.

use std::fmt;

use bytes::Bytes;

use crate::ProtocolError;
use crate::command::{self, RawCommand, Ready};
use crate::connection::ConnectionConfig;
use crate::frame::FrameSink;
use crate::transmit::Transmit;

use super::{
    AuthReply, AuthRequest, Handshake, HandshakeContext, Step, Transform, our_ready, peer_info,
    unexpected,
};

/// The client's first command: user name and password.
const HELLO: &[u8] = b"HELLO";
/// The server's answer to an accepted HELLO.
const WELCOME: &[u8] = b"WELCOME";
/// The client's metadata, once welcomed.
const INITIATE: &[u8] = b"INITIATE";

/// A PLAIN client's user name and password, each at most
/// [`MAX_LEN`](Self::MAX_LEN) octets (HELLO gives each a one-octet size).
/// `Debug` shows the user name but never the password.
///
/// ```
/// use zmio_proto::mechanism::Security;
/// use zmio_proto::mechanism::plain::PlainCredentials;
///
/// let credentials = PlainCredentials::new("admin", "secret").unwrap();
/// assert_eq!(&credentials.username()[..], b"admin");
/// let security = Security::PlainClient(credentials);
/// assert!(!format!("{security:?}").contains("secret"));
/// assert!(PlainCredentials::new("admin", vec![b'x'; 256]).is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PlainCredentials {
    username: Bytes,
    password: Bytes,
}

impl PlainCredentials {
    /// The longest user name or password HELLO can carry.
    pub const MAX_LEN: usize = 255;

    /// Checks both lengths here, where the configuration is built, so a
    /// connection never meets one it cannot send.
    pub fn new(
        username: impl Into<Bytes>,
        password: impl Into<Bytes>,
    ) -> Result<PlainCredentials, CredentialTooLong> {
        let (username, password) = (username.into(), password.into());
        for (field, value) in [
            (CredentialField::Username, &username),
            (CredentialField::Password, &password),
        ] {
            if value.len() > Self::MAX_LEN {
                return Err(CredentialTooLong {
                    field,
                    len: value.len(),
                });
            }
        }
        Ok(PlainCredentials { username, password })
    }

    /// The user name.
    pub fn username(&self) -> &Bytes {
        &self.username
    }

    /// The password (sent in clear text: PLAIN is for trusted networks or
    /// under another layer of encryption).
    pub fn password(&self) -> &Bytes {
        &self.password
    }
}

impl fmt::Debug for PlainCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainCredentials")
            .field("username", &String::from_utf8_lossy(&self.username))
            .field("password", &format_args!("<redacted>"))
            .finish()
    }
}

/// Which PLAIN credential a [`CredentialTooLong`] is about.
///
/// ```
/// use zmio_proto::mechanism::plain::CredentialField;
/// assert_eq!(CredentialField::Password.to_string(), "password");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialField {
    /// The user name.
    Username,
    /// The password.
    Password,
}

impl fmt::Display for CredentialField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialField::Username => "user name",
            CredentialField::Password => "password",
        })
    }
}

/// A user name or password longer than HELLO can carry (255 octets).
/// Says which and how long, never what it holds.
///
/// ```
/// use zmio_proto::mechanism::plain::{CredentialField, CredentialTooLong, PlainCredentials};
/// let err = PlainCredentials::new(vec![b'u'; 300], "pw").unwrap_err();
/// assert_eq!(err, CredentialTooLong { field: CredentialField::Username, len: 300 });
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("PLAIN {field} of {len} octets is longer than the 255 a HELLO command carries")]
pub struct CredentialTooLong {
    /// Which credential.
    pub field: CredentialField,
    /// Its length in octets.
    pub len: usize,
}

/// HELLO's two credentials, sliced out of the received command (no copy).
/// No `Debug`: it holds a password.
struct Hello {
    username: Bytes,
    password: Bytes,
}

impl Hello {
    /// Parses HELLO's data strictly, as libzmq does: a size octet and its
    /// bytes for each, every one inside the command, nothing after.
    fn decode(data: &Bytes) -> Result<Hello, ProtocolError> {
        let mut rest = data.clone();
        let username = take_short(
            &mut rest,
            "PLAIN HELLO without a user name size",
            "PLAIN HELLO user name runs past the end of the command",
        )?;
        let password = take_short(
            &mut rest,
            "PLAIN HELLO without a password size",
            "PLAIN HELLO password runs past the end of the command",
        )?;
        if !rest.is_empty() {
            return Err(ProtocolError::MalformedCommand(
                "PLAIN HELLO has bytes after the password",
            ));
        }
        Ok(Hello { username, password })
    }

    /// Queues HELLO for `credentials` (whose lengths were checked when
    /// they were built).
    fn encode(credentials: &PlainCredentials, out: &mut impl FrameSink) {
        let (user, pass) = (&credentials.username, &credentials.password);
        let size = |b: &Bytes| u8::try_from(b.len()).unwrap_or(u8::MAX);
        out.push_command(HELLO, &[&[size(user)], user, &[size(pass)], pass]);
    }
}

/// Takes a `short-size` octet and that many bytes from the front of
/// `rest`; `missing` is the error without the octet, `overrun` when the
/// bytes run past the end.
fn take_short(
    rest: &mut Bytes,
    missing: &'static str,
    overrun: &'static str,
) -> Result<Bytes, ProtocolError> {
    let Some(&len) = rest.first() else {
        return Err(ProtocolError::MalformedCommand(missing));
    };
    let len = usize::from(len);
    // `len > remaining`, never `pos + len > end` (the decoder's rule).
    if len > rest.len() - 1 {
        return Err(ProtocolError::MalformedCommand(overrun));
    }
    let value = rest.slice(1..1 + len);
    *rest = rest.slice(1 + len..);
    Ok(value)
}

/// How libzmq 4.3 (since 4.2.3) starts a PLAIN ERROR's body: its C
/// literal `"\x05ERROR"` reads `\x05E` as one hex escape, 0x5E, so the
/// name-size octet and the `E` become `^` and the body is `^RROR`, the
/// reason's size octet, the reason. Its PLAIN client expects exactly that.
const LIBZMQ_ERROR_PREFIX: &[u8] = b"\x5eRROR";

/// The ERROR reason libzmq sends a refused client: the status code's three
/// digits (its `produce_error`).
fn refusal_reason(status_code: u16) -> Bytes {
    Bytes::from(format!("{status_code:03}"))
}

/// A PLAIN handshake in progress, on either side. Consumed by value by its
/// handlers, each saying what comes next.
///
/// ```
/// use zmio_proto::mechanism::{Security, plain::Plain};
/// assert_eq!(Security::PlainServer.name(), Plain::NAME);
/// assert!(Security::PlainServer.as_server());
/// ```
#[derive(Debug)]
pub struct Plain {
    state: State,
}

/// Where a PLAIN handshake is.
#[derive(Debug)]
enum State {
    /// Client: HELLO sent; `ready` goes out as INITIATE once welcomed.
    ClientWaitsWelcome { ready: Ready },
    /// Client: INITIATE sent, waiting for the server's READY.
    ClientWaitsReady,
    /// Server: waiting for HELLO; `ready` is sent after INITIATE.
    ServerWaitsHello { ready: Ready },
    /// Server: asked the authenticator about the HELLO.
    ServerWaitsAuth { ready: Ready },
    /// Server: WELCOME sent, waiting for INITIATE; the client is `user_id`.
    ServerWaitsInitiate { ready: Ready, user_id: Bytes },
}

impl Plain {
    /// The mechanism name in the greeting, errors and logs.
    pub const NAME: &'static str = "PLAIN";

    /// Starts the client once the greetings are exchanged: queues HELLO.
    pub(crate) fn start_client(
        credentials: &PlainCredentials,
        config: &ConnectionConfig,
        out: &mut Transmit,
    ) -> Plain {
        Hello::encode(credentials, out);
        Plain {
            state: State::ClientWaitsWelcome {
                ready: our_ready(config),
            },
        }
    }

    /// Starts the server: it speaks only once HELLO is in and judged.
    pub(crate) fn start_server(config: &ConnectionConfig) -> Plain {
        Plain {
            state: State::ServerWaitsHello {
                ready: our_ready(config),
            },
        }
    }

    /// A client's reading of a frame body that is no well-formed command:
    /// libzmq's garbled PLAIN ERROR (see [`LIBZMQ_ERROR_PREFIX`]), taken
    /// only whole (a size octet and exactly that many bytes after the
    /// prefix) and only where an ERROR may come.
    pub(crate) fn malformed_error_reason(&self, body: &Bytes) -> Option<String> {
        if !matches!(
            self.state,
            State::ClientWaitsWelcome { .. } | State::ClientWaitsReady
        ) {
            return None;
        }
        let rest = body.strip_prefix(LIBZMQ_ERROR_PREFIX)?;
        let (&len, reason) = rest.split_first()?;
        (usize::from(len) == reason.len()).then(|| String::from_utf8_lossy(reason).into_owned())
    }

    fn next(state: State) -> Step {
        Step::Continue(Handshake::Plain(Plain { state }))
    }

    /// Handles one command from the peer during the handshake.
    pub(crate) fn handle_command(
        self,
        raw: RawCommand,
        ctx: HandshakeContext,
        out: &mut Transmit,
    ) -> Result<Step, ProtocolError> {
        match (self.state, &raw.name[..]) {
            // "The peer SHALL treat an incoming ERROR command as fatal."
            (_, command::ErrorCommand::NAME) => Err(ProtocolError::PeerError(
                command::ErrorCommand::decode(&raw.data)?.reason_lossy(),
            )),
            (State::ServerWaitsHello { ready }, HELLO) => {
                let hello = Hello::decode(&raw.data)?;
                let request = AuthRequest {
                    mechanism: Self::NAME,
                    credentials: vec![hello.username, hello.password],
                };
                Ok(Step::Authenticate(
                    Handshake::Plain(Plain {
                        state: State::ServerWaitsAuth { ready },
                    }),
                    request,
                ))
            }
            (State::ClientWaitsWelcome { ready }, WELCOME) => {
                // welcome = command-size %d7 "WELCOME": nothing follows.
                if !raw.data.is_empty() {
                    return Err(ProtocolError::MalformedCommand(
                        "PLAIN WELCOME has bytes after its name",
                    ));
                }
                out.push_command(INITIATE, &[&ready.metadata()]);
                Ok(Self::next(State::ClientWaitsReady))
            }
            (State::ServerWaitsInitiate { ready, user_id }, INITIATE) => {
                let peer = peer_info(Ready::decode(&raw.data)?, Some(user_id), ctx, out)?;
                ready.encode(out);
                Ok(done(peer))
            }
            (State::ClientWaitsReady, Ready::NAME) => {
                let peer = peer_info(Ready::decode(&raw.data)?, None, ctx, out)?;
                Ok(done(peer))
            }
            // Anything else is out of order: INITIATE before WELCOME, READY
            // before INITIATE, a second HELLO, a command of another mechanism.
            _ => Err(unexpected(&raw)),
        }
    }

    /// The authenticator's answer to the HELLO this server asked about.
    pub(crate) fn handle_auth(
        self,
        reply: AuthReply,
        _ctx: HandshakeContext,
        out: &mut Transmit,
    ) -> Result<Step, ProtocolError> {
        let State::ServerWaitsAuth { ready } = self.state else {
            return Err(ProtocolError::UnexpectedAuthReply);
        };
        if reply.is_accepted() {
            out.push_command(WELCOME, &[]);
            return Ok(Self::next(State::ServerWaitsInitiate {
                ready,
                user_id: reply.user_id,
            }));
        }
        // 300 is a temporary failure: libzmq closes without an ERROR.
        if reply.status_code / 100 != 3 {
            command::ErrorCommand {
                reason: refusal_reason(reply.status_code),
            }
            .encode(out);
        }
        Err(ProtocolError::AuthenticationFailed(reply.status_text))
    }
}

/// The end of a PLAIN handshake: frames go as they are both ways.
fn done(peer: crate::PeerInfo) -> Step {
    Step::Done {
        peer,
        output: Transform::Identity,
        input: Transform::Identity,
    }
}

#[cfg(test)]
mod tests;
