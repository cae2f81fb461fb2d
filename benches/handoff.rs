//! Micro-benchmarks of the hand-off between two sockets through a pipe,
//! without a network or a reactor: an inproc PUSH and PULL of one context,
//! nanoseconds per message, through zmio's public API. An inproc connection
//! is the pipe alone (two bounded queues shared crosswise; each wakes its
//! reader's mailbox), so this measures the pipe plus the socket layer on
//! each side (the load balancer, the fair queue and its read cache).
//!
//! - `handoff/batch`: one thread; [`BATCH`] sends on the PUSH, then
//!   [`BATCH`] receives on the PULL (the queue is swapped out whole into the
//!   fair queue's cache on the first receive).
//! - `handoff/two_threads`: a producer thread sends one message at a time
//!   (blocking at the high water mark, 1000 by default) and the consumer
//!   receives on the bench thread; time from the first send to the last
//!   message received, per message. It includes sleeping and waking when
//!   one side outruns the other, and it is the noisiest on a loaded machine.
//!
//! In `batch` each criterion iteration is one message and building the
//! messages is outside the timed region.
//! Run with `cargo bench --bench handoff`.

use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use zmio::{Context, Msg, Pull, Push};

/// Messages per measured batch (less than the high water mark, so no send
/// waits).
const BATCH: usize = 256;
/// Payload of every message (the pipe moves `Msg` handles; size does not matter).
const SIZE: usize = 16;

fn handoff(c: &mut Criterion) {
    let payload = Bytes::from(vec![0x5a; SIZE]);
    let mut group = c.benchmark_group("handoff");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(700))
        .measurement_time(Duration::from_millis(2500))
        .throughput(Throughput::Elements(1));

    let ctx = Context::new().expect("context");
    let mut pull = ctx.socket::<Pull>().expect("pull");
    pull.bind("inproc://handoff-batch").expect("bind");
    let mut push = ctx.socket::<Push>().expect("push");
    push.connect("inproc://handoff-batch").expect("connect");
    let mut msgs: Vec<Msg> = Vec::with_capacity(BATCH);
    group.bench_function("batch", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(BATCH as u64);
                msgs.extend((0..n).map(|_| Msg::from(payload.clone())));
                let start = Instant::now();
                for msg in msgs.drain(..) {
                    push.send(msg)
                        .expect("a batch fits below the high water mark");
                }
                for _ in 0..n {
                    pull.recv().expect("recv");
                }
                elapsed += start.elapsed();
                left -= n;
            }
            elapsed
        });
    });

    group.bench_function("two_threads", |b| {
        b.iter_custom(|iters| {
            let ctx = Context::new().expect("context");
            let mut pull = ctx.socket::<Pull>().expect("pull");
            pull.bind("inproc://handoff-threads").expect("bind");
            let mut push = ctx.socket::<Push>().expect("push");
            push.connect("inproc://handoff-threads").expect("connect");
            thread::scope(|s| {
                // One message through first: both sides are set up when the
                // clock starts.
                push.send(Msg::from("ready")).expect("send");
                pull.recv().expect("recv");
                let start = Instant::now();
                s.spawn(|| {
                    for _ in 0..iters {
                        push.send(Msg::from(payload.clone())).expect("send");
                    }
                });
                for _ in 0..iters {
                    pull.recv().expect("recv");
                }
                start.elapsed()
            })
        });
    });

    group.finish();
}

criterion_group!(benches, handoff);
criterion_main!(benches);
