//! Faults of the peer process and of the listener: a libzmq peer (pyzmq,
//! tests/peers/peer.py) killed mid-stream (SIGKILL), frozen (SIGSTOP) and
//! continued, restarted on the same port; a zmio listener closed and bound
//! again. In each case the zmio side carries on (reconnects, or is
//! reconnected to) and nothing panics. Also heartbeats: a frozen peer is
//! dropped by ZMTP heartbeats and reconnected to.
//!
//! And where a dead peer's messages go: a PUSH moves what still waits in
//! its own queue for a killed peer to the live ones (libzmq drops them).
//!
//! These tests need python3 with pyzmq, like tests/interop.rs; they fail
//! when it is missing unless ZMIO_SKIP_INTEROP=1 asks to skip them.

mod common;
#[path = "common/pyzmq.rs"]
mod pyzmq;

use std::time::Duration;

use common::PATIENCE;
use pyzmq::{Peer, skip_pyzmq, wait_until};
use zmio::{Context, Error, MonitorEventKind, Msg, Pull, Push};

fn setup() -> bool {
    let _ = env_logger::builder().is_test(true).try_init();
    !skip_pyzmq()
}

/// The port of a `tcp://127.0.0.1:PORT` endpoint.
fn port(endpoint: &str) -> u16 {
    endpoint.rsplit(':').next().unwrap().parse().unwrap()
}

/// zmio sends `marker` and the peer receives everything up to it (what was
/// queued before, from an earlier connection, may come first).
#[track_caller]
fn marker_gets_through(push: &mut zmio::Socket<Push>, peer: &mut Peer, marker: &str) {
    push.send(marker).unwrap();
    let hex: String = marker.bytes().map(|b| format!("{b:02x}")).collect();
    peer.start(&format!(r#"{{"op":"recv_until","last":"hex:{hex}"}}"#));
    let answer = peer.line();
    if !answer.starts_with("msgs ") {
        peer.fail(&format!("recv_until {marker} answered {answer:?}"));
    }
}

#[test]
fn a_peer_killed_mid_stream_and_restarted_on_its_port_is_reconnected_to() {
    if !setup() {
        return;
    }
    let ctx = Context::new().unwrap();
    let mut push = common::socket::<Push>(&ctx);
    let (mut peer, endpoint) = Peer::bind("PULL", "tcp://127.0.0.1:*", &[]);
    push.connect(&endpoint).unwrap();
    for round in 0..3 {
        // Mid-stream: thousands of messages queued or on the wire, a few
        // received, then SIGKILL.
        for i in 0..5000 {
            push.send(format!("round {round} message {i}")).unwrap();
        }
        assert!(
            peer.recv_one(PATIENCE).is_some(),
            "round {round}: first message"
        );
        peer.kill_hard();
        let (restarted, again) = Peer::bind("PULL", &endpoint, &[]);
        assert_eq!(again, endpoint);
        peer = restarted;
        // Whatever was lost with the dead process, the socket reconnects
        // and new messages get through.
        marker_gets_through(&mut push, &mut peer, &format!("marker {round}"));
    }
    peer.exit();
}

#[test]
fn a_peer_frozen_with_sigstop_holds_up_only_its_own_socket() {
    if !setup() {
        return;
    }
    let ctx = Context::new().unwrap();
    // Small kernel buffers on both ends, so the HWM is reached after a
    // few thousand messages rather than megabytes.
    let (mut frozen, frozen_ep) =
        Peer::bind("PULL", "tcp://127.0.0.1:*", &["--sockopt", "RCVBUF=4096"]);
    let (mut live, live_ep) = Peer::bind("PULL", "tcp://127.0.0.1:*", &[]);
    let mut to_frozen = common::socket::<Push>(&ctx);
    let mut to_live = common::socket::<Push>(&ctx);
    to_frozen.set_sndbuf(Some(4096)).unwrap();
    to_frozen.connect(&frozen_ep).unwrap();
    to_live.connect(&live_ep).unwrap();
    // Both connected and flowing first.
    marker_gets_through(&mut to_frozen, &mut frozen, "warm-up");
    marker_gets_through(&mut to_live, &mut live, "warm-up");

    frozen.signal("STOP");
    // Fill everything towards the frozen peer: its kernel buffers, then the
    // pipe up to the HWM; a send then times out instead of blocking forever.
    to_frozen
        .set_sndtimeo(Some(Duration::from_millis(500)))
        .unwrap();
    let mut queued = 0;
    loop {
        match to_frozen.send(queued.to_string()) {
            Ok(()) => queued += 1,
            Err(Error::TimedOut) => break,
            Err(e) => panic!("send towards a frozen peer: {e}"),
        }
        assert!(queued < 1_000_000, "a frozen peer never pushed back");
    }
    // The same reactor still serves another socket at full speed.
    to_live.set_sndhwm(0).unwrap();
    live.start_recv_seq(10_000);
    for i in 0..10_000 {
        to_live.send(i.to_string()).unwrap();
    }
    live.expect_ok("the live peer's messages while the other is frozen");

    // Continued, the frozen peer gets every message that was queued for it.
    frozen.signal("CONT");
    frozen.start_recv_seq(queued);
    frozen.expect_ok("the frozen peer's messages after SIGCONT");
    frozen.exit();
    live.exit();
}

#[test]
fn a_frozen_then_killed_peer_restarted_on_its_port_is_reconnected_to() {
    if !setup() {
        return;
    }
    let ctx = Context::new().unwrap();
    let mut push = common::socket::<Push>(&ctx);
    let (mut peer, endpoint) = Peer::bind("PULL", "tcp://127.0.0.1:*", &[]);
    push.connect(&endpoint).unwrap();
    marker_gets_through(&mut push, &mut peer, "before");
    peer.signal("STOP");
    for i in 0..100 {
        push.send(format!("while frozen {i}")).unwrap();
    }
    peer.kill_hard();
    let (mut peer, _) = Peer::bind("PULL", &endpoint, &[]);
    marker_gets_through(&mut push, &mut peer, "after restart");
    peer.exit();
}

#[test]
fn a_zmio_listener_closed_and_bound_again_is_reconnected_to() {
    if !setup() {
        return;
    }
    let ctx = Context::new().unwrap();
    let mut pull = common::socket::<Pull>(&ctx);
    let endpoint = pull.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let mut peer = Peer::connect("PUSH", &endpoint, &[]);
    let receive_seq = |pull: &mut zmio::Socket<Pull>, count: usize| {
        for i in 0..count {
            let msg = pull.recv().unwrap();
            assert_eq!(&msg.frame(0).unwrap()[..], i.to_string().as_bytes());
        }
    };
    peer.send_seq(100);
    receive_seq(&mut pull, 100);

    // The listener goes (unbind closes it and the connections it accepted)
    // and comes back on the same port: libzmq reconnects.
    pull.unbind(&endpoint).unwrap();
    assert_eq!(pull.bind(&endpoint).unwrap().to_string(), endpoint);
    peer.send_seq(100);
    receive_seq(&mut pull, 100);

    // The whole socket goes, and a new one binds the same port.
    drop(pull);
    let mut pull = common::socket::<Pull>(&ctx);
    assert_eq!(pull.bind(&endpoint).unwrap().to_string(), endpoint);
    peer.send_seq(100);
    // Messages the dead socket had not read are gone with it; libzmq may
    // have queued some for the old connection, so look for the new run's
    // tail: "99" arrives last.
    let mut last = Vec::new();
    while last != b"99" {
        last = pull.recv().unwrap().frame(0).unwrap().to_vec();
    }
    peer.exit();
}

// ---------------------------------------------------------------------------
// Heartbeats (issue "Heartbeats", item 9)

/// The local ports of this machine's established TCP connections to
/// 127.0.0.1:`remote_port` (from /proc/net/tcp: zmio's side of them, since
/// the peer's side has the port as its local one).
fn connections_to(remote_port: u16) -> Vec<u16> {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("read /proc/net/tcp");
    let remote = format!("0100007F:{remote_port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, rem, state) = (fields.get(1)?, fields.get(2)?, fields.get(3)?);
            // 01 = ESTABLISHED.
            (*rem == remote && *state == "01")
                .then(|| u16::from_str_radix(local.rsplit(':').next()?, 16).ok())
                .flatten()
        })
        .collect()
}

#[test]
fn heartbeats_drop_a_frozen_peer_and_reconnect_after_sigcont() {
    if !setup() {
        return;
    }
    let ctx = Context::new().unwrap();
    let mut push = common::socket::<Push>(&ctx);
    push.set_heartbeat_ivl(Some(Duration::from_millis(100)))
        .unwrap();
    push.set_heartbeat_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let (mut peer, endpoint) = Peer::bind("PULL", "tcp://127.0.0.1:*", &[]);
    let peer_port = port(&endpoint);
    push.connect(&endpoint).unwrap();
    marker_gets_through(&mut push, &mut peer, "before");
    let first = connections_to(peer_port);
    assert_eq!(first.len(), 1, "one connection to the peer: {first:?}");

    // Frozen, the peer's kernel still acknowledges TCP, but no PONG (nor
    // anything else) comes back: zmio drops the connection and, as the
    // connecting side, opens a new one (which the frozen peer's kernel
    // accepts into its backlog).
    peer.signal("STOP");
    wait_until(
        PATIENCE,
        "zmio dropped the frozen peer and connected again",
        || {
            let now = connections_to(peer_port);
            !now.contains(&first[0]) && !now.is_empty()
        },
    );

    // Continued, the peer completes the new handshake and receives again.
    peer.signal("CONT");
    marker_gets_through(&mut push, &mut peer, "after SIGCONT");
    // And the connection is kept while the peer answers the PINGs.
    let second = connections_to(peer_port);
    assert_eq!(second.len(), 1, "{second:?}");
    marker_gets_through(&mut push, &mut peer, "still there");
    peer.exit();
}

#[test]
fn a_killed_peers_queued_messages_go_to_the_live_peer() {
    if !setup() {
        return;
    }
    // Big messages and small kernel buffers, so that most of what the
    // killed peer was given still waits in zmio's queue when it dies: at
    // most a few are in the connection's write batch or the kernel.
    const N: usize = 60;
    const SIZE: usize = 256 * 1024;
    let ctx = Context::new().unwrap();
    let mut push = common::socket::<Push>(&ctx);
    push.set_sndhwm(20).unwrap();
    push.set_sndbuf(Some(64 * 1024)).unwrap();
    let monitor = push.monitor().unwrap();
    let endpoint = push.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let doomed = Peer::connect(
        "PULL",
        &endpoint,
        &["--sockopt", "RCVHWM=1", "--sockopt", "RCVBUF=65536"],
    );
    let mut live = Peer::connect("PULL", &endpoint, &[]);
    let mut handshakes = 0;
    while handshakes < 2 {
        let event = monitor.recv_timeout(PATIENCE).expect("handshakes");
        if event.kind == MonitorEventKind::HandshakeSucceeded {
            handshakes += 1;
        }
    }
    // Frozen, so its share piles up in zmio's queue; then killed.
    doomed.signal("STOP");
    live.start(r#"{"op":"recv_until","last":"hex:6c617374"}"#);
    let body = bytes::Bytes::from(pyzmq_pattern(SIZE));
    for n in 0..N {
        push.send(Msg::from_frames([
            body.clone(),
            bytes::Bytes::from(vec![n as u8]),
        ]))
        .unwrap();
    }
    doomed.kill_hard();
    loop {
        let event = monitor.recv_timeout(PATIENCE).expect("the disconnect");
        if matches!(event.kind, MonitorEventKind::Disconnected { .. }) {
            break;
        }
    }
    // This send sees the loss first: the dead peer's queue has moved to
    // the live one, ahead of "last".
    push.send("last").unwrap();
    let answer = live.line();
    let Some(list) = answer.strip_prefix("msgs ") else {
        live.fail(&format!("recv_until answered {answer:?}"));
    };
    let marker = format!("\"pattern:{SIZE}\", \"hex:");
    let mut numbered: Vec<u8> = list
        .split(marker.as_str())
        .skip(1)
        .map(|rest| u8::from_str_radix(&rest[..2], 16).unwrap())
        .collect();
    let received = numbered.len();
    numbered.sort_unstable();
    numbered.dedup();
    assert_eq!(numbered.len(), received, "no duplicates");
    // Half went to the killed peer; without re-routing the live one would
    // have about N/2.
    assert!(
        received >= N - 12,
        "the live peer got {received} of {N}: {numbered:?} in {}",
        &list[..list.len().min(300)]
    );
    live.exit();
}

/// The bytes peer.py's `pattern:<len>` frames carry (i % 251).
fn pyzmq_pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}
