//! Micro-benchmarks of the hand-off between a socket (application side) and
//! the reactor through a pipe, without a network or a reactor thread:
//! nanoseconds per message. The pipe is the real one (`src/pipe.rs`, high
//! water mark 1000 as by default); its wake-ups for the reactor go through the
//! real `Waker` to a detached command queue, which the reactor side empties
//! once per turn as the reactor loop does.
//!
//! - `handoff/send_path`: one thread; the socket side queues [`POP_BATCH`]
//!   messages one `try_push` at a time (as PUSH's load balancer does), then
//!   the reactor side takes them with one `take_all` (as the engine's flush
//!   does) and takes its commands (the one activation of the batch).
//! - `handoff/recv_path`: one thread; the reactor side checks the room and
//!   queues [`POP_BATCH`] messages with one `push_batch` (as the engine's
//!   delivery does), then the socket side takes them with one `take_all` (as
//!   the fair queue's read cache does).
//! - `handoff/two_threads`: a producer thread sends one message at a time
//!   (yielding while the pipe is at its high water mark) and a consumer
//!   thread takes batches (yielding when it finds the pipe empty, where the
//!   reactor would sleep in `epoll_wait`). Time from the first send to the
//!   last message taken, per message; this one includes building and
//!   dropping each message and moving cache lines between cores, and it
//!   is the noisiest on a loaded machine.
//!
//! In the single-threaded cases each criterion iteration is one message and
//! building and dropping the messages is outside the timed region.
//! Run with `cargo bench --features bench-internals --bench handoff`.

use std::collections::VecDeque;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use zmio::Msg;
use zmio::bench_internals::HandOff;

/// Messages per measured batch. The engine and the fair queue take
/// whatever is queued in one swap (`Pipe::take_all`); this is how much is
/// queued each time here.
const POP_BATCH: usize = 256;
/// The default ZMQ_SNDHWM / ZMQ_RCVHWM.
const HWM: usize = 1000;
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

    // Made once: criterion calls the closure below for every sample.
    let pipe = HandOff::new(HWM);
    let mut msgs: Vec<Msg> = Vec::with_capacity(POP_BATCH);
    let mut taken: VecDeque<Msg> = VecDeque::with_capacity(POP_BATCH);
    group.bench_function("send_path", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(POP_BATCH as u64);
                msgs.extend((0..n).map(|_| Msg::from(payload.clone())));
                let start = Instant::now();
                for msg in msgs.drain(..) {
                    if pipe.send(msg).is_err() {
                        panic!("a batch fits below the high water mark");
                    }
                }
                pipe.take_reactor_commands();
                pipe.take_outbound(&mut taken);
                elapsed += start.elapsed();
                assert_eq!(taken.len() as u64, n);
                taken.clear();
                left -= n;
            }
            elapsed
        });
    });

    let pipe = HandOff::new(HWM);
    let mut inbound: VecDeque<Msg> = VecDeque::with_capacity(POP_BATCH);
    group.bench_function("recv_path", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(POP_BATCH as u64);
                inbound.extend((0..n).map(|_| Msg::from(payload.clone())));
                let start = Instant::now();
                assert!(pipe.inbound_room() >= inbound.len());
                pipe.deliver(&mut inbound);
                pipe.recv_batch(&mut taken);
                elapsed += start.elapsed();
                assert_eq!(taken.len() as u64, n);
                taken.clear();
                left -= n;
            }
            elapsed
        });
    });

    group.bench_function("two_threads", |b| {
        b.iter_custom(|iters| {
            let pipe = HandOff::new(HWM);
            let start_line = Barrier::new(2);
            thread::scope(|s| {
                let consumer = s.spawn(|| {
                    let mut taken: VecDeque<Msg> = VecDeque::with_capacity(POP_BATCH);
                    let mut got = 0;
                    start_line.wait();
                    while got < iters {
                        pipe.take_reactor_commands();
                        pipe.take_outbound(&mut taken);
                        if taken.is_empty() {
                            thread::yield_now();
                        }
                        got += taken.len() as u64;
                        taken.clear();
                    }
                });
                start_line.wait();
                let start = Instant::now();
                for _ in 0..iters {
                    let mut msg = Msg::from(payload.clone());
                    while let Err(refused) = pipe.send(msg) {
                        msg = refused;
                        thread::yield_now();
                    }
                }
                consumer.join().expect("consumer thread");
                start.elapsed()
            })
        });
    });

    group.finish();
}

criterion_group!(benches, handoff);
criterion_main!(benches);
