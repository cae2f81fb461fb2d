//! A pub-sub forwarder: a PUB -> XSUB frontend | proxy | XPUB backend -> SUBs,
//! in one process.
//!
//!     cargo run --example forwarder
//!
//! Subscribers connect to the forwarder, not to the publisher: their
//! subscriptions flow upstream (SUB -> XPUB -> proxy -> XSUB -> PUB), so
//! the publisher sends only what someone downstream wants, and the data
//! flows down the same way. Here one subscriber wants weather, one wants
//! news and one everything; the publisher waits until it has seen the
//! subscriptions arrive (as an XPUB it receives them) before publishing.

use std::thread;
use std::time::Duration;

use zmio::{Context, Msg, Proxy, Rep, Req, Socket, SocketType, Sub, XPub, XSub};

const TIMEOUT: Duration = Duration::from_secs(5);

/// The first frame as text (lossy), empty if there is none.
fn first_frame(msg: &Msg) -> String {
    msg.frame(0)
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .unwrap_or_default()
}

fn socket<T: SocketType>(ctx: &Context) -> zmio::Result<Socket<T>> {
    let mut s = ctx.socket::<T>()?;
    s.set_rcvtimeo(Some(TIMEOUT))?;
    s.set_sndtimeo(Some(TIMEOUT))?;
    Ok(s)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::new()?;
    let mut frontend = socket::<XSub>(&ctx)?;
    let mut backend = socket::<XPub>(&ctx)?;
    let mut control = socket::<Rep>(&ctx)?;
    let upstream = frontend.bind("tcp://127.0.0.1:*")?.to_string();
    let downstream = backend.bind("tcp://127.0.0.1:*")?.to_string();
    let to_control = control.bind("ipc://*")?.to_string();
    println!("forwarder: publishers connect to {upstream}, subscribers to {downstream}");
    let forwarder = thread::spawn(move || {
        Proxy::new(&mut frontend, &mut backend)
            .control(&mut control)
            .run()
    });

    // The publisher is an XPUB so it can see the subscriptions arrive.
    let mut publisher = socket::<XPub>(&ctx)?;
    publisher.connect(&upstream)?;

    let topics = [("weather", "weather"), ("news", "news"), ("all", "")];
    let mut subscribers = Vec::new();
    for (name, prefix) in topics {
        let mut sub = socket::<Sub>(&ctx)?;
        sub.connect(&downstream)?;
        sub.subscribe(prefix)?;
        subscribers.push((name, sub));
    }
    // Each distinct prefix reaches the publisher once.
    for _ in 0..topics.len() {
        let subscription = publisher.recv()?;
        let text = first_frame(&subscription);
        println!(
            "publisher: subscription to {:?} arrived",
            text.get(1..).unwrap_or_default()
        );
    }

    let updates = [
        "weather: sunny, 21C",
        "news: zmio grows a proxy",
        "sports: nothing to report",
        "weather: rain later",
    ];
    for update in updates {
        publisher.send(update)?;
    }
    for ((name, prefix), (_, sub)) in topics.iter().zip(&mut subscribers) {
        let wanted = updates.iter().filter(|u| u.starts_with(prefix)).count();
        let got = (0..wanted)
            .map(|_| sub.recv().map(|m| first_frame(&m)))
            .collect::<zmio::Result<Vec<_>>>()?;
        println!("subscriber {name:>7}: {got:?}");
    }

    let mut admin = socket::<Req>(&ctx)?;
    admin.connect(&to_control)?;
    admin.send("TERMINATE")?;
    admin.recv()?;
    let stats = forwarder.join().map_err(|_| "the forwarder panicked")??;
    println!(
        "forwarder passed {} messages down and {} subscriptions up",
        stats.backend.messages_out, stats.frontend.messages_out
    );
    Ok(())
}
