//! Throughput, sending side: the zmio counterpart of libzmq's `perf/remote_thr`.
//!
//!     remote_thr <connect-to> <message-size> <message-count>
//!
//! Connects a PUSH socket to `<connect-to>` (where a `local_thr`, zmio's or
//! libzmq's, is bound), sends `<message-count>` messages of `<message-size>`
//! bytes as fast as the socket takes them, and exits once all are delivered
//! (the default linger waits for them). It prints nothing; `local_thr`
//! reports the rate. One payload is allocated and each send clones its
//! `Bytes` handle, so the loop copies no payload.

use std::process::ExitCode;

#[path = "perf_common/mod.rs"]
mod perf_common;

use bytes::Bytes;
use zmio::{Context, Push};

const USAGE: &str = "usage: remote_thr <connect-to> <message-size> <message-count>";

fn run(connect_to: &str, size: usize, count: usize) -> zmio::Result<()> {
    let ctx = Context::new()?;
    let mut push = ctx.socket::<Push>()?;
    push.connect(connect_to)?;
    let payload = Bytes::from(vec![0u8; size]);
    for _ in 0..count {
        push.send(payload.clone())?;
    }
    // Dropping the socket, then the context, waits until every queued
    // message has been written (linger defaults to infinite, as in libzmq).
    drop(push);
    drop(ctx);
    Ok(())
}

fn main() -> ExitCode {
    perf_common::main(
        "remote_thr",
        USAGE,
        |[connect_to, size, count]: &[String; 3]| {
            Ok((
                connect_to.clone(),
                perf_common::number("message-size", size, 0)?,
                perf_common::number("message-count", count, 0)?,
            ))
        },
        |(connect_to, size, count)| run(&connect_to, size, count),
    )
}
