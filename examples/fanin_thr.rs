//! Scale, fan-in: one PULL fed by many PUSH sockets over TCP loopback.
//!
//!     fanin_thr <bind-to> <pushers> <message-size> <message-count>
//!
//! One process, two contexts of one I/O thread each (puller side and pusher
//! side, as if they were two processes). The PULL binds `<bind-to>` (e.g.
//! `tcp://127.0.0.1:*`); `<pushers>` PUSH sockets connect to it, spread
//! evenly over 4 sending threads. Then:
//!
//! 1. join: every pusher sends one warm-up message; once the puller has
//!    received all of them (so every connection is up), it releases the
//!    sending threads;
//! 2. each sending thread sends `<message-count>` messages of
//!    `<message-size>` bytes on each of its pushers, one pusher after the
//!    other in turn, so that all connections carry traffic at once;
//! 3. the puller receives pushers × message-count messages, timed from the
//!    first to the last as `local_thr` does, and prints the total rate;
//! 4. only then are the sending threads released to close their sockets, so
//!    that teardown never overlaps the measurement.
//!
//! HWMs are the defaults (1000 per pipe, both sides). Every receive has a
//! 10 s timeout. Output:
//!
//! ```text
//! pushers: 100
//! message size: 16 [B]
//! message count: 2000000
//! mean throughput: 1234567 [msg/s]
//! mean throughput: 158.025 [Mb/s]
//! ```
//!
//! where message count is the total over all pushers. `bench/libzmq/fanin_thr.c`
//! is the libzmq twin with the same contract; `scripts/bench-vs-libzmq --only
//! scale` runs both (docs/benchmarks.md).

use std::process::ExitCode;

#[path = "perf_common/mod.rs"]
mod perf_common;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use zmio::{Context, Msg, Pull, Push};

const USAGE: &str = "usage: fanin_thr <bind-to> <pushers> <message-size> <message-count>";
/// Sending threads the pushers are spread over.
const SENDING_THREADS: usize = 4;
/// Longest wait for any one message.
const TIMEOUT: Duration = Duration::from_secs(10);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn sender(
    ctx: &Context,
    endpoint: &str,
    pushers: usize,
    size: usize,
    count: usize,
    go: &Barrier,
) -> Result<(), BoxError> {
    let payload = Bytes::from(vec![0u8; size]);
    let mut sockets = (0..pushers)
        .map(|_| {
            let mut push = ctx.socket::<Push>()?;
            push.set_sndtimeo(Some(TIMEOUT))?;
            push.connect(endpoint)?;
            Ok(push)
        })
        .collect::<zmio::Result<Vec<_>>>()?;
    for push in &mut sockets {
        push.send(payload.clone())?;
    }
    go.wait();
    for _ in 0..count {
        for push in &mut sockets {
            push.send(payload.clone())?;
        }
    }
    // Everything is delivered once the puller passes this barrier.
    go.wait();
    Ok(())
}

fn run(bind_to: &str, pushers: usize, size: usize, count: usize) -> Result<(), BoxError> {
    let pull_ctx = Context::new()?;
    let push_ctx = Context::new()?;
    let mut pull = pull_ctx.socket::<Pull>()?;
    pull.set_rcvtimeo(Some(TIMEOUT))?;
    let endpoint = pull.bind(bind_to)?.to_string();

    let threads = SENDING_THREADS.min(pushers);
    let go = Arc::new(Barrier::new(threads + 1));
    let handles = (0..threads)
        .map(|t| {
            let mine = (t..pushers).step_by(threads).count();
            let (ctx, endpoint, go) = (push_ctx.clone(), endpoint.clone(), go.clone());
            thread::Builder::new()
                .name(format!("push-{t}"))
                .spawn(move || {
                    let result = sender(&ctx, &endpoint, mine, size, count, &go);
                    if let Err(e) = &result {
                        // Fail at once rather than leave the others waiting.
                        eprintln!("fanin_thr: pusher thread {t}: {e}");
                        std::process::exit(1);
                    }
                })
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    drop(push_ctx);

    let check = |msg: &Msg| perf_common::check_size(msg.size(), size);
    // 1. Join: one warm-up message from every pusher.
    for i in 0..pushers {
        check(
            &pull
                .recv()
                .map_err(|e| format!("warm-up message {i}: {e}"))?,
        )?;
    }
    go.wait();

    // 2-3. The measured burst, first message to last.
    let total = pushers as u64 * count as u64;
    let mut start = Instant::now();
    for i in 0..total {
        check(
            &pull
                .recv()
                .map_err(|e| format!("message {i} of {total}: {e}"))?,
        )?;
        if i == 0 {
            start = Instant::now();
        }
    }
    let elapsed = start.elapsed();
    // 4. Let the senders close.
    go.wait();
    for h in handles {
        h.join().map_err(|_| "a pusher thread panicked")?;
    }

    println!("pushers: {pushers}");
    println!("message size: {size} [B]");
    println!("message count: {total}");
    perf_common::print_throughput(size, total, elapsed);
    Ok(())
}

fn main() -> ExitCode {
    perf_common::main(
        "fanin_thr",
        USAGE,
        |[bind_to, pushers, size, count]: &[String; 4]| {
            Ok((
                bind_to.clone(),
                perf_common::number("pushers", pushers, 1)?,
                perf_common::number("message-size", size, 0)?,
                perf_common::number("message-count", count, 1)?,
            ))
        },
        |(bind_to, pushers, size, count)| run(&bind_to, pushers, size, count),
    )
}
