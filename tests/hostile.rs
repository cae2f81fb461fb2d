//! Hostile peers: raw TCP clients (no ZMTP library) that send garbage, lie
//! about lengths, break the handshake's order, trickle bytes or hold
//! connections open, against one zmio PULL socket. After each, a
//! well-behaved libzmq PUSH peer (pyzmq, tests/peers/peer.py) on the same
//! socket must get every one of its messages through, and the process's
//! memory must stay bounded (RSS peak within 64 MiB of the start).
//!
//! The tests take one lock each and so run one at a time: they count the
//! process's file descriptors and memory, which parallel tests would blur.
//! They need python3 with pyzmq, like tests/interop.rs (scripts/test
//! installs it); ZMIO_SKIP_INTEROP=1 skips them on purpose.

mod common;
#[path = "common/pyzmq.rs"]
mod pyzmq;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use common::PATIENCE;
use pyzmq::{Peer, open_fds, rss_bytes, skip_pyzmq, status_kb, wait_until};
use zmio::{Context, Error, Pull, Socket};

/// How much the process's resident memory may grow during one test.
const MEMORY_BOUND: u64 = 64 * 1024 * 1024;

/// Messages the good peer sends each time.
const GOOD_MESSAGES: usize = 2000;

// ---------------------------------------------------------------------------
// ZMTP bytes, written out by hand (this suite uses no ZMTP library)

/// A ZMTP 3 greeting: signature, version, mechanism, as-server, filler.
fn greeting(major: u8, minor: u8, mechanism: &str) -> Vec<u8> {
    let mut g = vec![0u8; 64];
    g[0] = 0xFF;
    g[9] = 0x7F;
    g[10] = major;
    g[11] = minor;
    g[12..12 + mechanism.len()].copy_from_slice(mechanism.as_bytes());
    g
}

/// A frame with the given flags: short form up to 255 bytes, long above.
fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(body.len() + 9);
    if body.len() <= 255 {
        f.extend_from_slice(&[flags, body.len() as u8]);
    } else {
        f.push(flags | 0x02);
        f.extend_from_slice(&(body.len() as u64).to_be_bytes());
    }
    f.extend_from_slice(body);
    f
}

/// A command frame: name-size, name, data.
fn command(name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    frame(0x04, &body)
}

/// READY with one `Socket-Type` property.
fn ready(socket_type: &str) -> Vec<u8> {
    let mut metadata = vec![11u8];
    metadata.extend_from_slice(b"Socket-Type");
    metadata.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    metadata.extend_from_slice(socket_type.as_bytes());
    command("READY", &metadata)
}

/// What a well-behaved PUSH peer sends before its first message.
fn push_handshake() -> Vec<u8> {
    let mut bytes = greeting(3, 1, "NULL");
    bytes.extend(ready("PUSH"));
    bytes
}

/// The header of a long data frame claiming `len` bytes.
fn long_header(flags: u8, len: u64) -> Vec<u8> {
    let mut h = vec![flags | 0x02];
    h.extend_from_slice(&len.to_be_bytes());
    h
}

// ---------------------------------------------------------------------------
// Raw connections

fn raw(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("raw connect");
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s
}

/// A raw connection that zmio has accepted: its greeting's signature has
/// arrived. It sends nothing.
fn accepted(addr: SocketAddr) -> TcpStream {
    let mut s = raw(addr);
    let mut signature = [0u8; 10];
    s.read_exact(&mut signature).expect("zmio's greeting");
    assert_eq!(signature[0], 0xFF);
    s
}

/// A raw connection that has sent `bytes` (write errors are ignored: zmio
/// may close it before everything is written).
fn raw_sending(addr: SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut s = raw(addr);
    let _ = s.write_all(bytes);
    s
}

/// Reads until zmio closes the connection (end of stream or reset); fails
/// if it is still open after [`PATIENCE`]. Returns what zmio sent.
#[track_caller]
fn expect_closed(mut s: TcpStream, what: &str) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => {
                return got;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("{what}: zmio kept the connection open");
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("{what}: read failed: {e}"),
        }
    }
}

/// Checks that a connection is still open: no end of stream or reset is
/// waiting to be read (only used where closing it would be a bug, after the
/// good peer's run gave zmio ample time to have closed it).
#[track_caller]
fn expect_open(s: &mut TcpStream, what: &str) {
    s.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            // zmio's greeting and READY may still be unread.
            Ok(n) if n > 0 => continue,
            Ok(_) => panic!("{what}: zmio closed the connection"),
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => panic!("{what}: {e}"),
        }
    }
    s.set_nonblocking(false).unwrap();
}

// ---------------------------------------------------------------------------
// The socket under attack

static SERIAL: Mutex<()> = Mutex::new(());

/// One zmio PULL socket bound to a loopback port, with the process's
/// memory and descriptor figures taken when it was made.
struct Target {
    _serial: MutexGuard<'static, ()>,
    _ctx: Context,
    pull: Socket<Pull>,
    endpoint: String,
    addr: SocketAddr,
    rss_before: u64,
    fds_before: usize,
}

impl Target {
    fn new() -> Option<Target> {
        Target::with(|_| {})
    }

    fn with(configure: impl FnOnce(&mut Socket<Pull>)) -> Option<Target> {
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        if skip_pyzmq() {
            return None;
        }
        let _ = env_logger::builder().is_test(true).try_init();
        let ctx = Context::new().unwrap();
        let mut pull = common::socket::<Pull>(&ctx);
        configure(&mut pull);
        let endpoint = pull.bind("tcp://127.0.0.1:*").unwrap().to_string();
        let addr = endpoint
            .strip_prefix("tcp://")
            .unwrap()
            .parse()
            .expect("bound address");
        // Reset the peak (VmHWM) to the current RSS, so the end of the test
        // sees this test's peak. Not fatal where the kernel refuses it: the
        // peak is then the process's, which only makes the check stricter.
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        Some(Target {
            _serial: serial,
            _ctx: ctx,
            pull,
            endpoint,
            addr,
            rss_before: rss_bytes(),
            fds_before: open_fds(),
        })
    }

    /// A libzmq PUSH peer connects, sends [`GOOD_MESSAGES`] messages, and
    /// every one of them arrives, in order, with nothing else in between.
    #[track_caller]
    fn good_peer_delivers_everything(&mut self) {
        let mut peer = Peer::connect("PUSH", &self.endpoint, &[]);
        peer.send_seq(GOOD_MESSAGES);
        for i in 0..GOOD_MESSAGES {
            let msg = self
                .pull
                .recv()
                .unwrap_or_else(|e| panic!("good peer's message {i}: {e}"));
            assert_eq!(
                &msg.frame(0).unwrap()[..],
                i.to_string().as_bytes(),
                "good peer's message {i}"
            );
            assert_eq!(msg.frame_count(), 1);
        }
        peer.exit();
    }

    /// Nothing more is waiting on the socket.
    fn nothing_else_received(&mut self) {
        match self.pull.try_recv() {
            Err(Error::WouldBlock) => {}
            other => panic!("unexpected message or error: {other:?}"),
        }
    }

    /// The peak resident memory since the start stayed within [`MEMORY_BOUND`].
    #[track_caller]
    fn memory_bounded(&self) {
        let peak = status_kb("VmHWM") * 1024;
        let now = rss_bytes();
        let grown = peak.max(now).saturating_sub(self.rss_before);
        assert!(
            grown < MEMORY_BOUND,
            "memory grew by {} MiB (from {} MiB, peak {} MiB)",
            grown >> 20,
            self.rss_before >> 20,
            peak >> 20
        );
    }

    /// File descriptors come back to what they were (a few of slack for
    /// the peer processes' pipes being reaped).
    #[track_caller]
    fn fds_come_back(&self) {
        let before = self.fds_before;
        wait_until(PATIENCE, "the file descriptors come back", || {
            open_fds() <= before + 4
        });
    }
}

// ---------------------------------------------------------------------------
// Garbage instead of a greeting

#[test]
fn garbage_http_and_tls_instead_of_a_greeting_are_closed() {
    let Some(mut t) = Target::new() else { return };
    let http = b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/8.0\r\n\r\n".to_vec();
    // The start of a TLS 1.2 ClientHello record.
    let tls = vec![
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x5a, 0x5a, 0x5a, 0x5a,
    ];
    // Pseudo-random bytes (xorshift), also some starting with the 0xFF of a
    // signature, so the check has to look past the first octet.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut noise = |first: Option<u8>| -> Vec<u8> {
        let mut v: Vec<u8> = (0..300)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        if let Some(b) = first {
            v[0] = b;
        }
        v
    };
    let mut cases = vec![
        ("HTTP request", http),
        ("TLS ClientHello", tls),
        ("an empty line", b"\r\n\r\n".to_vec()),
    ];
    for i in 0..8 {
        cases.push(("random bytes", noise(None)));
        let mut padded = noise(Some(0xFF));
        padded[9] = if i % 2 == 0 { 0x7E } else { 0x7F };
        cases.push(("random bytes after 0xFF", padded));
    }
    let conns: Vec<_> = cases
        .iter()
        .map(|(what, bytes)| (*what, raw_sending(t.addr, bytes)))
        .collect();
    for (what, conn) in conns {
        expect_closed(conn, what);
    }
    t.good_peer_delivers_everything();
    t.nothing_else_received();
    t.memory_bounded();
    t.fds_come_back();
}

#[test]
fn old_and_unknown_greetings_are_refused_cleanly() {
    let Some(mut t) = Target::new() else { return };
    // ZMTP 1.0: a length-prefixed identity frame, no signature.
    let zmtp10 = vec![0x01, 0x00];
    // ZMTP 2.0: signature, revision 1, socket type, identity frame.
    let mut zmtp20 = greeting(0, 0, "")[..10].to_vec();
    zmtp20.extend_from_slice(&[0x01, 0x08, 0x00, 0x00]);
    // ZMTP 2.0's revision in a full-size greeting.
    let zmtp2x = greeting(2, 0, "NULL");
    let cases = [
        ("ZMTP 1.0", zmtp10),
        ("ZMTP 2.0", zmtp20),
        ("ZMTP 2.0 revision in a 64-byte greeting", zmtp2x),
        ("unknown mechanism", greeting(3, 1, "FOO")),
        ("PLAIN asked of a NULL socket", greeting(3, 1, "PLAIN")),
        ("CURVE asked of a NULL socket", greeting(3, 1, "CURVE")),
        ("mechanism with trailing garbage", {
            let mut g = greeting(3, 1, "NULL");
            g[31] = b'X';
            g
        }),
        ("incompatible socket type (PUB to PULL)", {
            let mut b = greeting(3, 1, "NULL");
            b.extend(ready("PUB"));
            b
        }),
        ("unknown socket type", {
            let mut b = greeting(3, 1, "NULL");
            b.extend(ready("BOGUS"));
            b
        }),
        ("READY without a socket type", {
            let mut b = greeting(3, 1, "NULL");
            b.extend(command("READY", b""));
            b
        }),
    ];
    let conns: Vec<_> = cases
        .iter()
        .map(|(what, bytes)| (*what, raw_sending(t.addr, bytes)))
        .collect();
    for (what, conn) in conns {
        expect_closed(conn, what);
    }
    t.good_peer_delivers_everything();
    t.nothing_else_received();
    t.memory_bounded();
    t.fds_come_back();
}

#[test]
fn greetings_of_3_0_and_of_versions_above_ours_are_accepted() {
    let Some(mut t) = Target::new() else { return };
    // "A peer MUST accept higher protocol versions as valid. That is, a ZMTP
    // peer MUST accept protocol versions greater or equal to 3.0." (RFC 37)
    let versions = [(3u8, 0u8), (3, 1), (3, 2), (3, 255), (4, 0), (255, 255)];
    let mut conns = Vec::new();
    for (major, minor) in versions {
        let mut bytes = greeting(major, minor, "NULL");
        bytes.extend(ready("PUSH"));
        bytes.extend(frame(0, format!("from {major}.{minor}").as_bytes()));
        conns.push(raw_sending(t.addr, &bytes));
    }
    let mut got: Vec<String> = (0..versions.len())
        .map(|_| {
            let msg = t.pull.recv().expect("a message from each version");
            String::from_utf8(msg.frame(0).unwrap().to_vec()).unwrap()
        })
        .collect();
    got.sort();
    let mut want: Vec<String> = versions
        .iter()
        .map(|(major, minor)| format!("from {major}.{minor}"))
        .collect();
    want.sort();
    assert_eq!(got, want);
    drop(conns);
    t.good_peer_delivers_everything();
    t.memory_bounded();
    t.fds_come_back();
}

// ---------------------------------------------------------------------------
// Slow peers

#[test]
fn byte_at_a_time_greetings_do_not_hold_up_a_good_peer() {
    let Some(mut t) = Target::new() else { return };
    const SLOW: usize = 8;
    let (halfway_tx, halfway_rx) = mpsc::channel();
    let mut go_on = Vec::new();
    let mut slow = Vec::new();
    for i in 0..SLOW {
        let addr = t.addr;
        let (go_tx, go_rx) = mpsc::channel::<()>();
        go_on.push(go_tx);
        let halfway = halfway_tx.clone();
        slow.push(thread::spawn(move || {
            let mut bytes = push_handshake();
            bytes.extend(frame(0, format!("slow {i}").as_bytes()));
            let mut s = raw(addr);
            // One byte per write, with a pause, through half the greeting...
            for b in &bytes[..32] {
                s.write_all(&[*b]).unwrap();
                thread::sleep(Duration::from_millis(2));
            }
            halfway.send(()).unwrap();
            // ...then wait while the good peer runs, then the rest.
            go_rx.recv_timeout(PATIENCE * 3).unwrap();
            for b in &bytes[32..] {
                s.write_all(&[*b]).unwrap();
                thread::sleep(Duration::from_millis(1));
            }
            s
        }));
    }
    for _ in 0..SLOW {
        halfway_rx.recv_timeout(PATIENCE).unwrap();
    }
    // Every slow peer is in the middle of its greeting.
    t.good_peer_delivers_everything();
    t.nothing_else_received();
    for go in go_on {
        go.send(()).unwrap();
    }
    let conns: Vec<TcpStream> = slow.into_iter().map(|h| h.join().unwrap()).collect();
    // The slow peers' own messages arrive too, once their bytes are all in.
    let mut got: Vec<String> = (0..SLOW)
        .map(|_| {
            let msg = t.pull.recv().expect("each slow peer's message");
            String::from_utf8(msg.frame(0).unwrap().to_vec()).unwrap()
        })
        .collect();
    got.sort();
    let mut want: Vec<String> = (0..SLOW).map(|i| format!("slow {i}")).collect();
    want.sort();
    assert_eq!(got, want);
    drop(conns);
    t.memory_bounded();
    t.fds_come_back();
}

// ---------------------------------------------------------------------------
// Lies about lengths, flags and order

#[test]
fn huge_claimed_lengths_reserve_nothing() {
    let Some(mut t) = Target::new() else { return };
    let after_handshake = |tail: &[u8]| {
        let mut b = push_handshake();
        b.extend_from_slice(tail);
        b
    };
    // 2^63 and 2^64-1 break "0 to 2^63-1 octets": closed at once.
    for (what, len) in [("2^63", 1u64 << 63), ("2^64-1", u64::MAX)] {
        let conn = raw_sending(t.addr, &after_handshake(&long_header(0, len)));
        expect_closed(conn, what);
        let conn = raw_sending(t.addr, &after_handshake(&long_header(0x04, len)));
        expect_closed(conn, &format!("command of {what}"));
    }
    // A command claiming 4 GiB is above the command cap: closed at once.
    let conn = raw_sending(t.addr, &after_handshake(&long_header(0x04, 1 << 32)));
    expect_closed(conn, "4 GiB command");
    // A message frame claiming 4 GiB (allowed: no max_msg_size) that sends
    // 10 bytes and stalls: held open, but costs only what arrived.
    let mut claims = Vec::new();
    for _ in 0..16 {
        let mut tail = long_header(0, 1 << 32);
        tail.extend_from_slice(b"0123456789");
        claims.push(raw_sending(t.addr, &after_handshake(&tail)));
    }
    t.good_peer_delivers_everything();
    for conn in &mut claims {
        expect_open(conn, "a stalled 4 GiB frame");
    }
    t.memory_bounded();
    drop(claims);
    t.nothing_else_received();
    t.fds_come_back();
}

#[test]
fn a_claim_above_max_msg_size_is_skipped_not_buffered() {
    let Some(mut t) = Target::with(|s| s.set_max_msg_size(Some(1024)).unwrap()) else {
        return;
    };
    // A 4 GiB claim followed by 16 MiB of its body: skipped as it streams,
    // so neither memory nor the connection is spent on it.
    let mut bytes = push_handshake();
    bytes.extend(long_header(0, 1 << 32));
    bytes.extend(vec![7u8; 16 << 20]);
    let mut claim = raw_sending(t.addr, &bytes);
    // Frames of one message that together break the limit, then a good
    // message: only that one is delivered, by the same connection.
    let mut bytes = push_handshake();
    for _ in 0..5 {
        bytes.extend(frame(0x01, &[7u8; 250]));
    }
    bytes.extend(frame(0, b"last"));
    bytes.extend(frame(0, b"next"));
    let mut multipart = raw_sending(t.addr, &bytes);
    let got = t.pull.recv().unwrap();
    assert_eq!(got.frame(0).unwrap(), &b"next"[..]);
    t.nothing_else_received();
    expect_open(&mut claim, "a claim being skipped");
    expect_open(&mut multipart, "a peer after one oversized message");
    t.memory_bounded();
    // A peer that sends nothing but oversized messages is closed.
    let mut bytes = push_handshake();
    for _ in 0..17 {
        bytes.extend(long_header(0, 2000));
        bytes.extend(vec![7u8; 2000]);
    }
    expect_closed(raw_sending(t.addr, &bytes), "oversized messages only");
    drop((claim, multipart));
    t.good_peer_delivers_everything();
    t.nothing_else_received();
    t.memory_bounded();
    t.fds_come_back();
}

#[test]
fn reserved_flag_bits_are_refused() {
    let Some(mut t) = Target::new() else { return };
    let mut conns = Vec::new();
    for bit in 3..8 {
        let mut bytes = push_handshake();
        bytes.extend(frame(1 << bit, b"reserved"));
        conns.push((bit, raw_sending(t.addr, &bytes)));
        // And in the handshake, on the READY command itself.
        let mut bytes = greeting(3, 1, "NULL");
        let mut r = ready("PUSH");
        r[0] |= 1 << bit;
        bytes.extend(r);
        conns.push((bit, raw_sending(t.addr, &bytes)));
    }
    for (bit, conn) in conns {
        expect_closed(conn, &format!("reserved flag bit {bit}"));
    }
    t.good_peer_delivers_everything();
    t.nothing_else_received();
    t.memory_bounded();
    t.fds_come_back();
}

#[test]
fn commands_and_frames_before_ready_are_refused() {
    let Some(mut t) = Target::new() else { return };
    let before_ready = |tail: Vec<u8>| {
        let mut b = greeting(3, 1, "NULL");
        b.extend(tail);
        b
    };
    let cases = [
        (
            "PING before READY",
            before_ready(command("PING", b"\x00\x00")),
        ),
        (
            "SUBSCRIBE before READY",
            before_ready(command("SUBSCRIBE", b"x")),
        ),
        (
            "ERROR before READY",
            before_ready(command("ERROR", b"\x03bye")),
        ),
        (
            "unknown command before READY",
            before_ready(command("HELLO", b"")),
        ),
        ("data frame before READY", before_ready(frame(0, b"early"))),
        ("MORE frame before READY", before_ready(frame(1, b"early"))),
        (
            "READY with MORE set",
            before_ready({
                let mut r = ready("PUSH");
                r[0] |= 0x01;
                r
            }),
        ),
        (
            "READY as a data frame",
            before_ready({
                let mut r = ready("PUSH");
                r[0] &= !0x04;
                r
            }),
        ),
    ];
    let conns: Vec<_> = cases
        .iter()
        .map(|(what, bytes)| (*what, raw_sending(t.addr, bytes)))
        .collect();
    for (what, conn) in conns {
        expect_closed(conn, what);
    }
    t.good_peer_delivers_everything();
    t.nothing_else_received();
    t.memory_bounded();
    t.fds_come_back();
}

#[test]
fn unterminated_multipart_streams_deliver_nothing() {
    let Some(mut t) = Target::with(|s| s.set_max_frames_per_msg(65_536).unwrap()) else {
        return;
    };
    // Past the frames-per-message cap: the frames held so far are dropped
    // and the rest is skipped as it comes (memory stays bounded), and the
    // connection is kept.
    let mut bytes = push_handshake();
    for _ in 0..1_000_000 {
        bytes.extend_from_slice(&[0x01, 0x00]);
    }
    let mut flood = raw(t.addr);
    let writer = thread::spawn({
        let mut s = flood.try_clone().unwrap();
        move || {
            s.write_all(&bytes).unwrap();
        }
    });
    writer.join().unwrap();
    t.memory_bounded();
    expect_open(&mut flood, "a message past the frame cap being skipped");
    drop(flood);
    // Under the cap, left hanging: held, nothing delivered from it.
    let mut hanging = Vec::new();
    for _ in 0..8 {
        let mut bytes = push_handshake();
        for i in 0..1000u32 {
            bytes.extend(frame(0x01, &i.to_be_bytes()));
        }
        hanging.push(raw_sending(t.addr, &bytes));
    }
    t.good_peer_delivers_everything();
    t.nothing_else_received();
    for conn in &mut hanging {
        expect_open(conn, "an unfinished multipart message");
    }
    // Dropped mid-message: the partial messages are discarded, not delivered.
    drop(hanging);
    t.fds_come_back();
    t.good_peer_delivers_everything();
    t.nothing_else_received();
    t.memory_bounded();
}

// ---------------------------------------------------------------------------
// Connections that do nothing

#[test]
fn a_thousand_idle_connections_opened_and_dropped_give_their_descriptors_back() {
    let Some(mut t) = Target::new() else { return };
    const IDLE: usize = 1000;
    let before = open_fds();
    // Each waits for zmio's greeting, so it is accepted before the next is
    // opened: a burst beyond the listen backlog (100, as libzmq) would only
    // measure the kernel's SYN retransmission timer.
    let conns: Vec<TcpStream> = (0..IDLE).map(|_| accepted(t.addr)).collect();
    // Our ends plus zmio's accepted ends (less a few pipes of the previous
    // test's peer process that may close meanwhile).
    assert!(open_fds() + 8 >= before + 2 * IDLE);
    t.good_peer_delivers_everything();
    drop(conns);
    t.fds_come_back();
    // Once more, dropped straight away.
    for _ in 0..IDLE {
        drop(accepted(t.addr));
    }
    t.fds_come_back();
    t.good_peer_delivers_everything();
    t.nothing_else_received();
    t.memory_bounded();
}

#[test]
fn half_open_handshakes_do_not_block_others() {
    let Some(mut t) = Target::new() else { return };
    let mut pending = Vec::new();
    for _ in 0..50 {
        // Nothing at all; half a greeting; a greeting and no READY; a
        // greeting and half a READY.
        pending.push(raw(t.addr));
        pending.push(raw_sending(t.addr, &greeting(3, 1, "NULL")[..30]));
        pending.push(raw_sending(t.addr, &greeting(3, 1, "NULL")));
        pending.push(raw_sending(t.addr, &push_handshake()[..70]));
    }
    t.good_peer_delivers_everything();
    for conn in &mut pending {
        expect_open(conn, "a pending handshake within the handshake interval");
    }
    drop(pending);
    t.nothing_else_received();
    t.memory_bounded();
    t.fds_come_back();
}

#[test]
fn half_open_handshakes_are_dropped_after_the_handshake_interval() {
    let Some(mut t) = Target::with(|s| {
        s.set_handshake_ivl(Some(Duration::from_millis(300)))
            .unwrap()
    }) else {
        return;
    };
    let pending = vec![
        ("silent", raw(t.addr)),
        (
            "half a greeting",
            raw_sending(t.addr, &greeting(3, 1, "NULL")[..30]),
        ),
        (
            "greeting, no READY",
            raw_sending(t.addr, &greeting(3, 1, "NULL")),
        ),
        ("half a READY", raw_sending(t.addr, &push_handshake()[..70])),
    ];
    for (what, conn) in pending {
        expect_closed(conn, what);
    }
    t.good_peer_delivers_everything();
    t.nothing_else_received();
    t.memory_bounded();
    t.fds_come_back();
}
