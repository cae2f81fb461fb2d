//! Micro-benchmarks of the ZMTP codec, without a network: nanoseconds per
//! frame to encode and to decode one-frame messages of 16 B, 256 B, 4 KiB and
//! 64 KiB, through the real `zmio_proto::Connection` (its `FrameDecoder` and
//! `Encoder`) driven the way zmio's engine drives it.
//!
//! - `encode/<size>`: batches of [`POP_BATCH`] messages go through
//!   `send_message`, then the queued bytes are exposed as `IoSlice`s
//!   ([`MAX_IOV`] at a time) and consumed as if a vectored write took them
//!   all. The messages are built (a clone of one payload `Bytes`, as the perf
//!   tools send) outside the timed region.
//! - `decode/<size>`: a [`READ_BYTES`] buffer of back-to-back frames (at
//!   least [`MIN_FRAMES_PER_READ`]), as one large read would leave it, goes
//!   through `handle_input` (frames sliced out of the one `BytesMut`, no
//!   copy) and the messages are collected from `poll_event` into an inbox,
//!   as the engine does. Refilling the buffer (a `memcpy` standing in for
//!   the kernel's read) is outside the timed region.
//!
//! Each criterion iteration is one frame, so the reported time is ns/frame.
//! Run with `cargo bench -p zmio-proto --bench codec`.

use std::hint::black_box;
use std::io::IoSlice;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use zmio_proto::{Connection, ConnectionConfig, Event, Msg, SocketKind};

/// Message sizes measured (the same as the side-by-side harness).
const SIZES: [usize; 4] = [16, 256, 4096, 65536];
/// Messages the engine takes from the pipe per lock (`POP_BATCH` in src/engine.rs).
const POP_BATCH: usize = 256;
/// Slices per vectored write (`MAX_IOV` in src/engine.rs).
const MAX_IOV: usize = 64;
/// Bytes of frames handed to one `handle_input` call (the engine's reads
/// adapt between 8 KiB and 1 MiB)...
const READ_BYTES: usize = 256 * 1024;
/// ... but at least this many frames (1 MiB of 64 KiB frames), so the cost
/// of a call and of reading the clock is spread over several frames.
const MIN_FRAMES_PER_READ: usize = 16;

/// Criterion's warm-up and measurement times per case: short runs, as the
/// machine has 2 cores. (With `iter_custom`, criterion sizes the samples
/// from the wall-clock time of the warm-up, untimed buffer refills included,
/// so a case takes about these times even for 64 KiB frames.)
const WARM_UP: Duration = Duration::from_millis(700);
const MEASUREMENT: Duration = Duration::from_millis(2500);

/// A connection past its handshake; `ours` is the side measured.
fn codec(ours: SocketKind, peer: SocketKind) -> FrameCodec {
    FrameCodec::new(ours, peer)
}

/// Consumes everything queued, as vectored writes that each take all the
/// slices offered.
/// Our side of a connection past its NULL handshake with a `peer`, done in
/// memory; the clock never moves (no timers are armed).
struct FrameCodec {
    conn: Connection,
    now: Instant,
}

impl FrameCodec {
    fn new(ours: SocketKind, peer: SocketKind) -> FrameCodec {
        let now = Instant::now();
        let mut a = Connection::new(ConnectionConfig::new(ours), now);
        let mut b = Connection::new(ConnectionConfig::new(peer), now);
        let (mut a_in, mut b_in) = (BytesMut::new(), BytesMut::new());
        for _ in 0..4 {
            a.drain_transmit(&mut b_in);
            b.drain_transmit(&mut a_in);
            a.handle_input(&mut a_in, now).expect("handshake");
            b.handle_input(&mut b_in, now).expect("handshake");
        }
        assert!(a.is_ready() && a_in.is_empty() && a.pending_transmit() == 0);
        while a.poll_event().is_some() {}
        FrameCodec { conn: a, now }
    }

    fn send(&mut self, msg: Msg) {
        self.conn.send_message(&msg);
    }

    fn pending_transmit(&self) -> usize {
        self.conn.pending_transmit()
    }

    fn transmit_slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        self.conn.transmit_slices(dst)
    }

    fn advance_transmit(&mut self, n: usize) {
        self.conn.advance_transmit(n);
    }

    fn handle_input(&mut self, input: &mut BytesMut) -> Result<(), zmio_proto::ProtocolError> {
        self.conn.handle_input(input, self.now)
    }

    fn poll_message(&mut self) -> Option<Msg> {
        loop {
            if let Event::Message(msg) = self.conn.poll_event()? {
                return Some(msg);
            }
        }
    }
}

fn write_all(codec: &mut FrameCodec) {
    while codec.pending_transmit() > 0 {
        let mut iov = [IoSlice::new(&[]); MAX_IOV];
        let n = codec.transmit_slices(&mut iov);
        let written: usize = black_box(&iov[..n]).iter().map(|s| s.len()).sum();
        codec.advance_transmit(written);
    }
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    group
        .sample_size(30)
        .warm_up_time(WARM_UP)
        .measurement_time(MEASUREMENT);
    for size in SIZES {
        group.throughput(Throughput::Bytes(size as u64));
        let payload = Bytes::from(vec![0x5a; size]);
        // Made once: criterion calls the closure below for every sample.
        let mut codec = codec(SocketKind::Push, SocketKind::Pull);
        let mut batch: Vec<Msg> = Vec::with_capacity(POP_BATCH);
        group.bench_with_input(BenchmarkId::from_parameter(size), &payload, |b, payload| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let n = left.min(POP_BATCH as u64);
                    batch.extend((0..n).map(|_| Msg::from(payload.clone())));
                    let start = Instant::now();
                    for msg in batch.drain(..) {
                        codec.send(msg);
                    }
                    write_all(&mut codec);
                    elapsed += start.elapsed();
                    left -= n;
                }
                elapsed
            });
        });
    }
    group.finish();
}

/// `count` one-frame messages of `payload` as they arrive on the wire.
fn wire(payload: &Bytes, count: usize) -> Vec<u8> {
    let mut sender = codec(SocketKind::Push, SocketKind::Pull);
    let mut out = Vec::new();
    for _ in 0..count {
        sender.send(Msg::from(payload.clone()));
        while sender.pending_transmit() > 0 {
            let mut iov = [IoSlice::new(&[]); MAX_IOV];
            let n = sender.transmit_slices(&mut iov);
            let mut written = 0;
            for slice in &iov[..n] {
                out.extend_from_slice(slice);
                written += slice.len();
            }
            sender.advance_transmit(written);
        }
    }
    out
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    group
        .sample_size(30)
        .warm_up_time(WARM_UP)
        .measurement_time(MEASUREMENT);
    for size in SIZES {
        group.throughput(Throughput::Bytes(size as u64));
        let payload = Bytes::from(vec![0x5a; size]);
        let per_read = (READ_BYTES / (size + 9)).max(MIN_FRAMES_PER_READ);
        let bytes = wire(&payload, per_read);
        let frame_len = bytes.len() / per_read;
        assert_eq!(frame_len * per_read, bytes.len(), "frames of one size");
        // Made once: criterion calls the closure below for every sample.
        let mut codec = codec(SocketKind::Pull, SocketKind::Push);
        let mut rbuf = BytesMut::with_capacity(bytes.len());
        let mut inbox: Vec<Msg> = Vec::with_capacity(per_read);
        group.bench_with_input(BenchmarkId::from_parameter(size), &bytes, |b, bytes| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let n = left.min(per_read as u64) as usize;
                    // The previous messages are gone, so this reuses the
                    // buffer's memory, as the engine's reads would.
                    rbuf.extend_from_slice(&bytes[..n * frame_len]);
                    let start = Instant::now();
                    codec.handle_input(&mut rbuf).expect("valid frames");
                    while let Some(msg) = codec.poll_message() {
                        inbox.push(msg);
                    }
                    elapsed += start.elapsed();
                    assert!(rbuf.is_empty() && inbox.len() == n);
                    black_box(&inbox);
                    inbox.clear();
                    left -= n as u64;
                }
                elapsed
            });
        });
    }
    group.finish();
}

criterion_group!(benches, encode, decode);
criterion_main!(benches);
