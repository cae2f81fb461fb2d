//! Scale, fan-out: one PUB to many SUBs over TCP loopback, total delivery rate.
//!
//!     fanout_thr <bind-to> <subscribers> <message-size> <message-count>
//!
//! One process, two contexts of one I/O thread each (publisher side and
//! subscriber side, as if they were two processes). The PUB binds
//! `<bind-to>` (e.g. `tcp://127.0.0.1:*`); `<subscribers>` SUB sockets, one
//! thread each, connect to it and subscribe to everything. Then:
//!
//! 1. join: the publisher sends a warm-up message every 10 ms until every
//!    subscriber has reported (over an in-process channel) that it saw one,
//!    so all subscriptions are in place before the clock starts;
//! 2. the publisher takes the time and publishes `<message-count>` messages
//!    of `<message-size>` bytes as fast as `send` takes them;
//! 3. it publishes an end marker (again every 100 ms until every subscriber
//!    has reported it); each subscriber counts the data messages it got and
//!    takes the time when the end marker arrives, right behind its last one.
//!
//! The elapsed time runs from the first send to the last subscriber's end
//! marker; the rate is the messages delivered, summed over the subscribers,
//! over that time. Both HWMs are 0 (no limit), so PUB never drops and every
//! subscriber gets every message: `delivered` is a check (it must equal
//! subscribers × message-count), not a variable. Control messages have two
//! frames, data messages one. Every receive has a 10 s timeout. Output:
//!
//! ```text
//! subscribers: 10
//! message size: 16 [B]
//! message count: 200000
//! delivered: 2000000 of 2000000 [msg]
//! mean throughput: 1234567 [msg/s]
//! mean throughput: 158.025 [Mb/s]
//! ```
//!
//! `bench/libzmq/fanout_thr.c` is the libzmq twin with the same contract;
//! `scripts/bench-vs-libzmq --only scale` runs both (docs/benchmarks.md).

use std::process::ExitCode;

#[path = "perf_common/mod.rs"]
mod perf_common;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use zmio::{Context, Msg, Pub, Sub};

const USAGE: &str = "usage: fanout_thr <bind-to> <subscribers> <message-size> <message-count>";
/// Longest wait for any one message (or any one report) before giving up.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for all subscribers to join.
const JOIN_TIMEOUT: Duration = Duration::from_secs(30);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a subscriber thread tells the publisher.
enum Report {
    /// It saw a warm-up message: its subscription is in place.
    Joined,
    /// It saw the end marker after `delivered` data messages.
    Done { delivered: u64, at: Instant },
    /// It failed.
    Failed(String),
}

fn control(kind: &'static [u8]) -> Msg {
    Msg::from_frames([Bytes::new(), Bytes::from_static(kind)])
}

fn subscriber(
    ctx: &Context,
    endpoint: &str,
    size: usize,
    reports: &mpsc::Sender<Report>,
) -> Result<(), BoxError> {
    let mut sub = ctx.socket::<Sub>()?;
    sub.set_rcvhwm(0)?;
    sub.set_linger(Some(Duration::ZERO))?;
    sub.set_rcvtimeo(Some(TIMEOUT))?;
    sub.connect(endpoint)?;
    sub.subscribe("")?;
    let mut joined = false;
    let mut delivered = 0u64;
    loop {
        let msg = sub.recv()?;
        if msg.frame_count() == 1 {
            perf_common::check_size(msg.size(), size)?;
            delivered += 1;
            continue;
        }
        match msg.frame(1).map(|f| &f[..]) {
            Some(b"w") if !joined => {
                joined = true;
                let _ = reports.send(Report::Joined);
            }
            Some(b"e") => {
                let at = Instant::now();
                let _ = reports.send(Report::Done { delivered, at });
                return Ok(());
            }
            _ => {}
        }
    }
}

/// Waits up to `timeout` for the next report; a failed subscriber is an error.
fn next_report(
    reports: &mpsc::Receiver<Report>,
    timeout: Duration,
) -> Result<Option<Report>, BoxError> {
    match reports.recv_timeout(timeout) {
        Ok(Report::Failed(e)) => Err(format!("subscriber: {e}").into()),
        Ok(report) => Ok(Some(report)),
        Err(RecvTimeoutError::Timeout) => Ok(None),
        Err(RecvTimeoutError::Disconnected) => Err("every subscriber thread is gone".into()),
    }
}

fn run(bind_to: &str, subscribers: usize, size: usize, count: usize) -> Result<(), BoxError> {
    let pub_ctx = Context::new()?;
    let sub_ctx = Context::new()?;
    let mut publisher = pub_ctx.socket::<Pub>()?;
    publisher.set_sndhwm(0)?;
    // Every delivery that counts is confirmed by a report; on an error path
    // nothing must wait for a stuck subscriber.
    publisher.set_linger(Some(Duration::ZERO))?;
    let endpoint = publisher.bind(bind_to)?.to_string();

    let (report_tx, reports) = mpsc::channel();
    let threads = (0..subscribers)
        .map(|i| {
            let (ctx, endpoint, tx) = (sub_ctx.clone(), endpoint.clone(), report_tx.clone());
            thread::Builder::new()
                .name(format!("sub-{i}"))
                .stack_size(256 * 1024)
                .spawn(move || {
                    if let Err(e) = subscriber(&ctx, &endpoint, size, &tx) {
                        let _ = tx.send(Report::Failed(e.to_string()));
                    }
                })
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    drop(report_tx);

    // 1. Join: warm up until every subscription is in place.
    let warm = control(b"w");
    let deadline = Instant::now() + JOIN_TIMEOUT;
    let mut joined = 0;
    while joined < subscribers {
        if Instant::now() > deadline {
            return Err(format!("only {joined} of {subscribers} subscribers joined").into());
        }
        publisher.send(warm.clone())?;
        if let Some(Report::Joined) = next_report(&reports, Duration::from_millis(10))? {
            joined += 1;
        }
    }

    // 2. The measured burst.
    let payload = Bytes::from(vec![0u8; size]);
    let start = Instant::now();
    for _ in 0..count {
        publisher.send(payload.clone())?;
    }

    // 3. The end marker, until every subscriber has seen it.
    let end = control(b"e");
    let mut done = 0;
    let mut delivered = 0u64;
    let mut last = start;
    let mut progress = Instant::now();
    while done < subscribers {
        publisher.send(end.clone())?;
        match next_report(&reports, Duration::from_millis(100))? {
            Some(Report::Done { delivered: d, at }) => {
                done += 1;
                delivered += d;
                last = last.max(at);
                progress = Instant::now();
            }
            Some(_) => {}
            None if progress.elapsed() > TIMEOUT => {
                return Err(format!(
                    "only {done} of {subscribers} subscribers saw the end within {TIMEOUT:?}"
                )
                .into());
            }
            None => {}
        }
    }
    for t in threads {
        t.join().map_err(|_| "a subscriber thread panicked")?;
    }

    println!("subscribers: {subscribers}");
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!(
        "delivered: {delivered} of {} [msg]",
        subscribers as u64 * count as u64
    );
    perf_common::print_throughput(size, delivered, last - start);
    Ok(())
}

fn main() -> ExitCode {
    perf_common::main(
        "fanout_thr",
        USAGE,
        |[bind_to, subscribers, size, count]: &[String; 4]| {
            Ok((
                bind_to.clone(),
                perf_common::number("subscribers", subscribers, 1)?,
                perf_common::number("message-size", size, 0)?,
                perf_common::number("message-count", count, 0)?,
            ))
        },
        |(bind_to, subscribers, size, count)| run(&bind_to, subscribers, size, count),
    )
}
