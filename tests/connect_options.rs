//! ZMQ_CONNECT_TIMEOUT and ZMQ_RECONNECT_STOP over tcp, observed through
//! the socket monitor.

mod common;

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{PATIENCE, socket};
use zmio::{Context, Error, Monitor, MonitorEvent, MonitorEventKind, Pull, Push, ReconnectStop};

/// Reads events until one satisfies `want`; fails after [`PATIENCE`] or
/// if an event `forbidden` comes first.
fn expect(
    monitor: &Monitor,
    what: &str,
    want: impl Fn(&MonitorEventKind) -> bool,
    forbidden: impl Fn(&MonitorEventKind) -> bool,
) -> Vec<MonitorEvent> {
    let deadline = Instant::now() + PATIENCE;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match monitor.recv_timeout(left) {
            Ok(event) => {
                assert!(
                    !forbidden(&event.kind),
                    "before {what}: {seen:#?} {event:#?}"
                );
                let done = want(&event.kind);
                seen.push(event);
                if done {
                    return seen;
                }
            }
            Err(e) => panic!("no {what} event ({e}); saw {seen:#?}"),
        }
    }
}

fn never(_: &MonitorEventKind) -> bool {
    false
}

fn is_retried(k: &MonitorEventKind) -> bool {
    matches!(k, MonitorEventKind::ConnectRetried { .. })
}

/// A tcp port nothing listens on (just freed).
fn refused_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("tcp://{}", listener.local_addr().unwrap())
}

/// A listener with backlog 0 that never accepts, its accept queue filled:
/// Linux drops the SYNs of further connects, which stay in progress. The
/// filler connections are returned to keep them open. A filler whose
/// connect times out shows the queue is full.
fn listener_that_drops_syns() -> (socket2::Socket, Vec<TcpStream>, SocketAddr) {
    use socket2::{Domain, Socket, Type};
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    listener.bind(&any.into()).unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..16 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(s) => fillers.push(s),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return (listener, fillers, addr),
            Err(e) => panic!("filler connect: {e}"),
        }
    }
    panic!("the accept queue never filled");
}

#[test]
fn a_connect_that_hangs_is_abandoned_after_the_connect_timeout_and_retried() {
    let (_listener, _fillers, addr) = listener_that_drops_syns();
    let ctx = Context::new().unwrap();
    let mut push = socket::<Push>(&ctx);
    push.set_connect_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    push.set_reconnect_ivl(Some(Duration::from_millis(50)))
        .unwrap();
    let monitor = push.monitor().unwrap();
    let endpoint = format!("tcp://{addr}");
    push.connect(&endpoint).unwrap();
    // In progress, then abandoned (the OS would keep trying for minutes,
    // the handshake limit is 30 s): retried twice, never connected.
    let seen = expect(&monitor, "ConnectRetried", is_retried, |k| {
        *k == MonitorEventKind::Connected
    });
    assert_eq!(seen[0].kind, MonitorEventKind::ConnectDelayed, "{seen:#?}");
    expect(&monitor, "a second ConnectRetried", is_retried, |k| {
        *k == MonitorEventKind::Connected
    });
}

#[test]
fn connect_timeout_refuses_zero() {
    let ctx = Context::new().unwrap();
    let mut push = socket::<Push>(&ctx);
    assert!(matches!(
        push.set_connect_timeout(Some(Duration::ZERO)),
        Err(Error::InvalidOption { .. })
    ));
    push.set_connect_timeout(None).unwrap();
}

#[test]
fn reconnect_stop_conn_refused_drops_the_connect_at_the_first_refusal() {
    let ctx = Context::new().unwrap();
    let mut push = socket::<Push>(&ctx);
    push.set_reconnect_stop(ReconnectStop::CONN_REFUSED)
        .unwrap();
    let monitor = push.monitor().unwrap();
    let endpoint = refused_endpoint();
    push.connect(&endpoint).unwrap();
    let seen = expect(
        &monitor,
        "ReconnectStopped",
        |k| *k == MonitorEventKind::ReconnectStopped,
        is_retried,
    );
    assert_eq!(seen.last().unwrap().endpoint, endpoint);
    // Its pipe is gone: nothing left to queue a message for.
    assert!(matches!(push.try_send("lost"), Err(Error::WouldBlock)));
}

#[test]
fn reconnect_stop_handshake_failed_stops_after_a_failed_handshake_only() {
    let ctx = Context::new().unwrap();
    let mut wrong = socket::<Push>(&ctx);
    let endpoint = wrong.bind("tcp://127.0.0.1:*").unwrap().to_string();
    // Refusals alone do not stop it: it retries after the failed handshake.
    let mut push = socket::<Push>(&ctx);
    push.set_reconnect_stop(ReconnectStop::CONN_REFUSED)
        .unwrap();
    let monitor = push.monitor().unwrap();
    push.connect(&endpoint).unwrap();
    expect(&monitor, "ConnectRetried", is_retried, |k| {
        *k == MonitorEventKind::ReconnectStopped
    });

    let mut push = socket::<Push>(&ctx);
    push.set_reconnect_stop(ReconnectStop::HANDSHAKE_FAILED | ReconnectStop::CONN_REFUSED)
        .unwrap();
    let monitor = push.monitor().unwrap();
    push.connect(&endpoint).unwrap();
    let seen = expect(
        &monitor,
        "ReconnectStopped",
        |k| *k == MonitorEventKind::ReconnectStopped,
        is_retried,
    );
    assert!(
        seen.iter()
            .any(|e| matches!(e.kind, MonitorEventKind::HandshakeFailed { .. })),
        "{seen:#?}"
    );
    assert!(matches!(push.try_send("lost"), Err(Error::WouldBlock)));
}

#[test]
fn reconnect_stop_after_disconnect_stops_once_an_established_connection_ends() {
    let ctx = Context::new().unwrap();
    let mut pull = socket::<Pull>(&ctx);
    let endpoint = pull.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let mut push = socket::<Push>(&ctx);
    push.set_reconnect_stop(ReconnectStop::AFTER_DISCONNECT)
        .unwrap();
    let monitor = push.monitor().unwrap();
    push.connect(&endpoint).unwrap();
    expect(
        &monitor,
        "HandshakeSucceeded",
        |k| *k == MonitorEventKind::HandshakeSucceeded,
        never,
    );
    push.send("one").unwrap();
    assert_eq!(pull.recv().unwrap().frame(0).unwrap(), &b"one"[..]);
    drop(pull);
    let seen = expect(
        &monitor,
        "ReconnectStopped",
        |k| *k == MonitorEventKind::ReconnectStopped,
        is_retried,
    );
    assert!(
        seen.iter()
            .any(|e| matches!(e.kind, MonitorEventKind::Disconnected { .. })),
        "{seen:#?}"
    );
    assert!(matches!(push.try_send("lost"), Err(Error::WouldBlock)));
}

#[test]
fn a_push_moves_what_it_queued_for_a_stopped_connect_to_its_live_peer() {
    let ctx = Context::new().unwrap();
    let mut pull = socket::<Pull>(&ctx);
    let live = pull.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let mut push = socket::<Push>(&ctx);
    push.set_reconnect_stop(ReconnectStop::CONN_REFUSED)
        .unwrap();
    let monitor = push.monitor().unwrap();
    let dead = refused_endpoint();
    push.connect(&dead).unwrap();
    push.connect(&live).unwrap();
    // Round robin puts some of these in the dead endpoint's queue (unless
    // it is already stopped).
    for i in 0..10 {
        push.send(format!("m{i}").as_str()).unwrap();
    }
    expect(
        &monitor,
        "ReconnectStopped",
        |k| *k == MonitorEventKind::ReconnectStopped,
        never,
    );
    // The socket moves them when it next looks at its events: at this send.
    push.send("m10").unwrap();
    let mut got: Vec<String> = (0..11)
        .map(|_| String::from_utf8(pull.recv().unwrap().frame(0).unwrap().to_vec()).unwrap())
        .collect();
    got.sort();
    let mut want: Vec<String> = (0..11).map(|i| format!("m{i}")).collect();
    want.sort();
    assert_eq!(got, want);
}
