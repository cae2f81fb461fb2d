//! Latency, echoing side: the zmio counterpart of libzmq's `perf/local_lat`.
//!
//!     local_lat <bind-to> <message-size> <roundtrip-count>
//!
//! Binds a REP socket to `<bind-to>` and, `<roundtrip-count>` times, receives
//! a message of `<message-size>` bytes from a `remote_lat` (zmio's or
//! libzmq's) and sends the same message straight back (no copy: the received
//! frames are sent again). It prints nothing; `remote_lat` reports the
//! latency. A message of another size is an error.

use std::process::ExitCode;

#[path = "perf_common/mod.rs"]
mod perf_common;

use zmio::{Context, Rep};

const USAGE: &str = "usage: local_lat <bind-to> <message-size> <roundtrip-count>";

fn run(bind_to: &str, size: usize, roundtrips: usize) -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::new()?;
    let mut rep = ctx.socket::<Rep>()?;
    rep.bind(bind_to)?;
    for _ in 0..roundtrips {
        let msg = rep.recv()?;
        perf_common::check_size(msg.size(), size)?;
        rep.send(msg)?;
    }
    // The default (infinite) linger lets the last reply out before the
    // context is gone.
    drop(rep);
    drop(ctx);
    Ok(())
}

fn main() -> ExitCode {
    perf_common::main(
        "local_lat",
        USAGE,
        |[bind_to, size, roundtrips]: &[String; 3]| {
            Ok((
                bind_to.clone(),
                perf_common::number("message-size", size, 0)?,
                perf_common::number("roundtrip-count", roundtrips, 0)?,
            ))
        },
        |(bind_to, size, roundtrips)| run(&bind_to, size, roundtrips),
    )
}
