//! One suite, every transport: each messaging pattern runs over tcp, ipc and
//! inproc (see `common::endpoints`), then what is particular to inproc.

mod common;

use std::thread;
use std::time::Duration;

use zmio::{
    Context, Dealer, Error, Msg, Pair, Pub, Pull, Push, RecvSocketType, Rep, Req, Router, Socket,
    Sub, Transport, XPub, XSub,
};

use common::{PATIENCE, another, endpoints, fresh_inproc, socket};

fn text<T: RecvSocketType>(s: &mut Socket<T>) -> String {
    let m = s.recv().expect("recv");
    String::from_utf8_lossy(m.frame(0).expect("a frame")).into_owned()
}

fn msg(parts: &[&[u8]]) -> Msg {
    Msg::from_frames(parts.iter().map(|p| p.to_vec()))
}

fn frames<T: RecvSocketType>(s: &mut Socket<T>) -> Vec<Vec<u8>> {
    s.recv()
        .expect("recv")
        .frames()
        .map(|f| f.to_vec())
        .collect()
}

#[test]
fn push_load_balances_and_pull_fair_queues_on_every_transport() {
    for transport in endpoints() {
        let ctx = Context::new().unwrap();
        let mut pull = socket::<Pull>(&ctx);
        let endpoint = pull.bind(transport).unwrap().to_string();
        let mut pushes: Vec<Socket<Push>> = (0..3).map(|_| socket::<Push>(&ctx)).collect();
        for p in &mut pushes {
            p.connect(&endpoint).unwrap();
        }
        for (i, p) in pushes.iter_mut().enumerate() {
            for n in 0..100 {
                p.send(format!("{i}:{n}")).unwrap();
            }
        }
        let mut next = [0usize; 3];
        for _ in 0..300 {
            let got = text(&mut pull);
            let (who, n) = got.split_once(':').unwrap();
            let who: usize = who.parse().unwrap();
            assert_eq!(
                n.parse::<usize>().unwrap(),
                next[who],
                "{transport}: in order per peer"
            );
            next[who] += 1;
        }
        assert_eq!(next, [100; 3], "{transport}");

        // Out: one PUSH, three PULLs, round robin once all are there.
        let mut push = socket::<Push>(&ctx);
        let endpoint = push.bind(another(transport)).unwrap().to_string();
        let mut pulls: Vec<Socket<Pull>> = (0..3).map(|_| socket::<Pull>(&ctx)).collect();
        for p in &mut pulls {
            p.connect(&endpoint).unwrap();
        }
        // Each PULL confirms its connection before the round robin starts.
        for p in &mut pulls {
            loop {
                push.send("probe").unwrap();
                if p.recv_timeout_ok() {
                    break;
                }
            }
        }
        for p in &mut pulls {
            while p.try_recv().is_ok() {}
        }
        for n in 0..30 {
            push.send(format!("{n}")).unwrap();
        }
        let mut total = 0;
        for p in &mut pulls {
            let mut mine = 0;
            p.set_rcvtimeo(Some(Duration::from_millis(300))).unwrap();
            // Probes still in flight may arrive late: they do not count.
            while let Ok(m) = p.recv() {
                if m.frame(0).is_some_and(|f| &f[..] != b"probe") {
                    mine += 1;
                }
            }
            assert_eq!(mine, 10, "{transport}: an even share");
            total += mine;
        }
        assert_eq!(total, 30);
    }
}

/// Receives with a short timeout; true if something came.
trait RecvSoon {
    fn recv_timeout_ok(&mut self) -> bool;
}

impl<T: RecvSocketType> RecvSoon for Socket<T> {
    fn recv_timeout_ok(&mut self) -> bool {
        self.set_rcvtimeo(Some(Duration::from_millis(20))).unwrap();
        let ok = self.recv().is_ok();
        self.set_rcvtimeo(Some(PATIENCE)).unwrap();
        ok
    }
}

#[test]
fn pub_sub_filters_by_prefix_on_every_transport() {
    for transport in endpoints() {
        let ctx = Context::new().unwrap();
        let mut publisher = socket::<Pub>(&ctx);
        let endpoint = publisher.bind(transport).unwrap().to_string();
        let mut news = socket::<Sub>(&ctx);
        news.subscribe("news").unwrap();
        news.connect(&endpoint).unwrap();
        let mut all = socket::<Sub>(&ctx);
        all.subscribe("").unwrap();
        all.connect(&endpoint).unwrap();
        // Until both subscriptions are in, messages may be dropped.
        loop {
            publisher.send("news.warmup").unwrap();
            if news.recv_timeout_ok() && all.recv_timeout_ok() {
                break;
            }
        }
        while news.try_recv().is_ok() {}
        while all.try_recv().is_ok() {}
        publisher.send("weather.1").unwrap();
        publisher.send("news.1").unwrap();
        assert_eq!(text(&mut news), "news.1", "{transport}");
        assert_eq!(text(&mut all), "weather.1", "{transport}");
        assert_eq!(text(&mut all), "news.1", "{transport}");
        news.unsubscribe("news").unwrap();
        news.subscribe("sport").unwrap();
        loop {
            publisher.send("sport.warmup").unwrap();
            if news.recv_timeout_ok() {
                break;
            }
        }
        publisher.send("news.2").unwrap();
        publisher.send("sport.2").unwrap();
        assert_eq!(text(&mut news), "sport.2", "{transport}: news.2 filtered");
    }
}

#[test]
fn req_rep_and_dealer_router_on_every_transport() {
    for transport in endpoints() {
        let ctx = Context::new().unwrap();
        let mut rep = socket::<Rep>(&ctx);
        let endpoint = rep.bind(transport).unwrap().to_string();
        let mut req = socket::<Req>(&ctx);
        req.connect(&endpoint).unwrap();
        for i in 0..10 {
            req.send(format!("q{i}")).unwrap();
            assert_eq!(text(&mut rep), format!("q{i}"), "{transport}");
            rep.send(format!("a{i}")).unwrap();
            assert_eq!(text(&mut req), format!("a{i}"), "{transport}");
        }

        let mut router = socket::<Router>(&ctx);
        let endpoint = router.bind(another(transport)).unwrap().to_string();
        let mut dealer = socket::<Dealer>(&ctx);
        dealer.set_routing_id("d1").unwrap();
        dealer.connect(&endpoint).unwrap();
        dealer.send(msg(&[b"a", b"", b"b"])).unwrap();
        assert_eq!(
            frames(&mut router),
            [&b"d1"[..], b"a", b"", b"b"],
            "{transport}"
        );
        router.send(msg(&[b"d1", b"back"])).unwrap();
        assert_eq!(text(&mut dealer), "back", "{transport}");
    }
}

#[test]
fn pair_and_xpub_xsub_on_every_transport() {
    for transport in endpoints() {
        let ctx = Context::new().unwrap();
        let mut a = socket::<Pair>(&ctx);
        let endpoint = a.bind(transport).unwrap().to_string();
        let mut b = socket::<Pair>(&ctx);
        b.connect(&endpoint).unwrap();
        a.send("ping").unwrap();
        assert_eq!(text(&mut b), "ping", "{transport}");
        b.send("pong").unwrap();
        assert_eq!(text(&mut a), "pong", "{transport}");

        let mut xpub = socket::<XPub>(&ctx);
        let endpoint = xpub.bind(another(transport)).unwrap().to_string();
        let mut xsub = socket::<XSub>(&ctx);
        xsub.connect(&endpoint).unwrap();
        xsub.send("\x01topic").unwrap();
        assert_eq!(frames(&mut xpub), [b"\x01topic"], "{transport}");
        xpub.send("topic.1").unwrap();
        assert_eq!(text(&mut xsub), "topic.1", "{transport}");
    }
}

#[test]
fn big_and_multipart_messages_on_every_transport() {
    for transport in endpoints() {
        let ctx = Context::new().unwrap();
        let mut pull = socket::<Pull>(&ctx);
        let endpoint = pull.bind(transport).unwrap().to_string();
        let mut push = socket::<Push>(&ctx);
        push.connect(&endpoint).unwrap();
        let big = vec![7u8; 4 << 20];
        push.send(msg(&[b"", &big, b"end"])).unwrap();
        let got = frames(&mut pull);
        assert_eq!(got.len(), 3, "{transport}");
        assert!(got[0].is_empty());
        assert_eq!(got[1], big, "{transport}");
        assert_eq!(got[2], b"end");
    }
}

#[test]
fn a_full_peer_blocks_push_until_it_drains_on_every_transport() {
    for transport in endpoints() {
        let ctx = Context::new().unwrap();
        let mut pull = socket::<Pull>(&ctx);
        pull.set_rcvhwm(5).unwrap();
        let endpoint = pull.bind(transport).unwrap().to_string();
        let mut push = socket::<Push>(&ctx);
        push.set_sndhwm(5).unwrap();
        push.connect(&endpoint).unwrap();
        // Fill: sends succeed until the pipes (and, for tcp/ipc, the
        // kernel buffers) are full, then one would block.
        let mut sent = 0u64;
        loop {
            match push.try_send(sent.to_string()) {
                Ok(()) => sent += 1,
                Err(Error::WouldBlock) => {
                    // Not full yet if the reactor is still moving them:
                    // wait for a blocking send to time out to be sure.
                    push.set_sndtimeo(Some(Duration::from_millis(200))).unwrap();
                    match push.send(sent.to_string()) {
                        Ok(()) => sent += 1,
                        Err(Error::TimedOut) => break,
                        Err(e) => panic!("{transport}: {e}"),
                    }
                }
                Err(e) => panic!("{transport}: {e}"),
            }
            assert!(sent < 1_000_000, "{transport}: never blocked");
        }
        if transport.starts_with("inproc") {
            assert_eq!(sent, 10, "inproc: SNDHWM + RCVHWM, as libzmq");
        }
        // Draining lets sends through again, and nothing was lost.
        push.set_sndtimeo(Some(PATIENCE)).unwrap();
        let sender = thread::spawn(move || {
            push.send("last").unwrap();
            push
        });
        for n in 0..sent {
            assert_eq!(text(&mut pull), n.to_string(), "{transport}");
        }
        assert_eq!(text(&mut pull), "last");
        drop(sender.join().unwrap());
    }
}

#[test]
fn inproc_connect_before_bind_queues_until_the_bind() {
    let ctx = Context::new().unwrap();
    let name = fresh_inproc();
    let mut push = socket::<Push>(&ctx);
    push.connect(name).unwrap();
    for i in 0..3 {
        push.send(format!("{i}")).unwrap();
    }
    let mut pull = socket::<Pull>(&ctx);
    let bound = pull.bind(name).unwrap();
    assert_eq!(bound.transport(), Transport::Inproc);
    assert_eq!(bound.to_string(), name);
    assert_eq!(pull.last_endpoint(), Some(name));
    for i in 0..3 {
        assert_eq!(text(&mut pull), i.to_string());
    }
    // A ROUTER that connects first learns the binder's id at the bind.
    let name = fresh_inproc();
    let mut router = socket::<Router>(&ctx);
    router.set_router_mandatory(true).unwrap();
    router.connect(name).unwrap();
    let mut dealer = socket::<Dealer>(&ctx);
    dealer.set_routing_id("late").unwrap();
    dealer.bind(name).unwrap();
    router.send(msg(&[b"late", b"hello"])).unwrap();
    assert_eq!(text(&mut dealer), "hello");
}

#[test]
fn inproc_names_are_per_context_and_bound_once() {
    let ctx = Context::new().unwrap();
    let name = fresh_inproc();
    let mut a = socket::<Pull>(&ctx);
    a.bind(name).unwrap();
    let mut b = socket::<Pull>(&ctx);
    assert!(matches!(b.bind(name), Err(Error::AddrInUse(_))));
    // Another context has names of its own.
    let other = Context::new().unwrap();
    let mut elsewhere = socket::<Pull>(&other);
    elsewhere.bind(name).unwrap();
    let mut push = socket::<Push>(&other);
    push.connect(name).unwrap();
    push.send("to the other context").unwrap();
    assert_eq!(text(&mut elsewhere), "to the other context");
    a.set_rcvtimeo(Some(Duration::ZERO)).unwrap();
    assert!(matches!(a.recv(), Err(Error::WouldBlock)));
    // Unbinding frees the name.
    a.unbind(name).unwrap();
    b.bind(name).unwrap();
}

#[test]
fn inproc_refuses_an_incompatible_socket_type_at_connect() {
    let ctx = Context::new().unwrap();
    let name = fresh_inproc();
    let mut publisher = socket::<Pub>(&ctx);
    publisher.bind(name).unwrap();
    let mut push = socket::<Push>(&ctx);
    match push.connect(name) {
        Err(Error::IncompatibleSocketType { ours, theirs, .. }) => {
            assert_eq!((ours.as_str(), theirs.as_str()), ("PUSH", "PUB"));
        }
        other => panic!("expected IncompatibleSocketType, got {other:?}"),
    }
    // One that connected first is refused at the bind, and the binder
    // still takes compatible peers.
    let name = fresh_inproc();
    let mut early = socket::<Push>(&ctx);
    early.connect(name).unwrap();
    let mut sub = socket::<Sub>(&ctx);
    sub.subscribe("").unwrap();
    sub.connect(name).unwrap();
    let mut publisher = socket::<Pub>(&ctx);
    publisher.bind(name).unwrap();
    loop {
        publisher.send("fine").unwrap();
        if sub.recv_timeout_ok() {
            break;
        }
    }
    early.set_sndtimeo(Some(Duration::ZERO)).unwrap();
    assert!(
        matches!(early.send("x"), Err(Error::WouldBlock)),
        "the refused pipe is gone"
    );
}

#[test]
fn inproc_peer_close_ends_the_connection_and_queued_messages_still_arrive() {
    let ctx = Context::new().unwrap();
    let name = fresh_inproc();
    let mut pull = socket::<Pull>(&ctx);
    pull.bind(name).unwrap();
    let mut push = socket::<Push>(&ctx);
    push.connect(name).unwrap();
    for i in 0..5 {
        push.send(format!("{i}")).unwrap();
    }
    drop(push);
    for i in 0..5 {
        assert_eq!(text(&mut pull), i.to_string());
    }
    // The binder closing leaves a connected PUSH with no peer: sends block.
    let mut push = socket::<Push>(&ctx);
    push.connect(name).unwrap();
    push.send("delivered").unwrap();
    assert_eq!(text(&mut pull), "delivered");
    drop(pull);
    push.set_sndtimeo(Some(Duration::ZERO)).unwrap();
    let mut blocked = false;
    for _ in 0..10_000 {
        if matches!(push.send("x"), Err(Error::WouldBlock)) {
            blocked = true;
            break;
        }
    }
    assert!(blocked, "a PUSH whose only peer closed has nowhere to send");
    // Linger zero discards what was queued.
    let name = fresh_inproc();
    let mut pull = socket::<Pull>(&ctx);
    pull.bind(name).unwrap();
    let mut push = socket::<Push>(&ctx);
    push.set_linger(Some(Duration::ZERO)).unwrap();
    push.connect(name).unwrap();
    push.send("dropped").unwrap();
    drop(push);
    pull.set_rcvtimeo(Some(Duration::ZERO)).unwrap();
    assert!(matches!(pull.recv(), Err(Error::WouldBlock)));
}

#[test]
fn inproc_disconnect_and_unbind_end_connections() {
    let ctx = Context::new().unwrap();
    let name = fresh_inproc();
    let mut pull = socket::<Pull>(&ctx);
    pull.bind(name).unwrap();
    let mut push = socket::<Push>(&ctx);
    push.connect(name).unwrap();
    push.send("one").unwrap();
    assert_eq!(text(&mut pull), "one");
    push.disconnect(name).unwrap();
    push.set_sndtimeo(Some(Duration::ZERO)).unwrap();
    assert!(matches!(push.send("x"), Err(Error::WouldBlock)));
    // Reconnect, then unbind: the connection ends at the binder's side.
    push.connect(name).unwrap();
    push.send("two").unwrap();
    assert_eq!(text(&mut pull), "two");
    pull.unbind(name).unwrap();
    let mut blocked = false;
    for _ in 0..10_000 {
        if matches!(push.send("x"), Err(Error::WouldBlock)) {
            blocked = true;
            break;
        }
    }
    assert!(blocked, "unbind closed the connection");
}

#[test]
fn conflate_keeps_only_the_newest_message_on_every_transport() {
    for transport in endpoints() {
        let ctx = Context::new().unwrap();
        let mut sub = socket::<Sub>(&ctx);
        sub.set_conflate(true).unwrap();
        sub.subscribe("").unwrap();
        let endpoint = sub.bind(transport).unwrap().to_string();
        let mut publisher = socket::<Pub>(&ctx);
        publisher.connect(&endpoint).unwrap();
        loop {
            publisher.send("warmup").unwrap();
            if sub.recv_timeout_ok() {
                break;
            }
        }
        while sub.try_recv().is_ok() {}
        // Fewer than the PUB's own SNDHWM (1000), which would drop at its end.
        for i in 0..500 {
            publisher.send(format!("{i}")).unwrap();
        }
        publisher.send("last").unwrap();
        // Whatever was overwritten, the newest one is what remains.
        let mut got = Vec::new();
        loop {
            let m = text(&mut sub);
            got.push(m.clone());
            if m == "last" {
                break;
            }
        }
        assert!(got.len() < 501, "{transport}: conflated, got {}", got.len());
        sub.set_rcvtimeo(Some(Duration::from_millis(50))).unwrap();
        assert!(sub.recv().is_err(), "{transport}: nothing after the newest");
    }
    let ctx = Context::new().unwrap();
    assert!(matches!(
        socket::<Req>(&ctx).set_conflate(true),
        Err(Error::InvalidOption { .. })
    ));
}

#[test]
fn immediate_queues_only_to_connected_peers_on_every_transport() {
    for transport in endpoints() {
        let ctx = Context::new().unwrap();
        let mut live = socket::<Pull>(&ctx);
        let endpoint = live.bind(transport).unwrap().to_string();
        let mut push = socket::<Push>(&ctx);
        push.set_immediate(true).unwrap();
        // A peer that is not there: tcp port with nobody listening, an
        // ipc path nobody binds, an inproc name never bound.
        let absent = match transport {
            t if t.starts_with("tcp") => {
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                format!("tcp://{}", l.local_addr().unwrap())
            }
            t if t.starts_with("ipc") => format!(
                "ipc:///tmp/zmio-absent-{}-{}.sock",
                std::process::id(),
                rand_suffix()
            ),
            _ => fresh_inproc().to_owned(),
        };
        push.connect(&absent).unwrap();
        push.connect(&endpoint).unwrap();
        for i in 0..20 {
            push.send(format!("{i}")).unwrap();
        }
        for i in 0..20 {
            assert_eq!(
                text(&mut live),
                i.to_string(),
                "{transport}: all to the live peer"
            );
        }
        // With no live peer at all, a send waits.
        let mut lonely = socket::<Push>(&ctx);
        lonely.set_immediate(true).unwrap();
        lonely.connect(&absent).unwrap();
        lonely.set_sndtimeo(Some(Duration::ZERO)).unwrap();
        assert!(matches!(lonely.send("x"), Err(Error::WouldBlock)));
        // And is let through once a peer comes up (inproc: bind the name).
        if transport.starts_with("inproc") {
            let mut late = socket::<Pull>(&ctx);
            late.bind(&absent).unwrap();
            lonely.set_sndtimeo(Some(PATIENCE)).unwrap();
            lonely.send("now").unwrap();
            assert_eq!(text(&mut late), "now");
        }
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}
