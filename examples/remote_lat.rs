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
use std::time::Instant;

use bytes::Bytes;
use zmio::{Context, Req};

const USAGE: &str = "usage: remote_lat <connect-to> <message-size> <roundtrip-count>";

/// Parses a whole-number argument, naming it in the error.
fn number(name: &str, value: &str) -> Result<usize, String> {
    value
        .parse()
        .map_err(|_| format!("{name} `{value}` is not a whole number"))
}

fn run(connect_to: &str, size: usize, roundtrips: usize) -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::new()?;
    let mut req = ctx.socket::<Req>()?;
    req.connect(connect_to)?;
    let payload = Bytes::from(vec![0u8; size]);

    let start = Instant::now();
    for _ in 0..roundtrips {
        req.send(payload.clone())?;
        let reply = req.recv()?;
        if reply.size() != size {
            return Err(format!(
                "message of incorrect size received: {} B, expected {size} B",
                reply.size()
            )
            .into());
        }
    }
    let elapsed_us = start.elapsed().as_secs_f64() * 1e6;
    let latency = elapsed_us / (2.0 * roundtrips as f64);

    println!("message size: {size} [B]");
    println!("roundtrip count: {roundtrips}");
    println!("average latency: {latency:.3} [us]");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [connect_to, size, roundtrips] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let parsed = number("message-size", size).and_then(|size| {
        match number("roundtrip-count", roundtrips)? {
            0 => Err("roundtrip-count must be at least 1".to_owned()),
            n => Ok((size, n)),
        }
    });
    let (size, roundtrips) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("{USAGE} ({e})");
            return ExitCode::FAILURE;
        }
    };
    match run(connect_to, size, roundtrips) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("remote_lat: {e}");
            ExitCode::FAILURE
        }
    }
}
