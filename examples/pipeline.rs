//! The main demo: a parallel pipeline in one process over TCP loopback.
//!
//! A ventilator (PUSH, bound) hands out tasks round-robin to N workers; each
//! worker (PULL from the ventilator, PUSH to the sink) passes its results to a
//! sink (PULL, bound), which fair-queues them and reports the rate.
//!
//!     cargo run --release --example pipeline [workers] [messages] [size]
//!
//! Defaults: 4 workers, 1,000,000 messages of 16 bytes.

use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use zmio::{Context, Pull, Push};

/// A worker stops when it receives this (one empty frame), after passing it on.
fn is_stop(msg: &zmio::Msg) -> bool {
    msg.size() == 0
}

fn arg(n: usize, default: usize) -> Result<usize, String> {
    match std::env::args().nth(n) {
        None => Ok(default),
        Some(s) => s
            .parse()
            .map_err(|_| format!("argument {n} `{s}` is not a whole number")),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let workers = arg(1, 4)?.max(1);
    let messages = arg(2, 1_000_000)?;
    let size = arg(3, 16)?.max(1);
    let ctx = Context::new()?;

    let mut ventilator = ctx.socket::<Push>()?;
    // Leftover stop messages for workers that already left are not worth waiting for.
    ventilator.set_linger(Some(Duration::ZERO))?;
    let tasks = ventilator.bind("tcp://127.0.0.1:*")?.to_string();
    let mut sink = ctx.socket::<Pull>()?;
    let results = sink.bind("tcp://127.0.0.1:*")?.to_string();

    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let ctx = ctx.clone();
            let (tasks, results) = (tasks.clone(), results.clone());
            thread::spawn(move || -> zmio::Result<u64> {
                let mut input = ctx.socket::<Pull>()?;
                input.connect(&tasks)?;
                let mut output = ctx.socket::<Push>()?;
                output.connect(&results)?;
                let mut done = 0;
                loop {
                    let msg = input.recv()?;
                    let stop = is_stop(&msg);
                    output.send(msg)?;
                    if stop {
                        return Ok(done);
                    }
                    done += 1;
                }
            })
        })
        .collect();

    println!("pipeline: {workers} workers, {messages} messages of {size} B over tcp loopback");
    let payload = Bytes::from(vec![b'x'; size]);
    let start = Instant::now();
    for _ in 0..messages {
        ventilator.send(payload.clone())?;
    }
    // Each worker stops at an empty message, after forwarding it to the sink.
    // PUSH round-robins over the workers that have room, so one round of
    // `workers` stops need not reach every worker: keep offering stops until
    // the sink has seen one from each. Stops that reach a worker after it left
    // go with its connection.
    let mut received = 0usize;
    let mut stops = 0usize;
    sink.set_rcvtimeo(Some(Duration::from_millis(20)))?;
    while stops < workers {
        match ventilator.try_send(Bytes::new()) {
            Ok(()) | Err(zmio::Error::WouldBlock) => {}
            Err(e) => return Err(e.into()),
        }
        loop {
            match sink.recv() {
                Ok(msg) if is_stop(&msg) => stops += 1,
                Ok(_) => received += 1,
                Err(zmio::Error::TimedOut) => break,
                Err(e) => return Err(e.into()),
            }
        }
    }
    let elapsed = start.elapsed();
    let mut per_worker = Vec::new();
    for handle in handles {
        per_worker.push(handle.join().map_err(|_| "a worker panicked")??);
    }
    let rate = received as f64 / elapsed.as_secs_f64();
    println!(
        "received {received} in {:.3} s: {:.0} messages/s, {:.1} MB/s",
        elapsed.as_secs_f64(),
        rate,
        rate * size as f64 / 1e6
    );
    println!("per worker: {per_worker:?}");
    if received != messages {
        return Err(format!("lost messages: sent {messages}, received {received}").into());
    }
    Ok(())
}
