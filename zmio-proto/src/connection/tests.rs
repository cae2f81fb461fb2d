use super::*;
use crate::command::{ErrorCommand, Ping, Ready};
use crate::frame::Encoder;
use crate::greeting::encode as encode_greeting;
use crate::metadata;
use crate::wire::LONG_HEADER_LEN;
use SocketKind::*;
use bytes::BufMut;
use proptest::prelude::*;

fn config(kind: SocketKind) -> ConnectionConfig {
    ConnectionConfig::new(kind)
}

/// The start of every simulated clock.
fn t0() -> Instant {
    static T0: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *T0.get_or_init(Instant::now)
}

fn conn(kind: SocketKind) -> Connection {
    Connection::new(config(kind), t0())
}

/// Takes up to `max` pending bytes from `c`'s transmit queue.
fn take_transmit(c: &mut Connection, max: usize) -> Vec<u8> {
    let mut slots = [IoSlice::new(&[]); 16];
    let n = c.transmit_slices(&mut slots);
    let mut out: Vec<u8> = slots[..n].iter().flat_map(|s| s.iter().copied()).collect();
    out.truncate(max);
    c.advance_transmit(out.len());
    out
}

fn take_all(c: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    while c.pending_transmit() > 0 {
        out.extend(take_transmit(c, usize::MAX));
    }
    out
}

fn events(c: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

/// Two connections joined in memory.
struct Pair {
    a: Connection,
    b: Connection,
    a_in: BytesMut,
    b_in: BytesMut,
    a_err: Option<ProtocolError>,
    b_err: Option<ProtocolError>,
    /// Every byte `a` transmitted.
    a_sent: Vec<u8>,
}

impl Pair {
    fn new(a: ConnectionConfig, b: ConnectionConfig) -> Pair {
        Pair {
            a: Connection::new(a, t0()),
            b: Connection::new(b, t0()),
            a_in: BytesMut::new(),
            b_in: BytesMut::new(),
            a_err: None,
            b_err: None,
            a_sent: Vec::new(),
        }
    }

    /// Moves bytes both ways, at most `chunk` per write, until quiet.
    /// A side that errs still flushes what it queued (the ERROR command).
    fn pump_chunked(&mut self, chunk: usize) {
        loop {
            let ab = take_transmit(&mut self.a, chunk);
            let ba = take_transmit(&mut self.b, chunk);
            self.a_sent.extend_from_slice(&ab);
            if ab.is_empty() && ba.is_empty() {
                return;
            }
            if self.b_err.is_none() {
                self.b_in.extend_from_slice(&ab);
                self.b_err = self.b.handle_input(&mut self.b_in, t0()).err();
            }
            if self.a_err.is_none() {
                self.a_in.extend_from_slice(&ba);
                self.a_err = self.a.handle_input(&mut self.a_in, t0()).err();
            }
        }
    }

    fn pump(&mut self) {
        self.pump_chunked(usize::MAX);
    }
}

/// The bytes a peer of `socket_type` speaking 3.`minor` sends: greeting,
/// READY, then whatever `then` queues.
fn peer_stream(minor: u8, socket_type: &'static [u8], then: impl FnOnce(&mut Encoder)) -> Vec<u8> {
    let mut g = encode_greeting(&Security::Null.greeting_name(), false);
    g[11] = minor;
    let mut enc = Encoder::new();
    enc.push_raw(&g);
    Ready {
        socket_type: Bytes::from_static(socket_type),
        identity: None,
    }
    .encode(&mut enc);
    then(&mut enc);
    let mut out = Vec::new();
    while enc.pending() > 0 {
        let mut slots = [IoSlice::new(&[]); 16];
        let n = enc.slices(&mut slots);
        let v: Vec<u8> = slots[..n].iter().flat_map(|s| s.iter().copied()).collect();
        enc.advance(v.len());
        out.extend(v);
    }
    out
}

fn feed(c: &mut Connection, bytes: &[u8]) -> Result<(), ProtocolError> {
    let mut input = BytesMut::from(bytes);
    c.handle_input(&mut input, t0())
}

/// A connection of `kind` that completed a handshake with a `peer` peer
/// (its own greeting and READY already drained).
fn ready_conn(kind: SocketKind, peer: &'static [u8], minor: u8) -> Connection {
    let mut c = conn(kind);
    feed(&mut c, &peer_stream(minor, peer, |_| {})).unwrap();
    assert!(c.is_ready());
    take_all(&mut c);
    events(&mut c);
    c
}

fn msg(frames: &[&[u8]]) -> Msg {
    Msg::from_frames(frames.iter().map(|f| Bytes::copy_from_slice(f)))
}

// --- handshake ---------------------------------------------------------

#[test]
fn greeting_is_queued_at_once() {
    let mut c = conn(Push);
    assert_eq!(c.pending_transmit(), GREETING_LEN);
    assert!(!c.is_ready());
    let g = take_all(&mut c);
    assert_eq!(g, encode_greeting(&Security::Null.greeting_name(), false));
    assert_eq!(c.poll_event(), None);
}

#[test]
fn ready_is_sent_after_the_peer_greeting_with_socket_type_only_for_push() {
    let mut c = conn(Push);
    take_all(&mut c);
    feed(
        &mut c,
        &encode_greeting(&Security::Null.greeting_name(), false),
    )
    .unwrap();
    let want = [
        &b"\x04\x1a\x05READY"[..],
        &metadata::encode(&[("Socket-Type", b"PUSH")]),
    ]
    .concat();
    assert_eq!(take_all(&mut c), want);
}

#[test]
fn dealer_sends_its_identity_even_when_empty() {
    let mut c = conn(Dealer);
    take_all(&mut c);
    feed(
        &mut c,
        &encode_greeting(&Security::Null.greeting_name(), false),
    )
    .unwrap();
    let wire = take_all(&mut c);
    let meta = metadata::encode(&[("Socket-Type", b"DEALER"), ("Identity", b"")]);
    assert_eq!(&wire[8..], &meta[..]);
}

#[test]
fn handshake_between_compatible_kinds_then_multipart_messages_flow() {
    let mut p = Pair::new(config(Push), config(Pull));
    p.pump();
    assert_eq!((p.a_err.clone(), p.b_err.clone()), (None, None));
    assert!(p.a.is_ready() && p.b.is_ready());
    let ready = |k| {
        Event::Ready(PeerInfo {
            socket_kind: k,
            routing_id: None,
            minor_version: 1,
            user_id: None,
        })
    };
    assert_eq!(events(&mut p.a), vec![ready(Pull)]);
    assert_eq!(events(&mut p.b), vec![ready(Push)]);
    let m1 = msg(&[b"a", b"", &[7; 300]]);
    let m2 = msg(&[&[9; 5000]]);
    p.a.send_message(&m1);
    p.a.send_message(&m2);
    p.pump();
    assert_eq!(
        events(&mut p.b),
        vec![Event::Message(m1), Event::Message(m2)]
    );
}

#[test]
fn handshake_one_byte_at_a_time() {
    let mut p = Pair::new(config(Req), config(Rep));
    p.pump_chunked(1);
    assert!(p.a.is_ready() && p.b.is_ready());
    p.a.send_message(&msg(&[b"hello"]));
    p.pump_chunked(1);
    let ev = events(&mut p.b);
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[1], Event::Message(msg(&[b"hello"])));
}

#[test]
fn router_learns_the_dealer_identity() {
    let mut dealer = config(Dealer);
    dealer.routing_id = Bytes::from_static(b"worker-1");
    let mut p = Pair::new(dealer, config(Router));
    p.pump();
    let Some(Event::Ready(info)) = p.b.poll_event() else {
        panic!("no Ready");
    };
    assert_eq!(info.routing_id.as_deref(), Some(&b"worker-1"[..]));
    // An empty identity is no identity.
    let Some(Event::Ready(info)) = p.a.poll_event() else {
        panic!("no Ready");
    };
    assert_eq!(info.routing_id, None);
}

#[test]
fn incompatible_kinds_send_error_and_both_fail() {
    let mut p = Pair::new(config(Push), config(Pub));
    p.pump();
    assert_eq!(
        p.a_err,
        Some(ProtocolError::IncompatibleSocketType {
            ours: Push,
            theirs: "PUB".into()
        })
    );
    assert_eq!(
        p.b_err,
        Some(ProtocolError::IncompatibleSocketType {
            ours: Pub,
            theirs: "PUSH".into()
        })
    );
    assert!(!p.a.is_ready() && !p.b.is_ready());
    assert_eq!(events(&mut p.a), vec![]);
    // The refusal went out on the wire after a's READY.
    assert!(
        p.a_sent
            .ends_with(b"\x04\x1a\x05ERROR\x13Invalid socket type")
    );
    assert_eq!(p.a.pending_transmit(), 0);
}

#[test]
fn socket_type_peer_should_enforce_valid_type_by_returning_error_command() {
    let mut c = conn(Push);
    take_all(&mut c);
    let err = feed(&mut c, &peer_stream(1, b"PUSH", |_| {})).unwrap_err();
    assert!(matches!(err, ProtocolError::IncompatibleSocketType { .. }));
    let wire = take_all(&mut c);
    // Our READY, then ERROR "Invalid socket type".
    assert!(
        wire.ends_with(b"\x04\x1a\x05ERROR\x13Invalid socket type"),
        "{wire:?}"
    );
    // Dead: later input gets the same error.
    assert_eq!(feed(&mut c, b"\x00\x00"), Err(err));
}

#[test]
fn unknown_socket_type_is_incompatible() {
    let mut c = conn(Pull);
    let err = feed(&mut c, &peer_stream(1, b"push", |_| {})).unwrap_err();
    assert_eq!(
        err,
        ProtocolError::IncompatibleSocketType {
            ours: Pull,
            theirs: "push".into()
        }
    );
}

#[test]
fn oversized_metadata_is_refused_with_error_before_it_arrives() {
    let mut cfg = config(Pull);
    cfg.max_metadata_size = 100;
    let mut c = Connection::new(cfg, t0());
    take_all(&mut c);
    let mut bytes = encode_greeting(&Security::Null.greeting_name(), false).to_vec();
    // A READY command claiming 1000 bytes; only its header is sent.
    bytes.extend_from_slice(b"\x06\x00\x00\x00\x00\x00\x00\x03\xe8");
    assert_eq!(
        feed(&mut c, &bytes),
        Err(ProtocolError::MetadataTooLarge {
            size: 994,
            max: 100
        })
    );
    assert!(take_all(&mut c).ends_with(b"\x04\x19\x05ERROR\x12Metadata too large"));
}

#[test]
fn metadata_within_the_limit_passes_and_traffic_gets_the_command_cap_back() {
    let mut cfg = config(Pull);
    cfg.max_metadata_size = 30;
    let mut c = Connection::new(cfg, t0());
    // A PUSH READY has 22 bytes of metadata; a 107-byte PING is over the
    // metadata cap but not the command cap of the traffic phase.
    feed(&mut c, &peer_stream(1, b"PUSH", |_| {})).unwrap();
    assert!(c.is_ready());
    take_all(&mut c);
    let mut ping = b"\x04\x6b\x04PING\x00\x00".to_vec();
    ping.extend_from_slice(&[0; 100]);
    let result = feed(&mut c, &ping);
    assert!(
        !matches!(
            result,
            Err(ProtocolError::CommandTooLarge { .. } | ProtocolError::MetadataTooLarge { .. })
        ),
        "{result:?}"
    );
}

#[test]
fn a_message_over_a_limit_is_discarded_and_the_stream_goes_on() {
    let mut cfg = config(Pull);
    cfg.max_msg_size = Some(10);
    let mut c = Connection::new(cfg, t0());
    feed(&mut c, &peer_stream(1, b"PUSH", |_| {})).unwrap();
    take_all(&mut c);
    events(&mut c);
    // Before, a two-frame message whose second frame breaks the limit, after.
    feed(
        &mut c,
        b"\x00\x06before\x01\x05first\x00\x0bsecond-part\x00\x05after",
    )
    .unwrap();
    assert_eq!(
        events(&mut c),
        vec![
            Event::Message(msg(&[b"before"])),
            Event::Discarded(ProtocolError::MessageTooLarge { size: 16, max: 10 }),
            Event::Message(msg(&[b"after"])),
        ]
    );
    assert!(take_all(&mut c).is_empty(), "no ERROR for one discard");
    assert!(c.is_ready());
}

#[test]
fn too_many_frames_discards_the_message() {
    let mut cfg = config(Pull);
    cfg.max_frames = 2;
    let mut c = Connection::new(cfg, t0());
    feed(&mut c, &peer_stream(1, b"PUSH", |_| {})).unwrap();
    take_all(&mut c);
    events(&mut c);
    feed(&mut c, b"\x01\x00\x01\x00\x00\x00\x01\x01a\x00\x01b").unwrap();
    assert_eq!(
        events(&mut c),
        vec![
            Event::Discarded(ProtocolError::TooManyFrames { max: 2 }),
            Event::Message(msg(&[b"a", b"b"])),
        ]
    );
    assert!(take_all(&mut c).is_empty());
}

#[test]
fn a_peer_that_sends_only_oversized_messages_is_dropped_with_error_from_31_only() {
    for (minor, want_error) in [(1, true), (0, false)] {
        let mut cfg = config(Pull);
        cfg.max_msg_size = Some(10);
        let mut c = Connection::new(cfg, t0());
        feed(&mut c, &peer_stream(minor, b"PUSH", |_| {})).unwrap();
        take_all(&mut c);
        events(&mut c);
        let oversized = b"\x00\x0b01234567890";
        // A delivered message resets the count.
        for _ in 0..MAX_DISCARDS_IN_A_ROW {
            feed(&mut c, oversized).unwrap();
        }
        feed(&mut c, b"\x00\x02ok").unwrap();
        for _ in 0..MAX_DISCARDS_IN_A_ROW {
            feed(&mut c, oversized).unwrap();
        }
        let seen = events(&mut c);
        assert_eq!(seen.len(), 2 * MAX_DISCARDS_IN_A_ROW as usize + 1);
        assert!(take_all(&mut c).is_empty());
        // One more in a row ends the connection.
        assert!(matches!(
            feed(&mut c, oversized),
            Err(ProtocolError::MessageTooLarge { .. })
        ));
        let wire = take_all(&mut c);
        assert_eq!(
            wire.ends_with(b"\x04\x18\x05ERROR\x11Message too large"),
            want_error,
            "3.{minor}"
        );
    }
}

#[test]
fn peer_error_during_handshake_is_fatal() {
    let mut bytes = encode_greeting(&Security::Null.greeting_name(), false).to_vec();
    bytes.extend_from_slice(b"\x04\x0b\x05ERROR\x04nope");
    assert_eq!(
        feed(&mut conn(Push), &bytes),
        Err(ProtocolError::PeerError("nope".into()))
    );
}

#[test]
fn null_handshake_other_commands_before_ready_are_unexpected() {
    let mut bytes = encode_greeting(&Security::Null.greeting_name(), false).to_vec();
    bytes.extend_from_slice(b"\x04\x07\x04PING\x00\x00");
    assert_eq!(
        feed(&mut conn(Push), &bytes),
        Err(ProtocolError::UnexpectedCommand("PING".into()))
    );
}

#[test]
fn messages_only_after_handshake_complete() {
    let mut bytes = encode_greeting(&Security::Null.greeting_name(), false).to_vec();
    bytes.extend_from_slice(b"\x00\x02hi");
    assert_eq!(
        feed(&mut conn(Pull), &bytes),
        Err(ProtocolError::MessageBeforeReady)
    );
}

#[test]
fn second_ready_is_unexpected() {
    let mut c = ready_conn(Pull, b"PUSH", 1);
    let again = peer_stream(1, b"PUSH", |_| {});
    assert_eq!(
        feed(&mut c, &again[GREETING_LEN..]),
        Err(ProtocolError::UnexpectedCommand("READY".into()))
    );
}

#[test]
fn greeting_errors_surface_through_the_connection() {
    let mut c = conn(Push);
    assert_eq!(feed(&mut c, b"G"), Err(ProtocolError::BadSignature));
    let mut g = encode_greeting(&crate::greeting::mechanism_name("CURVE"), false);
    g[11] = 1;
    assert!(matches!(
        feed(&mut conn(Push), &g),
        Err(ProtocolError::MechanismMismatch { .. })
    ));
}

#[test]
fn greeting_split_at_every_byte_through_the_connection() {
    let stream = peer_stream(1, b"PULL", |_| {});
    let mut c = conn(Push);
    let mut input = BytesMut::new();
    for &b in &stream {
        input.put_u8(b);
        c.handle_input(&mut input, t0()).unwrap();
    }
    assert!(c.is_ready());
    assert!(input.is_empty());
}

#[test]
fn zmtp30_peer_messages_in_the_same_read_as_ready() {
    let stream = peer_stream(0, b"PUSH", |e| {
        e.push_frame(true, &Bytes::from_static(b"x"));
        e.push_frame(false, &Bytes::from_static(b"y"));
    });
    let mut c = conn(Pull);
    feed(&mut c, &stream).unwrap();
    assert_eq!(
        events(&mut c),
        vec![
            Event::Ready(PeerInfo {
                socket_kind: Push,
                routing_id: None,
                minor_version: 0,
                user_id: None,
            }),
            Event::Message(msg(&[b"x", b"y"]))
        ]
    );
}

// --- traffic -----------------------------------------------------------

#[test]
fn ping_is_answered_with_pong_echoing_the_context() {
    let mut c = ready_conn(Pull, b"PUSH", 1);
    feed(&mut c, b"\x04\x0a\x04PING\x00\x64abc").unwrap();
    assert_eq!(take_all(&mut c), b"\x04\x08\x04PONGabc");
    // Context over 16 octets: still a reply, echoing the first 16.
    let mut ping = b"\x04\x1b\x04PING\x00\x00".to_vec();
    ping.extend_from_slice(b"0123456789abcdefXYZ!");
    feed(&mut c, &ping).unwrap();
    assert_eq!(take_all(&mut c), b"\x04\x15\x04PONG0123456789abcdef");
    assert_eq!(events(&mut c), vec![]);
}

#[test]
fn ping_without_ttl_is_malformed() {
    let mut c = ready_conn(Pull, b"PUSH", 1);
    assert!(matches!(
        feed(&mut c, b"\x04\x06\x04PING\x00"),
        Err(ProtocolError::MalformedCommand(_))
    ));
}

#[test]
fn pong_and_unknown_commands_are_ignored() {
    let mut c = ready_conn(Pull, b"PUSH", 1);
    feed(&mut c, b"\x04\x05\x04PONG\x04\x06\x04JOINg\x00\x01m").unwrap();
    assert_eq!(events(&mut c), vec![Event::Message(msg(&[b"m"]))]);
    assert_eq!(c.pending_transmit(), 0);
}

#[test]
fn peer_error_after_handshake_is_fatal() {
    let mut c = ready_conn(Pull, b"PUSH", 1);
    assert_eq!(
        feed(&mut c, b"\x04\x08\x05ERROR\x01x"),
        Err(ProtocolError::PeerError("x".into()))
    );
}

#[test]
fn commands_between_frames_keep_the_partial_message() {
    let mut c = ready_conn(Pull, b"PUSH", 1);
    feed(&mut c, b"\x01\x01a\x04\x07\x04PING\x00\x00\x00\x01b").unwrap();
    assert_eq!(events(&mut c), vec![Event::Message(msg(&[b"a", b"b"]))]);
    assert_eq!(take_all(&mut c), b"\x04\x05\x04PONG");
}

#[test]
fn malformed_command_body_after_ready() {
    let mut c = ready_conn(Pull, b"PUSH", 1);
    assert!(matches!(
        feed(&mut c, b"\x04\x02\x05R"),
        Err(ProtocolError::MalformedCommand(_))
    ));
}

#[test]
fn reserved_flags_after_handshake() {
    let mut c = ready_conn(Pull, b"PUSH", 1);
    assert_eq!(
        feed(&mut c, b"\x08\x00"),
        Err(ProtocolError::ReservedFlags(0x08))
    );
}

#[test]
fn sub_sends_subscribe_and_cancel_commands_to_a_31_pub() {
    let mut p = Pair::new(config(Sub), config(Pub));
    p.pump();
    events(&mut p.a);
    events(&mut p.b);
    p.a.send_message(&Msg::from(&b"\x01news"[..]));
    p.a.send_message(&Msg::from(&b"\x00news"[..]));
    // Not a subscription (two frames; other first byte): plain data.
    p.a.send_message(&msg(&[b"\x01a", b"b"]));
    let wire = take_all(&mut p.a);
    let want = [
        &b"\x04\x0e\x09SUBSCRIBEnews"[..],
        b"\x04\x0b\x06CANCELnews",
        b"\x01\x02\x01a\x00\x01b",
    ]
    .concat();
    assert_eq!(wire, want);
    p.b_in.extend_from_slice(&wire);
    p.b.handle_input(&mut p.b_in, t0()).unwrap();
    assert_eq!(
        events(&mut p.b),
        vec![
            Event::Message(msg(&[b"\x01news"])),
            Event::Message(msg(&[b"\x00news"])),
            Event::Message(msg(&[b"\x01a", b"b"])),
        ]
    );
}

#[test]
fn sub_sends_subscriptions_as_messages_to_a_30_pub() {
    let mut c = ready_conn(Sub, b"PUB", 0);
    c.send_message(&Msg::from(&b"\x01news"[..]));
    c.send_message(&Msg::from(&b"\x00"[..]));
    assert_eq!(take_all(&mut c), b"\x00\x05\x01news\x00\x01\x00");
}

#[test]
fn xsub_also_translates_and_empty_topic_works() {
    let mut c = ready_conn(XSub, b"XPUB", 1);
    c.send_message(&Msg::from(&b"\x01"[..]));
    assert_eq!(take_all(&mut c), b"\x04\x0a\x09SUBSCRIBE");
}

#[test]
fn subscriptions_never_surface_as_data_on_non_publishers() {
    let mut c = ready_conn(Sub, b"PUB", 1);
    feed(&mut c, b"\x04\x0c\x09SUBSCRIBEab\x04\x07\x06CANCEL").unwrap();
    assert_eq!(events(&mut c), vec![]);
    let mut c = ready_conn(XPub, b"SUB", 1);
    feed(&mut c, b"\x04\x0c\x09SUBSCRIBEab").unwrap();
    assert_eq!(events(&mut c), vec![Event::Message(msg(&[b"\x01ab"]))]);
}

// --- timers ------------------------------------------------------------

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn timed(kind: SocketKind, timing: Timing) -> Connection {
    let mut cfg = config(kind);
    cfg.timing = timing;
    Connection::new(cfg, t0())
}

/// Heartbeats every 100 ms, timeout `timeout`, our TTL `ttl_ds`.
fn heartbeats(timeout: Option<Duration>, ttl_ds: u16) -> Timing {
    Timing {
        handshake_ivl: Some(ms(1000)),
        heartbeat_ivl: Some(ms(100)),
        heartbeat_timeout: timeout,
        heartbeat_ttl_ds: ttl_ds,
    }
}

/// A PULL connection with `timing`, handshake completed at `t0()`.
fn timed_ready(timing: Timing) -> Connection {
    let mut c = timed(Pull, timing);
    feed(&mut c, &peer_stream(1, b"PUSH", |_| {})).unwrap();
    assert!(c.is_ready());
    take_all(&mut c);
    events(&mut c);
    c
}

fn feed_at(c: &mut Connection, bytes: &[u8], now: Instant) -> Result<(), ProtocolError> {
    c.handle_input(&mut BytesMut::from(bytes), now)
}

const PING_NO_TTL: &[u8] = b"\x04\x07\x04PING\x00\x00";

#[test]
fn no_timers_by_default_in_tests_and_no_clock_needed() {
    let c = ready_conn(Pull, b"PUSH", 1);
    assert_eq!(c.next_timeout(), None);
}

#[test]
fn handshake_deadline_fires_before_ready() {
    let timing = Timing {
        handshake_ivl: Some(ms(500)),
        ..Timing::NONE
    };
    let mut c = timed(Pull, timing);
    assert_eq!(c.next_timeout(), Some(t0() + ms(500)));
    // The greeting alone does not complete the handshake.
    feed_at(
        &mut c,
        &encode_greeting(&Security::Null.greeting_name(), false),
        t0() + ms(10),
    )
    .unwrap();
    assert_eq!(c.handle_timeout(t0() + ms(499)), Ok(()));
    assert_eq!(c.handle_timeout(t0() + ms(500)), Err(Timeout::Handshake));
    assert_eq!(c.next_timeout(), None);
    assert!(!c.is_ready());
    // Dead: later input means nothing, and nothing is re-armed.
    feed_at(&mut c, b"\x04\x05", t0() + ms(600)).unwrap();
    assert_eq!(c.next_timeout(), None);
}

#[test]
fn handshake_deadline_is_gone_after_ready() {
    let timing = Timing {
        handshake_ivl: Some(ms(500)),
        ..Timing::NONE
    };
    let mut c = timed(Pull, timing);
    feed_at(&mut c, &peer_stream(1, b"PUSH", |_| {}), t0() + ms(100)).unwrap();
    assert!(c.is_ready());
    assert_eq!(c.next_timeout(), None);
    assert_eq!(c.handle_timeout(t0() + ms(10_000)), Ok(()));
    assert!(c.is_ready());
}

#[test]
fn no_ping_before_the_handshake_completes() {
    let mut c = timed(Pull, heartbeats(None, 0));
    take_all(&mut c);
    // Only the handshake deadline is armed until READY.
    assert_eq!(c.next_timeout(), Some(t0() + ms(1000)));
    assert_eq!(c.handle_timeout(t0() + ms(300)), Ok(()));
    assert_eq!(c.pending_transmit(), 0);
}

#[test]
fn ping_is_sent_every_interval_while_the_peer_answers() {
    let mut c = timed_ready(heartbeats(None, 0));
    assert_eq!(c.next_timeout(), Some(t0() + ms(100)));
    for round in 1..=5u64 {
        let at = t0() + ms(100 * round);
        // Early: nothing.
        assert_eq!(c.handle_timeout(at - ms(1)), Ok(()));
        assert_eq!(c.pending_transmit(), 0);
        assert_eq!(c.handle_timeout(at), Ok(()));
        assert_eq!(take_all(&mut c), PING_NO_TTL, "round {round}");
        // The PONG comes back a little later.
        feed_at(&mut c, b"\x04\x05\x04PONG", at + ms(5)).unwrap();
        assert_eq!(c.next_timeout(), Some(at + ms(100)));
    }
}

#[test]
fn heartbeat_timeout_fires_when_nothing_arrives() {
    let mut c = timed_ready(heartbeats(None, 0));
    c.handle_timeout(t0() + ms(100)).unwrap();
    take_all(&mut c);
    // Default timeout = the interval: due together with the next PING,
    // and the timeout wins.
    assert_eq!(c.next_timeout(), Some(t0() + ms(200)));
    assert_eq!(c.handle_timeout(t0() + ms(199)), Ok(()));
    assert_eq!(c.handle_timeout(t0() + ms(200)), Err(Timeout::Heartbeat));
    assert_eq!(c.next_timeout(), None);
}

#[test]
fn any_input_resets_the_heartbeat_timeout() {
    let mut c = timed_ready(heartbeats(Some(ms(250)), 0));
    c.handle_timeout(t0() + ms(100)).unwrap();
    // Not a PONG: any bytes count, even half a frame.
    feed_at(&mut c, b"\x00", t0() + ms(340)).unwrap();
    // Without that byte this would be the timeout (100 + 250); instead
    // the PING due since 200 goes out and a new wait starts: 350 + 250.
    c.handle_timeout(t0() + ms(350)).unwrap();
    c.handle_timeout(t0() + ms(450)).unwrap();
    assert_eq!(c.handle_timeout(t0() + ms(599)), Ok(()));
    assert_eq!(c.handle_timeout(t0() + ms(600)), Err(Timeout::Heartbeat));
}

#[test]
fn a_longer_timeout_is_not_extended_by_later_pings() {
    let mut c = timed_ready(heartbeats(Some(ms(350)), 0));
    for at in [100, 200, 300, 400] {
        assert_eq!(c.handle_timeout(t0() + ms(at)), Ok(()));
        assert_eq!(take_all(&mut c), PING_NO_TTL);
    }
    assert_eq!(c.handle_timeout(t0() + ms(450)), Err(Timeout::Heartbeat));
}

#[test]
fn our_ping_carries_the_ttl_in_deciseconds() {
    let mut c = timed_ready(heartbeats(None, 0x0102));
    c.handle_timeout(t0() + ms(100)).unwrap();
    assert_eq!(take_all(&mut c), b"\x04\x07\x04PING\x01\x02");
}

#[test]
fn a_received_ping_with_ttl_sets_a_deadline() {
    let mut c = timed_ready(Timing::NONE);
    // TTL 0: no deadline.
    feed_at(&mut c, PING_NO_TTL, t0()).unwrap();
    assert_eq!(c.next_timeout(), None);
    // TTL 1.5 s.
    feed_at(&mut c, b"\x04\x07\x04PING\x00\x0f", t0() + ms(100)).unwrap();
    assert_eq!(take_all(&mut c), b"\x04\x05\x04PONG\x04\x05\x04PONG");
    assert_eq!(c.next_timeout(), Some(t0() + ms(1600)));
    // Any traffic clears it.
    feed_at(&mut c, b"\x00\x01m", t0() + ms(1000)).unwrap();
    assert_eq!(c.next_timeout(), None);
    // Armed again by the next PING; expires with silence.
    feed_at(&mut c, b"\x04\x07\x04PING\x00\x0f", t0() + ms(2000)).unwrap();
    assert_eq!(c.handle_timeout(t0() + ms(3499)), Ok(()));
    assert_eq!(c.handle_timeout(t0() + ms(3500)), Err(Timeout::PeerTtl));
}

#[test]
fn silence_while_the_caller_does_not_read_is_not_a_timeout() {
    let mut c = timed_ready(heartbeats(None, 0));
    feed_at(&mut c, b"\x04\x07\x04PING\x00\x05", t0()).unwrap();
    c.handle_timeout(t0() + ms(100)).unwrap();
    c.input_paused();
    assert_eq!(c.handle_timeout(t0() + ms(200)), Ok(()));
    assert_eq!(take_all(&mut c).len(), 2 * PING_NO_TTL.len() + 7);
    // Reading again: the wait started by the PING at 200 applies.
    assert_eq!(c.handle_timeout(t0() + ms(300)), Err(Timeout::Heartbeat));
}

#[test]
fn a_protocol_error_disarms_every_timer() {
    let mut c = timed_ready(heartbeats(None, 0));
    assert!(feed_at(&mut c, b"\x08\x00", t0() + ms(50)).is_err());
    assert_eq!(c.next_timeout(), None);
    assert_eq!(c.handle_timeout(t0() + ms(10_000)), Ok(()));
    assert_eq!(c.pending_transmit(), 0);
}

// --- limits ------------------------------------------------------------

#[test]
fn long_frame_claiming_4gib_with_max_msg_size_is_skipped_as_it_arrives() {
    let mut cfg = config(Pull);
    cfg.max_msg_size = Some(1 << 20);
    let mut c = Connection::new(cfg, t0());
    feed(&mut c, &peer_stream(1, b"PUSH", |_| {})).unwrap();
    events(&mut c);
    let mut input = BytesMut::from(&b"\x02\x00\x00\x00\x01\x00\x00\x00\x000123456789"[..]);
    c.handle_input(&mut input, t0()).unwrap();
    assert!(input.is_empty(), "skipped bytes are not kept");
    assert_eq!(c.input_wanted(), 0, "nor awaited");
    assert_eq!(
        events(&mut c),
        vec![Event::Discarded(ProtocolError::MessageTooLarge {
            size: 1 << 32,
            max: 1 << 20
        })]
    );
}

#[test]
fn long_frame_claiming_4gib_unlimited_holds_only_what_arrived() {
    let mut c = ready_conn(Pull, b"PUSH", 1);
    let mut input = BytesMut::with_capacity(32);
    input.extend_from_slice(b"\x02\x00\x00\x00\x01\x00\x00\x00\x00");
    input.extend_from_slice(b"0123456789");
    let cap = input.capacity();
    c.handle_input(&mut input, t0()).unwrap();
    assert_eq!(input.len(), 19);
    assert_eq!(input.capacity(), cap);
    assert_eq!(c.poll_event(), None);
}

#[test]
fn long_frame_of_2_pow_63_is_refused() {
    let mut c = ready_conn(Pull, b"PUSH", 1);
    assert!(matches!(
        feed(&mut c, b"\x02\x80\x00\x00\x00\x00\x00\x00\x00"),
        Err(ProtocolError::MessageTooLarge { .. })
    ));
}

#[test]
fn huge_command_is_refused_at_once() {
    let mut c = ready_conn(Pull, b"PUSH", 1);
    assert!(matches!(
        feed(&mut c, b"\x06\x00\x00\x00\x01\x00\x00\x00\x00"),
        Err(ProtocolError::CommandTooLarge { .. })
    ));
}

#[test]
fn small_max_msg_size_still_admits_ready() {
    let mut cfg = config(Pull);
    cfg.max_msg_size = Some(4);
    let mut c = Connection::new(cfg, t0());
    feed(&mut c, &peer_stream(1, b"PUSH", |_| {})).unwrap();
    assert!(c.is_ready());
    events(&mut c);
    feed(&mut c, b"\x00\x05abcde\x00\x04abcd").unwrap();
    assert_eq!(
        events(&mut c),
        vec![
            Event::Discarded(ProtocolError::MessageTooLarge { size: 5, max: 4 }),
            Event::Message(msg(&[b"abcd"])),
        ]
    );
}

// --- truncation, splitting, fuzzing -------------------------------------

/// A valid stream from a PUSH peer: greeting, READY, messages mixed with
/// PING/PONG/unknown commands, short and long frames.
fn valid_stream() -> Vec<u8> {
    peer_stream(1, b"PUSH", |e| {
        e.push_frame(false, &Bytes::from_static(b"one"));
        e.push_frame(true, &Bytes::from_static(b""));
        Ping {
            ttl: 1,
            context: Bytes::from_static(b"c"),
        }
        .encode(e);
        e.push_frame(false, &Bytes::from(vec![5u8; 300]));
        e.push_command(b"X-CMD", &[b"zz"]);
        e.push_frame(true, &Bytes::from(vec![6u8; 3000]));
        e.push_frame(true, &Bytes::from_static(b"a"));
        e.push_frame(false, &Bytes::from_static(b"b"));
        Pong {
            context: Bytes::new(),
        }
        .encode(e);
        e.push_frame(false, &Bytes::from_static(b"last"));
    })
}

fn run(bytes: &[u8]) -> (Vec<Event>, Result<(), ProtocolError>) {
    let mut c = conn(Pull);
    let r = feed(&mut c, bytes);
    (events(&mut c), r)
}

#[test]
fn valid_stream_decodes_fully() {
    let (ev, r) = run(&valid_stream());
    r.unwrap();
    assert_eq!(ev.len(), 1 + 4);
    assert_eq!(ev[4], Event::Message(msg(&[b"last"])));
}

#[test]
fn every_truncation_yields_a_prefix_of_the_events() {
    let stream = valid_stream();
    let (full, _) = run(&stream);
    for n in 0..=stream.len() {
        let (ev, r) = run(&stream[..n]);
        assert_eq!(r, Ok(()), "prefix {n}");
        assert_eq!(&full[..ev.len()], &ev[..], "prefix {n}");
    }
}

#[test]
fn every_split_into_two_feeds_yields_the_same_events() {
    let stream = valid_stream();
    let (full, _) = run(&stream);
    for n in 0..=stream.len() {
        let mut c = conn(Pull);
        let mut input = BytesMut::from(&stream[..n]);
        c.handle_input(&mut input, t0()).unwrap();
        input.extend_from_slice(&stream[n..]);
        c.handle_input(&mut input, t0()).unwrap();
        assert!(input.is_empty());
        assert_eq!(events(&mut c), full, "split at {n}");
    }
}

/// Feeds `bytes` in chunks of the given sizes (cycled); checks the
/// contract: no panic, a dead connection stays dead with the same error,
/// no message before the handshake, every complete unit consumed (so the
/// input buffer holds less than one greeting, header or awaited frame),
/// and what we transmit bounded by what we received (PONGs echo at most
/// the PING's context).
fn feed_chunked(bytes: &[u8], chunks: &[usize]) {
    /// Greeting, READY and an ERROR with a 255-byte reason.
    const OWN_TRANSMIT: usize = GREETING_LEN + 512 + 300;
    let mut c = conn(Pull);
    let mut input = BytesMut::new();
    let mut pos = 0;
    let mut i = 0;
    let mut consumed = 0;
    let mut transmitted = take_all(&mut c).len();
    let mut seen_ready = false;
    while pos < bytes.len() {
        let n = chunks
            .get(i % chunks.len().max(1))
            .copied()
            .unwrap_or(1)
            .max(1);
        let end = (pos + n).min(bytes.len());
        input.extend_from_slice(&bytes[pos..end]);
        pos = end;
        i += 1;
        let before = input.len();
        let result = c.handle_input(&mut input, t0());
        consumed += before - input.len();
        transmitted += take_all(&mut c).len();
        assert!(
            transmitted <= OWN_TRANSMIT + consumed,
            "transmit bounded by input"
        );
        // Messages decoded before an error in the same input still
        // come out, but never before the Ready event.
        for event in events(&mut c) {
            match event {
                Event::Ready(_) => seen_ready = true,
                Event::Message(_) | Event::Discarded(_) => {
                    assert!(seen_ready, "a message before Ready")
                }
                Event::Authenticate(_) => panic!("NULL never asks an authenticator"),
            }
        }
        if let Err(e) = result {
            assert_eq!(c.handle_input(&mut input, t0()), Err(e));
            assert!(!c.is_ready());
            return;
        }
        let wanted = c.input_wanted().max(LONG_HEADER_LEN);
        assert!(
            input.len() < wanted.max(GREETING_LEN),
            "a complete unit left unread"
        );
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        chunks in proptest::collection::vec(1usize..64, 1..8),
    ) {
        feed_chunked(&bytes, &chunks);
        // And after a valid greeting, so the frame decoder sees them.
        let mut with_greeting = encode_greeting(&Security::Null.greeting_name(), false).to_vec();
        with_greeting.extend_from_slice(&bytes);
        feed_chunked(&with_greeting, &chunks);
        // And after a valid handshake.
        let mut after_ready = peer_stream(1, b"PUSH", |_| {});
        after_ready.extend_from_slice(&bytes);
        feed_chunked(&after_ready, &chunks);
    }

    #[test]
    fn mutated_valid_streams_never_panic(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..6),
        chunks in proptest::collection::vec(1usize..200, 1..8),
    ) {
        let mut bytes = valid_stream();
        for (at, byte, op) in edits {
            let at = at % (bytes.len() + 1);
            match op {
                0 if at < bytes.len() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ => bytes.truncate(at.max(GREETING_LEN)),
            }
        }
        feed_chunked(&bytes, &chunks);
    }

    #[test]
    fn random_multipart_messages_round_trip(
        msgs in proptest::collection::vec(
            proptest::collection::vec(
                prop_oneof![
                    proptest::collection::vec(any::<u8>(), 0..20),
                    proptest::collection::vec(any::<u8>(), 250..260),
                    proptest::collection::vec(any::<u8>(), 2040..2100),
                ],
                1..5,
            ),
            1..12,
        ),
        chunk in 1usize..5000,
    ) {
        let mut p = Pair::new(config(Dealer), config(Router));
        p.pump_chunked(chunk);
        prop_assert!(p.a.is_ready() && p.b.is_ready());
        events(&mut p.b);
        let sent: Vec<Msg> = msgs
            .into_iter()
            .map(|frames| Msg::from_frames(frames.into_iter().map(Bytes::from)))
            .collect();
        for m in &sent {
            p.a.send_message(m);
        }
        p.pump_chunked(chunk);
        prop_assert_eq!(p.a_err.clone(), None);
        prop_assert_eq!(p.b_err.clone(), None);
        let got: Vec<Event> = events(&mut p.b);
        let want: Vec<Event> = sent.into_iter().map(Event::Message).collect();
        prop_assert_eq!(got, want);
    }
}

#[test]
fn error_command_type_is_reused_for_our_refusal() {
    // The ERROR we send decodes as ERROR (guards the shared helper).
    let e = ErrorCommand::decode(&Bytes::from_static(b"\x13Invalid socket type")).unwrap();
    assert_eq!(e.reason_lossy(), "Invalid socket type");
}
