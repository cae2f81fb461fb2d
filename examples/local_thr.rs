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
use std::time::Instant;

use zmio::{Context, Pull};

const USAGE: &str = "usage: local_thr <bind-to> <message-size> <message-count>";

/// Parses a whole-number argument, naming it in the error.
fn number(name: &str, value: &str) -> Result<usize, String> {
    value
        .parse()
        .map_err(|_| format!("{name} `{value}` is not a whole number"))
}

fn run(bind_to: &str, size: usize, count: usize) -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::new()?;
    let mut pull = ctx.socket::<Pull>()?;
    pull.bind(bind_to)?;

    let check = |msg: &zmio::Msg| -> Result<(), String> {
        if msg.size() == size {
            Ok(())
        } else {
            Err(format!(
                "message of incorrect size received: {} B, expected {size} B",
                msg.size()
            ))
        }
    };
    check(&pull.recv()?)?;
    let start = Instant::now();
    for _ in 1..count {
        check(&pull.recv()?)?;
    }
    // As libzmq's tool: whole microseconds, at least one, and the message
    // count (not the count of intervals) over that time.
    let elapsed_us = (start.elapsed().as_micros() as f64).max(1.0);
    let throughput = (count as f64 / elapsed_us * 1e6) as u64;
    let megabits = throughput as f64 * size as f64 * 8.0 / 1e6;

    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("mean throughput: {throughput} [msg/s]");
    println!("mean throughput: {megabits:.3} [Mb/s]");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bind_to, size, count] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let parsed =
        number("message-size", size).and_then(|size| match number("message-count", count)? {
            0 => Err("message-count must be at least 1".to_owned()),
            count => Ok((size, count)),
        });
    let (size, count) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("{USAGE} ({e})");
            return ExitCode::FAILURE;
        }
    };
    match run(bind_to, size, count) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("local_thr: {e}");
            ExitCode::FAILURE
        }
    }
}
