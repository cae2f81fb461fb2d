//! PUSH -> PULL throughput over TCP loopback at several message sizes, one
//! process, two threads. `cargo bench --bench throughput` prints messages/s
//! and MB/s; the side-by-side comparison with libzmq comes with the
//! performance issue (docs/benchmarks.md).

use std::time::{Duration, Instant};

use zmio::{Context, Pull, Push};

fn run(size: usize, count: usize) -> zmio::Result<Duration> {
    let ctx = Context::new()?;
    let mut pull = ctx.socket::<Pull>()?;
    let endpoint = pull.bind("tcp://127.0.0.1:*")?.to_string();
    let sender = std::thread::spawn(move || -> zmio::Result<()> {
        let ctx = Context::new()?;
        let mut push = ctx.socket::<Push>()?;
        push.connect(&endpoint)?;
        let payload = bytes::Bytes::from(vec![b'x'; size]);
        for _ in 0..count {
            push.send(payload.clone())?;
        }
        Ok(())
    });
    pull.set_rcvtimeo(Some(Duration::from_secs(30)))?;
    pull.recv()?;
    let start = Instant::now();
    for _ in 1..count {
        pull.recv()?;
    }
    let elapsed = start.elapsed();
    sender.join().expect("sender thread")?;
    Ok(elapsed)
}

fn main() -> zmio::Result<()> {
    // `cargo test --benches` runs this with --bench absent: keep it short then.
    let quick = !std::env::args().any(|a| a == "--bench");
    for (size, count) in [
        (16, 2_000_000),
        (256, 1_000_000),
        (4096, 200_000),
        (65536, 20_000),
    ] {
        let count = if quick { count / 100 } else { count };
        let elapsed = run(size, count)?;
        let rate = (count - 1) as f64 / elapsed.as_secs_f64();
        println!(
            "size {size:>6} B  {count:>8} msgs  {:>12.0} msg/s  {:>9.1} MB/s",
            rate,
            rate * size as f64 / 1e6
        );
    }
    Ok(())
}
