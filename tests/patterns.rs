//! Every socket pattern in one process over TCP loopback: load balancing,
//! fair queuing, prefix filtering, reconnects, high-water marks, linger,
//! strict REQ/REP turns, several endpoints per socket and the errors a caller
//! can hit. Every receive has a timeout, so a broken behaviour fails the test
//! instead of hanging it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use zmio::{Context, Error, Msg, Pub, Pull, Push, Rep, Req, Socket, Sub};

/// How long any single receive may wait before the test counts it as lost.
const PATIENCE: Duration = Duration::from_secs(10);

fn text(msg: &Msg) -> String {
    let frames: Vec<String> = msg
        .frames()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    frames.join("|")
}

/// A PULL bound to an ephemeral loopback port, with a receive timeout.
fn bound_pull(ctx: &Context) -> (Socket<Pull>, String) {
    let mut pull = ctx.socket::<Pull>().unwrap();
    pull.set_rcvtimeo(Some(PATIENCE)).unwrap();
    let endpoint = pull.bind("tcp://127.0.0.1:*").unwrap().to_string();
    (pull, endpoint)
}

/// An endpoint on a loopback port that was free a moment ago and has no listener now.
fn unused_endpoint(ctx: &Context) -> String {
    let (mut pull, endpoint) = bound_pull(ctx);
    pull.unbind(&endpoint).unwrap();
    endpoint
}

/// Receives until `want` arrives or the deadline passes; for the few cases
/// (slow joiners, reconnects) where earlier messages may legitimately be
/// lost. `attempt` sends a probe and receives with a short timeout.
fn recv_until<S>(attempt: &mut S, want: impl Fn(&Msg) -> bool) -> Msg
where
    S: FnMut() -> zmio::Result<Msg>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        assert!(Instant::now() < deadline, "the awaited message never came");
        match attempt() {
            Ok(msg) if want(&msg) => return msg,
            Ok(_) | Err(Error::TimedOut) => {}
            Err(e) => panic!("recv failed: {e}"),
        }
    }
}

/// Runs `f` on a thread of its own and fails the test if it has not
/// returned within [`PATIENCE`]: a close that waits forever is a failure to
/// report, not a hang.
fn returns_in_time(what: &str, f: impl FnOnce() + Send + 'static) {
    let (done, finished) = std::sync::mpsc::channel();
    thread::spawn(move || {
        f();
        let _ = done.send(());
    });
    assert!(
        finished.recv_timeout(PATIENCE).is_ok(),
        "{what} did not return within {PATIENCE:?}"
    );
}

/// Publishes `probe` until `sub` receives a message `want` accepts (the
/// subscription it depends on has then reached the publisher).
fn probe_until(
    publisher: &mut Socket<Pub>,
    sub: &mut Socket<Sub>,
    probe: &[&str],
    want: impl Fn(&Msg) -> bool,
) -> Msg {
    sub.set_rcvtimeo(Some(Duration::from_millis(20))).unwrap();
    let got = recv_until(
        &mut || {
            for p in probe {
                publisher.send(*p).unwrap();
            }
            sub.recv()
        },
        want,
    );
    sub.set_rcvtimeo(Some(PATIENCE)).unwrap();
    got
}

#[test]
fn push_pull_delivers_in_order_and_multipart_whole() {
    let ctx = Context::new().unwrap();
    let (mut pull, endpoint) = bound_pull(&ctx);
    let mut push = ctx.socket::<Push>().unwrap();
    push.connect(&endpoint).unwrap();
    for i in 0..1000 {
        push.send(format!("m{i}")).unwrap();
    }
    push.send(Msg::from_frames(["a", "", "c"])).unwrap();
    for i in 0..1000 {
        assert_eq!(text(&pull.recv().unwrap()), format!("m{i}"));
    }
    let multipart = pull.recv().unwrap();
    assert_eq!(multipart.frame_count(), 3);
    assert_eq!(text(&multipart), "a||c");
}

#[test]
fn push_spreads_round_robin_across_three_pullers() {
    let ctx = Context::new().unwrap();
    let mut pulls = Vec::new();
    let mut push = ctx.socket::<Push>().unwrap();
    for _ in 0..3 {
        let (pull, endpoint) = bound_pull(&ctx);
        push.connect(&endpoint).unwrap();
        pulls.push(pull);
    }
    // Each connect makes its queue at once, so the rotation covers all three
    // even before the connections are up.
    for i in 0..300 {
        push.send(format!("{i}")).unwrap();
    }
    for (n, pull) in pulls.iter_mut().enumerate() {
        for k in 0..100 {
            assert_eq!(text(&pull.recv().unwrap()), format!("{}", 3 * k + n));
        }
        assert!(matches!(pull.try_recv(), Err(Error::WouldBlock)));
    }
}

#[test]
fn bound_push_spreads_over_pullers_that_connect() {
    let ctx = Context::new().unwrap();
    let mut push = ctx.socket::<Push>().unwrap();
    let endpoint = push.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let mut pulls: Vec<Socket<Pull>> = (0..3)
        .map(|_| {
            let mut pull = ctx.socket::<Pull>().unwrap();
            pull.set_rcvtimeo(Some(PATIENCE)).unwrap();
            pull.connect(&endpoint).unwrap();
            pull
        })
        .collect();
    // Accepted peers join the rotation when their handshake completes: keep
    // sending until every puller has had a message, then check they all
    // keep getting a share.
    let mut seen = [false; 3];
    let mut sent = 0;
    let deadline = Instant::now() + PATIENCE;
    while seen.iter().any(|s| !s) {
        assert!(
            Instant::now() < deadline,
            "a puller never joined the rotation"
        );
        push.send(format!("{sent}")).unwrap();
        sent += 1;
        for (i, pull) in pulls.iter_mut().enumerate() {
            while pull.try_recv().is_ok() {
                seen[i] = true;
            }
        }
    }
    for i in 0..300 {
        push.send(format!("late{i}")).unwrap();
    }
    let mut late = [0; 3];
    let mut total = 0;
    let deadline = Instant::now() + PATIENCE;
    while total < 300 {
        assert!(Instant::now() < deadline, "late messages lost: {late:?}");
        for (i, pull) in pulls.iter_mut().enumerate() {
            match pull.try_recv() {
                Ok(m) if text(&m).starts_with("late") => {
                    late[i] += 1;
                    total += 1;
                }
                Ok(_) | Err(Error::WouldBlock) => {}
                Err(e) => panic!("{e}"),
            }
        }
    }
    assert_eq!(late, [100, 100, 100], "round robin over three live peers");
}

#[test]
fn pull_fair_queues_so_a_busy_peer_cannot_starve_a_quiet_one() {
    let ctx = Context::new().unwrap();
    let (mut pull, endpoint) = bound_pull(&ctx);
    let stop = Arc::new(AtomicBool::new(false));
    let busy = {
        let (endpoint, stop, ctx) = (endpoint.clone(), stop.clone(), ctx.clone());
        thread::spawn(move || {
            let mut push = ctx.socket::<Push>().unwrap();
            push.set_linger(Some(Duration::ZERO)).unwrap();
            push.set_sndtimeo(Some(Duration::from_millis(50))).unwrap();
            push.connect(&endpoint).unwrap();
            while !stop.load(Ordering::Relaxed) {
                match push.send("busy") {
                    Ok(()) | Err(Error::TimedOut) => {}
                    Err(e) => panic!("{e}"),
                }
            }
        })
    };
    // The busy peer is flowing before the quiet one starts.
    assert_eq!(text(&pull.recv().unwrap()), "busy");
    let mut quiet = ctx.socket::<Push>().unwrap();
    quiet.connect(&endpoint).unwrap();
    for i in 0..100 {
        quiet.send(format!("quiet{i}")).unwrap();
    }
    // With fair queuing the quiet peer's messages come through interleaved
    // with the busy one's; a reader that drained the busy peer first would
    // never get to them while it keeps sending.
    let mut busy_between = 0;
    let mut busy_max_gap = 0;
    let mut got = 0;
    let mut gap = 0;
    while got < 100 {
        let msg = pull.recv().unwrap();
        if text(&msg) == "busy" {
            if got > 0 {
                busy_between += 1;
                gap += 1;
            }
        } else {
            assert_eq!(text(&msg), format!("quiet{got}"));
            busy_max_gap = busy_max_gap.max(gap);
            gap = 0;
            got += 1;
        }
        assert!(busy_between < 10_000, "the quiet peer is starved");
    }
    stop.store(true, Ordering::Relaxed);
    busy.join().unwrap();
    assert!(
        busy_max_gap < 1000,
        "quiet messages were held back behind {busy_max_gap} busy ones"
    );
}

/// A PUB bound on loopback and a SUB connected to it with `prefixes`,
/// returned once a message on the `sync` topic got through (so the
/// subscription has reached the publisher).
fn joined_pub_sub(ctx: &Context, prefixes: &[&str]) -> (Socket<Pub>, Socket<Sub>, String) {
    let mut publisher = ctx.socket::<Pub>().unwrap();
    let endpoint = publisher.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let mut sub = ctx.socket::<Sub>().unwrap();
    sub.set_rcvtimeo(Some(Duration::from_millis(20))).unwrap();
    sub.connect(&endpoint).unwrap();
    for p in prefixes {
        sub.subscribe(p).unwrap();
    }
    sub.subscribe("sync").unwrap();
    probe_until(&mut publisher, &mut sub, &["sync"], |m| text(m) == "sync");
    sub.unsubscribe("sync").unwrap();
    // Earlier sync messages may still be in flight; drain them.
    sub.set_rcvtimeo(Some(Duration::from_millis(20))).unwrap();
    while let Ok(m) = sub.recv() {
        assert_eq!(text(&m), "sync");
    }
    sub.set_rcvtimeo(Some(PATIENCE)).unwrap();
    (publisher, sub, endpoint)
}

#[test]
fn sub_receives_only_its_prefixes() {
    let ctx = Context::new().unwrap();
    let (mut publisher, mut sub, _) = joined_pub_sub(&ctx, &["weather.", "news"]);
    for topic in [
        "weather.rain",
        "sports",
        "newsflash",
        "weathe",
        "",
        "news",
        "weather.",
    ] {
        publisher.send(Msg::from_frames([topic, "body"])).unwrap();
    }
    publisher.send("end").unwrap();
    sub.subscribe("end").unwrap();
    // `end` was published before that subscription could take effect; the
    // published order of the matching ones is what must come through.
    let want = [
        "weather.rain|body",
        "newsflash|body",
        "news|body",
        "weather.|body",
    ];
    for w in want {
        assert_eq!(text(&sub.recv().unwrap()), w);
    }
    sub.set_rcvtimeo(Some(Duration::from_millis(200))).unwrap();
    assert!(matches!(sub.recv(), Err(Error::TimedOut)), "nothing else");
}

#[test]
fn sub_unsubscribes_and_empty_prefix_takes_everything() {
    let ctx = Context::new().unwrap();
    let (mut publisher, mut sub, _) = joined_pub_sub(&ctx, &["a"]);
    sub.unsubscribe("a").unwrap();
    sub.subscribe("").unwrap();
    // Everything from now on, including topics the old filter refused,
    // once the new subscription has arrived at the publisher.
    probe_until(&mut publisher, &mut sub, &["b-probe"], |m| {
        text(m) == "b-probe"
    });
    sub.unsubscribe("").unwrap();
    sub.subscribe("z").unwrap();
    probe_until(&mut publisher, &mut sub, &["b-ignored", "z-probe"], |m| {
        text(m) == "z-probe"
    });
    // From here on the publisher has the new set: only z messages pass.
    for i in 0..50 {
        publisher.send(format!("a{i}")).unwrap();
        publisher.send(format!("z{i}")).unwrap();
    }
    let mut z = 0;
    while z < 50 {
        let m = text(&sub.recv().unwrap());
        assert!(m.starts_with('z') || m.starts_with('b'), "{m}");
        if m.starts_with('z') && m != "z-probe" {
            assert_eq!(m, format!("z{z}"));
            z += 1;
        }
    }
}

#[test]
fn pub_fans_out_to_every_matching_subscriber() {
    let ctx = Context::new().unwrap();
    let (mut publisher, mut first, endpoint) = joined_pub_sub(&ctx, &["x"]);
    let mut second = ctx.socket::<Sub>().unwrap();
    second.set_rcvtimeo(Some(PATIENCE)).unwrap();
    second.connect(&endpoint).unwrap();
    second.subscribe("x").unwrap();
    probe_until(&mut publisher, &mut second, &["x-probe"], |_| true);
    for i in 0..100 {
        publisher.send(format!("x{i}")).unwrap();
    }
    for sub in [&mut first, &mut second] {
        let mut next = 0;
        while next < 100 {
            let m = text(&sub.recv().unwrap());
            if m != "x-probe" {
                assert_eq!(m, format!("x{next}"));
                next += 1;
            }
        }
    }
}

#[test]
fn req_rep_round_trips_and_enforces_turns() {
    let ctx = Context::new().unwrap();
    let mut rep = ctx.socket::<Rep>().unwrap();
    rep.set_rcvtimeo(Some(PATIENCE)).unwrap();
    let endpoint = rep.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let mut req = ctx.socket::<Req>().unwrap();
    req.set_rcvtimeo(Some(PATIENCE)).unwrap();
    req.connect(&endpoint).unwrap();

    assert!(matches!(req.recv(), Err(Error::InvalidState(_))));
    assert!(matches!(rep.send("x"), Err(Error::InvalidState(_))));
    for i in 0..20 {
        req.send(Msg::from_frames([format!("q{i}"), String::new()]))
            .unwrap();
        assert!(matches!(req.send("again"), Err(Error::InvalidState(_))));
        let request = rep.recv().unwrap();
        assert_eq!(request.frame_count(), 2, "the envelope is not shown to REP");
        assert_eq!(text(&request), format!("q{i}|"));
        assert!(matches!(rep.recv(), Err(Error::InvalidState(_))));
        rep.send(format!("a{i}")).unwrap();
        assert_eq!(text(&req.recv().unwrap()), format!("a{i}"));
    }
}

/// REQ and REP write a message from their own thread when the connection
/// is idle; one too large for the socket buffer is finished by the reactor.
/// Large and small requests and replies in turn must arrive whole and in
/// order, over tcp and ipc.
#[test]
fn req_rep_large_and_small_messages_in_turn_arrive_whole() {
    let ctx = Context::new().unwrap();
    for endpoint in ["tcp://127.0.0.1:*", "ipc://*"] {
        let mut rep = ctx.socket::<Rep>().unwrap();
        rep.set_rcvtimeo(Some(PATIENCE)).unwrap();
        let endpoint = rep.bind(endpoint).unwrap().to_string();
        let mut req = ctx.socket::<Req>().unwrap();
        req.set_rcvtimeo(Some(PATIENCE)).unwrap();
        req.connect(&endpoint).unwrap();
        let server = thread::spawn(move || {
            for _ in 0..6 {
                let request = rep.recv().unwrap();
                rep.send(request).unwrap();
            }
        });
        for (i, size) in [10 << 20, 3, 4 << 20, 0, 300_000, 17]
            .into_iter()
            .enumerate()
        {
            let body = bytes::Bytes::from(vec![i as u8; size]);
            req.send(Msg::from_frames([
                bytes::Bytes::from(format!("{i}")),
                body.clone(),
            ]))
            .unwrap();
            let reply = req.recv().unwrap();
            assert_eq!(reply.frame_count(), 2, "{endpoint} #{i}");
            assert_eq!(&reply.frame(0).unwrap()[..], format!("{i}").as_bytes());
            assert!(reply.frame(1).unwrap() == &body, "{endpoint} #{i}: body");
        }
        server.join().unwrap();
    }
}

#[test]
fn req_load_balances_requests_over_its_services() {
    let ctx = Context::new().unwrap();
    let mut req = ctx.socket::<Req>().unwrap();
    req.set_rcvtimeo(Some(PATIENCE)).unwrap();
    let mut services = Vec::new();
    for name in ["one", "two"] {
        let mut rep = ctx.socket::<Rep>().unwrap();
        let endpoint = rep.bind("tcp://127.0.0.1:*").unwrap().to_string();
        req.connect(&endpoint).unwrap();
        services.push(thread::spawn(move || {
            rep.set_rcvtimeo(Some(PATIENCE)).unwrap();
            for _ in 0..5 {
                let request = rep.recv().unwrap();
                let body = request.frame(0).unwrap().clone();
                rep.send(Msg::from_frames([
                    bytes::Bytes::from_static(name.as_bytes()),
                    body,
                ]))
                .unwrap();
            }
        }));
    }
    let mut by_service: HashMap<String, usize> = HashMap::new();
    for i in 0..10 {
        req.send(format!("{i}")).unwrap();
        let reply = req.recv().unwrap();
        assert_eq!(&reply.frame(1).unwrap()[..], format!("{i}").as_bytes());
        *by_service
            .entry(String::from_utf8_lossy(reply.frame(0).unwrap()).into_owned())
            .or_default() += 1;
    }
    for s in services {
        s.join().unwrap();
    }
    assert_eq!(by_service.get("one"), Some(&5));
    assert_eq!(by_service.get("two"), Some(&5));
}

#[test]
fn push_reconnects_after_the_puller_restarts_on_the_same_port() {
    let ctx = Context::new().unwrap();
    let (mut pull, endpoint) = bound_pull(&ctx);
    let mut push = ctx.socket::<Push>().unwrap();
    push.connect(&endpoint).unwrap();
    push.send("before").unwrap();
    assert_eq!(text(&pull.recv().unwrap()), "before");
    drop(pull);

    let mut restarted = ctx.socket::<Pull>().unwrap();
    restarted
        .set_rcvtimeo(Some(Duration::from_millis(50)))
        .unwrap();
    restarted.bind(&endpoint).unwrap();
    // A message written before the PUSH noticed the old connection died is
    // lost with it (libzmq too); later ones arrive over the new connection.
    let mut n = 0;
    recv_until(
        &mut || {
            n += 1;
            push.send(format!("after{n}")).unwrap();
            restarted.recv()
        },
        |m| text(m).starts_with("after"),
    );
}

#[test]
fn connect_before_bind_delivers_once_the_peer_appears() {
    let ctx = Context::new().unwrap();
    let endpoint = unused_endpoint(&ctx);
    let mut push = ctx.socket::<Push>().unwrap();
    push.set_reconnect_ivl(Some(Duration::from_millis(20)))
        .unwrap();
    push.connect(&endpoint).unwrap();
    for i in 0..10 {
        push.send(format!("{i}")).unwrap();
    }
    let mut pull = ctx.socket::<Pull>().unwrap();
    pull.set_rcvtimeo(Some(PATIENCE)).unwrap();
    pull.bind(&endpoint).unwrap();
    for i in 0..10 {
        assert_eq!(text(&pull.recv().unwrap()), format!("{i}"));
    }
}

#[test]
fn sub_resubscribes_after_the_publisher_restarts() {
    let ctx = Context::new().unwrap();
    let (publisher, mut sub, endpoint) = joined_pub_sub(&ctx, &["t"]);
    drop(publisher);
    let mut restarted = ctx.socket::<Pub>().unwrap();
    restarted.bind(&endpoint).unwrap();
    probe_until(
        &mut restarted,
        &mut sub,
        &["u-not-subscribed", "t-again"],
        |m| {
            assert_eq!(text(m), "t-again", "only subscribed topics pass");
            true
        },
    );
}

#[test]
fn push_blocks_at_the_high_water_mark() {
    let ctx = Context::new().unwrap();
    let mut push = ctx.socket::<Push>().unwrap();
    assert!(
        matches!(push.try_send("no peer"), Err(Error::WouldBlock)),
        "with no peer at all there is nowhere to queue"
    );
    push.set_sndhwm(10).unwrap();
    push.set_linger(Some(Duration::ZERO)).unwrap();
    // A peer that is not there yet: the queue fills to the mark, then blocks.
    push.connect(&unused_endpoint(&ctx)).unwrap();
    for i in 0..10 {
        push.try_send(format!("{i}")).unwrap();
    }
    assert!(matches!(push.try_send("11th"), Err(Error::WouldBlock)));
    push.set_sndtimeo(Some(Duration::from_millis(30))).unwrap();
    assert!(matches!(push.send("11th"), Err(Error::TimedOut)));
}

#[test]
fn blocked_push_resumes_when_the_puller_drains() {
    let ctx = Context::new().unwrap();
    let (mut pull, endpoint) = bound_pull(&ctx);
    pull.set_rcvhwm(5).unwrap();
    let mut push = ctx.socket::<Push>().unwrap();
    push.set_sndhwm(5).unwrap();
    push.connect(&endpoint).unwrap();
    // Far more than both queues and the kernel's buffers can hold at once,
    // so the sender must block and be woken as the receiver drains.
    let payload = bytes::Bytes::from(vec![7u8; 64 * 1024]);
    let sender = thread::spawn(move || {
        for _ in 0..400 {
            push.send(payload.clone()).unwrap();
        }
    });
    for _ in 0..400 {
        assert_eq!(pull.recv().unwrap().size(), 64 * 1024);
    }
    sender.join().unwrap();
}

/// The reactor hands decoded messages over in batches sized by the room it
/// saw, while the socket drains the pipe at the same time: every message
/// must still arrive, with no stall (reads are edge-triggered, so a decoded
/// message left behind would wait for bytes that never come).
#[test]
fn a_small_receive_queue_drained_while_filling_loses_and_stalls_nothing() {
    let ctx = Context::new().unwrap();
    let mut small = ctx.socket::<Pull>().unwrap();
    small.set_rcvhwm(7).unwrap();
    small.set_rcvtimeo(Some(PATIENCE)).unwrap();
    let small_endpoint = small.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let sender = thread::spawn(move || {
        let ctx = Context::new().unwrap();
        let mut push = ctx.socket::<Push>().unwrap();
        push.connect(&small_endpoint).unwrap();
        for i in 0..200_000u32 {
            push.send(i.to_be_bytes().to_vec()).unwrap();
        }
    });
    for i in 0..200_000u32 {
        let msg = small.recv().unwrap_or_else(|e| panic!("message {i}: {e}"));
        assert_eq!(&msg.frame(0).unwrap()[..], i.to_be_bytes());
    }
    sender.join().unwrap();
}

#[test]
fn pub_drops_for_a_subscriber_at_its_high_water_mark_and_never_blocks() {
    let ctx = Context::new().unwrap();
    let mut publisher = ctx.socket::<Pub>().unwrap();
    publisher.set_sndhwm(10).unwrap();
    let endpoint = publisher.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let mut sub = ctx.socket::<Sub>().unwrap();
    sub.set_rcvhwm(10).unwrap();
    sub.connect(&endpoint).unwrap();
    sub.subscribe("").unwrap();
    probe_until(&mut publisher, &mut sub, &["sync"], |_| true);
    sub.set_rcvtimeo(Some(Duration::from_millis(20))).unwrap();
    // The subscriber does not read: the publisher's sends must all return
    // at once, and most of them are dropped.
    const SENT: usize = 200_000;
    let payload = bytes::Bytes::from(vec![1u8; 1024]);
    for _ in 0..SENT {
        publisher.try_send(payload.clone()).unwrap();
    }
    publisher.send("last").unwrap();
    let mut received = 0;
    loop {
        match sub.recv() {
            Ok(m) if text(&m) == "sync" => {}
            Ok(_) => received += 1,
            Err(Error::TimedOut) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(received > 0, "the subscriber got nothing at all");
    assert!(
        received < SENT / 2,
        "{received} of {SENT} arrived: the publisher should have dropped"
    );
}

#[test]
fn closing_a_push_delivers_its_queue_when_the_peer_comes_later() {
    let ctx = Context::new().unwrap();
    let endpoint = unused_endpoint(&ctx);
    let mut push = ctx.socket::<Push>().unwrap();
    push.set_reconnect_ivl(Some(Duration::from_millis(20)))
        .unwrap();
    push.connect(&endpoint).unwrap();
    for i in 0..5 {
        push.send(format!("{i}")).unwrap();
    }
    // Default linger: the socket is gone, its messages are still delivered.
    drop(push);
    let mut pull = ctx.socket::<Pull>().unwrap();
    pull.set_rcvtimeo(Some(PATIENCE)).unwrap();
    pull.bind(&endpoint).unwrap();
    for i in 0..5 {
        assert_eq!(text(&pull.recv().unwrap()), format!("{i}"));
    }
}

#[test]
fn zero_linger_discards_the_queue_on_close() {
    let ctx = Context::new().unwrap();
    let endpoint = unused_endpoint(&ctx);
    let mut push = ctx.socket::<Push>().unwrap();
    push.set_linger(Some(Duration::ZERO)).unwrap();
    push.connect(&endpoint).unwrap();
    push.send("discarded").unwrap();
    drop(push);
    let mut pull = ctx.socket::<Pull>().unwrap();
    pull.bind(&endpoint).unwrap();
    let mut check = ctx.socket::<Push>().unwrap();
    check.connect(&endpoint).unwrap();
    check.send("kept").unwrap();
    pull.set_rcvtimeo(Some(PATIENCE)).unwrap();
    assert_eq!(text(&pull.recv().unwrap()), "kept");
    pull.set_rcvtimeo(Some(Duration::from_millis(100))).unwrap();
    assert!(matches!(pull.recv(), Err(Error::TimedOut)));
}

#[test]
fn dropping_the_context_waits_no_longer_than_the_linger() {
    let ctx = Context::new().unwrap();
    let endpoint = unused_endpoint(&ctx);
    let mut push = ctx.socket::<Push>().unwrap();
    push.set_linger(Some(Duration::from_millis(100))).unwrap();
    push.connect(&endpoint).unwrap();
    push.send("never delivered").unwrap();
    drop(push);
    // With no peer ever, only the linger bound lets this return.
    returns_in_time("dropping the context", move || drop(ctx));
}

#[test]
fn a_sub_whose_publisher_never_appeared_does_not_hold_up_the_context() {
    let ctx = Context::new().unwrap();
    let endpoint = unused_endpoint(&ctx);
    let mut sub = ctx.socket::<Sub>().unwrap();
    sub.connect(&endpoint).unwrap();
    sub.subscribe("queued but never sent").unwrap();
    // Default (infinite) linger: subscriptions are not worth waiting for,
    // so this returns.
    returns_in_time("closing the SUB and its context", move || {
        drop(sub);
        drop(ctx);
    });
}

#[test]
fn a_connected_pub_keeps_nothing_for_a_subscriber_that_left() {
    let ctx = Context::new().unwrap();
    let mut sub = ctx.socket::<Sub>().unwrap();
    let endpoint = sub.bind("tcp://127.0.0.1:*").unwrap().to_string();
    sub.subscribe("").unwrap();
    let mut publisher = ctx.socket::<Pub>().unwrap();
    publisher.connect(&endpoint).unwrap();
    probe_until(&mut publisher, &mut sub, &["hello"], |_| true);
    drop(sub);
    // The publisher notices the subscriber left when its connection ends;
    // from then on nothing is queued for it, so closing with the default
    // (infinite) linger returns instead of waiting for a peer that is gone.
    for i in 0..1000 {
        publisher.send(format!("{i}")).unwrap();
    }
    returns_in_time("closing the PUB and its context", move || {
        drop(publisher);
        drop(ctx);
    });
}

#[test]
fn one_socket_binds_and_connects_several_endpoints() {
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket::<Pull>().unwrap();
    pull.set_rcvtimeo(Some(PATIENCE)).unwrap();
    let a = pull.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let b = pull.bind("tcp://127.0.0.1:*").unwrap().to_string();
    assert_eq!(pull.last_endpoint(), Some(b.as_str()));
    let remote = ctx.socket::<Push>().unwrap();
    let mut remote_bound = remote;
    let c = remote_bound.bind("tcp://127.0.0.1:*").unwrap().to_string();
    pull.connect(&c).unwrap();
    let mut to_a = ctx.socket::<Push>().unwrap();
    to_a.connect(&a).unwrap();
    let mut to_b = ctx.socket::<Push>().unwrap();
    to_b.connect(&b).unwrap();
    to_a.send("via a").unwrap();
    to_b.send("via b").unwrap();
    remote_bound.send("via c").unwrap();
    let mut got: Vec<String> = (0..3).map(|_| text(&pull.recv().unwrap())).collect();
    got.sort();
    assert_eq!(got, ["via a", "via b", "via c"]);

    // Unbinding frees the port at once and keeps the other endpoints.
    pull.unbind(&a).unwrap();
    let mut other = ctx.socket::<Pull>().unwrap();
    other.bind(&a).unwrap();
    assert!(matches!(pull.unbind(&a), Err(Error::EndpointNotFound(_))));
    to_b.send("still b").unwrap();
    assert_eq!(text(&pull.recv().unwrap()), "still b");
    pull.disconnect(&c).unwrap();
    assert!(matches!(
        pull.disconnect(&c),
        Err(Error::EndpointNotFound(_))
    ));
}

#[test]
fn disconnect_takes_a_peer_out_of_the_rotation() {
    let ctx = Context::new().unwrap();
    let (mut first, a) = bound_pull(&ctx);
    let (mut second, b) = bound_pull(&ctx);
    let mut push = ctx.socket::<Push>().unwrap();
    push.connect(&a).unwrap();
    push.connect(&b).unwrap();
    push.send("1").unwrap();
    push.send("2").unwrap();
    assert_eq!(text(&first.recv().unwrap()), "1");
    assert_eq!(text(&second.recv().unwrap()), "2");
    push.disconnect(&a).unwrap();
    for i in 0..10 {
        push.send(format!("b{i}")).unwrap();
    }
    for i in 0..10 {
        assert_eq!(text(&second.recv().unwrap()), format!("b{i}"));
    }
    first
        .set_rcvtimeo(Some(Duration::from_millis(100)))
        .unwrap();
    assert!(matches!(first.recv(), Err(Error::TimedOut)));
}

#[test]
fn host_names_and_ipv6_loopback_work() {
    let ctx = Context::new().unwrap();
    let (mut pull, endpoint) = bound_pull(&ctx);
    let port = endpoint.rsplit(':').next().unwrap();
    let mut push = ctx.socket::<Push>().unwrap();
    push.connect(&format!("tcp://localhost:{port}")).unwrap();
    push.send("by name").unwrap();
    assert_eq!(text(&pull.recv().unwrap()), "by name");

    // IPv6 only where the machine has a ::1 to bind.
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here: the IPv6 half is skipped");
        return;
    }
    let mut pull6 = ctx.socket::<Pull>().unwrap();
    pull6.set_rcvtimeo(Some(PATIENCE)).unwrap();
    let endpoint6 = pull6.bind("tcp://[::1]:*").unwrap().to_string();
    assert!(endpoint6.starts_with("tcp://[::1]:"), "{endpoint6}");
    let mut push6 = ctx.socket::<Push>().unwrap();
    push6.connect(&endpoint6).unwrap();
    push6.send("over v6").unwrap();
    assert_eq!(text(&pull6.recv().unwrap()), "over v6");
}

#[test]
fn errors_come_at_the_call() {
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket::<Pull>().unwrap();
    for bad in [
        "",
        "tcp://",
        "tcp://127.0.0.1",
        "tcp://h:99999",
        "nope://x:1",
    ] {
        assert!(
            matches!(pull.bind(bad), Err(Error::InvalidEndpoint { .. })),
            "{bad}"
        );
        assert!(
            matches!(pull.connect(bad), Err(Error::InvalidEndpoint { .. })),
            "{bad}"
        );
    }
    assert!(matches!(
        pull.connect("tcp://*:5555"),
        Err(Error::InvalidEndpoint { .. })
    ));
    let endpoint = pull.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let mut other = ctx.socket::<Pull>().unwrap();
    let err = other.bind(&endpoint).unwrap_err();
    assert!(matches!(err, Error::AddrInUse(_)), "{err}");
    assert!(err.to_string().contains(&endpoint));
    assert!(matches!(
        other.set_routing_id(""),
        Err(Error::InvalidOption { .. })
    ));
    assert!(matches!(
        other.set_reconnect_ivl(Some(Duration::ZERO)),
        Err(Error::InvalidOption { .. })
    ));
    other.set_rcvtimeo(Some(Duration::from_millis(10))).unwrap();
    assert!(matches!(other.recv(), Err(Error::TimedOut)));
    assert!(matches!(other.try_recv(), Err(Error::WouldBlock)));
}

/// Sockets with the kernel-level options set (buffer sizes, type of
/// service, keepalive timers) still carry messages, over tcp and ipc (where
/// the tcp-only ones do nothing); bad values are refused at the call.
#[test]
fn socket_buffer_tos_and_keepalive_options_leave_messages_flowing() {
    let ctx = Context::new().unwrap();
    for transport in ["tcp://127.0.0.1:*", "ipc://*"] {
        let mut rep = ctx.socket::<Rep>().unwrap();
        let mut req = ctx.socket::<Req>().unwrap();
        set_kernel_options(&mut rep, 8 * 1024, 16 * 1024);
        set_kernel_options(&mut req, 16 * 1024, 8 * 1024);
        rep.set_rcvtimeo(Some(PATIENCE)).unwrap();
        req.set_rcvtimeo(Some(PATIENCE)).unwrap();
        let endpoint = rep.bind(transport).unwrap().to_string();
        req.connect(&endpoint).unwrap();
        // Large enough to need many trips through the small buffers.
        let body = bytes::Bytes::from(vec![7u8; 1 << 20]);
        for i in 0..3 {
            req.send(Msg::from_frames([body.clone()])).unwrap();
            let got = rep.recv().unwrap();
            assert!(got.frame(0) == Some(&body), "{transport} #{i}");
            rep.send(format!("ok {i}")).unwrap();
            assert_eq!(text(&req.recv().unwrap()), format!("ok {i}"));
        }
    }

    let mut s = ctx.socket::<Pull>().unwrap();
    let refused = |r: zmio::Result<()>| matches!(r, Err(Error::InvalidOption { .. }));
    assert!(refused(s.set_sndbuf(Some(0))));
    assert!(refused(s.set_rcvbuf(Some(0))));
    assert!(refused(s.set_sndbuf(Some(1 << 31))));
    assert!(refused(s.set_rcvbuf(Some(usize::MAX))));
    assert!(refused(s.set_tos(256)));
    assert!(refused(s.set_tcp_keepalive_cnt(0)));
    assert!(refused(s.set_tcp_keepalive_cnt(128)));
    assert!(refused(s.set_tcp_keepalive_intvl(Duration::ZERO)));
    assert!(refused(
        s.set_tcp_keepalive_intvl(Duration::from_millis(1500))
    ));
    assert!(refused(
        s.set_tcp_keepalive_intvl(Duration::from_secs(32_768))
    ));
    s.set_sndbuf(None).unwrap();
    s.set_rcvbuf(Some(i32::MAX as usize)).unwrap();
    s.set_tos(255).unwrap();
    s.set_tcp_keepalive_cnt(127).unwrap();
    s.set_tcp_keepalive_intvl(Duration::from_secs(32_767))
        .unwrap();
}

/// Small kernel buffers, a type of service and keepalive timers.
fn set_kernel_options<T: zmio::SocketType>(s: &mut Socket<T>, sndbuf: usize, rcvbuf: usize) {
    s.set_sndbuf(Some(sndbuf)).unwrap();
    s.set_rcvbuf(Some(rcvbuf)).unwrap();
    s.set_tos(0x10).unwrap();
    s.set_tcp_keepalive(Some(true)).unwrap();
    s.set_tcp_keepalive_idle(Duration::from_secs(60)).unwrap();
    s.set_tcp_keepalive_intvl(Duration::from_secs(5)).unwrap();
    s.set_tcp_keepalive_cnt(3).unwrap();
}

#[test]
fn sockets_on_several_io_threads_talk() {
    let ctx = Context::with_io_threads(2).unwrap();
    let (mut pull, endpoint) = bound_pull(&ctx);
    let mut pushes: Vec<Socket<Push>> = (0..4)
        .map(|_| {
            let mut p = ctx.socket::<Push>().unwrap();
            p.connect(&endpoint).unwrap();
            p
        })
        .collect();
    for (i, p) in pushes.iter_mut().enumerate() {
        p.send(format!("{i}")).unwrap();
    }
    let mut got: Vec<String> = (0..4).map(|_| text(&pull.recv().unwrap())).collect();
    got.sort();
    assert_eq!(got, ["0", "1", "2", "3"]);
    assert!(Context::with_io_threads(0).is_err());
}

#[test]
fn push_moves_a_lost_peers_queued_messages_to_live_peers() {
    // Big messages and small kernel buffers, so that most of what the dead
    // peer was sent still waits in zmio's own queue when it goes: at most
    // a few are in the connection's write batch and the kernel, and lost
    // with it (as with libzmq); the queued ones must reach the live peer.
    const N: usize = 60;
    const SIZE: usize = 256 * 1024;
    let ctx = Context::new().unwrap();
    let mut push = ctx.socket::<Push>().unwrap();
    push.set_sndhwm(20).unwrap();
    push.set_sndbuf(Some(64 * 1024)).unwrap();
    push.set_sndtimeo(Some(Duration::from_secs(10))).unwrap();
    let endpoint = push.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let mut doomed = ctx.socket::<Pull>().unwrap();
    doomed.set_rcvhwm(1).unwrap();
    doomed.set_rcvbuf(Some(64 * 1024)).unwrap();
    doomed.set_linger(Some(Duration::ZERO)).unwrap();
    doomed.set_rcvtimeo(Some(Duration::from_secs(10))).unwrap();
    doomed.connect(&endpoint).unwrap();
    // The doomed peer takes the first message, so both are attached before
    // the numbered ones go out round robin.
    push.send("hello").unwrap();
    assert_eq!(text(&doomed.recv().unwrap()), "hello");
    let live_ctx = Context::new().unwrap();
    let mut live = live_ctx.socket::<Pull>().unwrap();
    live.set_rcvtimeo(Some(Duration::from_millis(100))).unwrap();
    live.connect(&endpoint).unwrap();
    // Until the live peer is attached, probes go round robin to both.
    loop {
        push.send("probe").unwrap();
        if live.recv().is_ok() {
            break;
        }
    }
    let (progress, enough) = std::sync::mpsc::channel();
    let receiver = thread::spawn(move || {
        let mut numbered = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline && numbered.len() < N - 12 {
            if let Ok(m) = live.recv()
                && m.frame(0).is_some_and(|f| f.len() == SIZE)
            {
                numbered.push(usize::from(m.frame(1).unwrap()[0]));
            }
        }
        let _ = progress.send(());
        numbered
    });
    let body = bytes::Bytes::from(vec![0u8; SIZE]);
    for n in 0..N {
        push.send(Msg::from_frames([
            body.clone(),
            bytes::Bytes::from(vec![n as u8]),
        ]))
        .unwrap();
    }
    // The doomed peer dies with its queue full.
    drop(doomed);
    // A send lets the PUSH see the loss and move that queue: poke it with
    // small messages until the live peer has what it should.
    while enough.recv_timeout(Duration::from_millis(20)).is_err() && !receiver.is_finished() {
        push.send("poke").unwrap();
    }
    let numbered = receiver.join().unwrap();
    let mut unique = numbered.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), numbered.len(), "no duplicates");
    // Half went to the doomed peer; of those at most a handful were in
    // flight when it died. Without re-routing, the live peer would have
    // only about N/2.
    assert!(
        numbered.len() >= N - 12,
        "the live peer got {} of {N}: {numbered:?}",
        numbered.len()
    );
}
