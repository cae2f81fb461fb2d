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

use bytes::Bytes;
use zmio::{Context, Push};

const USAGE: &str = "usage: remote_thr <connect-to> <message-size> <message-count>";

/// Parses a whole-number argument, naming it in the error.
fn number(name: &str, value: &str) -> Result<usize, String> {
    value
        .parse()
        .map_err(|_| format!("{name} `{value}` is not a whole number"))
}

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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [connect_to, size, count] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let parsed =
        number("message-size", size).and_then(|size| Ok((size, number("message-count", count)?)));
    let (size, count) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("{USAGE} ({e})");
            return ExitCode::FAILURE;
        }
    };
    match run(connect_to, size, count) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("remote_thr: {e}");
            ExitCode::FAILURE
        }
    }
}
