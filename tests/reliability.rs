//! Reliability findings (issue 15): option values at their extremes, a
//! listener out of descriptors, closing subscribers, stale subscriptions
//! after a reconnect, and SIGPIPE. Several cases run part of themselves in
//! a child process (this test binary again, running one test by name with
//! an environment variable set), as tests/load.rs does.

mod common;

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::PATIENCE;
use zmio::{Context, Pull, Push, RecvSocketType, Socket};

/// Runs `f` on a thread and fails if it does not finish within `within`
/// (a hang fails the test instead of hanging it; the thread is left behind).
fn finishes_within(within: Duration, what: &str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(within) {
        Ok(()) => handle.join().unwrap(),
        // The thread panicked: join to report its message.
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(e) = handle.join() {
                std::panic::resume_unwind(e);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: still running after {within:?}"),
    }
}

fn recv_text<T: RecvSocketType>(s: &mut Socket<T>) -> Vec<u8> {
    s.recv().unwrap().frame(0).unwrap().to_vec()
}

// ---------------------------------------------------------------------------
// Finding 1: every accepted Duration option value, however large, works.

/// The Duration setters, each applied to a socket (a refused value is fine;
/// an accepted one must not break anything).
type Setter = fn(&mut Socket<Push>, &mut Socket<Pull>, Duration);

fn duration_setters() -> Vec<(&'static str, Setter)> {
    vec![
        ("linger", |a, b, d| {
            a.set_linger(Some(d)).unwrap();
            b.set_linger(Some(d)).unwrap();
        }),
        ("reconnect_ivl", |a, b, d| {
            a.set_reconnect_ivl(Some(d)).unwrap();
            b.set_reconnect_ivl(Some(d)).unwrap();
        }),
        ("reconnect_ivl_max", |a, b, d| {
            a.set_reconnect_ivl_max(d).unwrap();
            b.set_reconnect_ivl_max(d).unwrap();
        }),
        ("sndtimeo", |a, b, d| {
            a.set_sndtimeo(Some(d)).unwrap();
            b.set_sndtimeo(Some(d)).unwrap();
        }),
        ("rcvtimeo", |a, b, d| {
            a.set_rcvtimeo(Some(d)).unwrap();
            b.set_rcvtimeo(Some(d)).unwrap();
        }),
        ("handshake_ivl", |a, b, d| {
            a.set_handshake_ivl(Some(d)).unwrap();
            b.set_handshake_ivl(Some(d)).unwrap();
        }),
        ("heartbeat_ivl", |a, b, d| {
            a.set_heartbeat_ivl(Some(d)).unwrap();
            b.set_heartbeat_ivl(Some(d)).unwrap();
        }),
        ("heartbeat_timeout", |a, b, d| {
            // Short pings, so the timeout after each is computed.
            for s in [a as &mut dyn HeartbeatOpts, b as &mut dyn HeartbeatOpts] {
                s.heartbeat(Duration::from_millis(1), d);
            }
        }),
        ("heartbeat_ttl", |a, b, d| {
            // Refused above 6553.5 s; both sockets ping with the largest TTL.
            assert!(a.set_heartbeat_ttl(d).is_err());
            for s in [a as &mut dyn HeartbeatOpts, b as &mut dyn HeartbeatOpts] {
                s.heartbeat(Duration::from_millis(1), Duration::from_secs(1));
                s.ttl(Duration::from_millis(6_553_599));
            }
        }),
        ("connect_timeout", |a, b, d| {
            a.set_connect_timeout(Some(d)).unwrap();
            b.set_connect_timeout(Some(d)).unwrap();
        }),
        ("tcp_keepalive_idle", |a, b, d| {
            assert!(a.set_tcp_keepalive_idle(d).is_err());
            assert!(b.set_tcp_keepalive_idle(d).is_err());
        }),
        ("tcp_keepalive_intvl", |a, b, d| {
            assert!(a.set_tcp_keepalive_intvl(d).is_err());
            assert!(b.set_tcp_keepalive_intvl(d).is_err());
        }),
    ]
}

/// Heartbeat options on either socket type, for the setters above.
trait HeartbeatOpts {
    fn heartbeat(&mut self, ivl: Duration, timeout: Duration);
    fn ttl(&mut self, ttl: Duration);
}

impl<T: zmio::SocketType> HeartbeatOpts for Socket<T> {
    fn heartbeat(&mut self, ivl: Duration, timeout: Duration) {
        self.set_heartbeat_ivl(Some(ivl)).unwrap();
        self.set_heartbeat_timeout(Some(timeout)).unwrap();
    }
    fn ttl(&mut self, ttl: Duration) {
        self.set_heartbeat_ttl(ttl).unwrap();
    }
}

/// Sets one option to `value` on a PUSH and a PULL, has the PULL also
/// connect to a port nobody listens on (a failed connect and its
/// reconnect timer), exchanges messages (the PUSH closes with some still
/// queued: its linger timer), then drops everything.
fn exchange_with(setter: Setter, value: Duration) {
    let ctx = Context::new().unwrap();
    let mut push = ctx.socket::<Push>().unwrap();
    let mut pull = ctx.socket::<Pull>().unwrap();
    // A small send buffer and 640 KiB to send, so the PUSH closes with
    // messages still queued.
    push.set_sndbuf(Some(4096)).unwrap();
    setter(&mut push, &mut pull, value);
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    pull.connect(&format!("tcp://{dead}")).unwrap();
    let endpoint = push.bind("tcp://127.0.0.1:*").unwrap().to_string();
    pull.connect(&endpoint).unwrap();
    push.send("first").unwrap();
    assert_eq!(recv_text(&mut pull), b"first");
    // Time for a few 1 ms heartbeats (their timers are what is tested).
    thread::sleep(Duration::from_millis(20));
    let body = vec![7u8; 16 * 1024];
    for i in 0..40u8 {
        let mut m = body.clone();
        m[0] = i;
        push.send(m).unwrap();
    }
    drop(push);
    for i in 0..40u8 {
        assert_eq!(recv_text(&mut pull)[0], i);
    }
    drop(pull);
    drop(ctx);
}

#[test]
fn every_duration_option_takes_its_largest_values() {
    let values = [
        Duration::MAX,
        Duration::from_secs(u64::MAX),
        Duration::from_secs(1 << 40),
    ];
    for (name, setter) in duration_setters() {
        for value in values {
            finishes_within(PATIENCE, &format!("{name} = {value:?}"), move || {
                exchange_with(setter, value)
            });
        }
    }
}
