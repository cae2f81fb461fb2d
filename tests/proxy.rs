//! The proxy: queue (ROUTER/DEALER), forwarder (XSUB/XPUB, subscriptions
//! flowing upstream), streamer (PULL/PUSH) with capture, backpressure, and
//! steering (PAUSE, RESUME, STATISTICS, TERMINATE), over tcp, ipc and inproc; and
//! interop both ways: a pyzmq zmq.proxy broker between zmio clients and
//! workers, and a zmio proxy between pyzmq clients and workers.
//!
//! The interop tests need python3 with pyzmq and fail without it (scripts/test
//! installs it); `ZMIO_SKIP_INTEROP=1` skips them on purpose, as in
//! tests/interop.rs.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use zmio::{
    Context, Dealer, Error, Msg, PollEvents, PollItem, Proxy, ProxyStats, Pub, Pull, Push, Rep,
    Req, Result, Router, Socket, Sub, XPub, XSub,
};

mod common;
use common::{PATIENCE, another, endpoints, socket};

fn text(msg: &Msg) -> String {
    msg.frames()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect::<Vec<_>>()
        .join("|")
}

/// Sends a command to a proxy's REP control socket and returns the reply.
fn command(control: &mut Socket<Req>, word: &str) -> Msg {
    control.send(word).unwrap();
    control.recv().unwrap()
}

/// The counts in a STATISTICS reply: eight native-endian u64 frames.
fn counts(reply: &Msg) -> Vec<u64> {
    reply
        .frames()
        .map(|f| u64::from_ne_bytes(f[..].try_into().expect("8-byte frame")))
        .collect()
}

/// A REP control socket bound on `endpoint` and a REQ connected to it.
fn control_pair(ctx: &Context, endpoint: &'static str) -> (Socket<Rep>, Socket<Req>) {
    let mut control = socket::<Rep>(ctx);
    let at = control.bind(another(endpoint)).unwrap().to_string();
    let mut admin = socket::<Req>(ctx);
    admin.connect(&at).unwrap();
    (control, admin)
}

/// Each REP worker answers "<request>:<worker>" until it has answered `n`.
fn rep_worker(
    ctx: &Context,
    endpoint: &str,
    name: &'static str,
    n: usize,
) -> thread::JoinHandle<()> {
    let mut rep = socket::<Rep>(ctx);
    rep.connect(endpoint).unwrap();
    thread::spawn(move || {
        for _ in 0..n {
            let request = rep.recv().unwrap();
            rep.send(format!("{}:{name}", text(&request))).unwrap();
        }
    })
}

#[test]
fn queue_routes_req_clients_through_router_dealer_to_rep_workers() {
    const CLIENTS: usize = 3;
    const REQUESTS: usize = 20;
    for endpoint in endpoints() {
        let ctx = Context::new().unwrap();
        let mut frontend = socket::<Router>(&ctx);
        let mut backend = socket::<Dealer>(&ctx);
        let to_front = frontend.bind(another(endpoint)).unwrap().to_string();
        let to_back = backend.bind(another(endpoint)).unwrap().to_string();
        let (mut control, mut admin) = control_pair(&ctx, endpoint);
        let broker = thread::spawn(move || {
            Proxy::new(&mut frontend, &mut backend)
                .control(&mut control)
                .run()
        });
        // Every request reaches some worker; the workers stop when their
        // share is done, so the shares must add up: one worker takes all.
        let worker = rep_worker(&ctx, &to_back, "w", CLIENTS * REQUESTS);
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let mut req = socket::<Req>(&ctx);
                req.connect(&to_front).unwrap();
                thread::spawn(move || {
                    for n in 0..REQUESTS {
                        req.send(format!("c{c}-{n}")).unwrap();
                        assert_eq!(text(&req.recv().unwrap()), format!("c{c}-{n}:w"));
                    }
                })
            })
            .collect();
        for client in clients {
            client.join().unwrap();
        }
        worker.join().unwrap();
        let reply = command(&mut admin, "STATISTICS");
        let n = (CLIENTS * REQUESTS) as u64;
        let c = counts(&reply);
        assert_eq!(c.len(), 8);
        assert_eq!([c[0], c[2], c[4], c[6]], [n, n, n, n], "{endpoint}: {c:?}");
        assert!(c[1] > 0 && c[3] > 0, "byte counts: {c:?}");
        command(&mut admin, "TERMINATE");
        let stats: ProxyStats = broker.join().unwrap().unwrap();
        assert_eq!(stats.frontend.messages_in, n);
        assert_eq!(stats.backend.messages_out, n);
    }
}

#[test]
fn forwarder_passes_subscriptions_upstream_and_matching_messages_down() {
    for endpoint in endpoints() {
        let ctx = Context::new().unwrap();
        let mut frontend = socket::<XSub>(&ctx);
        let mut backend = socket::<XPub>(&ctx);
        let to_front = frontend.bind(another(endpoint)).unwrap().to_string();
        let to_back = backend.bind(another(endpoint)).unwrap().to_string();
        let (mut control, mut admin) = control_pair(&ctx, endpoint);
        let forwarder = thread::spawn(move || {
            Proxy::new(&mut frontend, &mut backend)
                .control(&mut control)
                .run()
        });
        // The publisher is an XPUB, so the test sees the subscription arrive.
        let mut publisher = socket::<XPub>(&ctx);
        publisher.connect(&to_front).unwrap();
        let mut subscriber = socket::<Sub>(&ctx);
        subscriber.connect(&to_back).unwrap();
        subscriber.subscribe("a").unwrap();
        let subscription = publisher.recv().unwrap();
        assert_eq!(subscription.frame(0).unwrap()[..], *b"\x01a");
        for m in ["a1", "b1", "a2"] {
            publisher.send(m).unwrap();
        }
        assert_eq!(text(&subscriber.recv().unwrap()), "a1");
        assert_eq!(text(&subscriber.recv().unwrap()), "a2", "b1 is filtered");
        command(&mut admin, "TERMINATE");
        let stats = forwarder.join().unwrap().unwrap();
        assert_eq!(stats.backend.messages_in, 1, "the subscription");
        assert_eq!(stats.frontend.messages_out, 1);
        // The publisher itself filters by the subscription it was passed.
        assert_eq!(stats.frontend.messages_in, 2);
    }
}

#[test]
fn streamer_forwards_pull_to_push_and_capture_gets_a_copy_of_each() {
    for endpoint in endpoints() {
        let ctx = Context::new().unwrap();
        let mut frontend = socket::<Pull>(&ctx);
        let mut backend = socket::<Push>(&ctx);
        let mut capture = socket::<Push>(&ctx);
        let to_front = frontend.bind(another(endpoint)).unwrap().to_string();
        let to_back = backend.bind(another(endpoint)).unwrap().to_string();
        let to_capture = capture.bind(another(endpoint)).unwrap().to_string();
        let mut captured = socket::<Pull>(&ctx);
        captured.connect(&to_capture).unwrap();
        // A copy the capture socket cannot take is dropped: its peer is
        // there before anything is forwarded.
        let mut items = [PollItem::socket(&mut capture, PollEvents::WRITABLE)];
        assert_eq!(zmio::poll(&mut items, Some(PATIENCE)).unwrap(), 1);
        let (mut control, mut admin) = control_pair(&ctx, endpoint);
        let streamer = thread::spawn(move || {
            Proxy::new(&mut frontend, &mut backend)
                .capture(&mut capture)
                .control(&mut control)
                .run()
        });
        let mut producer = socket::<Push>(&ctx);
        producer.connect(&to_front).unwrap();
        let mut consumer = socket::<Pull>(&ctx);
        consumer.connect(&to_back).unwrap();
        for i in 0..10 {
            producer
                .send(Msg::from_frames([format!("m{i}"), "second frame".into()]))
                .unwrap();
        }
        let want: Vec<String> = (0..10).map(|i| format!("m{i}|second frame")).collect();
        let got: Vec<String> = (0..10).map(|_| text(&consumer.recv().unwrap())).collect();
        assert_eq!(got, want, "{endpoint}");
        let copies: Vec<String> = (0..10).map(|_| text(&captured.recv().unwrap())).collect();
        assert_eq!(copies, want, "{endpoint}");
        command(&mut admin, "TERMINATE");
        let stats = streamer.join().unwrap().unwrap();
        assert_eq!(stats.frontend.messages_in, 10);
        assert_eq!(stats.backend.messages_out, 10);
    }
}

#[test]
fn control_pauses_resumes_and_terminates() {
    for endpoint in endpoints() {
        let ctx = Context::new().unwrap();
        let mut frontend = socket::<Pull>(&ctx);
        let mut backend = socket::<Push>(&ctx);
        let to_front = frontend.bind(another(endpoint)).unwrap().to_string();
        let to_back = backend.bind(another(endpoint)).unwrap().to_string();
        let (mut control, mut admin) = control_pair(&ctx, endpoint);
        let streamer = thread::spawn(move || {
            Proxy::new(&mut frontend, &mut backend)
                .control(&mut control)
                .run()
        });
        let mut producer = socket::<Push>(&ctx);
        producer.connect(&to_front).unwrap();
        let mut consumer = socket::<Pull>(&ctx);
        consumer.connect(&to_back).unwrap();
        producer.send("before").unwrap();
        assert_eq!(text(&consumer.recv().unwrap()), "before");

        // The reply comes once the proxy has paused.
        assert_eq!(text(&command(&mut admin, "PAUSE")), "");
        producer.send("during").unwrap();
        // Paused, the proxy reads nothing: the statistics (answered while
        // paused) count only the first message, and nothing has come out.
        let c = counts(&command(&mut admin, "STATISTICS"));
        assert_eq!((c[0], c[6]), (1, 1), "{c:?}");
        assert!(matches!(consumer.try_recv(), Err(Error::WouldBlock)));
        // An unknown command changes nothing (and a REP still gets a reply).
        assert_eq!(text(&command(&mut admin, "FROBNICATE")), "");

        assert_eq!(text(&command(&mut admin, "RESUME")), "");
        assert_eq!(text(&consumer.recv().unwrap()), "during");
        command(&mut admin, "TERMINATE");
        let stats = streamer.join().unwrap().unwrap();
        assert_eq!(stats.frontend.messages_in, 2);
        assert_eq!(stats.backend.messages_out, 2);
        // The sockets are usable after the proxy returns.
    }
}

#[test]
fn a_full_backend_holds_the_frontend_back_instead_of_queueing_without_bound() {
    let ctx = Context::new().unwrap();
    let mut frontend = socket::<Pull>(&ctx);
    let mut backend = socket::<Push>(&ctx);
    for s in [&mut frontend as &mut dyn HwmSet, &mut backend] {
        s.hwm(4);
    }
    let to_front = frontend.bind("ipc://*").unwrap().to_string();
    let to_back = backend.bind("ipc://*").unwrap().to_string();
    let (mut control, mut admin) = control_pair(&ctx, "ipc://*");
    let streamer = thread::spawn(move || {
        Proxy::new(&mut frontend, &mut backend)
            .control(&mut control)
            .run()
    });
    let mut producer = socket::<Push>(&ctx);
    producer.set_sndhwm(4).unwrap();
    producer.connect(&to_front).unwrap();
    // No consumer yet: the proxy holds one message for the backend and reads
    // no more, so the producer's queue fills and its sends would block.
    let payload = vec![7u8; 64 * 1024];
    let mut sent = 0usize;
    loop {
        assert!(sent < 2_000, "the producer never felt backpressure");
        let msg = Msg::from_frames([format!("{sent}").into_bytes(), payload.clone()]);
        match producer.try_send(msg) {
            Ok(()) => sent += 1,
            Err(Error::WouldBlock) => {
                // A sender may be briefly ahead of its reactor: the proxy
                // holding back shows as the statistics standing still.
                let before = counts(&command(&mut admin, "STATISTICS"))[0];
                let mut items = [PollItem::socket(&mut producer, PollEvents::WRITABLE)];
                let n = zmio::poll(&mut items, Some(Duration::from_millis(200))).unwrap();
                let after = counts(&command(&mut admin, "STATISTICS"))[0];
                if n == 0 && before == after {
                    break;
                }
            }
            Err(e) => panic!("{e}"),
        }
    }
    let read = counts(&command(&mut admin, "STATISTICS"))[0] as usize;
    assert!(read < sent, "the proxy read {read} of {sent}");
    let mut consumer = socket::<Pull>(&ctx);
    consumer.connect(&to_back).unwrap();
    for i in 0..sent {
        let msg = consumer.recv().unwrap();
        assert_eq!(msg.frame(0).unwrap()[..], *format!("{i}").as_bytes());
    }
    command(&mut admin, "TERMINATE");
    let stats = streamer.join().unwrap().unwrap();
    assert_eq!(stats.backend.messages_out as usize, sent);
}

/// Sets both high water marks on a socket of any type.
trait HwmSet {
    fn hwm(&mut self, n: usize);
}

impl<T: zmio::SocketType> HwmSet for Socket<T> {
    fn hwm(&mut self, n: usize) {
        self.set_sndhwm(n).unwrap();
        self.set_rcvhwm(n).unwrap();
    }
}

#[test]
fn proxy_without_control_returns_when_a_socket_fails() {
    // A frontend that fails to receive ends the proxy with that error: a
    // REQ frontend with no request outstanding cannot receive.
    let ctx = Context::new().unwrap();
    let mut frontend = socket::<Req>(&ctx);
    let mut backend = socket::<Pub>(&ctx);
    let result: Result<()> = zmio::proxy(&mut frontend, &mut backend);
    assert!(matches!(result, Err(Error::InvalidState(_))), "{result:?}");
}

// ---------------------------------------------------------------------------
// Interop with libzmq through pyzmq (tests/peers/proxy_peers.py)

fn require_pyzmq() -> bool {
    if std::env::var("ZMIO_SKIP_INTEROP").is_ok_and(|v| v == "1") {
        eprintln!("ZMIO_SKIP_INTEROP=1: skipping the libzmq proxy interop test");
        return false;
    }
    let out = Command::new("python3")
        .args(["-c", "import zmq"])
        .output()
        .expect("the proxy interop tests need python3 (run scripts/test)");
    assert!(
        out.status.success(),
        "the proxy interop tests need python3 with pyzmq: {}. Run scripts/test, \
         which installs pyzmq, or set ZMIO_SKIP_INTEROP=1 to skip them.",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    true
}

/// A python peer; killed when dropped.
struct Peer {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Peer {
    fn spawn(args: &[&str]) -> Peer {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/proxy_peers.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Peer { child, lines }
    }

    fn line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(20))
            .expect("no line from the python peer in time")
    }

    /// Waits for the peer to exit by itself, successfully.
    fn finish(mut self) {
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "python peer failed: {status}");
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
        panic!("python peer did not finish in 20 s");
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn interop_pyzmq_broker_between_zmio_clients_and_workers() {
    if !require_pyzmq() {
        return;
    }
    let broker = Peer::spawn(&["broker"]);
    let ready = broker.line();
    let parts: Vec<&str> = ready.split_whitespace().collect();
    assert_eq!(parts.first(), Some(&"ready"), "{ready}");
    let (to_front, to_back) = (parts[1].to_owned(), parts[2].to_owned());

    const CLIENTS: usize = 3;
    const REQUESTS: usize = 20;
    let ctx = Context::new().unwrap();
    let worker = rep_worker(&ctx, &to_back, "zmio", CLIENTS * REQUESTS);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let mut req = socket::<Req>(&ctx);
            req.connect(&to_front).unwrap();
            thread::spawn(move || {
                for n in 0..REQUESTS {
                    req.send(format!("c{c}-{n}")).unwrap();
                    assert_eq!(text(&req.recv().unwrap()), format!("c{c}-{n}:zmio"));
                }
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
    worker.join().unwrap();
}

#[test]
fn interop_zmio_proxy_between_pyzmq_clients_and_workers() {
    if !require_pyzmq() {
        return;
    }
    let ctx = Context::new().unwrap();
    let mut frontend = socket::<Router>(&ctx);
    let mut backend = socket::<Dealer>(&ctx);
    let to_front = frontend.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let to_back = backend.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let (mut control, mut admin) = control_pair(&ctx, "tcp://127.0.0.1:*");
    let broker = thread::spawn(move || {
        Proxy::new(&mut frontend, &mut backend)
            .control(&mut control)
            .run()
    });
    let workers = Peer::spawn(&["workers", &to_back, "2"]);
    assert_eq!(workers.line(), "ready");
    let clients = Peer::spawn(&["clients", &to_front, "3", "20"]);
    let result = clients.line();
    let parts: Vec<&str> = result.split_whitespace().collect();
    assert_eq!(parts[..2], ["ok", "60"], "{result}");
    clients.finish();
    drop(workers);
    command(&mut admin, "TERMINATE");
    let stats = broker.join().unwrap().unwrap();
    assert_eq!(stats.frontend.messages_in, 60);
    assert_eq!(stats.backend.messages_in, 60);
}

#[allow(dead_code)]
fn _types_say_which_way(ctx: &Context) -> Result<()> {
    // These build: a receiving frontend and a sending backend.
    let mut pull = ctx.socket::<Pull>()?;
    let mut push = ctx.socket::<Push>()?;
    let mut sub = ctx.socket::<Sub>()?;
    let mut publisher = ctx.socket::<Pub>()?;
    let _ = Proxy::new(&mut pull, &mut push);
    let _ = Proxy::new(&mut sub, &mut publisher);
    // `Proxy::new(&mut push, &mut pull)` does not: PUSH cannot receive.
    Ok(())
}
