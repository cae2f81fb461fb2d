//! A mechanism for tests only, exercising every step of the seam: a
//! multi-command handshake (HELLO, then READY each way), a wait for the
//! authenticator on the server, and a transform that changes every frame
//! (a marker byte, then XOR of each byte), so a frame that bypassed it
//! would show.
//!
//! ```text
//! client: HELLO(credential) ->      server: (asks the authenticator)
//!                           <- READY   (once the authenticator accepts)
//! client: READY ->                  both: done, XOR from here on
//! ```

use bytes::{Bytes, BytesMut};

use crate::ProtocolError;
use crate::command::{self, RawCommand, Ready};
use crate::connection::ConnectionConfig;
use crate::frame::{Encoder, Frame, FrameSink};
use crate::transmit::Transmit;

use super::{
    AuthReply, AuthRequest, Handshake, HandshakeContext, Step, Transform, our_ready, peer_info,
    unexpected,
};

/// The name in the greeting.
pub(crate) const NAME: &str = "X-TEST";
/// The client's first command.
const HELLO: &[u8] = b"HELLO";
/// The credential a client presents.
pub(crate) const CREDENTIAL: &[u8] = b"let me in";
/// The byte every frame body is XORed with.
const KEY: u8 = 0x5A;

/// Which side of the mechanism a connection is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Role {
    /// Sends HELLO, waits for READY.
    #[default]
    Client,
    /// Waits for HELLO, asks the authenticator, sends READY.
    Server,
}

/// Where the handshake is.
#[derive(Debug)]
pub enum TestMechanism {
    /// Client: HELLO sent, waiting for the server's READY.
    ClientWaitsReady { ready: Ready },
    /// Server: waiting for HELLO.
    ServerWaitsHello { ready: Ready },
    /// Server: asked the authenticator.
    ServerWaitsAuth { ready: Ready },
    /// Server: READY sent, waiting for the client's.
    ServerWaitsReady,
}

impl TestMechanism {
    pub(crate) fn start(role: Role, config: &ConnectionConfig, out: &mut Transmit) -> Self {
        let ready = our_ready(config);
        match role {
            Role::Client => {
                out.push_command(HELLO, &[CREDENTIAL]);
                TestMechanism::ClientWaitsReady { ready }
            }
            Role::Server => TestMechanism::ServerWaitsHello { ready },
        }
    }

    pub(crate) fn handle_command(
        self,
        raw: RawCommand,
        ctx: HandshakeContext,
        out: &mut Transmit,
    ) -> Result<Step, ProtocolError> {
        match (self, &raw.name[..]) {
            (TestMechanism::ServerWaitsHello { ready }, HELLO) => {
                let request = AuthRequest {
                    mechanism: NAME,
                    credentials: vec![raw.data.clone()],
                };
                Ok(Step::Authenticate(
                    Handshake::Test(TestMechanism::ServerWaitsAuth { ready }),
                    request,
                ))
            }
            (TestMechanism::ClientWaitsReady { ready }, Ready::NAME) => {
                let peer = peer_info(Ready::decode(&raw.data)?, None, ctx, out)?;
                ready.encode(out);
                Ok(Step::Done {
                    peer,
                    output: Transform::Test(Xor),
                    input: Transform::Test(Xor),
                })
            }
            (TestMechanism::ServerWaitsReady, Ready::NAME) => {
                let peer = peer_info(Ready::decode(&raw.data)?, Some("user".into()), ctx, out)?;
                Ok(Step::Done {
                    peer,
                    output: Transform::Test(Xor),
                    input: Transform::Test(Xor),
                })
            }
            (_, command::ErrorCommand::NAME) => Err(ProtocolError::PeerError(
                command::ErrorCommand::decode(&raw.data)?.reason_lossy(),
            )),
            _ => Err(unexpected(&raw)),
        }
    }

    pub(crate) fn handle_auth(
        self,
        reply: AuthReply,
        _ctx: HandshakeContext,
        out: &mut Transmit,
    ) -> Result<Step, ProtocolError> {
        match self {
            TestMechanism::ServerWaitsAuth { ready } if reply.is_accepted() => {
                ready.encode(out);
                Ok(Step::Continue(Handshake::Test(
                    TestMechanism::ServerWaitsReady,
                )))
            }
            TestMechanism::ServerWaitsAuth { .. } => {
                command::ErrorCommand {
                    reason: Bytes::from(reply.status_text.clone()),
                }
                .encode(out);
                Err(ProtocolError::AuthenticationFailed(reply.status_text))
            }
            _ => Err(ProtocolError::UnexpectedAuthReply),
        }
    }
}

/// XORs every body byte with [`KEY`], commands included (name and data).
#[derive(Debug)]
pub struct Xor;

fn xor(body: &[u8]) -> Bytes {
    body.iter().map(|b| b ^ KEY).collect::<Vec<u8>>().into()
}

impl Xor {
    pub(crate) fn push_frame(&mut self, enc: &mut Encoder, more: bool, body: &Bytes) {
        let mut marked = BytesMut::with_capacity(1 + body.len());
        marked.extend_from_slice(&[0]);
        marked.extend_from_slice(body);
        enc.push_frame(more, &xor(&marked));
    }

    pub(crate) fn push_command(&mut self, enc: &mut Encoder, name: &[u8], data: &[&[u8]]) {
        // The command goes as a data frame whose first byte marks it, so the
        // transform hides even which command it is (as CURVE's MESSAGE does).
        let mut body = BytesMut::new();
        body.extend_from_slice(&[1, u8::try_from(name.len()).unwrap_or(u8::MAX)]);
        body.extend_from_slice(name);
        for part in data {
            body.extend_from_slice(part);
        }
        enc.push_frame(false, &xor(&body));
    }

    pub(crate) fn decode(&mut self, frame: Frame) -> Frame {
        if frame.command {
            return frame;
        }
        let plain = xor(&frame.body);
        match plain.first() {
            Some(1) => Frame {
                more: false,
                command: true,
                body: plain.slice(1..),
            },
            _ => Frame {
                body: plain.slice(1.min(plain.len())..),
                ..frame
            },
        }
    }
}

/// The seam, driven through [`Connection`](crate::Connection): a
/// multi-command handshake, the wait for the authenticator, and the
/// transform on every frame both ways.
#[cfg(test)]
mod tests {
    use std::time::Instant;

    use bytes::BytesMut;

    use super::*;
    use crate::{Connection, ConnectionConfig, Event, Msg, SocketKind};

    fn side(kind: SocketKind, role: Role) -> Connection {
        let mut config = ConnectionConfig::new(kind);
        config.security = super::super::Security::Test(role);
        Connection::new(config, Instant::now())
    }

    /// Client and server joined in memory; `wire` keeps every byte the
    /// client sent.
    struct Pair {
        client: Connection,
        server: Connection,
        to_client: BytesMut,
        to_server: BytesMut,
        wire: Vec<u8>,
    }

    impl Pair {
        fn new() -> Pair {
            Pair {
                client: side(SocketKind::Dealer, Role::Client),
                server: side(SocketKind::Router, Role::Server),
                to_client: BytesMut::new(),
                to_server: BytesMut::new(),
                wire: Vec::new(),
            }
        }

        fn pump(&mut self) -> (Result<(), ProtocolError>, Result<(), ProtocolError>) {
            let now = Instant::now();
            let mut results = (Ok(()), Ok(()));
            for _ in 0..8 {
                let before = self.to_server.len();
                self.client.drain_transmit(&mut self.to_server);
                self.wire.extend_from_slice(&self.to_server[before..]);
                self.server.drain_transmit(&mut self.to_client);
                if results.0.is_ok() {
                    results.0 = self.client.handle_input(&mut self.to_client, now);
                }
                if results.1.is_ok() {
                    results.1 = self.server.handle_input(&mut self.to_server, now);
                }
            }
            results
        }
    }

    fn events(conn: &mut Connection) -> Vec<Event> {
        std::iter::from_fn(|| conn.poll_event()).collect()
    }

    fn accept() -> AuthReply {
        AuthReply {
            status_code: 200,
            status_text: "OK".into(),
            user_id: "user".into(),
        }
    }

    #[test]
    fn the_server_waits_for_the_authenticator_before_the_handshake_goes_on() {
        let mut pair = Pair::new();
        assert_eq!(pair.pump(), (Ok(()), Ok(())));
        let asked = events(&mut pair.server);
        let [Event::Authenticate(request)] = &asked[..] else {
            panic!("expected one Authenticate, got {asked:?}");
        };
        assert_eq!(request.credentials, vec![Bytes::from_static(CREDENTIAL)]);
        assert!(
            !format!("{request:?}").contains("let me in"),
            "Debug shows a credential"
        );
        assert!(!pair.client.is_ready() && !pair.server.is_ready());
        assert!(events(&mut pair.client).is_empty());

        let mut input = std::mem::take(&mut pair.to_server);
        pair.server
            .handle_auth(accept(), &mut input, Instant::now())
            .unwrap();
        assert_eq!(pair.pump(), (Ok(()), Ok(())));
        assert!(pair.client.is_ready() && pair.server.is_ready());
        let [Event::Ready(peer)] = &events(&mut pair.server)[..] else {
            panic!("server: no Ready");
        };
        assert_eq!(peer.socket_kind, SocketKind::Dealer);
        assert_eq!(peer.user_id.as_deref(), Some(&b"user"[..]));
        assert!(matches!(&events(&mut pair.client)[..], [Event::Ready(_)]));
    }

    #[test]
    fn every_frame_after_the_handshake_passes_the_transform_both_ways() {
        let mut pair = Pair::new();
        assert_eq!(pair.pump(), (Ok(()), Ok(())));
        let _ = events(&mut pair.server);
        let mut input = BytesMut::new();
        pair.server
            .handle_auth(accept(), &mut input, Instant::now())
            .unwrap();
        assert_eq!(pair.pump(), (Ok(()), Ok(())));
        let _ = (events(&mut pair.client), events(&mut pair.server));
        let sent_before = pair.wire.len();
        pair.client
            .send_message(&Msg::from_frames(["plain-text-1", "plain-text-2"]));
        pair.server.send_message(&Msg::from_frames(["id", "reply"]));
        assert_eq!(pair.pump(), (Ok(()), Ok(())));
        let on_wire = &pair.wire[sent_before..];
        assert!(
            !on_wire.windows(10).any(|w| w == b"plain-text"),
            "frame bypassed the transform"
        );
        assert_eq!(
            events(&mut pair.server),
            vec![Event::Message(Msg::from_frames([
                "plain-text-1",
                "plain-text-2"
            ]))]
        );
        assert_eq!(
            events(&mut pair.client),
            vec![Event::Message(Msg::from_frames(["id", "reply"]))]
        );
    }

    #[test]
    fn a_refused_peer_is_told_why_and_both_sides_fail() {
        let mut pair = Pair::new();
        assert_eq!(pair.pump(), (Ok(()), Ok(())));
        let _ = events(&mut pair.server);
        let refuse = AuthReply {
            status_code: 400,
            status_text: "go away".into(),
            user_id: Bytes::new(),
        };
        let mut input = BytesMut::new();
        assert_eq!(
            pair.server.handle_auth(refuse, &mut input, Instant::now()),
            Err(ProtocolError::AuthenticationFailed("go away".into()))
        );
        let (client, _) = pair.pump();
        assert_eq!(client, Err(ProtocolError::PeerError("go away".into())));
        assert!(!pair.client.is_ready());
    }

    #[test]
    fn a_frame_while_the_authenticator_decides_ends_the_connection() {
        let mut pair = Pair::new();
        assert_eq!(pair.pump(), (Ok(()), Ok(())));
        let _ = events(&mut pair.server);
        let mut sneaky = BytesMut::new();
        let mut enc = Encoder::new();
        enc.push_frame(false, &Bytes::from_static(b"sneaky"));
        enc.drain_into(&mut sneaky);
        assert_eq!(
            pair.server.handle_input(&mut sneaky, Instant::now()),
            Err(ProtocolError::FrameDuringAuthentication)
        );
        let mut input = BytesMut::new();
        assert!(
            pair.server
                .handle_auth(accept(), &mut input, Instant::now())
                .is_err()
        );
        assert!(
            events(&mut pair.server)
                .iter()
                .all(|e| !matches!(e, Event::Message(_)))
        );
    }

    #[test]
    fn an_answer_nobody_asked_for_is_refused_and_changes_nothing() {
        let mut pair = Pair::new();
        let mut input = BytesMut::new();
        assert_eq!(
            pair.client
                .handle_auth(accept(), &mut input, Instant::now()),
            Err(ProtocolError::UnexpectedAuthReply)
        );
        assert_eq!(pair.pump(), (Ok(()), Ok(())));
        assert!(matches!(
            &events(&mut pair.server)[..],
            [Event::Authenticate(_)]
        ));
    }
}
