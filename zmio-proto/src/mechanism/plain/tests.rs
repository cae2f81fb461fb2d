//! PLAIN driven through [`Connection`]s joined in memory, and against raw
//! byte streams for what a well-behaved peer never sends.

use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::*;
use crate::frame::Encoder;
use crate::greeting::{encode as encode_greeting, mechanism_name};
use crate::mechanism::Security;
use crate::{Connection, ConnectionConfig, Event, Msg, SocketKind};

const USER: &[u8] = b"admin";
const PASSWORD: &[u8] = b"hunter2-secret";

fn t0() -> Instant {
    static T0: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *T0.get_or_init(Instant::now)
}

fn credentials() -> PlainCredentials {
    PlainCredentials::new(USER, PASSWORD).unwrap()
}

fn client_config(kind: SocketKind, credentials: PlainCredentials) -> ConnectionConfig {
    let mut config = ConnectionConfig::new(kind);
    config.routing_id = Bytes::from_static(b"client-rid");
    config.security = Security::PlainClient(credentials);
    config
}

fn server_config(kind: SocketKind) -> ConnectionConfig {
    let mut config = ConnectionConfig::new(kind);
    config.routing_id = Bytes::from_static(b"server-rid");
    config.security = Security::PlainServer;
    config
}

fn events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

fn accept(user_id: &'static str) -> AuthReply {
    AuthReply {
        status_code: 200,
        status_text: "OK".into(),
        user_id: Bytes::from_static(user_id.as_bytes()),
    }
}

fn refuse(status_code: u16, status_text: &str) -> AuthReply {
    AuthReply {
        status_code,
        status_text: status_text.into(),
        user_id: Bytes::new(),
    }
}

/// A PLAIN client and server joined by byte queues; each side's first
/// error is kept (the side stops reading then, but still flushes what it
/// queued, such as an ERROR).
struct Pair {
    client: Connection,
    server: Connection,
    to_client: BytesMut,
    to_server: BytesMut,
    client_err: Option<ProtocolError>,
    server_err: Option<ProtocolError>,
    /// Every byte each side sent.
    client_sent: Vec<u8>,
    server_sent: Vec<u8>,
}

impl Pair {
    fn new(client: ConnectionConfig, server: ConnectionConfig) -> Pair {
        Pair {
            client: Connection::new(client, t0()),
            server: Connection::new(server, t0()),
            to_client: BytesMut::new(),
            to_server: BytesMut::new(),
            client_err: None,
            server_err: None,
            client_sent: Vec::new(),
            server_sent: Vec::new(),
        }
    }

    fn plain() -> Pair {
        Pair::new(
            client_config(SocketKind::Dealer, credentials()),
            server_config(SocketKind::Router),
        )
    }

    /// Moves bytes both ways, at most `chunk` at a time, until quiet.
    fn pump_chunked(&mut self, chunk: usize) {
        loop {
            let mut ab = BytesMut::new();
            let mut ba = BytesMut::new();
            self.client.drain_transmit(&mut ab);
            self.server.drain_transmit(&mut ba);
            if ab.is_empty() && ba.is_empty() {
                return;
            }
            self.client_sent.extend_from_slice(&ab);
            self.server_sent.extend_from_slice(&ba);
            for piece in ab.chunks(chunk) {
                self.to_server.extend_from_slice(piece);
                if self.server_err.is_none() {
                    self.server_err = self.server.handle_input(&mut self.to_server, t0()).err();
                }
            }
            for piece in ba.chunks(chunk) {
                self.to_client.extend_from_slice(piece);
                if self.client_err.is_none() {
                    self.client_err = self.client.handle_input(&mut self.to_client, t0()).err();
                }
            }
        }
    }

    fn pump(&mut self) {
        self.pump_chunked(usize::MAX);
    }

    /// Pumps to the server's question; returns it.
    fn until_asked(&mut self) -> AuthRequest {
        self.pump();
        let asked = events(&mut self.server);
        let [Event::Authenticate(request)] = &asked[..] else {
            panic!("expected one Authenticate, got {asked:?}");
        };
        request.clone()
    }

    /// Answers the server's question with `reply`.
    fn answer(&mut self, reply: AuthReply) -> Result<(), ProtocolError> {
        let mut waiting = std::mem::take(&mut self.to_server);
        let result = self.server.handle_auth(reply, &mut waiting, t0());
        self.to_server = waiting;
        if let Err(e) = &result {
            self.server_err = Some(e.clone());
        }
        result
    }

    /// A completed handshake, events drained.
    fn ready() -> Pair {
        let mut pair = Pair::plain();
        pair.until_asked();
        pair.answer(accept("user-7")).unwrap();
        pair.pump();
        assert!(pair.client.is_ready() && pair.server.is_ready());
        let _ = (events(&mut pair.client), events(&mut pair.server));
        pair
    }
}

/// Bytes of a greeting for `mechanism` then the commands `then` queues.
fn stream(mechanism: &str, as_server: bool, then: impl FnOnce(&mut Encoder)) -> BytesMut {
    let mut enc = Encoder::new();
    enc.push_raw(&encode_greeting(&mechanism_name(mechanism), as_server));
    then(&mut enc);
    let mut out = BytesMut::new();
    enc.drain_into(&mut out);
    out
}

/// A PLAIN server fed a client's greeting and `then`'s commands.
fn server_fed(then: impl FnOnce(&mut Encoder)) -> (Connection, Result<(), ProtocolError>) {
    let mut server = Connection::new(server_config(SocketKind::Router), t0());
    let mut input = stream("PLAIN", false, then);
    let result = server.handle_input(&mut input, t0());
    (server, result)
}

/// A PLAIN client fed a server's greeting and `then`'s commands.
fn client_fed(then: impl FnOnce(&mut Encoder)) -> Result<(), ProtocolError> {
    let mut client = Connection::new(client_config(SocketKind::Dealer, credentials()), t0());
    let mut input = stream("PLAIN", true, then);
    client.handle_input(&mut input, t0())
}

fn hello(data: &[u8]) -> impl FnOnce(&mut Encoder) + '_ {
    move |enc| enc.push_command(HELLO, &[data])
}

fn ready_metadata() -> Vec<u8> {
    Ready {
        socket_type: Bytes::from_static(b"DEALER"),
        identity: None,
    }
    .metadata()
}

#[test]
fn hello_welcome_initiate_ready_are_the_rfc_24_byte_literals() {
    let mut pair = Pair::plain();
    pair.until_asked();
    pair.answer(accept("u")).unwrap();
    pair.pump();
    let client = &pair.client_sent[64..];
    let hello = b"\x04\x1b\x05HELLO\x05admin\x0ehunter2-secret";
    assert_eq!(&client[..hello.len()], hello);
    let initiate_body = [&b"\x08INITIATE"[..], &client_metadata()].concat();
    assert_eq!(client[hello.len()], 0x04);
    assert_eq!(usize::from(client[hello.len() + 1]), initiate_body.len());
    assert_eq!(&client[hello.len() + 2..], &initiate_body[..]);
    let server = &pair.server_sent[64..];
    assert_eq!(&server[..10], b"\x04\x08\x07WELCOME");
    assert_eq!(&server[12..18], b"\x05READY");
}

fn client_metadata() -> Vec<u8> {
    Ready {
        socket_type: Bytes::from_static(b"DEALER"),
        identity: Some(Bytes::from_static(b"client-rid")),
    }
    .metadata()
}

#[test]
fn the_greeting_names_plain_and_only_the_server_is_as_server() {
    let pair = Pair::plain();
    let mut client = BytesMut::new();
    let mut server = BytesMut::new();
    let mut pair = pair;
    pair.client.drain_transmit(&mut client);
    pair.server.drain_transmit(&mut server);
    assert_eq!(&client[12..17], b"PLAIN");
    assert_eq!(&client[17..32], &[0; 15]);
    assert_eq!((client[32], server[32]), (0, 1));
}

#[test]
fn an_accepted_client_completes_the_handshake_and_traffic_flows_both_ways() {
    let mut pair = Pair::plain();
    let request = pair.until_asked();
    assert_eq!(request.mechanism, "PLAIN");
    assert_eq!(
        request.credentials,
        vec![Bytes::from_static(USER), Bytes::from_static(PASSWORD)]
    );
    // Nothing goes to the client before the authenticator answers: libzmq
    // sends WELCOME only after ZAP's 200.
    assert_eq!(pair.server_sent.len(), 64);
    assert!(!pair.client.is_ready() && !pair.server.is_ready());

    pair.answer(accept("user-7")).unwrap();
    pair.pump();
    assert_eq!((&pair.client_err, &pair.server_err), (&None, &None));
    let [Event::Ready(peer)] = &events(&mut pair.server)[..] else {
        panic!("server: no Ready");
    };
    assert_eq!(peer.socket_kind, SocketKind::Dealer);
    assert_eq!(peer.routing_id.as_deref(), Some(&b"client-rid"[..]));
    assert_eq!(peer.user_id.as_deref(), Some(&b"user-7"[..]));
    let [Event::Ready(peer)] = &events(&mut pair.client)[..] else {
        panic!("client: no Ready");
    };
    assert_eq!(peer.socket_kind, SocketKind::Router);
    assert_eq!(peer.routing_id.as_deref(), Some(&b"server-rid"[..]));
    assert_eq!(peer.user_id, None);

    pair.client
        .send_message(&Msg::from_frames(["one", "two", "three"]));
    pair.server
        .send_message(&Msg::from_frames(["id", "", "reply"]));
    pair.pump();
    assert_eq!(
        events(&mut pair.server),
        vec![Event::Message(Msg::from_frames(["one", "two", "three"]))]
    );
    assert_eq!(
        events(&mut pair.client),
        vec![Event::Message(Msg::from_frames(["id", "", "reply"]))]
    );
}

#[test]
fn the_handshake_survives_input_split_at_every_byte() {
    let mut pair = Pair::plain();
    pair.pump_chunked(1);
    assert!(matches!(
        &events(&mut pair.server)[..],
        [Event::Authenticate(_)]
    ));
    pair.answer(accept("u")).unwrap();
    pair.pump_chunked(1);
    assert!(pair.client.is_ready() && pair.server.is_ready());
    pair.client.send_message(&Msg::from_frames(["a", "b"]));
    pair.pump_chunked(1);
    assert!(events(&mut pair.server).contains(&Event::Message(Msg::from_frames(["a", "b"]))));
}

#[test]
fn the_longest_credentials_go_through_and_empty_ones_too() {
    for (user, password) in [(vec![b'u'; 255], vec![b'p'; 255]), (vec![], vec![])] {
        let creds = PlainCredentials::new(user.clone(), password.clone()).unwrap();
        let mut pair = Pair::new(
            client_config(SocketKind::Dealer, creds),
            server_config(SocketKind::Router),
        );
        let request = pair.until_asked();
        assert_eq!(
            request.credentials,
            vec![Bytes::from(user), Bytes::from(password)]
        );
        pair.answer(accept("u")).unwrap();
        pair.pump();
        assert!(pair.client.is_ready() && pair.server.is_ready());
    }
}

#[test]
fn a_credential_over_255_octets_is_refused_where_the_config_is_built() {
    assert_eq!(
        PlainCredentials::new(vec![b'u'; 256], "pw"),
        Err(CredentialTooLong {
            field: CredentialField::Username,
            len: 256
        })
    );
    let err = PlainCredentials::new("user", vec![b'p'; 1000]).unwrap_err();
    assert_eq!(
        err,
        CredentialTooLong {
            field: CredentialField::Password,
            len: 1000
        }
    );
    assert_eq!(
        err.to_string(),
        "PLAIN password of 1000 octets is longer than the 255 a HELLO command carries"
    );
}

#[test]
fn a_refused_client_gets_libzmqs_error_reason_the_status_code() {
    for code in [400, 500] {
        let mut pair = Pair::plain();
        pair.until_asked();
        assert_eq!(
            pair.answer(refuse(code, "Invalid password")),
            Err(ProtocolError::AuthenticationFailed(
                "Invalid password".into()
            ))
        );
        pair.pump();
        assert_eq!(
            pair.client_err,
            Some(ProtocolError::PeerError(code.to_string()))
        );
        // The refused client never saw WELCOME.
        assert!(
            !pair.server_sent.windows(7).any(|w| w == WELCOME),
            "WELCOME sent to a refused client"
        );
        assert!(!pair.client.is_ready() && !pair.server.is_ready());
    }
}

#[test]
fn a_temporary_failure_300_closes_without_an_error_command() {
    let mut pair = Pair::plain();
    pair.until_asked();
    assert_eq!(
        pair.answer(refuse(300, "try later")),
        Err(ProtocolError::AuthenticationFailed("try later".into()))
    );
    assert_eq!(pair.server.pending_transmit(), 0, "something queued on 300");
    pair.pump();
    assert_eq!(pair.client_err, None);
    assert!(!pair.client.is_ready());
}

#[test]
fn a_frame_while_the_authenticator_decides_ends_the_connection() {
    let mut pair = Pair::plain();
    pair.until_asked();
    let mut sneaky = BytesMut::new();
    let mut enc = Encoder::new();
    enc.push_frame(false, &Bytes::from_static(b"sneaky"));
    enc.drain_into(&mut sneaky);
    assert_eq!(
        pair.server.handle_input(&mut sneaky, t0()),
        Err(ProtocolError::FrameDuringAuthentication)
    );
    let mut input = BytesMut::new();
    assert!(
        pair.server
            .handle_auth(accept("u"), &mut input, t0())
            .is_err()
    );
    assert!(
        events(&mut pair.server)
            .iter()
            .all(|e| !matches!(e, Event::Message(_) | Event::Ready(_)))
    );
}

#[test]
fn a_well_formed_hello_asks_the_authenticator() {
    let (mut server, result) = server_fed(hello(b"\x01u\x02pw"));
    assert_eq!(result, Ok(()));
    let [Event::Authenticate(request)] = &events(&mut server)[..] else {
        panic!("no Authenticate");
    };
    assert_eq!(
        request.credentials,
        vec![Bytes::from_static(b"u"), Bytes::from_static(b"pw")]
    );
}

#[test]
fn a_malformed_hello_is_refused_with_a_typed_error() {
    let cases: [(&[u8], &str); 6] = [
        (b"", "PLAIN HELLO without a user name size"),
        (
            b"\x05adm",
            "PLAIN HELLO user name runs past the end of the command",
        ),
        (b"\x05admin", "PLAIN HELLO without a password size"),
        (
            b"\x05admin\x03pw",
            "PLAIN HELLO password runs past the end of the command",
        ),
        (
            b"\x05admin\xffpw",
            "PLAIN HELLO password runs past the end of the command",
        ),
        (
            b"\x05admin\x02pwX",
            "PLAIN HELLO has bytes after the password",
        ),
    ];
    for (data, why) in cases {
        let (mut server, result) = server_fed(hello(data));
        assert_eq!(
            result,
            Err(ProtocolError::MalformedCommand(why)),
            "{data:?}"
        );
        assert!(events(&mut server).is_empty(), "asked about {data:?}");
    }
}

#[test]
fn a_client_that_skips_hello_is_refused() {
    // INITIATE before WELCOME (indeed before HELLO).
    let (_, result) = server_fed(|enc| enc.push_command(INITIATE, &[&ready_metadata()]));
    assert_eq!(
        result,
        Err(ProtocolError::UnexpectedCommand("INITIATE".into()))
    );
    // NULL's READY instead of HELLO.
    let (_, result) = server_fed(|enc| enc.push_command(Ready::NAME, &[&ready_metadata()]));
    assert_eq!(
        result,
        Err(ProtocolError::UnexpectedCommand("READY".into()))
    );
}

#[test]
fn a_message_frame_during_the_handshake_is_refused_on_both_sides() {
    let (_, result) = server_fed(|enc| enc.push_frame(false, &Bytes::from_static(b"early")));
    assert_eq!(result, Err(ProtocolError::MessageBeforeReady));
    let result = client_fed(|enc| enc.push_frame(false, &Bytes::from_static(b"early")));
    assert_eq!(result, Err(ProtocolError::MessageBeforeReady));
    // A client that sends a message after WELCOME, before its INITIATE.
    let (mut server, result) = server_fed(hello(b"\x01u\x01p"));
    assert_eq!(result, Ok(()));
    let _ = events(&mut server);
    let mut input = BytesMut::new();
    server.handle_auth(accept("u"), &mut input, t0()).unwrap();
    let mut early = BytesMut::new();
    let mut enc = Encoder::new();
    enc.push_frame(false, &Bytes::from_static(b"early"));
    enc.drain_into(&mut early);
    assert_eq!(
        server.handle_input(&mut early, t0()),
        Err(ProtocolError::MessageBeforeReady)
    );
}

#[test]
fn a_server_that_sends_ready_or_initiate_before_welcome_is_refused() {
    // READY before INITIATE: the client waits for WELCOME.
    let result = client_fed(|enc| enc.push_command(Ready::NAME, &[&ready_metadata()]));
    assert_eq!(
        result,
        Err(ProtocolError::UnexpectedCommand("READY".into()))
    );
    let result = client_fed(|enc| enc.push_command(INITIATE, &[&ready_metadata()]));
    assert_eq!(
        result,
        Err(ProtocolError::UnexpectedCommand("INITIATE".into()))
    );
    // WELCOME twice: the second comes while the client waits for READY.
    let result = client_fed(|enc| {
        enc.push_command(WELCOME, &[]);
        enc.push_command(WELCOME, &[]);
    });
    assert_eq!(
        result,
        Err(ProtocolError::UnexpectedCommand("WELCOME".into()))
    );
}

#[test]
fn a_welcome_with_data_is_malformed() {
    let result = client_fed(|enc| enc.push_command(WELCOME, &[b"x"]));
    assert_eq!(
        result,
        Err(ProtocolError::MalformedCommand(
            "PLAIN WELCOME has bytes after its name"
        ))
    );
}

#[test]
fn a_second_hello_or_a_ready_instead_of_initiate_is_refused() {
    for (name, data) in [
        (HELLO, &b"\x01u\x01p"[..]),
        (Ready::NAME, &ready_metadata()[..]),
    ] {
        let (mut server, result) = server_fed(hello(b"\x01u\x01p"));
        assert_eq!(result, Ok(()));
        let _ = events(&mut server);
        let mut input = BytesMut::new();
        server.handle_auth(accept("u"), &mut input, t0()).unwrap();
        let mut enc = Encoder::new();
        enc.push_command(name, &[data]);
        let mut bytes = BytesMut::new();
        enc.drain_into(&mut bytes);
        assert_eq!(
            server.handle_input(&mut bytes, t0()),
            Err(ProtocolError::UnexpectedCommand(
                String::from_utf8_lossy(name).into_owned()
            ))
        );
    }
}

#[test]
fn an_incompatible_socket_type_in_initiate_is_refused_after_authentication() {
    let mut pair = Pair::new(
        client_config(SocketKind::Push, credentials()),
        server_config(SocketKind::Push),
    );
    pair.until_asked();
    pair.answer(accept("u")).unwrap();
    pair.pump();
    assert!(matches!(
        pair.server_err,
        Some(ProtocolError::IncompatibleSocketType { .. })
    ));
    assert_eq!(
        pair.client_err,
        Some(ProtocolError::PeerError("Invalid socket type".into()))
    );
}

#[test]
fn a_plain_client_cannot_talk_to_a_null_peer() {
    let mut pair = Pair::new(
        client_config(SocketKind::Dealer, credentials()),
        ConnectionConfig::new(SocketKind::Router),
    );
    pair.pump();
    assert!(matches!(
        pair.client_err,
        Some(ProtocolError::MechanismMismatch { ours: "PLAIN", .. })
    ));
}

#[test]
fn an_answer_nobody_asked_for_is_refused() {
    let mut pair = Pair::plain();
    let mut input = BytesMut::new();
    assert_eq!(
        pair.client.handle_auth(accept("u"), &mut input, t0()),
        Err(ProtocolError::UnexpectedAuthReply)
    );
    let mut pair = Pair::ready();
    assert_eq!(
        pair.server.handle_auth(accept("u"), &mut input, t0()),
        Err(ProtocolError::UnexpectedAuthReply)
    );
}

#[test]
fn debug_never_shows_the_password() {
    let creds = credentials();
    let config = client_config(SocketKind::Dealer, creds.clone());
    // A client whose HELLO is queued but not yet sent.
    let mut queued = Connection::new(config.clone(), t0());
    let mut greeting = stream("PLAIN", true, |_| {});
    queued.handle_input(&mut greeting, t0()).unwrap();
    assert!(queued.pending_transmit() > 64);
    let mut pair = Pair::plain();
    let request = pair.until_asked();
    let shown = [
        format!("{queued:?}"),
        format!("{creds:?}"),
        format!("{:?}", Security::PlainClient(creds.clone())),
        format!("{config:?}"),
        format!("{:?}", pair.client),
        format!("{:?}", pair.server),
        format!("{request:?}"),
        format!("{request:#?}"),
        format!("{:?}", PlainCredentials::new(USER, vec![b'p'; 300])),
    ];
    let secret = std::str::from_utf8(PASSWORD).unwrap();
    for text in &shown {
        assert!(!text.contains(secret), "password in {text}");
    }
    assert!(shown[1].contains("admin") && shown[1].contains("<redacted>"));
}

/// libzmq 4.3.5's PLAIN server refusing with 400, as captured on the wire.
const LIBZMQ_ERROR_400: &[u8] = b"\x5eRROR\x03400";

#[test]
fn a_client_takes_libzmqs_garbled_error_as_the_refusal_it_is() {
    let result = client_fed(|enc| enc.push_raw(&[&b"\x04\x09"[..], LIBZMQ_ERROR_400].concat()));
    assert_eq!(result, Err(ProtocolError::PeerError("400".into())));
    // After WELCOME too (libzmq's client takes ERROR in both waits).
    let result = client_fed(|enc| {
        enc.push_command(WELCOME, &[]);
        enc.push_raw(&[&b"\x04\x09"[..], LIBZMQ_ERROR_400].concat());
    });
    assert_eq!(result, Err(ProtocolError::PeerError("400".into())));
}

#[test]
fn only_a_whole_garbled_error_is_taken_and_only_by_a_client() {
    for body in [
        &b"\x5eRROR\x04400"[..],
        b"\x5eRROR\x02400",
        b"\x5eRROR",
        b"\x5eRROX\x03400",
    ] {
        let result = client_fed(|enc| {
            enc.push_raw(&[0x04, u8::try_from(body.len()).unwrap()]);
            enc.push_raw(body);
        });
        assert!(
            matches!(result, Err(ProtocolError::MalformedCommand(_))),
            "{body:?}: {result:?}"
        );
    }
    let (_, result) =
        server_fed(|enc| enc.push_raw(&[&b"\x04\x09"[..], LIBZMQ_ERROR_400].concat()));
    assert!(matches!(result, Err(ProtocolError::MalformedCommand(_))));
}
