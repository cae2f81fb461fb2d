//! Throughput over inproc: the zmio counterpart of libzmq's `perf/inproc_thr`.
//!
//!     inproc_thr <message-size> <message-count>
//!
//! A PUSH on its own thread sends `<message-count>` messages of
//! `<message-size>` bytes to a PULL on this thread over `inproc://`; the
//! rate is timed from the first message received to the last and printed
//! in libzmq's four lines (see `local_thr`). bench/libzmq/inproc_thr.c is
//! the libzmq side, built and run by `scripts/bench-vs-libzmq --only inproc`.

use std::process::ExitCode;
use std::time::Instant;

#[path = "perf_common/mod.rs"]
mod perf_common;

use bytes::Bytes;
use zmio::{Context, Pull, Push};

const USAGE: &str = "usage: inproc_thr <message-size> <message-count>";

fn run(size: usize, count: usize) -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::new()?;
    let mut pull = ctx.socket::<Pull>()?;
    pull.bind("inproc://thr_test")?;
    let mut push = ctx.socket::<Push>()?;
    push.connect("inproc://thr_test")?;
    let sender = std::thread::spawn(move || -> zmio::Result<()> {
        let payload = Bytes::from(vec![0u8; size]);
        for _ in 0..count {
            push.send(payload.clone())?;
        }
        Ok(())
    });

    perf_common::check_size(pull.recv()?.size(), size)?;
    let start = Instant::now();
    for _ in 1..count {
        perf_common::check_size(pull.recv()?.size(), size)?;
    }
    let elapsed = start.elapsed();
    sender.join().map_err(|_| "the sending thread panicked")??;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    perf_common::print_throughput(size, count as u64, elapsed);
    Ok(())
}

fn main() -> ExitCode {
    perf_common::main(
        "inproc_thr",
        USAGE,
        |[size, count]: &[String; 2]| {
            Ok((
                perf_common::number("message-size", size, 0)?,
                perf_common::number("message-count", count, 1)?,
            ))
        },
        |(size, count)| run(size, count),
    )
}
