//! Latency, requesting side: the zmio counterpart of libzmq's `perf/remote_lat`.
//!
//!     remote_lat <connect-to> <message-size> <roundtrip-count>
//!
//! Connects a REQ socket to `<connect-to>` (where a `local_lat`, zmio's or
//! libzmq's, is bound), then `<roundtrip-count>` times sends a message of
//! `<message-size>` bytes and waits for the echo. The clock runs from just
//! before the first send to the last reply, as in libzmq's tool, and the
//! one-way latency is elapsed / (2 × roundtrips):
//!
//! ```text
//! message size: 64 [B]
//! roundtrip count: 20000
//! average latency: 25.123 [us]
//! ```
//!
//! One payload is allocated and each send clones its `Bytes` handle.

use std::process::ExitCode;

#[path = "perf_common/mod.rs"]
mod perf_common;
use std::time::Instant;

use bytes::Bytes;
use zmio::{Context, Req};

const USAGE: &str = "usage: remote_lat <connect-to> <message-size> <roundtrip-count>";

fn run(connect_to: &str, size: usize, roundtrips: usize) -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::new()?;
    let mut req = ctx.socket::<Req>()?;
    req.connect(connect_to)?;
    let payload = Bytes::from(vec![0u8; size]);

    let start = Instant::now();
    for _ in 0..roundtrips {
        req.send(payload.clone())?;
        perf_common::check_size(req.recv()?.size(), size)?;
    }
    let elapsed_us = start.elapsed().as_secs_f64() * 1e6;
    let latency = elapsed_us / (2.0 * roundtrips as f64);

    println!("message size: {size} [B]");
    println!("roundtrip count: {roundtrips}");
    println!("average latency: {latency:.3} [us]");
    Ok(())
}

fn main() -> ExitCode {
    perf_common::main(
        "remote_lat",
        USAGE,
        |[connect_to, size, roundtrips]: &[String; 3]| {
            Ok((
                connect_to.clone(),
                perf_common::number("message-size", size, 0)?,
                perf_common::number("roundtrip-count", roundtrips, 1)?,
            ))
        },
        |(connect_to, size, roundtrips)| run(&connect_to, size, roundtrips),
    )
}
