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

use zmio::{Context, Rep};

const USAGE: &str = "usage: local_lat <bind-to> <message-size> <roundtrip-count>";

/// Parses a whole-number argument, naming it in the error.
fn number(name: &str, value: &str) -> Result<usize, String> {
    value
        .parse()
        .map_err(|_| format!("{name} `{value}` is not a whole number"))
}

fn run(bind_to: &str, size: usize, roundtrips: usize) -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::new()?;
    let mut rep = ctx.socket::<Rep>()?;
    rep.bind(bind_to)?;
    for _ in 0..roundtrips {
        let msg = rep.recv()?;
        if msg.size() != size {
            return Err(format!(
                "message of incorrect size received: {} B, expected {size} B",
                msg.size()
            )
            .into());
        }
        rep.send(msg)?;
    }
    // The default (infinite) linger lets the last reply out before the
    // context is gone.
    drop(rep);
    drop(ctx);
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bind_to, size, roundtrips] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let parsed = number("message-size", size)
        .and_then(|size| Ok((size, number("roundtrip-count", roundtrips)?)));
    let (size, roundtrips) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("{USAGE} ({e})");
            return ExitCode::FAILURE;
        }
    };
    match run(bind_to, size, roundtrips) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("local_lat: {e}");
            ExitCode::FAILURE
        }
    }
}
