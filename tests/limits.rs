//! Limits against hostile peers over tcp: a message over the maximum
//! message size or frames per message is discarded as it streams and its
//! connection goes on; a raw peer that sends nothing but such messages, or
//! breaks the metadata size, gets a ZMTP ERROR naming the limit and is
//! disconnected, and one accepted beyond the pending-handshake limit is
//! closed at once; the monitor says which limit; a well-behaved zmio peer
//! on the same socket keeps every message flowing.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use common::{PATIENCE, socket};
use zmio::{
    Context, DisconnectReason, Limit, Monitor, MonitorEvent, MonitorEventKind, ProtocolError, Pull,
    Push, Socket,
};

/// A ZMTP 3.1 NULL greeting.
fn greeting() -> Vec<u8> {
    let mut g = vec![0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 1];
    g.extend_from_slice(b"NULL");
    g.resize(64, 0);
    g
}

/// READY with `Socket-Type: PUSH`.
fn ready_push() -> Vec<u8> {
    b"\x04\x1a\x05READY\x0bSocket-Type\x00\x00\x00\x04PUSH".to_vec()
}

/// A long frame header with `flags` claiming `size` bytes.
fn long_header(flags: u8, size: u64) -> Vec<u8> {
    let mut h = vec![flags | 0x02];
    h.extend_from_slice(&size.to_be_bytes());
    h
}

fn raw_connect(endpoint: &str) -> TcpStream {
    let stream = TcpStream::connect(endpoint.strip_prefix("tcp://").unwrap()).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// Everything read until zmio closes the connection; fails if it stays open.
fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return all,
            Err(e) => panic!("zmio kept the connection open: {e}"),
        }
    }
}

/// Reads events until one satisfies `want`; fails after [`PATIENCE`].
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

/// The ERROR command zmio sends with `reason`.
fn error_command(reason: &[u8]) -> Vec<u8> {
    let mut c = vec![0x04, (7 + reason.len()) as u8, 5];
    c.extend_from_slice(b"ERROR");
    c.push(reason.len() as u8);
    c.extend_from_slice(reason);
    c
}

/// A PULL set up by `setup` and monitored, bound on tcp, with a zmio PUSH
/// connected and handshaken.
fn pull_with_good_peer(
    ctx: &Context,
    setup: impl FnOnce(&mut Socket<Pull>),
) -> (Socket<Pull>, Monitor, String, Socket<Push>) {
    let mut pull = socket::<Pull>(ctx);
    setup(&mut pull);
    let monitor = pull.monitor().unwrap();
    let endpoint = pull.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let mut push = socket::<Push>(ctx);
    push.connect(&endpoint).unwrap();
    expect(&monitor, "the good peer's handshake", |e| {
        e.kind == MonitorEventKind::HandshakeSucceeded
    });
    (pull, monitor, endpoint, push)
}

/// Sends `tag-0..n` from the good peer.
fn send_batch(push: &mut Socket<Push>, tag: &str, n: usize) {
    for i in 0..n {
        push.send(format!("{tag}-{i}").as_str()).unwrap();
    }
}

/// Receives `tag-0..n` in order.
fn recv_batch(pull: &mut Socket<Pull>, tag: &str, n: usize) {
    for i in 0..n {
        let msg = pull.recv().unwrap();
        assert_eq!(msg.frame(0).unwrap(), format!("{tag}-{i}").as_bytes());
    }
}

/// A raw peer sends `attack` and must get zmio's ERROR with `reason`, then
/// the end of the connection; the monitor names `limit` and the peer; the
/// good peer's messages before and after all arrive.
fn hostile_peer_is_cut_off(
    setup: impl FnOnce(&mut Socket<Pull>),
    attack: &[u8],
    reason: &[u8],
    limit: Limit,
    error: impl Fn(&ProtocolError) -> bool,
) {
    let ctx = Context::new().unwrap();
    let (mut pull, monitor, endpoint, mut push) = pull_with_good_peer(&ctx, setup);
    send_batch(&mut push, "before", 50);
    let mut raw = raw_connect(&endpoint);
    let me = raw.local_addr().unwrap().to_string();
    raw.write_all(attack).unwrap();
    let got = read_to_close(&mut raw);
    assert!(got.starts_with(&[0xff]), "zmio's greeting first: {got:?}");
    assert!(
        got.ends_with(&error_command(reason)),
        "ERROR {:?} last: {got:?}",
        String::from_utf8_lossy(reason)
    );
    let exceeded = expect(&monitor, "LimitExceeded", |e| {
        matches!(e.kind, MonitorEventKind::LimitExceeded { .. })
    });
    assert_eq!(exceeded.kind, MonitorEventKind::LimitExceeded { limit });
    assert_eq!(
        (exceeded.endpoint.as_str(), exceeded.peer.as_deref()),
        (endpoint.as_str(), Some(me.as_str()))
    );
    let gone = expect(&monitor, "Disconnected", |e| {
        matches!(e.kind, MonitorEventKind::Disconnected { .. }) && e.peer.as_deref() == Some(&me)
    });
    assert!(
        matches!(&gone.kind, MonitorEventKind::Disconnected { reason: DisconnectReason::Protocol(e) } if error(e)),
        "{gone:?}"
    );
    send_batch(&mut push, "after", 50);
    recv_batch(&mut pull, "before", 50);
    recv_batch(&mut pull, "after", 50);
}

/// A raw PUSH peer sends `raw-1`, the `oversized` message and `raw-2`: the
/// oversized one is discarded as it streams, the monitor names `limit`,
/// and the same connection goes on delivering (`raw-1`, `raw-2`, `raw-3`),
/// as does the good peer.
fn oversized_message_costs_only_itself(
    setup: impl FnOnce(&mut Socket<Pull>),
    oversized: &[u8],
    limit: Limit,
) {
    let ctx = Context::new().unwrap();
    let (mut pull, monitor, endpoint, mut push) = pull_with_good_peer(&ctx, setup);
    send_batch(&mut push, "before", 50);
    recv_batch(&mut pull, "before", 50);
    let mut raw = raw_connect(&endpoint);
    let me = raw.local_addr().unwrap().to_string();
    let stream = [
        greeting(),
        ready_push(),
        b"\x00\x05raw-1".to_vec(),
        oversized.to_vec(),
        b"\x00\x05raw-2".to_vec(),
    ]
    .concat();
    raw.write_all(&stream).unwrap();
    for want in ["raw-1", "raw-2"] {
        assert_eq!(pull.recv().unwrap().frame(0).unwrap(), want.as_bytes());
    }
    let exceeded = expect(&monitor, "LimitExceeded", |e| {
        matches!(e.kind, MonitorEventKind::LimitExceeded { .. })
    });
    assert_eq!(exceeded.kind, MonitorEventKind::LimitExceeded { limit });
    assert_eq!(exceeded.peer.as_deref(), Some(me.as_str()));
    // The same connection still delivers.
    raw.write_all(b"\x00\x05raw-3").unwrap();
    assert_eq!(pull.recv().unwrap().frame(0).unwrap(), &b"raw-3"[..]);
    send_batch(&mut push, "after", 50);
    recv_batch(&mut pull, "after", 50);
}

#[test]
fn a_message_over_the_size_limit_is_discarded_and_its_peer_goes_on() {
    // Two frames; the second takes the message over the limit.
    let mut oversized = b"\x01\x05first".to_vec();
    oversized.extend(long_header(0, 2000));
    oversized.extend(vec![7u8; 2000]);
    oversized_message_costs_only_itself(
        |s| s.set_max_msg_size(Some(1000)).unwrap(),
        &oversized,
        Limit::MaxMsgSize,
    );
}

#[test]
fn a_message_with_too_many_frames_is_discarded_and_its_peer_goes_on() {
    let oversized = [b"\x01\x00".repeat(5), b"\x00\x00".to_vec()].concat();
    oversized_message_costs_only_itself(
        |s| s.set_max_frames_per_msg(4).unwrap(),
        &oversized,
        Limit::MaxFramesPerMsg,
    );
}

/// How many oversized messages in a row zmio takes before it disconnects.
const DISCARDS_IN_A_ROW: usize = 16;

#[test]
fn a_peer_that_sends_only_oversized_messages_gets_error_and_only_it_goes() {
    let oversized = [long_header(0, 2000), vec![7u8; 2000]].concat();
    let attack = [
        greeting(),
        ready_push(),
        oversized.repeat(DISCARDS_IN_A_ROW + 1),
    ]
    .concat();
    hostile_peer_is_cut_off(
        |s| s.set_max_msg_size(Some(1000)).unwrap(),
        &attack,
        b"Message too large",
        Limit::MaxMsgSize,
        |e| matches!(e, ProtocolError::MessageTooLarge { .. }),
    );
}

#[test]
fn a_peer_that_keeps_sending_too_many_frames_gets_error_and_only_it_goes() {
    let oversized = [b"\x01\x00".repeat(5), b"\x00\x00".to_vec()].concat();
    let attack = [
        greeting(),
        ready_push(),
        oversized.repeat(DISCARDS_IN_A_ROW + 1),
    ]
    .concat();
    hostile_peer_is_cut_off(
        |s| s.set_max_frames_per_msg(4).unwrap(),
        &attack,
        b"Too many frames",
        Limit::MaxFramesPerMsg,
        |e| *e == ProtocolError::TooManyFrames { max: 4 },
    );
}

#[test]
fn oversized_metadata_gets_error_and_only_that_peer_goes() {
    // A READY command claiming 2000 bytes; only its header is sent.
    let attack = [greeting(), long_header(0x04, 2000)].concat();
    hostile_peer_is_cut_off(
        |s| s.set_max_metadata_size(512).unwrap(),
        &attack,
        b"Metadata too large",
        Limit::MaxMetadataSize,
        |e| matches!(e, ProtocolError::MetadataTooLarge { max: 512, .. }),
    );
}

#[test]
fn the_default_metadata_limit_refuses_a_megabyte_ready() {
    let attack = [greeting(), long_header(0x04, 1 << 20)].concat();
    hostile_peer_is_cut_off(
        |_| {},
        &attack,
        b"Metadata too large",
        Limit::MaxMetadataSize,
        |e| matches!(e, ProtocolError::MetadataTooLarge { max: 8192, .. }),
    );
}

#[test]
fn connections_beyond_the_pending_handshake_limit_are_closed_at_once() {
    let ctx = Context::new().unwrap();
    let (mut pull, monitor, endpoint, mut push) =
        pull_with_good_peer(&ctx, |s| s.set_max_pending_handshakes(2).unwrap());
    send_batch(&mut push, "before", 20);
    // Two silent peers take the two slots: each gets zmio's greeting.
    let mut silent: Vec<TcpStream> = (0..2).map(|_| raw_connect(&endpoint)).collect();
    for s in &mut silent {
        let mut g = [0u8; 64];
        s.read_exact(&mut g).unwrap();
        assert_eq!(g[0], 0xff);
    }
    // A third is closed without a word.
    let mut third = raw_connect(&endpoint);
    let me = third.local_addr().unwrap().to_string();
    assert_eq!(read_to_close(&mut third), b"");
    let refused = expect(&monitor, "LimitExceeded", |e| {
        matches!(e.kind, MonitorEventKind::LimitExceeded { .. })
    });
    assert_eq!(
        refused.kind,
        MonitorEventKind::LimitExceeded {
            limit: Limit::PendingHandshakes
        }
    );
    assert_eq!(refused.peer.as_deref(), Some(me.as_str()));
    // One silent peer leaves: its slot is free again.
    let left = silent.pop().unwrap();
    let left_addr = left.local_addr().unwrap().to_string();
    drop(left);
    expect(&monitor, "the silent peer's Disconnected", |e| {
        matches!(e.kind, MonitorEventKind::Disconnected { .. })
            && e.peer.as_deref() == Some(&left_addr)
    });
    let mut fourth = raw_connect(&endpoint);
    let mut g = [0u8; 64];
    fourth.read_exact(&mut g).unwrap();
    // A peer that completes its handshake frees its slot too.
    fourth
        .write_all(&[greeting(), ready_push()].concat())
        .unwrap();
    expect(&monitor, "the fourth peer's handshake", |e| {
        e.kind == MonitorEventKind::HandshakeSucceeded
    });
    let mut fifth = raw_connect(&endpoint);
    fifth.read_exact(&mut g).unwrap();
    // The good peer never noticed.
    send_batch(&mut push, "after", 20);
    recv_batch(&mut pull, "before", 20);
    recv_batch(&mut pull, "after", 20);
}

#[test]
fn limit_options_refuse_bad_values_at_the_call() {
    let ctx = Context::new().unwrap();
    let mut pull = socket::<Pull>(&ctx);
    assert!(pull.set_max_frames_per_msg(0).is_err());
    assert!(pull.set_max_metadata_size(100).is_err());
    pull.set_max_frames_per_msg(1).unwrap();
    pull.set_max_metadata_size(512).unwrap();
    pull.set_max_pending_handshakes(0).unwrap();
}
