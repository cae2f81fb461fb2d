//! ZMTP heartbeats and the handshake limit over real TCP: a peer that goes
//! silent after its handshake is dropped, one that never finishes the
//! handshake is dropped, a peer whose PING asks for a TTL is dropped when it
//! then goes quiet, and two zmio sockets pinging each other stay connected
//! through an idle period longer than the timeout.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use zmio::{Context, Error, Pull, Push};

/// The most any test waits for something that should happen in milliseconds.
const PATIENCE: Duration = Duration::from_secs(10);

/// Our greeting: ZMTP 3.1, NULL, not as-server.
fn greeting() -> Vec<u8> {
    let mut g = vec![0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 1];
    g.extend_from_slice(b"NULL");
    g.resize(64, 0);
    g
}

/// READY with `Socket-Type: PUSH`.
fn ready_push() -> Vec<u8> {
    let r = b"\x04\x1a\x05READY\x0bSocket-Type\x00\x00\x00\x04PUSH".to_vec();
    assert_eq!(r.len(), 2 + 0x1a);
    r
}

/// A zmio PULL bound to a loopback port, configured by `setup`; returns its endpoint.
fn bound_pull(
    ctx: &Context,
    setup: impl FnOnce(&mut zmio::Socket<Pull>),
) -> (zmio::Socket<Pull>, String) {
    let mut pull = ctx.socket::<Pull>().unwrap();
    setup(&mut pull);
    let endpoint = pull.bind("tcp://127.0.0.1:*").unwrap().to_string();
    (pull, endpoint)
}

/// A raw TCP connection to `endpoint` (`tcp://host:port`).
fn raw_connect(endpoint: &str) -> TcpStream {
    let addr = endpoint.strip_prefix("tcp://").unwrap();
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// Reads until zmio closes the connection; returns everything read and
/// how long it took. Fails if the connection is still open after `PATIENCE`.
fn read_to_close(stream: &mut TcpStream) -> (Vec<u8>, Duration) {
    let start = Instant::now();
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!(
                "zmio kept the connection open ({e}) after {:?}",
                start.elapsed()
            ),
        }
    }
    (all, start.elapsed())
}

/// How many times `needle` occurs in `haystack`.
fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

#[test]
fn a_peer_that_goes_silent_after_the_handshake_is_dropped() {
    let ctx = Context::new().unwrap();
    let (_pull, endpoint) = bound_pull(&ctx, |s| {
        s.set_heartbeat_ivl(Some(Duration::from_millis(20)))
            .unwrap();
        s.set_heartbeat_timeout(Some(Duration::from_millis(60)))
            .unwrap();
    });
    let mut raw = raw_connect(&endpoint);
    raw.write_all(&[greeting(), ready_push()].concat()).unwrap();
    // Never answers: zmio's PINGs go unanswered and it hangs up.
    let (got, _) = read_to_close(&mut raw);
    assert!(got.starts_with(&[0xff]), "zmio's greeting first");
    assert!(
        count(&got, b"\x04\x07\x04PING\x00\x00") >= 1,
        "zmio pinged before giving up: {got:?}"
    );
}

#[test]
fn a_peer_that_never_completes_the_handshake_is_dropped() {
    let ctx = Context::new().unwrap();
    let (_pull, endpoint) = bound_pull(&ctx, |s| {
        s.set_handshake_ivl(Some(Duration::from_millis(50)))
            .unwrap();
    });
    // One sends nothing at all, the other only its greeting.
    let mut silent = raw_connect(&endpoint);
    let mut greeted = raw_connect(&endpoint);
    greeted.write_all(&greeting()).unwrap();
    let (got, _) = read_to_close(&mut silent);
    assert_eq!(got.len(), 64, "only zmio's greeting: {got:?}");
    let (got, _) = read_to_close(&mut greeted);
    assert!(got.len() > 64, "zmio's greeting and READY: {got:?}");
}

#[test]
fn without_a_handshake_limit_a_slow_peer_is_kept() {
    let ctx = Context::new().unwrap();
    let (mut pull, endpoint) = bound_pull(&ctx, |s| {
        s.set_handshake_ivl(None).unwrap();
        s.set_rcvtimeo(Some(PATIENCE)).unwrap();
    });
    let mut raw = raw_connect(&endpoint);
    raw.write_all(&greeting()).unwrap();
    // Slowness is what is under test, not a way to wait for something.
    thread::sleep(Duration::from_millis(200));
    raw.write_all(&ready_push()).unwrap();
    raw.write_all(b"\x00\x02hi").unwrap();
    assert_eq!(pull.recv().unwrap().frame(0).unwrap(), &b"hi"[..]);
}

#[test]
fn a_peer_whose_ping_asks_for_a_ttl_is_dropped_when_it_goes_quiet() {
    let ctx = Context::new().unwrap();
    // No heartbeats of our own: only the peer's TTL is at work.
    let (_pull, endpoint) = bound_pull(&ctx, |_| {});
    let mut raw = raw_connect(&endpoint);
    raw.write_all(&[greeting(), ready_push()].concat()).unwrap();
    // TTL 1 decisecond, context "ab".
    raw.write_all(b"\x04\x09\x04PING\x00\x01ab").unwrap();
    let (got, _) = read_to_close(&mut raw);
    assert_eq!(count(&got, b"\x04\x07\x04PONGab"), 1, "answered: {got:?}");
}

#[test]
fn two_zmio_sockets_with_heartbeats_stay_connected_while_idle() {
    let ctx = Context::new().unwrap();
    let (mut pull, endpoint) = bound_pull(&ctx, |s| {
        s.set_heartbeat_ivl(Some(Duration::from_millis(10)))
            .unwrap();
        s.set_heartbeat_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        s.set_rcvtimeo(Some(PATIENCE)).unwrap();
    });
    let mut push = ctx.socket::<Push>().unwrap();
    push.set_heartbeat_ivl(Some(Duration::from_millis(10)))
        .unwrap();
    push.set_heartbeat_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    push.set_heartbeat_ttl(Duration::from_millis(100)).unwrap();
    // Never reconnects: a dropped connection would lose "after" for good.
    push.set_reconnect_ivl(None).unwrap();
    push.connect(&endpoint).unwrap();
    push.send("before").unwrap();
    assert_eq!(pull.recv().unwrap().frame(0).unwrap(), &b"before"[..]);
    // The idle time is what is under test (several timeouts' worth), not a
    // way to wait for something.
    thread::sleep(Duration::from_millis(400));
    push.send("after").unwrap();
    assert_eq!(pull.recv().unwrap().frame(0).unwrap(), &b"after"[..]);
}

#[test]
fn a_slow_consumer_is_not_taken_for_a_dead_peer() {
    let ctx = Context::new().unwrap();
    // A receive queue of 10: the reactor stops reading this connection
    // (PONGs included) until the application catches up.
    let (mut pull, endpoint) = bound_pull(&ctx, |s| {
        s.set_rcvhwm(10).unwrap();
        s.set_heartbeat_ivl(Some(Duration::from_millis(10)))
            .unwrap();
        s.set_heartbeat_timeout(Some(Duration::from_millis(30)))
            .unwrap();
        s.set_rcvtimeo(Some(PATIENCE)).unwrap();
    });
    let mut push = ctx.socket::<Push>().unwrap();
    // Never reconnects: a dropped connection would lose messages for good.
    push.set_reconnect_ivl(None).unwrap();
    push.connect(&endpoint).unwrap();
    for i in 0..500 {
        push.send(i.to_string()).unwrap();
    }
    assert_eq!(pull.recv().unwrap().frame(0).unwrap(), &b"0"[..]);
    // The consumer being slow is what is under test, not a way to wait.
    thread::sleep(Duration::from_millis(300));
    for i in 1..500 {
        let msg = pull.recv().unwrap();
        assert_eq!(msg.frame(0).unwrap(), i.to_string().as_bytes());
    }
}

#[test]
fn timing_options_refuse_bad_values_at_the_call() {
    let ctx = Context::new().unwrap();
    let mut s = ctx.socket::<Push>().unwrap();
    let bad = |r: zmio::Result<()>| matches!(r, Err(Error::InvalidOption { .. }));
    assert!(bad(s.set_heartbeat_ivl(Some(Duration::ZERO))));
    assert!(bad(s.set_heartbeat_timeout(Some(Duration::ZERO))));
    assert!(bad(s.set_handshake_ivl(Some(Duration::ZERO))));
    assert!(bad(s.set_heartbeat_ttl(Duration::from_secs(6554))));
    s.set_heartbeat_ttl(Duration::from_millis(6_553_500))
        .unwrap();
    s.set_heartbeat_ivl(None).unwrap();
    s.set_heartbeat_timeout(None).unwrap();
    s.set_handshake_ivl(None).unwrap();
}
