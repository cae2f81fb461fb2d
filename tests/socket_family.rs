//! DEALER, ROUTER and PAIR in one process, over TCP loopback and ipc:
//! routing ids (explicit, generated, a duplicate refused), replies routed to the right
//! peer, unknown ids dropped or refused, the REQ/REP envelopes through them,
//! PAIR's one peer, and REQ's relaxed and correlated modes. Every receive
//! has a timeout.

use std::thread;
use std::time::{Duration, Instant};

use zmio::{Context, Dealer, Error, Msg, Pair, Rep, Req, Router, Socket};

mod common;
use common::{PATIENCE, endpoints, socket};

type Frames = Vec<Vec<u8>>;

fn frames(msg: &Msg) -> Frames {
    msg.frames().map(|f| f.to_vec()).collect()
}

fn msg(parts: &[&[u8]]) -> Msg {
    Msg::from_frames(parts.iter().map(|p| p.to_vec()))
}

fn recv<T: zmio::RecvSocketType>(s: &mut Socket<T>) -> Frames {
    frames(&s.recv().expect("recv"))
}

fn is_generated(id: &[u8]) -> bool {
    id.len() == 5 && id[0] == 0
}

#[test]
fn dealer_router_round_trip_with_explicit_and_generated_ids() {
    for transport in endpoints() {
        let ctx = Context::new().unwrap();
        let mut router = socket::<Router>(&ctx);
        let endpoint = router.bind(transport).unwrap().to_string();
        let mut named = socket::<Dealer>(&ctx);
        named.set_routing_id("worker-1").unwrap();
        named.connect(&endpoint).unwrap();
        let mut anonymous = socket::<Dealer>(&ctx);
        anonymous.connect(&endpoint).unwrap();

        named.send(msg(&[b"from named", b""])).unwrap();
        let got = recv(&mut router);
        assert_eq!(got, [&b"worker-1"[..], b"from named", b""], "{transport}");
        anonymous.send("from anonymous").unwrap();
        let got = recv(&mut router);
        assert!(is_generated(&got[0]), "{transport}: {got:?}");
        assert_eq!(got[1], b"from anonymous");
        let anonymous_id = got[0].clone();

        router.send(msg(&[&anonymous_id, b"to anonymous"])).unwrap();
        router.send(msg(&[b"worker-1", b"to", b"named"])).unwrap();
        assert_eq!(recv(&mut anonymous), [b"to anonymous"]);
        assert_eq!(recv(&mut named), [&b"to"[..], b"named"]);
        // The generated id is stable for the connection.
        anonymous.send("again").unwrap();
        assert_eq!(recv(&mut router)[0], anonymous_id);
    }
}

#[test]
fn router_routes_each_reply_to_the_dealer_that_asked() {
    for transport in endpoints() {
        let ctx = Context::new().unwrap();
        let mut router = socket::<Router>(&ctx);
        let endpoint = router.bind(transport).unwrap().to_string();
        let mut dealers: Vec<Socket<Dealer>> = (0..4)
            .map(|i| {
                let mut d = socket::<Dealer>(&ctx);
                if i % 2 == 0 {
                    d.set_routing_id(format!("d{i}")).unwrap();
                }
                d.connect(&endpoint).unwrap();
                d
            })
            .collect();
        for (i, d) in dealers.iter_mut().enumerate() {
            d.send(format!("hello from {i}")).unwrap();
        }
        for _ in 0..4 {
            let got = recv(&mut router);
            let body = String::from_utf8(got[1].clone()).unwrap();
            let i = body.strip_prefix("hello from ").unwrap();
            router
                .send(msg(&[&got[0], format!("reply to {i}").as_bytes()]))
                .unwrap();
        }
        for (i, d) in dealers.iter_mut().enumerate() {
            assert_eq!(
                recv(d),
                [format!("reply to {i}").into_bytes()],
                "{transport}"
            );
        }
    }
}

#[test]
fn an_unknown_id_is_dropped_or_refused_with_router_mandatory() {
    let ctx = Context::new().unwrap();
    let mut router = socket::<Router>(&ctx);
    let endpoint = router.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let mut dealer = socket::<Dealer>(&ctx);
    dealer.set_routing_id("known").unwrap();
    dealer.connect(&endpoint).unwrap();
    dealer.send("hi").unwrap();
    assert_eq!(recv(&mut router)[0], b"known");

    // Dropped silently by default.
    router.send(msg(&[b"nobody", b"lost"])).unwrap();
    router.send(msg(&[b"known", b"kept"])).unwrap();
    assert_eq!(recv(&mut dealer), [b"kept"]);

    router.set_router_mandatory(true).unwrap();
    let err = router.send(msg(&[b"nobody", b"lost"])).unwrap_err();
    assert!(
        matches!(&err, Error::HostUnreachable(id) if id == "6e6f626f6479"),
        "{err:?}"
    );
    assert!(err.to_string().contains("6e6f626f6479"), "{err}");
    assert_eq!(
        std::io::Error::from(err).kind(),
        std::io::ErrorKind::NotConnected
    );
    router.send(msg(&[b"known", b"still kept"])).unwrap();
    assert_eq!(recv(&mut dealer), [&b"still kept"[..]]);

    // A peer that left is unknown again.
    drop(dealer);
    let deadline = Instant::now() + PATIENCE;
    loop {
        match router.send(msg(&[b"known", b"after close"])) {
            Err(Error::HostUnreachable(_)) => break,
            Ok(()) => assert!(Instant::now() < deadline, "the closed peer stayed known"),
            Err(e) => panic!("{e}"),
        }
        thread::yield_now();
    }
}

#[test]
fn a_second_peer_with_a_routing_id_in_use_is_refused() {
    let ctx = Context::new().unwrap();
    let mut router = socket::<Router>(&ctx);
    let endpoint = router.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let mut first = socket::<Dealer>(&ctx);
    first.set_routing_id("same").unwrap();
    first.connect(&endpoint).unwrap();
    first.send("first").unwrap();
    assert_eq!(recv(&mut router), [&b"same"[..], b"first"]);

    // As libzmq without ZMQ_ROUTER_HANDOVER: the newcomer is refused and
    // nothing it sends arrives; the first peer keeps the id.
    let mut second = socket::<Dealer>(&ctx);
    second.set_routing_id("same").unwrap();
    second.set_reconnect_ivl(None).unwrap();
    second.connect(&endpoint).unwrap();
    second.send("from the second").unwrap();
    first.send("still first").unwrap();
    assert_eq!(recv(&mut router), [&b"same"[..], b"still first"]);
    router.send(msg(&[b"same", b"to first"])).unwrap();
    assert_eq!(recv(&mut first), [b"to first"]);
    router
        .set_rcvtimeo(Some(Duration::from_millis(200)))
        .unwrap();
    assert!(
        router.recv().is_err(),
        "the refused peer's message never arrives"
    );
}

#[test]
fn router_handover_gives_a_taken_id_to_the_newcomer() {
    for transport in endpoints() {
        let ctx = Context::new().unwrap();
        let mut router = socket::<Router>(&ctx);
        router.set_router_handover(true).unwrap();
        let endpoint = router.bind(transport).unwrap().to_string();
        let mut first = socket::<Dealer>(&ctx);
        first.set_routing_id("same").unwrap();
        // Once handed over it stays away (it would take the id back).
        first.set_reconnect_ivl(None).unwrap();
        first.connect(&endpoint).unwrap();
        first.send("first").unwrap();
        assert_eq!(recv(&mut router), [&b"same"[..], b"first"], "{transport}");

        let mut second = socket::<Dealer>(&ctx);
        second.set_routing_id("same").unwrap();
        second.connect(&endpoint).unwrap();
        second.send("from the second").unwrap();
        assert_eq!(
            recv(&mut router),
            [&b"same"[..], b"from the second"],
            "{transport}: the newcomer is heard"
        );
        router.send(msg(&[b"same", b"to the second"])).unwrap();
        assert_eq!(recv(&mut second), [b"to the second"], "{transport}");
        // The first one was disconnected: what it sends now goes nowhere.
        first.set_sndtimeo(Some(Duration::ZERO)).unwrap();
        let _ = first.send("lost");
        router
            .set_rcvtimeo(Some(Duration::from_millis(200)))
            .unwrap();
        assert!(router.recv().is_err(), "{transport}: the old peer is gone");
    }
}

#[test]
fn req_through_router_sees_the_envelope() {
    for transport in endpoints() {
        let ctx = Context::new().unwrap();
        let mut router = socket::<Router>(&ctx);
        let endpoint = router.bind(transport).unwrap().to_string();
        let mut req = socket::<Req>(&ctx);
        req.set_routing_id("client").unwrap();
        req.connect(&endpoint).unwrap();
        for i in 0..3 {
            req.send(format!("q{i}")).unwrap();
            let got = recv(&mut router);
            assert_eq!(got, [&b"client"[..], b"", format!("q{i}").as_bytes()]);
            router
                .send(msg(&[b"client", b"", format!("a{i}").as_bytes()]))
                .unwrap();
            assert_eq!(recv(&mut req), [format!("a{i}").into_bytes()]);
        }
    }
}

/// ZMQ_REQ_RELAXED + ZMQ_REQ_CORRELATE against a ROUTER driven by hand:
/// the ROUTER sees `[identity, request id, "", body]`, a second request may
/// go out before the first is answered, and the late reply to the first is
/// dropped.
#[test]
fn relaxed_correlated_req_drops_the_late_reply_to_an_abandoned_request() {
    for transport in endpoints() {
        let ctx = Context::new().unwrap();
        let mut router = socket::<Router>(&ctx);
        let endpoint = router.bind(transport).unwrap().to_string();
        let mut req = socket::<Req>(&ctx);
        req.set_routing_id("client").unwrap();
        req.set_req_relaxed(true).unwrap();
        req.set_req_correlate(true).unwrap();
        req.connect(&endpoint).unwrap();
        assert!(matches!(req.recv(), Err(Error::InvalidState(_))));

        req.send("first").unwrap();
        let first = recv(&mut router);
        assert_eq!(first.len(), 4, "{transport}: {first:?}");
        assert_eq!(first[0], b"client");
        assert_eq!(first[1].len(), 4, "a 4-byte request id");
        assert_eq!(first[2..], [&b""[..], b"first"]);
        // The first request is ignored; the second goes out anyway.
        req.send("second").unwrap();
        let second = recv(&mut router);
        assert_eq!(second[2..], [&b""[..], b"second"]);
        let n = u32::from_be_bytes(first[1][..].try_into().unwrap());
        assert_eq!(second[1], n.wrapping_add(1).to_be_bytes(), "ids count up");

        // The late answer to the first, then the answer to the second.
        router
            .send(msg(&[b"client", &first[1], b"", b"late"]))
            .unwrap();
        router
            .send(msg(&[b"client", &second[1], b"", b"answer"]))
            .unwrap();
        assert_eq!(recv(&mut req), [b"answer"], "{transport}");
        assert!(matches!(req.recv(), Err(Error::InvalidState(_))));
    }
}

/// Relaxed and correlated REQ over two zmio REPs (which echo the id frame as
/// part of the envelope): a REP that sits on a request does not block the
/// REQ, and its reply, arriving late on the pipe the next request uses, is
/// dropped.
#[test]
fn relaxed_correlated_req_moves_on_from_a_rep_that_does_not_answer() {
    let ctx = Context::new().unwrap();
    let mut req = socket::<Req>(&ctx);
    req.set_req_relaxed(true).unwrap();
    req.set_req_correlate(true).unwrap();
    let mut reps = Vec::new();
    // Two peers: one over tcp, one over inproc.
    let [tcp, _, inproc] = endpoints();
    for transport in [tcp, inproc] {
        let mut rep = socket::<Rep>(&ctx);
        let endpoint = rep.bind(transport).unwrap().to_string();
        req.connect(&endpoint).unwrap();
        reps.push(rep);
    }
    let [mut slow, mut fast] = <[_; 2]>::try_from(reps).unwrap();
    // Requests go round robin in connect order: 1 to slow, 2 to fast, 3 to slow.
    req.send("1").unwrap();
    assert_eq!(recv(&mut slow), [b"1"]);
    req.send("2").unwrap();
    assert_eq!(recv(&mut fast), [b"2"]);
    fast.send("fast 2").unwrap();
    assert_eq!(recv(&mut req), [b"fast 2"]);

    slow.send("slow 1, late").unwrap();
    req.send("3").unwrap();
    assert_eq!(recv(&mut slow), [b"3"]);
    slow.send("slow 3").unwrap();
    assert_eq!(recv(&mut req), [b"slow 3"]);
}

/// The strict default: a second send before the reply is refused.
#[test]
fn strict_req_refuses_a_second_request_until_relaxed() {
    let ctx = Context::new().unwrap();
    let mut rep = socket::<Rep>(&ctx);
    let endpoint = rep.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let mut req = socket::<Req>(&ctx);
    req.connect(&endpoint).unwrap();
    req.send("1").unwrap();
    assert!(matches!(req.send("2"), Err(Error::InvalidState(_))));
    req.set_req_relaxed(true).unwrap();
    req.send("2").unwrap();
    assert_eq!(recv(&mut rep), [b"1"]);
    rep.send("a1").unwrap();
    assert_eq!(recv(&mut rep), [b"2"]);
    rep.send("a2").unwrap();
    // Without correlation a late reply on the same pipe cannot be told apart
    // (as in libzmq): the first reply that comes is taken.
    assert_eq!(recv(&mut req), [b"a1"]);
}

#[test]
fn dealer_to_rep_writes_the_envelope_itself() {
    for transport in endpoints() {
        let ctx = Context::new().unwrap();
        let mut rep = socket::<Rep>(&ctx);
        let endpoint = rep.bind(transport).unwrap().to_string();
        let mut dealer = socket::<Dealer>(&ctx);
        dealer.connect(&endpoint).unwrap();
        dealer.send(msg(&[b"", b"hello"])).unwrap();
        assert_eq!(recv(&mut rep), [b"hello"]);
        rep.send("world").unwrap();
        assert_eq!(recv(&mut dealer), [&b""[..], b"world"]);
    }
}

#[test]
fn dealer_load_balances_and_fair_queues() {
    let ctx = Context::new().unwrap();
    let mut dealer = socket::<Dealer>(&ctx);
    let mut reps: Vec<Socket<Rep>> = (0..2).map(|_| socket::<Rep>(&ctx)).collect();
    for rep in &mut reps {
        let endpoint = rep.bind("tcp://127.0.0.1:*").unwrap().to_string();
        dealer.connect(&endpoint).unwrap();
    }
    // Connect pipes exist from connect on: the two requests go one to each.
    dealer.send(msg(&[b"", b"a"])).unwrap();
    dealer.send(msg(&[b"", b"b"])).unwrap();
    let mut bodies = Vec::new();
    for rep in &mut reps {
        let got = recv(rep);
        bodies.push(got[0].clone());
        rep.send(msg(&[b"re", &got[0]])).unwrap();
    }
    bodies.sort();
    assert_eq!(bodies, [b"a", b"b"]);
    let mut replies = vec![recv(&mut dealer), recv(&mut dealer)];
    replies.sort();
    assert_eq!(
        replies,
        [
            vec![b"".to_vec(), b"re".to_vec(), b"a".to_vec()],
            vec![b"".to_vec(), b"re".to_vec(), b"b".to_vec()]
        ]
    );
}

#[test]
fn router_connecting_to_router_learns_its_id_from_the_handshake() {
    for transport in endpoints() {
        let ctx = Context::new().unwrap();
        let mut server = socket::<Router>(&ctx);
        server.set_routing_id("server").unwrap();
        let endpoint = server.bind(transport).unwrap().to_string();
        let mut client = socket::<Router>(&ctx);
        client.set_routing_id("client").unwrap();
        client.set_router_mandatory(true).unwrap();
        client.connect(&endpoint).unwrap();
        // The client can name the server only once the handshake is done.
        let deadline = Instant::now() + PATIENCE;
        loop {
            match client.send(msg(&[b"server", b"hello"])) {
                Ok(()) => break,
                Err(Error::HostUnreachable(_)) => {
                    assert!(
                        Instant::now() < deadline,
                        "{transport}: handshake never done"
                    )
                }
                Err(e) => panic!("{e}"),
            }
            thread::yield_now();
        }
        assert_eq!(recv(&mut server), [&b"client"[..], b"hello"]);
        server.send(msg(&[b"client", b"hi back"])).unwrap();
        assert_eq!(recv(&mut client), [&b"server"[..], b"hi back"]);
    }
}

#[test]
fn router_connecting_to_a_dealer_names_it_by_its_id() {
    let ctx = Context::new().unwrap();
    let mut dealer = socket::<Dealer>(&ctx);
    dealer.set_routing_id("bound-dealer").unwrap();
    let endpoint = dealer.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let mut router = socket::<Router>(&ctx);
    router.connect(&endpoint).unwrap();
    // The dealer speaks first: its message may reach the router's pipe
    // before the router has handled the handshake event.
    dealer.send("first").unwrap();
    assert_eq!(recv(&mut router), [&b"bound-dealer"[..], b"first"]);
    router.send(msg(&[b"bound-dealer", b"reply"])).unwrap();
    assert_eq!(recv(&mut dealer), [b"reply"]);
}

#[test]
fn pair_talks_both_ways() {
    for transport in endpoints() {
        let ctx = Context::new().unwrap();
        let mut a = socket::<Pair>(&ctx);
        let endpoint = a.bind(transport).unwrap().to_string();
        let mut b = socket::<Pair>(&ctx);
        b.connect(&endpoint).unwrap();
        for i in 0..10 {
            b.send(msg(&[b"b", format!("{i}").as_bytes()])).unwrap();
            a.send(format!("a{i}")).unwrap();
        }
        for i in 0..10 {
            assert_eq!(recv(&mut a), [&b"b"[..], format!("{i}").as_bytes()]);
            assert_eq!(recv(&mut b), [format!("a{i}").into_bytes()]);
        }
    }
}

#[test]
fn pair_refuses_a_second_peer_until_the_first_leaves() {
    let ctx = Context::new().unwrap();
    let mut server = socket::<Pair>(&ctx);
    let endpoint = server.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let mut first = socket::<Pair>(&ctx);
    first.connect(&endpoint).unwrap();
    first.send("hello from first").unwrap();
    assert_eq!(recv(&mut server), [b"hello from first"]);

    let mut second = socket::<Pair>(&ctx);
    second.set_sndtimeo(Some(Duration::ZERO)).unwrap();
    second.connect(&endpoint).unwrap();
    // Everything the server sends goes to its one peer.
    for i in 0..4 {
        server.send(format!("to peer {i}")).unwrap();
    }
    for i in 0..4 {
        assert_eq!(recv(&mut first), [format!("to peer {i}").into_bytes()]);
    }

    // Once the first leaves, the second gets in (on a reconnect).
    drop(first);
    server
        .set_rcvtimeo(Some(Duration::from_millis(50)))
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        assert!(Instant::now() < deadline, "the second peer never got in");
        let _ = second.send("from second");
        match server.recv() {
            Ok(m) if frames(&m) == [b"from second"] => break,
            Ok(m) => panic!("unexpected {:?}", frames(&m)),
            Err(Error::TimedOut) => {}
            Err(e) => panic!("{e}"),
        }
    }
    server.set_rcvtimeo(Some(PATIENCE)).unwrap();
    server.send("welcome").unwrap();
    second.set_rcvtimeo(Some(PATIENCE)).unwrap();
    assert_eq!(recv(&mut second), [b"welcome"]);
}
