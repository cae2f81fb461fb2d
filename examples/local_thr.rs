//! Throughput, receiving side: the zmio counterpart of libzmq's `perf/local_thr`.
//!
//!     local_thr <bind-to> <message-size> <message-count>
//!
//! Binds a PULL socket to `<bind-to>` (e.g. `tcp://127.0.0.1:5555`), receives
//! `<message-count>` messages of `<message-size>` bytes each from a
//! `remote_thr` (zmio's or libzmq's), and prints the rate, timed from the
//! first message received to the last, as libzmq's tool does:
//!
//! ```text
//! message size: 16 [B]
//! message count: 1000000
//! mean throughput: 1234567 [msg/s]
//! mean throughput: 158.025 [Mb/s]
//! ```
//!
//! Mb/s is msg/s × size × 8 / 10⁶. A message of another size is an error.
//! `scripts/bench-vs-libzmq` runs this against libzmq side by side
//! (docs/benchmarks.md).

use std::process::ExitCode;

#[path = "perf_common/mod.rs"]
mod perf_common;
use std::time::Instant;

use zmio::{Context, Pull};

const USAGE: &str = "usage: local_thr <bind-to> <message-size> <message-count>";

fn run(bind_to: &str, size: usize, count: usize) -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::new()?;
    let mut pull = ctx.socket::<Pull>()?;
    pull.bind(bind_to)?;

    perf_common::check_size(pull.recv()?.size(), size)?;
    let start = Instant::now();
    for _ in 1..count {
        perf_common::check_size(pull.recv()?.size(), size)?;
    }
    // As libzmq's tool: the message count (not the count of intervals)
    // over the time from the first message to the last.
    let elapsed = start.elapsed();
    println!("message size: {size} [B]");
    println!("message count: {count}");
    perf_common::print_throughput(size, count as u64, elapsed);
    Ok(())
}

fn main() -> ExitCode {
    perf_common::main(
        "local_thr",
        USAGE,
        |[bind_to, size, count]: &[String; 3]| {
            Ok((
                bind_to.clone(),
                perf_common::number("message-size", size, 0)?,
                perf_common::number("message-count", count, 1)?,
            ))
        },
        |(bind_to, size, count)| run(&bind_to, size, count),
    )
}
