//! Interop with libzmq 4.3 through pyzmq: every socket pattern zmio builds,
//! in both bind/connect directions, talks to a real libzmq peer.
//!
//! The libzmq side is `tests/peers/peer.py`, a small interpreter that binds or
//! connects one pyzmq socket and then carries out JSON commands read from its
//! stdin (send, recv, subscribe, ...), answering each with one line. Driving
//! the peer step by step from the test, rather than scripting it up front,
//! lets each test synchronise on observed events (a message arrived) instead
//! of sleeping.
//!
//! These tests need python3 with pyzmq. Without it they fail and say to run
//! `scripts/test` (which installs pyzmq); `ZMIO_SKIP_INTEROP=1` skips them on
//! purpose (scripts/test unsets it, so CI always runs them).

#[path = "common/pyzmq.rs"]
mod pyzmq;

use std::thread;
use std::time::{Duration, Instant};

use zmio::{
    Context, Dealer, Msg, Pair, Pub, Pull, Push, Rep, Req, Router, SocketType, Sub, XPub, XSub,
};

/// The zmio sockets' receive/send timeout: a peer that never answers makes
/// the zmio call fail with `TimedOut` instead of blocking forever.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// 10 MiB: big enough to need many reads and writes on both sides.
const TEN_MIB: usize = 10 * 1024 * 1024;

/// Frames larger than this travel between the test and the peer script as
/// `pattern:<len>` rather than hex (mirrors HEX_LIMIT in peer.py).
const HEX_LIMIT: usize = 64 * 1024;

// ---------------------------------------------------------------------------
// Environment checks

/// Whether to skip: only when ZMIO_SKIP_INTEROP=1 asks for it. Otherwise
/// python3 with pyzmq must be there, or the test fails saying how to get it.
fn skip_interop() -> bool {
    pyzmq::skip_pyzmq()
}

/// Logs of zmio go to the test output with RUST_LOG=debug.
fn init_logging() {
    let _ = env_logger::builder().is_test(true).try_init();
}

/// Both of the above, at the start of every test.
macro_rules! interop {
    () => {
        if skip_interop() {
            return;
        }
        init_logging();
    };
}

// ---------------------------------------------------------------------------
// Frames

type Frames = Vec<Vec<u8>>;

/// The bytes `i % 251`: a large payload both sides can build and check
/// (251 is prime, so a shifted or truncated copy does not match by accident).
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex from peer: {text}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex from peer"))
        .collect()
}

/// A frame as the peer script reads it.
fn encode_frame(frame: &[u8]) -> String {
    if frame.len() <= HEX_LIMIT {
        format!("\"hex:{}\"", hex(frame))
    } else {
        assert!(
            frame == pattern(frame.len()),
            "large test frames must be pattern()"
        );
        format!("\"pattern:{}\"", frame.len())
    }
}

fn decode_frame(spec: &str) -> Vec<u8> {
    let (kind, value) = spec.split_once(':').expect("frame spec from peer");
    match kind {
        "hex" => unhex(value),
        "pattern" => pattern(value.parse().expect("pattern length")),
        _ => panic!("the peer received a frame that is not what was sent: {spec}"),
    }
}

fn frames_json(frames: &[&[u8]]) -> String {
    let items: Vec<String> = frames.iter().map(|f| encode_frame(f)).collect();
    format!("[{}]", items.join(","))
}

/// Parses the JSON the peer prints: strings (with no escapes: the peer only
/// prints `kind:hexdigits`) or arrays of them, nested. Enough for this and
/// no more, to keep serde out of the dev-dependencies.
#[derive(Debug)]
enum Json {
    Str(String),
    List(Vec<Json>),
}

fn parse_json(text: &str) -> Json {
    fn value(s: &[u8], pos: &mut usize) -> Json {
        skip_ws(s, pos);
        match s.get(*pos) {
            Some(b'"') => {
                let start = *pos + 1;
                let len = s[start..]
                    .iter()
                    .position(|&c| c == b'"')
                    .expect("unterminated string from peer");
                *pos = start + len + 1;
                Json::Str(String::from_utf8(s[start..start + len].to_vec()).expect("utf-8"))
            }
            Some(b'[') => {
                *pos += 1;
                let mut items = Vec::new();
                loop {
                    skip_ws(s, pos);
                    match s.get(*pos) {
                        Some(b']') => {
                            *pos += 1;
                            return Json::List(items);
                        }
                        Some(b',') => *pos += 1,
                        _ => items.push(value(s, pos)),
                    }
                }
            }
            other => panic!("unexpected JSON from peer at {pos}: {other:?}"),
        }
    }
    fn skip_ws(s: &[u8], pos: &mut usize) {
        while s.get(*pos).is_some_and(u8::is_ascii_whitespace) {
            *pos += 1;
        }
    }
    let mut pos = 0;
    value(text.as_bytes(), &mut pos)
}

fn json_frames(json: Json) -> Frames {
    match json {
        Json::List(items) => items
            .into_iter()
            .map(|item| match item {
                Json::Str(spec) => decode_frame(&spec),
                Json::List(_) => panic!("expected a frame, got a list"),
            })
            .collect(),
        Json::Str(s) => panic!("expected a list of frames, got {s}"),
    }
}

fn msg_frames(msg: &Msg) -> Frames {
    msg.frames().map(|f| f.to_vec()).collect()
}

/// Shortens frames for assertion messages (a 10 MiB frame is printed as its length).
fn show(frames: &[Vec<u8>]) -> String {
    let items: Vec<String> = frames
        .iter()
        .map(|f| {
            if f.len() <= 64 {
                format!("{:?}", String::from_utf8_lossy(f))
            } else {
                format!("<{} bytes>", f.len())
            }
        })
        .collect();
    format!("[{}]", items.join(", "))
}

#[track_caller]
fn assert_frames(got: &[Vec<u8>], want: &[&[u8]], what: &str) {
    let want: Frames = want.iter().map(|f| f.to_vec()).collect();
    assert!(
        got == want.as_slice(),
        "{what}: got {}, want {}",
        show(got),
        show(&want)
    );
}

// ---------------------------------------------------------------------------
// The libzmq peer process

/// One running peer.py. Dropping it kills the process, so a failing test
/// never leaves a peer behind.
/// A libzmq peer process: `pyzmq::Peer` (tests/common/pyzmq.rs) with the
/// commands these tests use on top.
struct Peer(pyzmq::Peer);

impl std::ops::Deref for Peer {
    type Target = pyzmq::Peer;
    fn deref(&self) -> &pyzmq::Peer {
        &self.0
    }
}

impl std::ops::DerefMut for Peer {
    fn deref_mut(&mut self) -> &mut pyzmq::Peer {
        &mut self.0
    }
}

impl Peer {
    /// A peer bound to an ephemeral loopback port, and that port's endpoint.
    fn bind(kind: &str, options: &[&str]) -> (Peer, String) {
        Peer::bind_at(kind, "tcp://127.0.0.1:*", options)
    }

    /// A peer bound to a fresh endpoint of `transport` ("tcp" or "ipc").
    fn bind_on(transport: &str, kind: &str, options: &[&str]) -> (Peer, String) {
        Peer::bind_at(kind, &any_endpoint(transport), options)
    }

    fn bind_at(kind: &str, endpoint: &str, options: &[&str]) -> (Peer, String) {
        let (peer, bound) = pyzmq::Peer::bind(kind, endpoint, options);
        (Peer(peer), bound)
    }

    fn connect(kind: &str, endpoint: &str, options: &[&str]) -> Peer {
        Peer(pyzmq::Peer::connect(kind, endpoint, options))
    }

    fn command(&mut self, json: &str) -> String {
        self.start(json);
        self.line()
    }

    /// The socket events (libzmq monitor names) since the last call; the
    /// peer must have been started with `--monitor 1`.
    fn events(&mut self) -> Vec<String> {
        let answer = self.command(r#"{"op":"events"}"#);
        let Some(json) = answer.strip_prefix("events ") else {
            self.fail(&format!("events answered {answer:?}"))
        };
        match parse_json(json) {
            Json::List(items) => items
                .into_iter()
                .map(|item| match item {
                    Json::Str(name) => name,
                    Json::List(_) => panic!("event names are strings"),
                })
                .collect(),
            Json::Str(s) => self.fail(&format!("events answered {s}")),
        }
    }

    fn send(&mut self, frames: &[&[u8]]) {
        let answer = self.command(&format!(
            r#"{{"op":"send","frames":{}}}"#,
            frames_json(frames)
        ));
        if answer != "ok" {
            self.fail(&format!("send answered {answer:?}"));
        }
    }

    /// The next message, waiting up to the peer's 10 s receive timeout.
    fn recv(&mut self) -> Frames {
        self.recv_within(Duration::from_secs(10))
            .unwrap_or_else(|| self.fail("no message within 10 s"))
    }

    /// The next message if one arrives within `timeout`.
    fn recv_within(&mut self, timeout: Duration) -> Option<Frames> {
        let answer = self.command(&format!(
            r#"{{"op":"recv","timeout_ms":{}}}"#,
            timeout.as_millis()
        ));
        if answer == "timeout" {
            return None;
        }
        match answer.strip_prefix("msg ") {
            Some(json) => Some(json_frames(parse_json(json))),
            None => self.fail(&format!("recv answered {answer:?}")),
        }
    }

    /// Every message up to and including the first whose first frame is `last`.
    fn recv_until(&mut self, last: &[u8]) -> Vec<Frames> {
        let answer = self.command(&format!(
            r#"{{"op":"recv_until","last":{}}}"#,
            encode_frame(last)
        ));
        let Some(json) = answer.strip_prefix("msgs ") else {
            self.fail(&format!("recv_until answered {answer:?}"))
        };
        match parse_json(json) {
            Json::List(msgs) => msgs.into_iter().map(json_frames).collect(),
            Json::Str(s) => self.fail(&format!("recv_until answered {s}")),
        }
    }

    fn subscribe(&mut self, op: &str, topic: &[u8]) {
        let answer = self.command(&format!(
            r#"{{"op":"{op}","topic":{}}}"#,
            encode_frame(topic)
        ));
        if answer != "ok" {
            self.fail(&format!("{op} answered {answer:?}"));
        }
    }

    /// Tells the peer to close its socket and exit, and checks it exited 0.
    fn finish(self) {
        self.0.finish();
    }
}

// ---------------------------------------------------------------------------
// zmio side helpers

/// A zmio socket that never blocks a test for long: receives and sends time
/// out, and closing does not wait forever for a peer that is gone.
fn zsocket<T: SocketType>(ctx: &Context) -> zmio::Socket<T> {
    let mut socket = ctx.socket::<T>().expect("socket");
    socket.set_rcvtimeo(Some(IO_TIMEOUT)).unwrap();
    socket.set_sndtimeo(Some(IO_TIMEOUT)).unwrap();
    socket.set_linger(Some(Duration::from_secs(2))).unwrap();
    socket
}

fn zbind<T: SocketType>(socket: &mut zmio::Socket<T>) -> String {
    socket.bind("tcp://127.0.0.1:*").expect("bind").to_string()
}

/// A zmio socket bound to loopback and a libzmq peer of `kind` connected to it.
fn zmio_bound<T: SocketType>(ctx: &Context, kind: &str) -> (zmio::Socket<T>, Peer) {
    let mut socket = zsocket::<T>(ctx);
    let endpoint = zbind(&mut socket);
    (socket, Peer::connect(kind, &endpoint, &[]))
}

/// A libzmq peer of `kind` bound to loopback and a zmio socket connected to it.
fn libzmq_bound<T: SocketType>(ctx: &Context, kind: &str) -> (zmio::Socket<T>, Peer) {
    let (peer, endpoint) = Peer::bind(kind, &[]);
    let mut socket = zsocket::<T>(ctx);
    socket.connect(&endpoint).unwrap();
    (socket, peer)
}

/// The transports the socket-family interop tests run over.
const TRANSPORTS: [&str; 2] = ["tcp", "ipc"];

/// A wildcard endpoint of `transport`: an ephemeral loopback port, or a
/// fresh ipc path (libzmq binds `ipc://*` too, but a path keeps both sides'
/// conventions out of the test).
fn any_endpoint(transport: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    match transport {
        "tcp" => "tcp://127.0.0.1:*".to_owned(),
        _ => ipc_endpoint(&format!("family-{}", NEXT.fetch_add(1, Ordering::Relaxed))),
    }
}

fn zbind_on<T: SocketType>(socket: &mut zmio::Socket<T>, transport: &str) -> String {
    socket
        .bind(&any_endpoint(transport))
        .expect("bind")
        .to_string()
}

/// [`zmio_bound`] over `transport`.
fn zmio_bound_on<T: SocketType>(
    ctx: &Context,
    kind: &str,
    transport: &str,
) -> (zmio::Socket<T>, Peer) {
    let mut socket = zsocket::<T>(ctx);
    let endpoint = zbind_on(&mut socket, transport);
    (socket, Peer::connect(kind, &endpoint, &[]))
}

/// [`libzmq_bound`] over `transport`.
fn libzmq_bound_on<T: SocketType>(
    ctx: &Context,
    kind: &str,
    transport: &str,
) -> (zmio::Socket<T>, Peer) {
    let (peer, endpoint) = Peer::bind_on(transport, kind, &[]);
    let mut socket = zsocket::<T>(ctx);
    socket.connect(&endpoint).unwrap();
    (socket, peer)
}

fn zrecv<T: zmio::RecvSocketType>(socket: &mut zmio::Socket<T>) -> Frames {
    msg_frames(&socket.recv().expect("zmio recv"))
}

fn zsend<T: zmio::SendSocketType>(socket: &mut zmio::Socket<T>, frames: &[&[u8]]) {
    socket
        .send(Msg::from_frames(frames.iter().map(|f| f.to_vec())))
        .expect("zmio send");
}

/// Messages for the PUSH/PULL tests: single and multipart, with empty frames
/// in every position, and an all-empty message.
fn pipeline_messages() -> Vec<Vec<&'static [u8]>> {
    vec![
        vec![b"hello"],
        vec![b"", b"a", b"", b""],
        vec![b"multi", b"part", b"message"],
        vec![b""],
        vec![&[0u8, 1, 2, 255]],
    ]
}

/// Sends the pipeline messages one way and checks each arrives exactly.
fn check_pipeline(
    mut send: impl FnMut(&[&[u8]]),
    mut recv: impl FnMut() -> Frames,
    direction: &str,
) {
    for msg in pipeline_messages() {
        send(&msg);
    }
    for msg in pipeline_messages() {
        assert_frames(&recv(), &msg, direction);
    }
}

// ---------------------------------------------------------------------------
// PUSH/PULL

#[test]
fn zmio_push_binds_libzmq_pull_connects() {
    interop!();
    let ctx = Context::new().unwrap();
    let (mut push, mut pull) = zmio_bound::<Push>(&ctx, "PULL");
    check_pipeline(
        |m| zsend(&mut push, m),
        || pull.recv(),
        "zmio PUSH -> libzmq PULL",
    );
    pull.finish();
}

#[test]
fn libzmq_pull_binds_zmio_push_connects() {
    interop!();
    let ctx = Context::new().unwrap();
    let (mut push, mut pull) = libzmq_bound::<Push>(&ctx, "PULL");
    check_pipeline(
        |m| zsend(&mut push, m),
        || pull.recv(),
        "zmio PUSH -> libzmq PULL",
    );
    pull.finish();
}

#[test]
fn libzmq_push_binds_zmio_pull_connects() {
    interop!();
    let ctx = Context::new().unwrap();
    let (mut pull, mut push) = libzmq_bound::<Pull>(&ctx, "PUSH");
    check_pipeline(
        |m| push.send(m),
        || zrecv(&mut pull),
        "libzmq PUSH -> zmio PULL",
    );
    push.finish();
}

#[test]
fn zmio_pull_binds_libzmq_push_connects() {
    interop!();
    let ctx = Context::new().unwrap();
    let (mut pull, mut push) = zmio_bound::<Pull>(&ctx, "PUSH");
    check_pipeline(
        |m| push.send(m),
        || zrecv(&mut pull),
        "libzmq PUSH -> zmio PULL",
    );
    push.finish();
}

#[test]
fn ten_mib_message_from_zmio_to_libzmq() {
    interop!();
    let big = pattern(TEN_MIB);
    let ctx = Context::new().unwrap();
    let (mut push, mut pull) = zmio_bound::<Push>(&ctx, "PULL");
    // One 10 MiB frame, and a multipart message with one inside empty frames.
    zsend(&mut push, &[&big]);
    zsend(&mut push, &[b"", &big, b""]);
    assert_frames(&pull.recv(), &[&big], "10 MiB zmio -> libzmq");
    assert_frames(
        &pull.recv(),
        &[b"", &big, b""],
        "10 MiB multipart zmio -> libzmq",
    );
    pull.finish();
}

#[test]
fn ten_mib_message_from_libzmq_to_zmio() {
    interop!();
    let big = pattern(TEN_MIB);
    let ctx = Context::new().unwrap();
    let (mut pull, mut push) = zmio_bound::<Pull>(&ctx, "PUSH");
    push.send(&[&big]);
    push.send(&[b"", &big, b""]);
    assert_frames(&zrecv(&mut pull), &[&big], "10 MiB libzmq -> zmio");
    assert_frames(
        &zrecv(&mut pull),
        &[b"", &big, b""],
        "10 MiB multipart libzmq -> zmio",
    );
    push.finish();
}

// ---------------------------------------------------------------------------
// PUB/SUB
//
// A subscriber only gets what is published after its subscription reached
// the publisher, which nobody can observe directly on a PUB. So each test
// publishes a warm-up message on a subscribed topic until the subscriber has
// seen one (a bounded retry on an observed event, never a sleep), then
// publishes the messages under test, then an end marker on a subscribed
// topic. Messages from one publisher arrive in order, so everything before
// the marker has been either delivered or filtered out.

/// How long the warm-up may take: the subscriber's connection, handshake and
/// subscription (plus a reconnect interval, after a restart).
const WARM_UP: Duration = Duration::from_secs(10);

/// Publishes with `publish` until `received` reports a message arrived.
fn warm_up(mut publish: impl FnMut(), mut received: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + WARM_UP;
    loop {
        publish();
        if received() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: no warm-up message got through within {WARM_UP:?}"
        );
    }
}

/// Waits up to `timeout` for one message on a zmio socket.
fn zrecv_within<T: zmio::RecvSocketType>(
    socket: &mut zmio::Socket<T>,
    timeout: Duration,
) -> Option<Frames> {
    socket.set_rcvtimeo(Some(timeout)).unwrap();
    let got = match socket.recv() {
        Ok(msg) => Some(msg_frames(&msg)),
        Err(zmio::Error::TimedOut) => None,
        Err(e) => panic!("zmio recv: {e}"),
    };
    socket.set_rcvtimeo(Some(IO_TIMEOUT)).unwrap();
    got
}

/// A zmio SUB's messages up to and including the one whose first frame is
/// `last`, leaving out those whose first frame starts with `noise`.
fn zrecv_until(sub: &mut zmio::Socket<Sub>, last: &[u8], noise: &[&[u8]]) -> Vec<Frames> {
    let mut got = Vec::new();
    loop {
        let frames = zrecv(sub);
        let done = frames[0] == last;
        if !noise.iter().any(|n| frames[0].starts_with(n)) {
            got.push(frames);
        }
        if done {
            return got;
        }
    }
}

fn without_noise(msgs: Vec<Frames>, noise: &[&[u8]]) -> Vec<Frames> {
    msgs.into_iter()
        .filter(|m| !noise.iter().any(|n| m[0].starts_with(n)))
        .collect()
}

#[track_caller]
fn assert_messages(got: &[Frames], want: &[&[&[u8]]], what: &str) {
    let want: Vec<Frames> = want
        .iter()
        .map(|m| m.iter().map(|f| f.to_vec()).collect())
        .collect();
    assert!(
        got == want.as_slice(),
        "{what}: got {:?}, want {:?}",
        got.iter().map(|m| show(m)).collect::<Vec<_>>(),
        want.iter().map(|m| show(m)).collect::<Vec<_>>()
    );
}

/// zmio PUB -> libzmq SUB subscribed to `weather`: the peer gets exactly the
/// matching messages, multipart ones whole.
fn check_zmio_pub_to_libzmq_sub(publisher: &mut zmio::Socket<Pub>, sub: &mut Peer) {
    warm_up(
        || zsend(publisher, &[b"weather/warm-up"]),
        || sub.recv_within(Duration::from_millis(50)).is_some(),
        "zmio PUB -> libzmq SUB",
    );
    zsend(publisher, &[b"sports/1"]);
    zsend(publisher, &[b"weather/1", b"sunny"]);
    zsend(publisher, &[b"weathe"]); // a prefix of the filter is not a match
    zsend(publisher, &[b"news", b"weather/not-the-topic"]);
    zsend(publisher, &[b"weather"]);
    zsend(publisher, &[b"weather/end"]);
    let got = without_noise(sub.recv_until(b"weather/end"), &[b"weather/warm-up"]);
    assert_messages(
        &got,
        &[&[b"weather/1", b"sunny"], &[b"weather"], &[b"weather/end"]],
        "libzmq SUB filtering `weather` from zmio PUB",
    );
}

#[test]
fn zmio_pub_binds_libzmq_sub_connects_with_prefix_filter() {
    interop!();
    let ctx = Context::new().unwrap();
    let mut publisher = zsocket::<Pub>(&ctx);
    let endpoint = zbind(&mut publisher);
    let mut sub = Peer::connect("SUB", &endpoint, &["--subscribe", &hex(b"weather")]);
    check_zmio_pub_to_libzmq_sub(&mut publisher, &mut sub);
    sub.finish();
}

#[test]
fn libzmq_sub_binds_zmio_pub_connects_with_prefix_filter() {
    interop!();
    let (mut sub, endpoint) = Peer::bind("SUB", &["--subscribe", &hex(b"weather")]);
    let ctx = Context::new().unwrap();
    let mut publisher = zsocket::<Pub>(&ctx);
    publisher.connect(&endpoint).unwrap();
    check_zmio_pub_to_libzmq_sub(&mut publisher, &mut sub);
    sub.finish();
}

/// libzmq PUB -> zmio SUB subscribed to `weather`: zmio gets exactly the
/// matching messages.
fn check_libzmq_pub_to_zmio_sub(publisher: &mut Peer, sub: &mut zmio::Socket<Sub>) {
    warm_up(
        || publisher.send(&[b"weather/warm-up"]),
        || zrecv_within(sub, Duration::from_millis(50)).is_some(),
        "libzmq PUB -> zmio SUB",
    );
    publisher.send(&[b"sports/1"]);
    publisher.send(&[b"weather/1", b"sunny"]);
    publisher.send(&[b"weathe"]);
    publisher.send(&[b"news", b"weather/not-the-topic"]);
    publisher.send(&[b"weather"]);
    publisher.send(&[b"weather/end"]);
    let got = zrecv_until(sub, b"weather/end", &[b"weather/warm-up"]);
    assert_messages(
        &got,
        &[&[b"weather/1", b"sunny"], &[b"weather"], &[b"weather/end"]],
        "zmio SUB filtering `weather` from libzmq PUB",
    );
}

#[test]
fn libzmq_pub_binds_zmio_sub_connects_with_prefix_filter() {
    interop!();
    let (mut publisher, endpoint) = Peer::bind("PUB", &[]);
    let ctx = Context::new().unwrap();
    let mut sub = zsocket::<Sub>(&ctx);
    sub.subscribe("weather").unwrap();
    sub.connect(&endpoint).unwrap();
    check_libzmq_pub_to_zmio_sub(&mut publisher, &mut sub);
    publisher.finish();
}

#[test]
fn zmio_sub_binds_libzmq_pub_connects_with_prefix_filter() {
    interop!();
    let ctx = Context::new().unwrap();
    let mut sub = zsocket::<Sub>(&ctx);
    let endpoint = zbind(&mut sub);
    // Subscribing after bind: the subscription goes to peers that come later.
    sub.subscribe("weather").unwrap();
    let mut publisher = Peer::connect("PUB", &endpoint, &[]);
    check_libzmq_pub_to_zmio_sub(&mut publisher, &mut sub);
    publisher.finish();
}

#[test]
fn zmio_sub_unsubscribe_stops_delivery_from_libzmq_pub() {
    interop!();
    let (mut publisher, endpoint) = Peer::bind("PUB", &[]);
    let ctx = Context::new().unwrap();
    let mut sub = zsocket::<Sub>(&ctx);
    sub.subscribe("a").unwrap();
    sub.subscribe("b").unwrap();
    sub.connect(&endpoint).unwrap();
    // Both subscriptions are sent at connect, in any order: warm up on each.
    for topic in [&b"a/warm-up"[..], b"b/warm-up"] {
        warm_up(
            || publisher.send(&[topic]),
            || zrecv_within(&mut sub, Duration::from_millis(50)).is_some_and(|m| m[0] == topic),
            "warm-up",
        );
    }
    sub.unsubscribe("b").unwrap();
    // The CANCEL for `b` goes out before this SUBSCRIBE on the same
    // connection and libzmq applies them in order: once `sync` messages
    // arrive, `b` is no longer subscribed.
    sub.subscribe("sync").unwrap();
    warm_up(
        || publisher.send(&[b"sync"]),
        || zrecv_within(&mut sub, Duration::from_millis(50)).is_some_and(|m| m[0] == b"sync"),
        "sync after unsubscribe",
    );
    publisher.send(&[b"b/1"]);
    publisher.send(&[b"a/1"]);
    publisher.send(&[b"b/2"]);
    publisher.send(&[b"a/end"]);
    let got = zrecv_until(&mut sub, b"a/end", &[b"a/warm-up", b"b/warm-up", b"sync"]);
    assert_messages(
        &got,
        &[&[b"a/1"], &[b"a/end"]],
        "zmio SUB after unsubscribing `b`",
    );
    publisher.finish();
}

#[test]
fn libzmq_sub_unsubscribe_stops_delivery_from_zmio_pub() {
    interop!();
    let ctx = Context::new().unwrap();
    let mut publisher = zsocket::<Pub>(&ctx);
    let endpoint = zbind(&mut publisher);
    let mut sub = Peer::connect("SUB", &endpoint, &["--subscribe", &hex(b"b")]);
    warm_up(
        || zsend(&mut publisher, &[b"b/warm-up"]),
        || sub.recv_within(Duration::from_millis(50)).is_some(),
        "warm-up on b",
    );
    // CANCEL b, then SUBSCRIBE a, in this order on the wire: once `a`
    // messages arrive, zmio PUB has processed the CANCEL too.
    sub.subscribe("unsubscribe", b"b");
    sub.subscribe("subscribe", b"a");
    warm_up(
        || zsend(&mut publisher, &[b"a/warm-up"]),
        || {
            sub.recv_within(Duration::from_millis(50))
                .is_some_and(|m| m[0] == b"a/warm-up")
        },
        "warm-up on a",
    );
    zsend(&mut publisher, &[b"b/1"]);
    zsend(&mut publisher, &[b"a/1"]);
    zsend(&mut publisher, &[b"b/2"]);
    zsend(&mut publisher, &[b"a/end"]);
    let got = without_noise(sub.recv_until(b"a/end"), &[b"a/warm-up"]);
    assert_messages(
        &got,
        &[&[b"a/1"], &[b"a/end"]],
        "libzmq SUB after unsubscribing `b`",
    );
    sub.finish();
}

#[test]
fn libzmq_xpub_sees_zmio_sub_subscribe_and_cancel() {
    interop!();
    // An XPUB receives the subscriptions as messages: `01 topic` and `00 topic`.
    let ctx = Context::new().unwrap();
    let (mut sub, mut xpub) = libzmq_bound::<Sub>(&ctx, "XPUB");
    sub.subscribe("alpha").unwrap();
    // Whether `alpha` went out live or at the handshake, it arrives once
    // (libzmq's XPUB passes on only the first subscription to a topic).
    assert_frames(&xpub.recv(), &[b"\x01alpha"], "SUBSCRIBE alpha");
    // The connection is up now, so these go out live and in order.
    sub.subscribe("beta").unwrap();
    sub.unsubscribe("alpha").unwrap();
    assert_frames(&xpub.recv(), &[b"\x01beta"], "SUBSCRIBE beta");
    assert_frames(&xpub.recv(), &[b"\x00alpha"], "CANCEL alpha");
    xpub.finish();
}

#[test]
fn libzmq_pub_fans_out_to_several_zmio_subs() {
    interop!();
    let (mut publisher, endpoint) = Peer::bind("PUB", &[]);
    let ctx = Context::new().unwrap();
    let mut subs: Vec<zmio::Socket<Sub>> = (0..3)
        .map(|i| {
            let mut sub = zsocket::<Sub>(&ctx);
            sub.subscribe(format!("s{i}/")).unwrap();
            sub.subscribe("all/").unwrap();
            sub.connect(&endpoint).unwrap();
            sub
        })
        .collect();
    // Each subscriber's `all/` subscription was sent with its `sN/` one;
    // warm up until every subscriber has seen an `all/` message.
    let mut warm = [false; 3];
    warm_up(
        || publisher.send(&[b"all/warm-up"]),
        || {
            for (sub, warm) in subs.iter_mut().zip(&mut warm) {
                if !*warm {
                    *warm = zrecv_within(sub, Duration::from_millis(20)).is_some();
                }
            }
            warm.iter().all(|&w| w)
        },
        "libzmq PUB -> 3 zmio SUBs",
    );
    // Subscriptions of one subscriber go out in one batch, but `sN/` may
    // have been applied after `all/`: one more round of warm-ups on the
    // subscriber's own topic makes sure.
    for (i, sub) in subs.iter_mut().enumerate() {
        let topic = format!("s{i}/warm-up");
        warm_up(
            || publisher.send(&[topic.as_bytes()]),
            || {
                zrecv_within(sub, Duration::from_millis(50))
                    .is_some_and(|m| m[0] == topic.as_bytes())
            },
            "own topic",
        );
    }
    publisher.send(&[b"s0/x", b"zero"]);
    publisher.send(&[b"s1/x", b"one"]);
    publisher.send(&[b"nobody/x"]);
    publisher.send(&[b"s2/x", b"two"]);
    publisher.send(&[b"all/x", b"everyone"]);
    publisher.send(&[b"all/end"]);
    let noise: [&[u8]; 4] = [b"all/warm-up", b"s0/warm-up", b"s1/warm-up", b"s2/warm-up"];
    let own: [&[&[u8]]; 3] = [&[b"s0/x", b"zero"], &[b"s1/x", b"one"], &[b"s2/x", b"two"]];
    for (i, sub) in subs.iter_mut().enumerate() {
        let got = zrecv_until(sub, b"all/end", &noise);
        assert_messages(
            &got,
            &[own[i], &[b"all/x", b"everyone"], &[b"all/end"]],
            &format!("zmio SUB {i}"),
        );
    }
    publisher.finish();
}

#[test]
fn zmio_sub_resubscribes_after_libzmq_pub_restarts_on_same_port() {
    interop!();
    let (mut publisher, endpoint) = Peer::bind("PUB", &[]);
    let ctx = Context::new().unwrap();
    let mut sub = zsocket::<Sub>(&ctx);
    sub.subscribe("weather").unwrap();
    sub.connect(&endpoint).unwrap();
    warm_up(
        || publisher.send(&[b"weather/warm-up"]),
        || zrecv_within(&mut sub, Duration::from_millis(50)).is_some(),
        "first publisher",
    );
    publisher.finish();
    // A new publisher on the same port knows nothing of the old
    // subscriptions: the zmio SUB must reconnect and send them again.
    let (mut publisher, again) = Peer::bind_at("PUB", &endpoint, &[]);
    assert_eq!(again, endpoint);
    check_libzmq_pub_to_zmio_sub(&mut publisher, &mut sub);
    publisher.finish();
}

// ---------------------------------------------------------------------------
// REQ/REP, ROUTER, DEALER

/// Request bodies for the REQ/REP tests: one frame, and multipart with empty
/// frames (which must not be mistaken for the envelope's delimiter).
const REQUESTS: [&[&[u8]]; 3] = [
    &[b"ping"],
    &[b"", b"a", b"", b""],
    &[b"multi", b"", b"part"],
];

fn reply_to(request: &[Vec<u8>]) -> Frames {
    let mut reply = vec![b"re:".to_vec()];
    reply.extend(request.iter().cloned());
    reply
}

fn as_slices(frames: &[Vec<u8>]) -> Vec<&[u8]> {
    frames.iter().map(Vec::as_slice).collect()
}

/// zmio REQ against a libzmq REP that answers each request with `re:` + request.
fn check_zmio_req_to_libzmq_rep(req: &mut zmio::Socket<Req>, rep: &mut Peer) {
    for request in REQUESTS {
        zsend(req, request);
        let got = rep.recv();
        assert_frames(&got, request, "libzmq REP received");
        rep.send(&as_slices(&reply_to(&got)));
        let want = reply_to(&got);
        assert_frames(&zrecv(req), &as_slices(&want), "zmio REQ got the reply");
    }
}

#[test]
fn zmio_req_connects_to_libzmq_rep() {
    interop!();
    let ctx = Context::new().unwrap();
    let (mut req, mut rep) = libzmq_bound::<Req>(&ctx, "REP");
    check_zmio_req_to_libzmq_rep(&mut req, &mut rep);
    rep.finish();
}

#[test]
fn zmio_req_binds_libzmq_rep_connects() {
    interop!();
    let ctx = Context::new().unwrap();
    let (mut req, mut rep) = zmio_bound::<Req>(&ctx, "REP");
    check_zmio_req_to_libzmq_rep(&mut req, &mut rep);
    rep.finish();
}

/// libzmq REQ against a zmio REP that answers with `re:` + request.
fn check_libzmq_req_to_zmio_rep(req: &mut Peer, rep: &mut zmio::Socket<Rep>) {
    for request in REQUESTS {
        req.send(request);
        let got = zrecv(rep);
        assert_frames(&got, request, "zmio REP received");
        zsend(rep, &as_slices(&reply_to(&got)));
        let want = reply_to(&got);
        assert_frames(&req.recv(), &as_slices(&want), "libzmq REQ got the reply");
    }
}

#[test]
fn libzmq_req_connects_to_zmio_rep() {
    interop!();
    let ctx = Context::new().unwrap();
    let (mut rep, mut req) = zmio_bound::<Rep>(&ctx, "REQ");
    check_libzmq_req_to_zmio_rep(&mut req, &mut rep);
    req.finish();
}

#[test]
fn libzmq_req_binds_zmio_rep_connects() {
    interop!();
    let ctx = Context::new().unwrap();
    let (mut rep, mut req) = libzmq_bound::<Rep>(&ctx, "REQ");
    check_libzmq_req_to_zmio_rep(&mut req, &mut rep);
    req.finish();
}

#[test]
fn zmio_req_to_libzmq_router_sees_envelope_and_routing_id() {
    interop!();
    let (mut router, endpoint) = Peer::bind("ROUTER", &[]);
    let ctx = Context::new().unwrap();
    let mut named = zsocket::<Req>(&ctx);
    named.set_routing_id("client-7").unwrap();
    named.connect(&endpoint).unwrap();
    let mut anonymous = zsocket::<Req>(&ctx);
    anonymous.connect(&endpoint).unwrap();

    zsend(&mut named, &[b"from named", b"", b"x"]);
    zsend(&mut anonymous, &[b"from anonymous"]);
    // The two requests may reach the ROUTER in either order.
    let mut anonymous_id = None;
    for _ in 0..2 {
        let got = router.recv();
        assert!(got.len() >= 3, "ROUTER got {}", show(&got));
        let (id, rest) = (&got[0], &got[1..]);
        if rest[1] == b"from named" {
            assert_eq!(id, b"client-7", "the ROUTER sees the REQ's routing id");
            assert_frames(rest, &[b"", b"from named", b"", b"x"], "named request");
        } else {
            // libzmq makes up a 5-byte id starting with a zero byte for a
            // peer that sent an empty Identity.
            assert_eq!(id.len(), 5, "generated id {id:?}");
            assert_eq!(id[0], 0, "generated id {id:?}");
            assert_frames(rest, &[b"", b"from anonymous"], "anonymous request");
            anonymous_id = Some(id.clone());
        }
    }
    let anonymous_id = anonymous_id.expect("the anonymous request arrived");
    // Reply to the anonymous one first, to show replies are routed by id.
    router.send(&[&anonymous_id, b"", b"to anonymous"]);
    router.send(&[b"client-7", b"", b"to named", b""]);
    assert_frames(
        &zrecv(&mut anonymous),
        &[b"to anonymous"],
        "anonymous reply",
    );
    assert_frames(&zrecv(&mut named), &[b"to named", b""], "named reply");
    router.finish();
}

#[test]
fn libzmq_router_binds_zmio_req_connects_and_a_new_request_follows_the_reply() {
    interop!();
    let (mut router, endpoint) = Peer::bind("ROUTER", &[]);
    let ctx = Context::new().unwrap();
    let mut req = zsocket::<Req>(&ctx);
    req.set_routing_id("r").unwrap();
    req.connect(&endpoint).unwrap();
    for i in 0..3u8 {
        let body = [b'q', b'0' + i];
        zsend(&mut req, &[&body]);
        assert_frames(&router.recv(), &[b"r", b"", &body], "ROUTER got request");
        router.send(&[b"r", b"", b"ok", &body]);
        assert_frames(&zrecv(&mut req), &[b"ok", &body], "REQ got reply");
    }
    router.finish();
}

/// zmio REQ with ZMQ_REQ_RELAXED and ZMQ_REQ_CORRELATE against a libzmq
/// ROUTER: the ROUTER sees `[identity, request id, "", body]`, and the late
/// reply to an abandoned request is dropped.
#[test]
fn zmio_relaxed_correlated_req_to_libzmq_router() {
    interop!();
    let (mut router, endpoint) = Peer::bind("ROUTER", &[]);
    let ctx = Context::new().unwrap();
    let mut req = zsocket::<Req>(&ctx);
    req.set_routing_id("c").unwrap();
    req.set_req_relaxed(true).unwrap();
    req.set_req_correlate(true).unwrap();
    req.connect(&endpoint).unwrap();
    zsend(&mut req, &[b"first"]);
    let first = router.recv();
    assert_eq!(first.len(), 4, "ROUTER got {}", show(&first));
    assert_eq!(first[1].len(), 4, "a 4-byte request id: {}", show(&first));
    assert_frames(&first, &[b"c", &first[1], b"", b"first"], "first request");
    zsend(&mut req, &[b"second"]);
    let second = router.recv();
    let n = u32::from_be_bytes(first[1][..].try_into().unwrap());
    let id2 = n.wrapping_add(1).to_be_bytes();
    assert_frames(&second, &[b"c", &id2, b"", b"second"], "second request");
    router.send(&[b"c", &first[1], b"", b"late"]);
    router.send(&[b"c", &id2, b"", b"answer"]);
    assert_frames(&zrecv(&mut req), &[b"answer"], "REQ got the second reply");
    router.finish();
}

/// A libzmq REQ with ZMQ_REQ_RELAXED and ZMQ_REQ_CORRELATE against a zmio
/// ROUTER: the same wire format as ours, and its late reply dropped by libzmq.
#[test]
fn libzmq_relaxed_correlated_req_to_zmio_router() {
    interop!();
    let ctx = Context::new().unwrap();
    let mut router = zsocket::<Router>(&ctx);
    let endpoint = zbind(&mut router);
    let options = [
        "--routing-id",
        "63",
        "--sockopt",
        "REQ_RELAXED=1",
        "--sockopt",
        "REQ_CORRELATE=1",
    ];
    let mut req = Peer::connect("REQ", &endpoint, &options);
    req.send(&[b"first"]);
    let first = zrecv(&mut router);
    assert_eq!(first.len(), 4, "ROUTER got {}", show(&first));
    assert_eq!(first[1].len(), 4, "a 4-byte request id: {}", show(&first));
    assert_frames(&first, &[b"c", &first[1], b"", b"first"], "first request");
    req.send(&[b"second"]);
    let second = zrecv(&mut router);
    // libzmq writes its counter in host byte order; the id is opaque to the
    // ROUTER, so only its size and freshness matter here.
    let id2 = second[1].clone();
    assert_eq!(id2.len(), 4, "{}", show(&second));
    assert_ne!(id2, first[1], "a new id for the new request");
    assert_frames(&second, &[b"c", &id2, b"", b"second"], "second request");
    zsend(&mut router, &[b"c", &first[1], b"", b"late"]);
    zsend(&mut router, &[b"c", &id2, b"", b"answer"]);
    assert_frames(&req.recv(), &[b"answer"], "libzmq REQ got the second reply");
    req.finish();
}

/// A libzmq DEALER talking to a zmio REP: it writes the envelope itself.
fn check_libzmq_dealer_to_zmio_rep(dealer: &mut Peer, rep: &mut zmio::Socket<Rep>) {
    // The minimal envelope: just the delimiter.
    dealer.send(&[b"", b"hello"]);
    assert_frames(&zrecv(rep), &[b"hello"], "zmio REP request body");
    zsend(rep, &[b"world"]);
    assert_frames(&dealer.recv(), &[b"", b"world"], "DEALER got the reply");
    // Routing frames before the delimiter are echoed back, body empty frames kept.
    dealer.send(&[b"hop-1", b"hop-2", b"", b"body", b""]);
    assert_frames(&zrecv(rep), &[b"body", b""], "zmio REP request body");
    zsend(rep, &[b"", b"reply"]);
    assert_frames(
        &dealer.recv(),
        &[b"hop-1", b"hop-2", b"", b"", b"reply"],
        "DEALER got the reply with its envelope",
    );
}

#[test]
fn libzmq_dealer_connects_to_zmio_rep() {
    interop!();
    for transport in TRANSPORTS {
        let ctx = Context::new().unwrap();
        let (mut rep, mut dealer) = zmio_bound_on::<Rep>(&ctx, "DEALER", transport);
        check_libzmq_dealer_to_zmio_rep(&mut dealer, &mut rep);
        dealer.finish();
    }
}

#[test]
fn libzmq_dealer_binds_zmio_rep_connects() {
    interop!();
    for transport in TRANSPORTS {
        let ctx = Context::new().unwrap();
        let (mut rep, mut dealer) = libzmq_bound_on::<Rep>(&ctx, "DEALER", transport);
        check_libzmq_dealer_to_zmio_rep(&mut dealer, &mut rep);
        dealer.finish();
    }
}

// ---------------------------------------------------------------------------
// Streams, heartbeats, limits

/// Enough messages to fill both sides' high water marks and the TCP buffers
/// many times over, so batching, partial writes and back-pressure all run.
const MANY: usize = 20_000;

#[test]
fn many_messages_keep_their_order_from_zmio_to_libzmq() {
    interop!();
    let ctx = Context::new().unwrap();
    let (mut push, mut pull) = zmio_bound::<Push>(&ctx, "PULL");
    // The peer must be receiving while zmio sends: beyond the high water
    // marks a PUSH waits for its peer to read.
    pull.start(&format!(r#"{{"op":"recv_seq","count":{MANY}}}"#));
    for i in 0..MANY {
        push.send(i.to_string()).expect("zmio send");
    }
    pull.expect_ok("recv_seq");
    pull.finish();
}

#[test]
fn many_messages_keep_their_order_from_libzmq_to_zmio() {
    interop!();
    let ctx = Context::new().unwrap();
    let (mut pull, mut push) = zmio_bound::<Pull>(&ctx, "PUSH");
    push.start(&format!(r#"{{"op":"send_seq","count":{MANY}}}"#));
    for i in 0..MANY {
        assert_frames(&zrecv(&mut pull), &[i.to_string().as_bytes()], "in order");
    }
    push.expect_ok("send_seq");
    push.finish();
}

#[test]
fn zmio_answers_libzmq_heartbeats_so_the_connection_stays_up() {
    interop!();
    let ctx = Context::new().unwrap();
    let mut pull = zsocket::<Pull>(&ctx);
    let endpoint = zbind(&mut pull);
    // libzmq PINGs every 25 ms and drops the connection when nothing comes
    // back within 400 ms of a PING: only zmio's PONGs keep it alive while
    // idle. (The timeout is generous so a loaded machine's scheduling delays
    // do not count as a missing PONG; a peer that never answers is still
    // dropped well within the idle second below.)
    let mut push = Peer::connect(
        "PUSH",
        &endpoint,
        &[
            "--sockopt",
            "HEARTBEAT_IVL=25",
            "--sockopt",
            "HEARTBEAT_TIMEOUT=400",
            "--monitor",
            "1",
        ],
    );
    push.send(&[b"before"]);
    assert_frames(&zrecv(&mut pull), &[b"before"], "first message");
    // The idle time is what is under test (some forty heartbeat rounds),
    // not a way to wait for something.
    thread::sleep(Duration::from_secs(1));
    push.send(&[b"after"]);
    assert_frames(&zrecv(&mut pull), &[b"after"], "message after idling");
    let events = push.events();
    assert!(
        events.iter().any(|e| e == "HANDSHAKE_SUCCEEDED"),
        "libzmq events: {events:?}"
    );
    assert!(
        !events.iter().any(|e| e == "DISCONNECTED"),
        "libzmq dropped the connection: zmio did not answer its PINGs ({events:?})"
    );
    push.finish();
}

#[test]
fn libzmq_pongs_keep_zmio_heartbeats_satisfied() {
    interop!();
    let ctx = Context::new().unwrap();
    let mut pull = zsocket::<Pull>(&ctx);
    // zmio PINGs every 20 ms and drops the connection when nothing comes
    // back within 300 ms of a PING; libzmq has no heartbeats of its own, so
    // only its PONGs keep the connection up while idle.
    pull.set_heartbeat_ivl(Some(Duration::from_millis(20)))
        .unwrap();
    pull.set_heartbeat_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    pull.set_heartbeat_ttl(Duration::from_secs(1)).unwrap();
    let endpoint = zbind(&mut pull);
    let mut push = Peer::connect("PUSH", &endpoint, &["--monitor", "1"]);
    push.send(&[b"before"]);
    assert_frames(&zrecv(&mut pull), &[b"before"], "first message");
    // The idle time is what is under test (some fifty heartbeat rounds,
    // three timeouts), not a way to wait for something.
    thread::sleep(Duration::from_secs(1));
    push.send(&[b"after"]);
    assert_frames(&zrecv(&mut pull), &[b"after"], "message after idling");
    let events = push.events();
    assert!(
        !events.iter().any(|e| e == "DISCONNECTED"),
        "zmio dropped the connection: libzmq's PONGs did not count ({events:?})"
    );
    push.finish();
}

#[test]
fn zmio_pull_max_msg_size_discards_an_oversized_libzmq_message_and_keeps_the_connection() {
    interop!();
    let ctx = Context::new().unwrap();
    let mut pull = zsocket::<Pull>(&ctx);
    pull.set_max_msg_size(Some(1024 * 1024)).unwrap();
    let endpoint = zbind(&mut pull);
    let mut push = Peer::connect("PUSH", &endpoint, &["--monitor", "1"]);
    push.send(&[b"small"]);
    assert_frames(&zrecv(&mut pull), &[b"small"], "a message under the limit");
    // 2 MiB: zmio skips it as it streams; the messages after it come next,
    // in order, on the same connection.
    let big = pattern(2 * 1024 * 1024);
    push.send(&[&big]);
    for i in 0..100 {
        push.send(&[format!("after-{i}").as_bytes()]);
    }
    for i in 0..100 {
        assert_frames(
            &zrecv(&mut pull),
            &[format!("after-{i}").as_bytes()],
            "the messages after the oversized one",
        );
    }
    let events = push.events();
    assert!(
        !events.iter().any(|e| e == "DISCONNECTED"),
        "zmio dropped the connection of the oversized message: {events:?}"
    );
    push.finish();
}

/// A fresh ipc endpoint in the temporary directory, unique to this test run.
fn ipc_endpoint(name: &str) -> String {
    let path =
        std::env::temp_dir().join(format!("zmio-interop-{}-{name}.sock", std::process::id()));
    format!("ipc://{}", path.display())
}

#[test]
fn ipc_zmio_push_binds_libzmq_pull_connects() {
    interop!();
    let ctx = Context::new().unwrap();
    let mut push = zsocket::<Push>(&ctx);
    let endpoint = push
        .bind(&ipc_endpoint("push-binds"))
        .expect("bind ipc")
        .to_string();
    let mut pull = Peer::connect("PULL", &endpoint, &[]);
    check_pipeline(
        |m| zsend(&mut push, m),
        || pull.recv(),
        "zmio PUSH -> libzmq PULL over ipc",
    );
    pull.finish();
}

#[test]
fn ipc_libzmq_push_binds_zmio_pull_connects() {
    interop!();
    let (mut push, endpoint) = Peer::bind_at("PUSH", &ipc_endpoint("libzmq-push-binds"), &[]);
    let ctx = Context::new().unwrap();
    let mut pull = zsocket::<Pull>(&ctx);
    pull.connect(&endpoint).unwrap();
    check_pipeline(
        |m| push.send(m),
        || zrecv(&mut pull),
        "libzmq PUSH -> zmio PULL over ipc",
    );
    let big = pattern(TEN_MIB);
    push.send(&[b"", &big]);
    assert_frames(&zrecv(&mut pull), &[b"", &big], "10 MiB over ipc");
    push.finish();
}

#[test]
fn ipc_zmio_req_to_libzmq_rep_and_libzmq_req_to_zmio_rep() {
    interop!();
    let (mut rep, endpoint) = Peer::bind_at("REP", &ipc_endpoint("libzmq-rep"), &[]);
    let ctx = Context::new().unwrap();
    let mut req = zsocket::<Req>(&ctx);
    req.connect(&endpoint).unwrap();
    check_zmio_req_to_libzmq_rep(&mut req, &mut rep);
    rep.finish();

    let mut zrep = zsocket::<Rep>(&ctx);
    let endpoint = zrep
        .bind(&ipc_endpoint("zmio-rep"))
        .expect("bind ipc")
        .to_string();
    let mut lreq = Peer::connect("REQ", &endpoint, &[]);
    check_libzmq_req_to_zmio_rep(&mut lreq, &mut zrep);
    lreq.finish();
}

// ---------------------------------------------------------------------------
// DEALER, ROUTER, PAIR

/// A zmio DEALER and a libzmq ROUTER: the ROUTER names the DEALER by its
/// routing id and routes the reply back by it.
fn check_zmio_dealer_to_libzmq_router(dealer: &mut zmio::Socket<Dealer>, router: &mut Peer) {
    zsend(dealer, &[b"", b"hello", b""]);
    assert_frames(
        &router.recv(),
        &[b"zd", b"", b"hello", b""],
        "libzmq ROUTER got the DEALER's id and frames",
    );
    router.send(&[b"zd", b"reply", b""]);
    router.send(&[b"nobody", b"dropped"]);
    router.send(&[b"zd", b"second"]);
    assert_frames(
        &zrecv(dealer),
        &[b"reply", b""],
        "zmio DEALER got the reply",
    );
    assert_frames(&zrecv(dealer), &[b"second"], "zmio DEALER got the second");
}

#[test]
fn zmio_dealer_connects_to_libzmq_router() {
    interop!();
    for transport in TRANSPORTS {
        let (mut router, endpoint) = Peer::bind_on(transport, "ROUTER", &[]);
        let ctx = Context::new().unwrap();
        let mut dealer = zsocket::<Dealer>(&ctx);
        dealer.set_routing_id("zd").unwrap();
        dealer.connect(&endpoint).unwrap();
        check_zmio_dealer_to_libzmq_router(&mut dealer, &mut router);
        router.finish();
    }
}

#[test]
fn libzmq_router_connects_to_zmio_dealer() {
    interop!();
    for transport in TRANSPORTS {
        let ctx = Context::new().unwrap();
        let mut dealer = zsocket::<Dealer>(&ctx);
        dealer.set_routing_id("zd").unwrap();
        let endpoint = zbind_on(&mut dealer, transport);
        let mut router = Peer::connect("ROUTER", &endpoint, &[]);
        check_zmio_dealer_to_libzmq_router(&mut dealer, &mut router);
        router.finish();
    }
}

/// libzmq DEALERs talking to a zmio ROUTER: the named one by its id, the
/// anonymous one by a generated 5-byte id.
fn check_libzmq_dealers_to_zmio_router(
    router: &mut zmio::Socket<Router>,
    named: &mut Peer,
    anonymous: &mut Peer,
) {
    named.send(&[b"from named", b""]);
    assert_frames(
        &zrecv(router),
        &[b"ld", b"from named", b""],
        "zmio ROUTER names the DEALER by its id",
    );
    anonymous.send(&[b"from anonymous"]);
    let got = zrecv(router);
    assert!(
        got.len() == 2 && got[0].len() == 5 && got[0][0] == 0,
        "zmio ROUTER makes up an id: {}",
        show(&got)
    );
    assert_frames(&got[1..], &[b"from anonymous"], "anonymous body");
    zsend(router, &[&got[0], b"to anonymous"]);
    zsend(router, &[b"nobody", b"dropped"]);
    zsend(router, &[b"ld", b"to named", b""]);
    assert_frames(&anonymous.recv(), &[b"to anonymous"], "anonymous reply");
    assert_frames(&named.recv(), &[b"to named", b""], "named reply");
}

#[test]
fn libzmq_dealers_connect_to_zmio_router() {
    interop!();
    for transport in TRANSPORTS {
        let ctx = Context::new().unwrap();
        let mut router = zsocket::<Router>(&ctx);
        let endpoint = zbind_on(&mut router, transport);
        let mut named = Peer::connect("DEALER", &endpoint, &["--routing-id", &hex(b"ld")]);
        let mut anonymous = Peer::connect("DEALER", &endpoint, &[]);
        check_libzmq_dealers_to_zmio_router(&mut router, &mut named, &mut anonymous);
        named.finish();
        anonymous.finish();
    }
}

#[test]
fn zmio_router_connects_to_libzmq_dealers() {
    interop!();
    for transport in TRANSPORTS {
        let (mut named, named_endpoint) =
            Peer::bind_on(transport, "DEALER", &["--routing-id", &hex(b"ld")]);
        let (mut anonymous, anonymous_endpoint) = Peer::bind_on(transport, "DEALER", &[]);
        let ctx = Context::new().unwrap();
        let mut router = zsocket::<Router>(&ctx);
        router.connect(&named_endpoint).unwrap();
        router.connect(&anonymous_endpoint).unwrap();
        check_libzmq_dealers_to_zmio_router(&mut router, &mut named, &mut anonymous);
        named.finish();
        anonymous.finish();
    }
}

#[test]
fn libzmq_req_to_zmio_router_both_directions() {
    interop!();
    for transport in TRANSPORTS {
        let ctx = Context::new().unwrap();
        for bind_zmio in [true, false] {
            let (mut router, mut req) = if bind_zmio {
                let mut router = zsocket::<Router>(&ctx);
                let endpoint = zbind_on(&mut router, transport);
                let req = Peer::connect("REQ", &endpoint, &["--routing-id", &hex(b"lq")]);
                (router, req)
            } else {
                let (req, endpoint) =
                    Peer::bind_on(transport, "REQ", &["--routing-id", &hex(b"lq")]);
                let mut router = zsocket::<Router>(&ctx);
                router.connect(&endpoint).unwrap();
                (router, req)
            };
            for i in 0..3u8 {
                let body = [b'q', b'0' + i];
                req.send(&[&body]);
                assert_frames(
                    &zrecv(&mut router),
                    &[b"lq", b"", &body],
                    "zmio ROUTER got the REQ envelope",
                );
                zsend(&mut router, &[b"lq", b"", b"ok", &body]);
                assert_frames(&req.recv(), &[b"ok", &body], "libzmq REQ got the reply");
            }
            req.finish();
        }
    }
}

#[test]
fn zmio_dealer_to_libzmq_rep() {
    interop!();
    for transport in TRANSPORTS {
        let ctx = Context::new().unwrap();
        let (mut dealer, mut rep) = libzmq_bound_on::<Dealer>(&ctx, "REP", transport);
        zsend(&mut dealer, &[b"", b"hello"]);
        assert_frames(&rep.recv(), &[b"hello"], "libzmq REP got the body");
        rep.send(&[b"world"]);
        assert_frames(
            &zrecv(&mut dealer),
            &[b"", b"world"],
            "zmio DEALER got the reply",
        );
        rep.finish();
    }
}

fn check_pair(zmio_pair: &mut zmio::Socket<Pair>, peer: &mut Peer) {
    for msg in pipeline_messages() {
        zsend(zmio_pair, &msg);
        assert_frames(&peer.recv(), &msg, "zmio PAIR -> libzmq PAIR");
        peer.send(&msg);
        assert_frames(&zrecv(zmio_pair), &msg, "libzmq PAIR -> zmio PAIR");
    }
}

#[test]
fn zmio_pair_binds_libzmq_pair_connects() {
    interop!();
    for transport in TRANSPORTS {
        let ctx = Context::new().unwrap();
        let (mut pair, mut peer) = zmio_bound_on::<Pair>(&ctx, "PAIR", transport);
        check_pair(&mut pair, &mut peer);
        peer.finish();
    }
}

#[test]
fn libzmq_pair_binds_zmio_pair_connects() {
    interop!();
    for transport in TRANSPORTS {
        let ctx = Context::new().unwrap();
        let (mut pair, mut peer) = libzmq_bound_on::<Pair>(&ctx, "PAIR", transport);
        check_pair(&mut pair, &mut peer);
        peer.finish();
    }
}

#[test]
fn zmio_xpub_sees_libzmq_sub_subscriptions_and_publishes_to_it() {
    interop!();
    for transport in TRANSPORTS {
        let ctx = Context::new().unwrap();
        let (mut xpub, mut sub) = zmio_bound_on::<XPub>(&ctx, "SUB", transport);
        sub.subscribe("subscribe", b"alpha");
        assert_eq!(zrecv(&mut xpub), [b"\x01alpha".to_vec()], "SUBSCRIBE alpha");
        // Received, so in effect for the next send.
        zsend(&mut xpub, &[b"beta/1"]);
        zsend(&mut xpub, &[b"alpha/1", b"one"]);
        zsend(&mut xpub, &[b"alpha/end"]);
        assert_messages(
            &sub.recv_until(b"alpha/end"),
            &[&[b"alpha/1", b"one"], &[b"alpha/end"]],
            "libzmq SUB from zmio XPUB",
        );
        sub.subscribe("unsubscribe", b"alpha");
        assert_eq!(zrecv(&mut xpub), [b"\x00alpha".to_vec()], "CANCEL alpha");
        sub.finish();
    }
}

#[test]
fn libzmq_xpub_publishes_to_zmio_sub() {
    interop!();
    for transport in TRANSPORTS {
        let ctx = Context::new().unwrap();
        let (mut sub, mut xpub) = libzmq_bound_on::<Sub>(&ctx, "XPUB", transport);
        sub.subscribe("t/").unwrap();
        assert_frames(&xpub.recv(), &[b"\x01t/"], "SUBSCRIBE t/");
        xpub.send(&[b"t/1"]);
        xpub.send(&[b"u/1"]);
        xpub.send(&[b"t/end"]);
        assert_messages(
            &zrecv_until(&mut sub, b"t/end", &[]),
            &[&[b"t/1"], &[b"t/end"]],
            "zmio SUB from libzmq XPUB",
        );
        xpub.finish();
    }
}

#[test]
fn libzmq_xpub_sees_zmio_xsub_subscriptions_and_publishes_to_it() {
    interop!();
    for transport in TRANSPORTS {
        let ctx = Context::new().unwrap();
        let (mut xsub, mut xpub) = libzmq_bound_on::<XSub>(&ctx, "XPUB", transport);
        zsend(&mut xsub, &[b"\x01news"]);
        assert_frames(&xpub.recv(), &[b"\x01news"], "SUBSCRIBE news");
        xpub.send(&[b"weather"]);
        xpub.send(&[b"news/1", b"one"]);
        assert_eq!(zrecv(&mut xsub), [b"news/1".to_vec(), b"one".to_vec()]);
        zsend(&mut xsub, &[b"\x00news"]);
        assert_frames(&xpub.recv(), &[b"\x00news"], "CANCEL news");
        xpub.finish();
    }
}

#[test]
fn zmio_xsub_subscribes_to_libzmq_pub_by_message() {
    interop!();
    for transport in TRANSPORTS {
        let ctx = Context::new().unwrap();
        let (mut xsub, mut publisher) = libzmq_bound_on::<XSub>(&ctx, "PUB", transport);
        zsend(&mut xsub, &[b"\x01w/"]);
        warm_up(
            || publisher.send(&[b"w/warm-up"]),
            || zrecv_within(&mut xsub, Duration::from_millis(50)).is_some(),
            "libzmq PUB -> zmio XSUB",
        );
        publisher.send(&[b"x/1"]);
        publisher.send(&[b"w/1", b"one"]);
        publisher.send(&[b"w/end"]);
        let mut got = Vec::new();
        loop {
            let frames = zrecv(&mut xsub);
            let done = frames[0] == b"w/end";
            if frames[0] != b"w/warm-up" {
                got.push(frames);
            }
            if done {
                break;
            }
        }
        assert_messages(&got, &[&[b"w/1", b"one"], &[b"w/end"]], "zmio XSUB");
        publisher.finish();
    }
}
