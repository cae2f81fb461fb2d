//! Publish-subscribe: one publisher, subscribers that each take some topics.
//!
//! A PUB socket publishes weather readings for a few cities; each SUB socket
//! subscribes to the cities it cares about (a subscription is a prefix of the
//! first frame) and sees only those. The filter runs on the publisher, so
//! unwanted readings never cross the network.
//!
//!     cargo run --example pubsub
//!
//! Subscriptions take a moment to reach the publisher, and a subscriber
//! misses what was published before its subscription arrived (the "slow
//! joiner"). So the publisher first greets on the `hello` topic, which every
//! subscriber also takes, until each subscriber has reported hearing it.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use zmio::{Context, Msg, Pub, Sub};

const CITIES: [&str; 4] = ["paris", "lima", "oslo", "perth"];
const ROUNDS: usize = 5;

fn frame_text(msg: &Msg, index: usize) -> String {
    String::from_utf8_lossy(msg.frame(index).map_or(&[][..], |f| &f[..])).into_owned()
}

/// Subscribes to `cities`, says so on `joined` once a greeting got through,
/// then prints the readings until it has one per city per round.
fn subscriber(
    ctx: Context,
    endpoint: String,
    cities: &[&str],
    joined: mpsc::Sender<()>,
) -> zmio::Result<()> {
    let mut sub = ctx.socket::<Sub>()?;
    sub.set_rcvtimeo(Some(Duration::from_secs(5)))?;
    sub.connect(&endpoint)?;
    sub.subscribe("hello")?;
    for city in cities {
        sub.subscribe(city)?;
    }
    let mut readings = 0;
    let mut greeted = false;
    while readings < cities.len() * ROUNDS {
        let msg = sub.recv()?;
        let topic = frame_text(&msg, 0);
        if topic == "hello" {
            if !greeted {
                greeted = true;
                let _ = joined.send(());
            }
            continue;
        }
        println!("{cities:?} got {topic}: {}", frame_text(&msg, 1));
        readings += 1;
    }
    Ok(())
}

fn main() -> zmio::Result<()> {
    let ctx = Context::new()?;
    let mut publisher = ctx.socket::<Pub>()?;
    let endpoint = publisher.bind("tcp://127.0.0.1:*")?.to_string();

    let groups: [&'static [&'static str]; 2] = [&["paris", "oslo"], &["lima"]];
    let (joined_tx, joined_rx) = mpsc::channel();
    let threads: Vec<_> = groups
        .into_iter()
        .map(|cities| {
            let (ctx, endpoint, joined) = (ctx.clone(), endpoint.clone(), joined_tx.clone());
            thread::spawn(move || subscriber(ctx, endpoint, cities, joined))
        })
        .collect();

    // Greet every 10 ms until each subscriber has heard a greeting: from then
    // on the publisher has its subscriptions.
    let mut joined = 0;
    while joined < groups.len() {
        publisher.send(Msg::from_frames(["hello", ""]))?;
        if joined_rx.recv_timeout(Duration::from_millis(10)).is_ok() {
            joined += 1;
        }
    }

    for round in 0..ROUNDS {
        for (i, city) in CITIES.iter().enumerate() {
            let reading = format!("{} °C", 8 + (round * 5 + i * 3) % 20);
            publisher.send(Msg::from_frames([city.to_string(), reading]))?;
        }
    }
    for t in threads {
        t.join().expect("a subscriber thread panicked")?;
    }
    println!(
        "perth was published {ROUNDS} times and nobody subscribed to it: it never left the publisher"
    );
    Ok(())
}
