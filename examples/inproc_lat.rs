//! Latency over inproc: the zmio counterpart of libzmq's `perf/inproc_lat`.
//!
//!     inproc_lat <message-size> <roundtrip-count>
//!
//! A REQ on this thread and a REP on another bounce a message of
//! `<message-size>` bytes `<roundtrip-count>` times over `inproc://`, and
//! the mean one-way latency (half the round trip) is printed as libzmq's
//! tool prints it:
//!
//! ```text
//! message size: 64 [B]
//! roundtrip count: 100000
//! average latency: 12.345 [us]
//! ```

use std::process::ExitCode;
use std::time::Instant;

#[path = "perf_common/mod.rs"]
mod perf_common;

use bytes::Bytes;
use zmio::{Context, Rep, Req};

const USAGE: &str = "usage: inproc_lat <message-size> <roundtrip-count>";

fn run(size: usize, count: usize) -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::new()?;
    let mut rep = ctx.socket::<Rep>()?;
    rep.bind("inproc://lat_test")?;
    let mut req = ctx.socket::<Req>()?;
    req.connect("inproc://lat_test")?;
    let echo = std::thread::spawn(move || -> zmio::Result<()> {
        for _ in 0..count {
            let msg = rep.recv()?;
            rep.send(msg)?;
        }
        Ok(())
    });
    let payload = Bytes::from(vec![0u8; size]);
    let start = Instant::now();
    for _ in 0..count {
        req.send(payload.clone())?;
        perf_common::check_size(req.recv()?.size(), size)?;
    }
    let elapsed = start.elapsed();
    echo.join().map_err(|_| "the echo thread panicked")??;
    let latency_us = elapsed.as_secs_f64() * 1e6 / (count as f64 * 2.0);
    println!("message size: {size} [B]");
    println!("roundtrip count: {count}");
    println!("average latency: {latency_us:.3} [us]");
    Ok(())
}

fn main() -> ExitCode {
    perf_common::main(
        "inproc_lat",
        USAGE,
        |[size, count]: &[String; 2]| {
            Ok((
                perf_common::number("message-size", size, 0)?,
                perf_common::number("roundtrip-count", count, 1)?,
            ))
        },
        |(size, count)| run(size, count),
    )
}
