//! XPUB and XSUB in one process, over TCP loopback and ipc: XPUB passing
//! its peers' subscriptions up (deduplicated, or all with verbose), its
//! fan-out by prefix, XSUB subscribing by message and again after its
//! publisher restarts, and an XSUB/XPUB forwarder between a PUB and a SUB.
//! Every receive has a timeout; waits for subscriptions to take effect are
//! probe loops, never sleeps.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use zmio::{Context, Error, Msg, Pub, RecvSocketType, Socket, Sub, XPub, XSub};

mod common;
use common::{PATIENCE, another, endpoints, socket};

fn text(msg: &Msg) -> Vec<u8> {
    msg.frame(0).map(|f| f.to_vec()).unwrap_or_default()
}

fn recv<T: RecvSocketType>(s: &mut Socket<T>) -> Vec<u8> {
    text(&s.recv().expect("recv"))
}

/// One message within `timeout`, or `None`.
fn recv_within<T: RecvSocketType>(s: &mut Socket<T>, timeout: Duration) -> Option<Vec<u8>> {
    s.set_rcvtimeo(Some(timeout)).unwrap();
    let got = match s.recv() {
        Ok(m) => Some(text(&m)),
        Err(Error::TimedOut) => None,
        Err(e) => panic!("recv: {e}"),
    };
    s.set_rcvtimeo(Some(PATIENCE)).unwrap();
    got
}

/// Calls `publish` until `received` sees something, for up to PATIENCE.
fn warm_up(mut publish: impl FnMut(), mut received: impl FnMut() -> bool, what: &str) {
    let start = Instant::now();
    loop {
        publish();
        if received() {
            return;
        }
        assert!(start.elapsed() < PATIENCE, "{what}: nothing arrived");
    }
}

/// Messages until (and including) `last`.
fn recv_until<T: RecvSocketType>(s: &mut Socket<T>, last: &[u8]) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    loop {
        let m = recv(s);
        let done = m == last;
        got.push(m);
        if done {
            return got;
        }
    }
}

fn sub_msg(on: bool, topic: &[u8]) -> Vec<u8> {
    let mut m = vec![u8::from(on)];
    m.extend_from_slice(topic);
    m
}

#[test]
fn xpub_passes_up_first_subscribe_and_last_cancel_only() {
    for transport in endpoints() {
        let ctx = Context::new().unwrap();
        let mut xpub = socket::<XPub>(&ctx);
        let endpoint = xpub.bind(transport).unwrap().to_string();
        let mut one = socket::<Sub>(&ctx);
        one.connect(&endpoint).unwrap();
        let mut two = socket::<Sub>(&ctx);
        two.connect(&endpoint).unwrap();

        one.subscribe("a").unwrap();
        assert_eq!(recv(&mut xpub), b"\x01a", "{transport}");
        // A second peer's "a" is not passed up; its "b" after it is.
        two.subscribe("a").unwrap();
        two.subscribe("b").unwrap();
        assert_eq!(recv(&mut xpub), b"\x01b", "{transport}");
        // "a" still has a subscriber after one cancels it.
        one.unsubscribe("a").unwrap();
        one.subscribe("c").unwrap();
        assert_eq!(recv(&mut xpub), b"\x01c", "{transport}");
        two.unsubscribe("a").unwrap();
        assert_eq!(recv(&mut xpub), b"\x00a", "{transport}");
        // A peer that goes away cancels what only it had.
        drop(two);
        assert_eq!(recv(&mut xpub), b"\x00b", "{transport}");
        assert!(
            matches!(xpub.try_recv(), Err(Error::WouldBlock)),
            "{transport}"
        );
    }
}

#[test]
fn verbose_xpub_passes_up_every_subscribe() {
    for transport in endpoints() {
        let ctx = Context::new().unwrap();
        let mut xpub = socket::<XPub>(&ctx);
        xpub.set_xpub_verbose(true).unwrap();
        let endpoint = xpub.bind(transport).unwrap().to_string();
        let mut one = socket::<Sub>(&ctx);
        one.connect(&endpoint).unwrap();
        let mut two = socket::<Sub>(&ctx);
        two.connect(&endpoint).unwrap();

        one.subscribe("a").unwrap();
        assert_eq!(recv(&mut xpub), b"\x01a", "{transport}");
        two.subscribe("a").unwrap();
        assert_eq!(recv(&mut xpub), b"\x01a", "{transport}: the repeat");
        // Cancels still only with the last subscriber.
        one.unsubscribe("a").unwrap();
        one.subscribe("c").unwrap();
        assert_eq!(recv(&mut xpub), b"\x01c", "{transport}");
        two.unsubscribe("a").unwrap();
        assert_eq!(recv(&mut xpub), b"\x00a", "{transport}");
    }
}

#[test]
fn xpub_fans_out_by_prefix() {
    for transport in endpoints() {
        let ctx = Context::new().unwrap();
        let mut xpub = socket::<XPub>(&ctx);
        let endpoint = xpub.bind(transport).unwrap().to_string();
        let mut news = socket::<Sub>(&ctx);
        news.connect(&endpoint).unwrap();
        news.subscribe("news").unwrap();
        let mut all = socket::<Sub>(&ctx);
        all.connect(&endpoint).unwrap();
        all.subscribe("").unwrap();
        // Received subscriptions are in effect for the next send.
        let mut seen = vec![recv(&mut xpub), recv(&mut xpub)];
        seen.sort();
        assert_eq!(seen, [&b"\x01"[..], b"\x01news"], "{transport}");

        for m in ["news.1", "weather", "news.end"] {
            xpub.send(m).unwrap();
        }
        assert_eq!(
            recv_until(&mut news, b"news.end"),
            [&b"news.1"[..], b"news.end"],
            "{transport}"
        );
        assert_eq!(
            recv_until(&mut all, b"news.end"),
            [&b"news.1"[..], b"weather", b"news.end"],
            "{transport}"
        );
    }
}

#[test]
fn xsub_subscribes_and_cancels_by_message() {
    for transport in endpoints() {
        let ctx = Context::new().unwrap();
        let mut publisher = socket::<Pub>(&ctx);
        let endpoint = publisher.bind(transport).unwrap().to_string();
        let mut xsub = socket::<XSub>(&ctx);
        xsub.connect(&endpoint).unwrap();
        xsub.send(sub_msg(true, b"news")).unwrap();
        warm_up(
            || publisher.send("news.probe").unwrap(),
            || recv_within(&mut xsub, Duration::from_millis(50)).is_some(),
            transport,
        );
        publisher.send("weather").unwrap();
        publisher.send("news.end").unwrap();
        let got = recv_until(&mut xsub, b"news.end");
        assert!(!got.contains(&b"weather".to_vec()), "{transport}: {got:?}");

        xsub.send(sub_msg(false, b"news")).unwrap();
        xsub.send(sub_msg(true, b"zzz")).unwrap();
        warm_up(
            || publisher.send("zzz.probe").unwrap(),
            || recv_within(&mut xsub, Duration::from_millis(50)) == Some(b"zzz.probe".to_vec()),
            transport,
        );
        publisher.send("news.after").unwrap();
        publisher.send("zzz.end").unwrap();
        let got = recv_until(&mut xsub, b"zzz.end");
        assert!(
            !got.contains(&b"news.after".to_vec()),
            "{transport}: {got:?}"
        );
    }
}

#[test]
fn xsub_subscribes_again_after_its_publisher_restarts() {
    // Not inproc: a connect there ends with its binder and does not come
    // back when the name is bound again (libzmq 4.3 does the same).
    for transport in &endpoints()[..2] {
        let ctx = Context::new().unwrap();
        let mut publisher = socket::<Pub>(&ctx);
        publisher.set_linger(Some(Duration::ZERO)).unwrap();
        let endpoint = publisher.bind(transport).unwrap().to_string();
        let mut xsub = socket::<XSub>(&ctx);
        xsub.connect(&endpoint).unwrap();
        xsub.send(sub_msg(true, b"t")).unwrap();
        warm_up(
            || publisher.send("t.before").unwrap(),
            || recv_within(&mut xsub, Duration::from_millis(50)).is_some(),
            transport,
        );
        drop(publisher);

        let mut publisher = socket::<Pub>(&ctx);
        publisher.bind(&endpoint).unwrap();
        warm_up(
            || publisher.send("t.after").unwrap(),
            || {
                while let Some(m) = recv_within(&mut xsub, Duration::from_millis(50)) {
                    if m == b"t.after" {
                        return true;
                    }
                }
                false
            },
            transport,
        );
    }
}

#[test]
fn xsub_sends_other_messages_to_every_peer() {
    for transport in endpoints() {
        let ctx = Context::new().unwrap();
        let mut xpub = socket::<XPub>(&ctx);
        xpub.set_xpub_verbose(true).unwrap();
        let endpoint = xpub.bind(transport).unwrap().to_string();
        let mut xsub = socket::<XSub>(&ctx);
        xsub.connect(&endpoint).unwrap();
        // XPUB ignores non-subscriptions: the one after them arrives alone.
        xsub.send("not a subscription").unwrap();
        xsub.send(sub_msg(true, b"x")).unwrap();
        assert_eq!(recv(&mut xpub), b"\x01x", "{transport}");
        xpub.send("x.1").unwrap();
        assert_eq!(recv(&mut xsub), b"x.1", "{transport}");
    }
}

#[test]
fn xsub_xpub_forwarder_carries_messages_and_subscriptions() {
    for transport in endpoints() {
        let ctx = Context::new().unwrap();
        let mut publisher = socket::<Pub>(&ctx);
        let upstream = publisher.bind(transport).unwrap().to_string();
        let mut xsub = socket::<XSub>(&ctx);
        xsub.connect(&upstream).unwrap();
        let mut xpub = socket::<XPub>(&ctx);
        let downstream = xpub.bind(another(transport)).unwrap().to_string();

        let stop = Arc::new(AtomicBool::new(false));
        let forwarded = Arc::new(Mutex::new(Vec::new()));
        let proxy = {
            let (stop, forwarded) = (stop.clone(), forwarded.clone());
            thread::spawn(move || {
                let tick = Duration::from_millis(5);
                xsub.set_rcvtimeo(Some(tick)).unwrap();
                xpub.set_rcvtimeo(Some(tick)).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(m) = xsub.recv() {
                        xpub.send(m).unwrap();
                    }
                    if let Ok(m) = xpub.recv() {
                        forwarded.lock().unwrap().push(text(&m));
                        xsub.send(m).unwrap();
                    }
                }
            })
        };

        let mut sub = socket::<Sub>(&ctx);
        sub.connect(&downstream).unwrap();
        sub.subscribe("news").unwrap();
        warm_up(
            || publisher.send("news.probe").unwrap(),
            || recv_within(&mut sub, Duration::from_millis(50)).is_some(),
            transport,
        );
        publisher.send("weather").unwrap();
        publisher.send("news.end").unwrap();
        let got = recv_until(&mut sub, b"news.end");
        assert!(!got.contains(&b"weather".to_vec()), "{transport}: {got:?}");

        sub.unsubscribe("news").unwrap();
        let start = Instant::now();
        while !forwarded.lock().unwrap().contains(&b"\x00news".to_vec()) {
            assert!(
                start.elapsed() < PATIENCE,
                "{transport}: cancel not forwarded"
            );
            thread::yield_now();
        }
        stop.store(true, Ordering::Relaxed);
        proxy.join().unwrap();
        assert_eq!(
            *forwarded.lock().unwrap(),
            [&b"\x01news"[..], b"\x00news"],
            "{transport}"
        );
    }
}
