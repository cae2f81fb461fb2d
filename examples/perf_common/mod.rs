//! What the perf tools share: their command line, with libzmq's usage
//! errors, and the throughput lines they print.

// Each tool compiles this module on its own and uses a part of it.
#![allow(dead_code)]

use std::fmt::Display;
use std::process::ExitCode;

/// A whole-number argument, at least `min`, named in the error.
pub fn number(name: &str, value: &str, min: usize) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n >= min => Ok(n),
        Ok(_) => Err(format!("{name} must be at least {min}")),
        Err(_) => Err(format!("{name} `{value}` is not a whole number")),
    }
}

/// Runs a tool: exactly `N` arguments, read by `parse` (an `Err` is a
/// usage error), then `run`. A usage error prints the usage line, a failed
/// run `tool: error`; both exit 1.
pub fn main<const N: usize, A, E: Display>(
    tool: &str,
    usage: &str,
    parse: impl FnOnce(&[String; N]) -> Result<A, String>,
    run: impl FnOnce(A) -> Result<(), E>,
) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Ok(args) = <[String; N]>::try_from(args) else {
        eprintln!("{usage}");
        return ExitCode::FAILURE;
    };
    let parsed = match parse(&args) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("{usage} ({e})");
            return ExitCode::FAILURE;
        }
    };
    match run(parsed) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{tool}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The throughput lines of libzmq's `local_thr`: message-count over the
/// elapsed whole microseconds (at least one), and Mb/s from that.
pub fn print_throughput(size: usize, count: u64, elapsed: std::time::Duration) {
    let elapsed_us = (elapsed.as_micros() as f64).max(1.0);
    let throughput = (count as f64 / elapsed_us * 1e6) as u64;
    let megabits = throughput as f64 * size as f64 * 8.0 / 1e6;
    println!("mean throughput: {throughput} [msg/s]");
    println!("mean throughput: {megabits:.3} [Mb/s]");
}

/// A message of the wrong size is an error, as in libzmq's tools.
pub fn check_size(got: usize, size: usize) -> Result<(), String> {
    if got == size {
        Ok(())
    } else {
        Err(format!(
            "message of incorrect size received: {got} B, expected {size} B"
        ))
    }
}
