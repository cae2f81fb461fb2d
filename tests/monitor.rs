//! Socket monitors over tcp and ipc: listening and closing, connecting
//! before the peer binds (delayed, retried, connected, handshake), peers
//! coming and going, handshakes that fail for garbage or an incompatible
//! socket type; each event names the right endpoint.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{PATIENCE, socket};
use zmio::{
    Context, DisconnectReason, Monitor, MonitorEvent, MonitorEventKind, ProtocolError, Pull, Push,
};

/// The transports monitors report on (inproc connections have no events yet).
const TRANSPORTS: [&str; 2] = ["tcp://127.0.0.1:*", "ipc://*"];

/// Reads events until one satisfies `want` (others are skipped but shown
/// if none does); fails after [`PATIENCE`].
fn expect(monitor: &Monitor, what: &str, want: impl Fn(&MonitorEvent) -> bool) -> MonitorEvent {
    let deadline = Instant::now() + PATIENCE;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match monitor.recv_timeout(left) {
            Ok(event) if want(&event) => return event,
            Ok(event) => seen.push(event),
            Err(e) => panic!("no {what} event ({e}); saw {seen:#?}"),
        }
    }
}

fn kind_is(kind: MonitorEventKind) -> impl Fn(&MonitorEvent) -> bool {
    move |e| e.kind == kind
}

/// An endpoint nothing listens on yet: a tcp port just freed, or a fresh ipc path.
fn unused_endpoint(transport: &str, tag: &str) -> String {
    if transport.starts_with("tcp") {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("tcp://{}", listener.local_addr().unwrap())
    } else {
        let path = std::env::temp_dir().join(format!("zmio-monitor-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        format!("ipc://{}", path.display())
    }
}

#[test]
fn a_bind_reports_listening_and_its_unbind_closed() {
    let ctx = Context::new().unwrap();
    for transport in TRANSPORTS {
        let mut pull = socket::<Pull>(&ctx);
        let monitor = pull.monitor().unwrap();
        let bound = pull.bind(transport).unwrap().to_string();
        let e = expect(&monitor, "Listening", kind_is(MonitorEventKind::Listening));
        assert_eq!(e.endpoint, bound);
        pull.unbind(&bound).unwrap();
        let e = expect(&monitor, "Closed", kind_is(MonitorEventKind::Closed));
        assert_eq!(e.endpoint, bound);
    }
}

#[test]
fn a_failed_bind_is_reported() {
    let ctx = Context::new().unwrap();
    let mut first = socket::<Pull>(&ctx);
    let bound = first.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let mut second = socket::<Pull>(&ctx);
    let monitor = second.monitor().unwrap();
    assert!(second.bind(&bound).is_err());
    let e = expect(&monitor, "BindFailed", |e| {
        matches!(e.kind, MonitorEventKind::BindFailed { .. })
    });
    assert_eq!(e.endpoint, bound);
}

#[test]
fn closing_the_socket_closes_its_listeners_then_stops_the_monitor() {
    let ctx = Context::new().unwrap();
    let mut pull = socket::<Pull>(&ctx);
    let monitor = pull.monitor().unwrap();
    let tcp = pull.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let ipc = pull.bind("ipc://*").unwrap().to_string();
    drop(pull);
    let rest: Vec<MonitorEvent> = monitor.collect();
    let closed: Vec<&str> = rest
        .iter()
        .filter(|e| e.kind == MonitorEventKind::Closed)
        .map(|e| e.endpoint.as_str())
        .collect();
    assert_eq!(closed, [tcp.as_str(), ipc.as_str()], "{rest:#?}");
    assert_eq!(
        rest.last().map(|e| &e.kind),
        Some(&MonitorEventKind::MonitorStopped)
    );
}

#[test]
fn a_connect_before_the_bind_is_retried_then_connects_and_handshakes() {
    let ctx = Context::new().unwrap();
    for transport in TRANSPORTS {
        let endpoint = unused_endpoint(transport, "early");
        let mut push = socket::<Push>(&ctx);
        push.set_reconnect_ivl(Some(Duration::from_millis(20)))
            .unwrap();
        let monitor = push.monitor().unwrap();
        push.connect(&endpoint).unwrap();
        let e = expect(
            &monitor,
            "ConnectRetried",
            |e| matches!(e.kind, MonitorEventKind::ConnectRetried { interval } if interval == Duration::from_millis(20)),
        );
        assert_eq!(e.endpoint, endpoint);

        let mut pull = socket::<Pull>(&ctx);
        pull.bind(&endpoint).unwrap();
        let connected = expect(&monitor, "Connected", kind_is(MonitorEventKind::Connected));
        assert_eq!(connected.endpoint, endpoint);
        let shook = expect(
            &monitor,
            "HandshakeSucceeded",
            kind_is(MonitorEventKind::HandshakeSucceeded),
        );
        assert_eq!(shook.endpoint, endpoint);
        assert_eq!(shook.peer, None);
        push.send("hello").unwrap();
        assert_eq!(pull.recv().unwrap().frame(0).unwrap(), &b"hello"[..]);

        // The peer goes: disconnected, and retried.
        drop(pull);
        let e = expect(&monitor, "Disconnected", |e| {
            matches!(e.kind, MonitorEventKind::Disconnected { .. })
        });
        assert_eq!(e.endpoint, endpoint);
        expect(&monitor, "ConnectRetried", |e| {
            matches!(e.kind, MonitorEventKind::ConnectRetried { .. })
        });
    }
}

#[test]
fn a_tcp_connect_in_progress_is_reported_delayed() {
    let ctx = Context::new().unwrap();
    let mut pull = socket::<Pull>(&ctx);
    let endpoint = pull.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let mut push = socket::<Push>(&ctx);
    let monitor = push.monitor().unwrap();
    push.connect(&endpoint).unwrap();
    let kinds: Vec<MonitorEventKind> = std::iter::from_fn(|| monitor.recv_timeout(PATIENCE).ok())
        .map(|e| e.kind)
        .take_while(|k| *k != MonitorEventKind::HandshakeSucceeded)
        .collect();
    assert_eq!(
        kinds,
        [
            MonitorEventKind::ConnectDelayed,
            MonitorEventKind::Connected
        ]
    );
}

#[test]
fn the_binder_sees_peers_accepted_and_gone_under_its_bound_endpoint() {
    let ctx = Context::new().unwrap();
    for transport in TRANSPORTS {
        let mut pull = socket::<Pull>(&ctx);
        let monitor = pull.monitor().unwrap();
        let bound = pull.bind(transport).unwrap().to_string();
        let mut push = socket::<Push>(&ctx);
        push.connect(&bound).unwrap();
        let accepted = expect(&monitor, "Accepted", kind_is(MonitorEventKind::Accepted));
        assert_eq!(accepted.endpoint, bound);
        assert_eq!(accepted.peer.is_some(), transport.starts_with("tcp"));
        let shook = expect(
            &monitor,
            "HandshakeSucceeded",
            kind_is(MonitorEventKind::HandshakeSucceeded),
        );
        assert_eq!((&shook.endpoint, &shook.peer), (&bound, &accepted.peer));
        push.send("x").unwrap();
        pull.recv().unwrap();
        drop(push);
        let gone = expect(&monitor, "Disconnected", |e| {
            matches!(e.kind, MonitorEventKind::Disconnected { .. })
        });
        assert_eq!((&gone.endpoint, &gone.peer), (&bound, &accepted.peer));
        assert_eq!(
            gone.kind,
            MonitorEventKind::Disconnected {
                reason: DisconnectReason::PeerClosed
            }
        );
    }
}

#[test]
fn a_peer_sending_garbage_fails_its_handshake_with_a_protocol_reason() {
    let ctx = Context::new().unwrap();
    for transport in TRANSPORTS {
        let mut pull = socket::<Pull>(&ctx);
        let monitor = pull.monitor().unwrap();
        let bound = pull.bind(transport).unwrap().to_string();
        let garbage = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        // Kept open until the events are in, so the end is zmio's doing.
        let _raw: Box<dyn std::any::Any> = match bound.strip_prefix("tcp://") {
            Some(addr) => {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                s.write_all(garbage).unwrap();
                Box::new(s)
            }
            None => {
                let path = bound.strip_prefix("ipc://").unwrap();
                let mut s = std::os::unix::net::UnixStream::connect(path).unwrap();
                s.write_all(garbage).unwrap();
                Box::new(s)
            }
        };
        let failed = expect(&monitor, "HandshakeFailed", |e| {
            matches!(e.kind, MonitorEventKind::HandshakeFailed { .. })
        });
        assert_eq!(failed.endpoint, bound);
        assert_eq!(
            failed.kind,
            MonitorEventKind::HandshakeFailed {
                reason: DisconnectReason::Protocol(ProtocolError::BadSignature)
            }
        );
        let gone = expect(&monitor, "Disconnected", |e| {
            matches!(e.kind, MonitorEventKind::Disconnected { .. })
        });
        assert_eq!(gone.endpoint, bound);
    }
}

#[test]
fn an_incompatible_socket_type_fails_the_handshake_on_both_sides() {
    let ctx = Context::new().unwrap();
    for transport in TRANSPORTS {
        let mut binder = socket::<Pull>(&ctx);
        let bind_monitor = binder.monitor().unwrap();
        let bound = binder.bind(transport).unwrap().to_string();
        let mut connecter = socket::<Pull>(&ctx);
        let connect_monitor = connecter.monitor().unwrap();
        connecter.connect(&bound).unwrap();
        for (monitor, side) in [(&bind_monitor, "binder"), (&connect_monitor, "connecter")] {
            let failed = expect(monitor, side, |e| {
                matches!(e.kind, MonitorEventKind::HandshakeFailed { .. })
            });
            assert_eq!(failed.endpoint, bound, "{side}");
            assert!(
                matches!(
                    failed.kind,
                    MonitorEventKind::HandshakeFailed {
                        reason: DisconnectReason::Protocol(
                            ProtocolError::IncompatibleSocketType { .. }
                                | ProtocolError::PeerError(_)
                        )
                    }
                ),
                "{side}: {failed:?}"
            );
        }
    }
}

#[test]
fn a_second_monitor_stops_the_first() {
    let ctx = Context::new().unwrap();
    let mut pull = socket::<Pull>(&ctx);
    let first = pull.monitor().unwrap();
    let second = pull.monitor().unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    assert_eq!(
        first.recv_timeout(PATIENCE).unwrap().kind,
        MonitorEventKind::MonitorStopped
    );
    assert!(first.recv_timeout(PATIENCE).is_err());
    expect(&second, "Listening", kind_is(MonitorEventKind::Listening));
}

#[test]
fn a_silent_peer_fails_its_handshake_by_timeout() {
    let ctx = Context::new().unwrap();
    let mut pull = socket::<Pull>(&ctx);
    pull.set_handshake_ivl(Some(Duration::from_millis(50)))
        .unwrap();
    let monitor = pull.monitor().unwrap();
    let bound = pull.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let silent = std::net::TcpStream::connect(bound.strip_prefix("tcp://").unwrap()).unwrap();
    let failed = expect(&monitor, "HandshakeFailed", |e| {
        matches!(e.kind, MonitorEventKind::HandshakeFailed { .. })
    });
    assert_eq!(
        failed.kind,
        MonitorEventKind::HandshakeFailed {
            reason: DisconnectReason::TimedOut(zmio::Timeout::Handshake)
        }
    );
    assert_eq!(failed.peer, Some(silent.local_addr().unwrap().to_string()));
}
