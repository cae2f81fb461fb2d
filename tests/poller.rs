//! The poller and the readiness fd: one thread waiting on many sockets (over
//! tcp, ipc and inproc) and raw file descriptors, exact readable/writable reporting (at the high
//! water mark too), timeouts, and the readiness fd's edge cases inside
//! zmio's poll and inside an external mio loop.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use zmio::{
    Context, Dealer, Error, Msg, PollEvents, PollItem, Poller, Pull, Push, Rep, Req, Router,
    Socket, SocketType, Sub, XPub,
};

mod common;
use common::{PATIENCE, another, endpoints, socket};

fn text(msg: &Msg) -> String {
    msg.frames()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect::<Vec<_>>()
        .join("|")
}

/// An ipc endpoint nobody listens on (yet).
fn fresh_ipc() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let path = std::env::temp_dir().join(format!(
        "zmio-poller-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_file(&path);
    format!("ipc://{}", path.display())
}

/// Polls one file descriptor without waiting: whether it is readable.
fn fd_readable(fd: i32) -> bool {
    let mut items = [PollItem::fd(fd, PollEvents::READABLE)];
    zmio::poll(&mut items, Some(Duration::ZERO)).unwrap() == 1
}

/// Waits (up to PATIENCE) for a file descriptor to be readable.
fn wait_fd(fd: i32) {
    let mut items = [PollItem::fd(fd, PollEvents::READABLE)];
    assert_eq!(
        zmio::poll(&mut items, Some(PATIENCE)).unwrap(),
        1,
        "fd never became readable"
    );
}

/// Waits (up to PATIENCE) until the socket is ready for `interest`.
fn wait_for<T: SocketType>(s: &mut Socket<T>, interest: PollEvents) {
    let mut items = [PollItem::socket(s, interest)];
    assert_eq!(zmio::poll(&mut items, Some(PATIENCE)).unwrap(), 1);
}

#[test]
fn one_thread_polls_pull_sub_router_and_dealer() {
    for endpoint in endpoints() {
        let ctx = Context::new().unwrap();
        let mut pull = socket::<Pull>(&ctx);
        let mut router = socket::<Router>(&ctx);
        let mut dealer = socket::<Dealer>(&ctx);
        let mut xpub = socket::<XPub>(&ctx);
        let to_pull = pull.bind(another(endpoint)).unwrap().to_string();
        let to_router = router.bind(another(endpoint)).unwrap().to_string();
        let to_dealer = dealer.bind(another(endpoint)).unwrap().to_string();
        let to_xpub = xpub.bind(another(endpoint)).unwrap().to_string();
        let mut sub = socket::<Sub>(&ctx);
        sub.connect(&to_xpub).unwrap();
        sub.subscribe("").unwrap();

        const EACH: usize = 50;
        let sender_ctx = ctx.clone();
        let sender = thread::spawn(move || {
            let mut push = socket::<Push>(&sender_ctx);
            push.connect(&to_pull).unwrap();
            let mut to_r = socket::<Dealer>(&sender_ctx);
            to_r.connect(&to_router).unwrap();
            let mut to_d = socket::<Dealer>(&sender_ctx);
            to_d.connect(&to_dealer).unwrap();
            // The subscription has reached the publisher before it publishes.
            assert_eq!(xpub.recv().unwrap().frame(0).unwrap()[..], [1u8]);
            for i in 0..EACH {
                push.send(format!("pull {i}")).unwrap();
                xpub.send(format!("sub {i}")).unwrap();
                to_r.send(format!("router {i}")).unwrap();
                to_d.send(format!("dealer {i}")).unwrap();
            }
            (push, to_r, to_d, xpub)
        });

        let mut got = [0usize; 4];
        while got.iter().sum::<usize>() < 4 * EACH {
            let ready: Vec<bool> = {
                let mut items = [
                    PollItem::socket(&mut pull, PollEvents::READABLE),
                    PollItem::socket(&mut sub, PollEvents::READABLE),
                    PollItem::socket(&mut router, PollEvents::READABLE),
                    PollItem::socket(&mut dealer, PollEvents::READABLE),
                ];
                let n = zmio::poll(&mut items, Some(PATIENCE)).unwrap();
                assert!(n > 0, "{endpoint}: poll timed out with {got:?}");
                assert_eq!(n, items.iter().filter(|i| i.is_readable()).count());
                items.iter().map(|i| i.is_readable()).collect()
            };
            // Readable means a message is there now: try_recv cannot fail.
            if ready[0] {
                assert_eq!(text(&pull.try_recv().unwrap()), format!("pull {}", got[0]));
                got[0] += 1;
            }
            if ready[1] {
                assert_eq!(text(&sub.try_recv().unwrap()), format!("sub {}", got[1]));
                got[1] += 1;
            }
            if ready[2] {
                let m = router.try_recv().unwrap();
                assert_eq!(m.frame_count(), 2);
                assert_eq!(
                    m.frame(1).unwrap()[..],
                    *format!("router {}", got[2]).as_bytes()
                );
                got[2] += 1;
            }
            if ready[3] {
                assert_eq!(
                    text(&dealer.try_recv().unwrap()),
                    format!("dealer {}", got[3])
                );
                got[3] += 1;
            }
        }
        assert_eq!(got, [EACH; 4]);
        let _peers = sender.join().unwrap();
        // All read: nothing is ready any more.
        let mut items = [
            PollItem::socket(&mut pull, PollEvents::READABLE),
            PollItem::socket(&mut sub, PollEvents::READABLE),
            PollItem::socket(&mut router, PollEvents::READABLE),
            PollItem::socket(&mut dealer, PollEvents::READABLE),
        ];
        assert_eq!(zmio::poll(&mut items, Some(Duration::ZERO)).unwrap(), 0);
    }
}

#[test]
fn a_timeout_with_nothing_ready_returns_zero() {
    let ctx = Context::new().unwrap();
    let mut pull = socket::<Pull>(&ctx);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let mut push = socket::<Push>(&ctx);
    for timeout in [Duration::ZERO, Duration::from_millis(30)] {
        let mut items = [
            PollItem::socket(&mut pull, PollEvents::READABLE | PollEvents::WRITABLE),
            // A PUSH with no peer has nowhere to send.
            PollItem::socket(&mut push, PollEvents::WRITABLE),
        ];
        assert_eq!(zmio::poll(&mut items, Some(timeout)).unwrap(), 0);
        assert!(items.iter().all(|i| i.ready().is_empty()));
    }
    assert!(matches!(pull.try_recv(), Err(Error::WouldBlock)));
}

#[test]
fn writable_is_reported_exactly_at_the_high_water_mark_and_after_relief() {
    let ctx = Context::new().unwrap();
    let endpoint = fresh_ipc();
    let mut push = socket::<Push>(&ctx);
    push.set_sndhwm(2).unwrap();
    // Nobody listens: the messages stay queued in the connection's pipe.
    push.connect(&endpoint).unwrap();
    assert_eq!(push.events(), PollEvents::WRITABLE);
    push.try_send("1").unwrap();
    assert!(push.events().is_writable());
    push.try_send("2").unwrap();
    assert_eq!(push.events(), PollEvents::empty(), "at the high water mark");
    assert!(matches!(push.try_send("3"), Err(Error::WouldBlock)));
    let mut items = [PollItem::socket(&mut push, PollEvents::WRITABLE)];
    assert_eq!(zmio::poll(&mut items, Some(Duration::ZERO)).unwrap(), 0);

    // A reader appears and drains the queue: the blocked poll wakes writable.
    let mut pull = socket::<Pull>(&ctx);
    pull.bind(&endpoint).unwrap();
    let mut items = [PollItem::socket(&mut push, PollEvents::WRITABLE)];
    assert_eq!(zmio::poll(&mut items, Some(PATIENCE)).unwrap(), 1);
    assert!(items[0].is_writable());
    push.try_send("3").unwrap();
    for want in ["1", "2", "3"] {
        assert_eq!(text(&pull.recv().unwrap()), want);
    }
}

#[test]
fn req_and_rep_are_writable_only_in_their_send_turn() {
    for endpoint in endpoints() {
        let ctx = Context::new().unwrap();
        let mut rep = socket::<Rep>(&ctx);
        let to_rep = rep.bind(another(endpoint)).unwrap().to_string();
        let mut req = socket::<Req>(&ctx);
        req.connect(&to_rep).unwrap();
        wait_for(&mut req, PollEvents::WRITABLE);
        assert_eq!(rep.events(), PollEvents::empty());
        req.send("question").unwrap();
        assert_eq!(req.events(), PollEvents::empty(), "awaiting the reply");
        wait_for(&mut rep, PollEvents::READABLE);
        // Peeked but not received: still REP's receive turn.
        assert_eq!(rep.events(), PollEvents::READABLE);
        assert!(matches!(rep.send("too early"), Err(Error::InvalidState(_))));
        assert_eq!(text(&rep.recv().unwrap()), "question");
        assert_eq!(rep.events(), PollEvents::WRITABLE);
        rep.send("answer").unwrap();
        wait_for(&mut req, PollEvents::READABLE);
        assert_eq!(req.events(), PollEvents::READABLE, "the reply is unread");
        assert!(matches!(req.send("again"), Err(Error::InvalidState(_))));
        assert_eq!(text(&req.recv().unwrap()), "answer");
        assert_eq!(req.events(), PollEvents::WRITABLE);
    }
}

#[test]
fn a_relaxed_req_drops_a_peeked_reply_when_it_sends_again() {
    let ctx = Context::new().unwrap();
    let mut rep = socket::<Rep>(&ctx);
    let to_rep = rep.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let mut req = socket::<Req>(&ctx);
    req.set_req_relaxed(true).unwrap();
    req.connect(&to_rep).unwrap();
    req.send("first").unwrap();
    assert_eq!(text(&rep.recv().unwrap()), "first");
    rep.send("reply to first").unwrap();
    wait_for(&mut req, PollEvents::READABLE);
    // Relaxed: writable with the reply unread, and sending abandons it.
    assert_eq!(req.events(), PollEvents::READABLE | PollEvents::WRITABLE);
    req.send("second").unwrap();
    assert_eq!(text(&rep.recv().unwrap()), "second");
    rep.send("reply to second").unwrap();
    assert_eq!(text(&req.recv().unwrap()), "reply to second");
}

#[test]
fn raw_file_descriptors_poll_beside_sockets() {
    let ctx = Context::new().unwrap();
    let mut pull = socket::<Pull>(&ctx);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let (a, mut b) = UnixStream::pair().unwrap();
    let writer = thread::spawn(move || {
        b.write_all(b"x").unwrap();
        b
    });
    let mut items = [
        PollItem::socket(&mut pull, PollEvents::READABLE),
        PollItem::fd(a.as_raw_fd(), PollEvents::READABLE),
    ];
    assert_eq!(zmio::poll(&mut items, Some(PATIENCE)).unwrap(), 1);
    assert!(!items[0].is_readable());
    assert_eq!(items[1].ready(), PollEvents::READABLE);
    let _b = writer.join().unwrap();
    // The same fd twice, and for writing: a socket pair is writable.
    let mut items = [
        PollItem::fd(a.as_raw_fd(), PollEvents::WRITABLE),
        PollItem::fd(a.as_raw_fd(), PollEvents::READABLE),
    ];
    assert_eq!(zmio::poll(&mut items, Some(PATIENCE)).unwrap(), 2);
    assert_eq!(items[0].ready(), PollEvents::WRITABLE);
    assert_eq!(items[1].ready(), PollEvents::READABLE);
}

#[test]
fn a_blocked_poll_wakes_only_when_something_is_ready() {
    let ctx = Context::new().unwrap();
    let mut pull = socket::<Pull>(&ctx);
    let endpoint = pull.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let (polled_tx, polled_rx) = mpsc::channel();
    let poller = thread::spawn(move || {
        let mut poller = Poller::new().unwrap();
        let mut items = [PollItem::socket(&mut pull, PollEvents::READABLE)];
        let n = poller.poll(&mut items, None).unwrap();
        let ready = items[0].ready();
        polled_tx.send(()).unwrap();
        (n, ready, pull)
    });
    // A peer connecting notifies the PULL (its pipe attaches) but makes
    // nothing readable: the poll must go back to sleep.
    let mut push = socket::<Push>(&ctx);
    push.connect(&endpoint).unwrap();
    wait_for(&mut push, PollEvents::WRITABLE);
    assert!(
        polled_rx.try_recv().is_err(),
        "the poll returned with nothing readable"
    );
    push.send("wake").unwrap();
    let (n, ready, mut pull) = poller.join().unwrap();
    assert_eq!((n, ready), (1, PollEvents::READABLE));
    assert_eq!(text(&pull.try_recv().unwrap()), "wake");
}

/// A connected PUSH -> PULL pair with one message through, so no connection
/// event is left to signal later.
fn connected_pair(ctx: &Context, endpoint: &'static str) -> (Socket<Push>, Socket<Pull>) {
    let mut pull = socket::<Pull>(ctx);
    let to_pull = pull.bind(another(endpoint)).unwrap().to_string();
    let mut push = socket::<Push>(ctx);
    push.connect(&to_pull).unwrap();
    push.send("warm-up").unwrap();
    assert_eq!(text(&pull.recv().unwrap()), "warm-up");
    (push, pull)
}

#[test]
fn readiness_fd_signals_a_message_and_is_quiet_once_it_is_received() {
    for endpoint in endpoints() {
        let ctx = Context::new().unwrap();
        let (mut push, mut pull) = connected_pair(&ctx, endpoint);
        let fd = pull.readiness_fd().unwrap();
        assert_eq!(pull.readiness_fd().unwrap(), fd, "the same fd each time");
        assert_eq!(pull.events(), PollEvents::empty());
        assert!(!fd_readable(fd), "quiet with nothing to receive");

        push.send("one").unwrap();
        wait_fd(fd);
        assert_eq!(pull.events(), PollEvents::READABLE);
        assert!(fd_readable(fd), "level-triggered: still readable");
        assert_eq!(text(&pull.try_recv().unwrap()), "one");
        // Received without events(): one spurious wake-up, then quiet.
        assert!(fd_readable(fd));
        assert_eq!(pull.events(), PollEvents::empty());
        assert!(!fd_readable(fd));
        assert!(matches!(pull.try_recv(), Err(Error::WouldBlock)));
    }
}

#[test]
fn readiness_fd_one_message_per_wake_gets_them_all() {
    for endpoint in endpoints() {
        let ctx = Context::new().unwrap();
        let (mut push, mut pull) = connected_pair(&ctx, endpoint);
        let fd = pull.readiness_fd().unwrap();
        // Several arrive before the loop first looks.
        for i in 0..5 {
            push.send(format!("m{i}")).unwrap();
        }
        let mut got = Vec::new();
        while got.len() < 5 {
            wait_fd(fd);
            if pull.events().is_readable() {
                got.push(text(&pull.try_recv().unwrap()));
            }
        }
        assert_eq!(got, ["m0", "m1", "m2", "m3", "m4"]);
        // The last wake-up reports nothing; the fd is quiet after it.
        if fd_readable(fd) {
            assert_eq!(pull.events(), PollEvents::empty());
        }
        assert!(!fd_readable(fd));
    }
}

#[test]
fn readiness_fd_signals_room_after_the_high_water_mark() {
    let ctx = Context::new().unwrap();
    let endpoint = fresh_ipc();
    let mut push = socket::<Push>(&ctx);
    push.set_sndhwm(1).unwrap();
    push.connect(&endpoint).unwrap();
    let fd = push.readiness_fd().unwrap();
    push.try_send("1").unwrap();
    assert_eq!(push.events(), PollEvents::empty());
    assert!(!fd_readable(fd), "nothing changes while nobody listens");
    let mut pull = socket::<Pull>(&ctx);
    pull.bind(&endpoint).unwrap();
    // Wake-ups may be spurious (the connection coming up): wait for room.
    loop {
        wait_fd(fd);
        if push.events().is_writable() {
            break;
        }
    }
    push.try_send("2").unwrap();
    assert_eq!(text(&pull.recv().unwrap()), "1");
    assert_eq!(text(&pull.recv().unwrap()), "2");
}

#[test]
fn readiness_fd_inside_an_external_mio_loop() {
    use mio::unix::SourceFd;
    use mio::{Events, Interest, Poll, Token};

    for endpoint in endpoints() {
        let ctx = Context::new().unwrap();
        let (mut push, mut pull) = connected_pair(&ctx, endpoint);
        let (timer_a, mut timer_b) = UnixStream::pair().unwrap();
        let mut poll = Poll::new().unwrap();
        let fd = pull.readiness_fd().unwrap();
        // mio is edge-triggered: events() makes a fresh edge while a
        // message waits, so one receive per wake-up still gets them all.
        poll.registry()
            .register(&mut SourceFd(&fd), Token(1), Interest::READABLE)
            .unwrap();
        poll.registry()
            .register(
                &mut SourceFd(&timer_a.as_raw_fd()),
                Token(2),
                Interest::READABLE,
            )
            .unwrap();
        for i in 0..3 {
            push.send(format!("m{i}")).unwrap();
        }
        let mut events = Events::with_capacity(8);
        let mut got = Vec::new();
        let mut other = false;
        while got.len() < 3 || !other {
            poll.poll(&mut events, Some(PATIENCE)).unwrap();
            assert!(!events.is_empty(), "the mio loop timed out: {got:?}");
            for event in events.iter() {
                match event.token() {
                    Token(1) => {
                        if pull.events().is_readable() {
                            got.push(text(&pull.try_recv().unwrap()));
                        }
                        if got.len() == 3 && !other {
                            // The loop's other source keeps working too.
                            timer_b.write_all(b"t").unwrap();
                        }
                    }
                    Token(2) => other = true,
                    _ => unreachable!(),
                }
            }
        }
        assert_eq!(got, ["m0", "m1", "m2"]);
    }
}
