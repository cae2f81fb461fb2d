//! One live connection: a byte stream (tcp or ipc), its ZMTP state machine and the reads
//! and vectored writes between them and the session's pipe.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use crate::core::pipe::{DirectSend, Pipe, Pushed};
use crate::io::transport::{Stream, Writer};
use crate::monitor::DisconnectReason;
use zmio_proto::Msg;
use zmio_proto::ProtocolError;
use zmio_proto::mechanism::AuthReply;
use zmio_proto::{Connection, ConnectionConfig, Event, PeerInfo};

/// Bytes asked of the kernel per read, at first and at least. The size adapts
/// to what reads return, between this and [`MAX_READ_CHUNK`]: the part of the
/// buffer a read may fill has to be zeroed first (safe Rust cannot read into
/// uninitialised memory), so asking for far more than arrives costs time.
const MIN_READ_CHUNK: usize = 8 * 1024;
/// The most asked of the kernel per read; also the most a large frame's
/// claimed length makes the reader reserve ahead of the bytes that came.
const MAX_READ_CHUNK: usize = 1024 * 1024;
/// Encoded bytes the engine keeps ready to write before it stops taking
/// messages from the pipe; the pipe, not this buffer, is the bounded queue.
/// Large enough that one write carries a few hundred KiB (measured: 4 KiB
/// messages went from 1.2 to 1.5 M msg/s when this grew from 256 KiB).
const TX_HIGH: usize = 1024 * 1024;
/// Slices per vectored write (Linux takes up to 1024): a large body is its
/// own slice, so this bounds how many such messages one write carries.
const MAX_IOV: usize = 256;

/// What a read found.
#[derive(Debug)]
pub(crate) enum ReadStatus {
    /// Read until the kernel had no more (or the pipe filled: see `is_paused`).
    Idle,
    /// The handshake completed; call `read` again once the pipe is set up.
    Ready(PeerInfo),
    /// The connection is over.
    Closed(DisconnectReason),
}

/// What the reactor and, for REQ and REP, the socket's own thread share of
/// a connection: its protocol state (so every frame, written by either
/// thread, goes through the one encoder and its mechanism's transform) and
/// the messages taken from the pipe but not yet encoded. Order on the wire
/// is kept by the lock alone: the socket writes directly only while nothing
/// taken from the pipe waits here and the pipe is empty, so its message is
/// the next one whoever writes it.
#[derive(Debug)]
struct Wire {
    conn: Connection,
    /// Messages taken from the pipe, waiting to be encoded.
    outbox: VecDeque<Msg>,
    /// A second handle on the stream for the socket's direct writes, while
    /// the direct path is open (never past the connection's end: the socket
    /// must not keep the connection open).
    writer: Option<Writer>,
    /// Where each message from the pipe that is encoded but not yet begun
    /// on the wire starts, as a stream offset. When the connection ends,
    /// the messages from the first of these on are read back out of the
    /// encoder's queue and go back to the pipe with the outbox, instead of
    /// being lost with the connection (up to [`TX_HIGH`] bytes of messages
    /// behind a slow or dying peer). Offsets, not the messages themselves:
    /// holding each message until written made the 4 KiB throughput test
    /// about 10% slower.
    unsent_starts: VecDeque<u64>,
    /// Bytes written to the stream so far (greeting and commands included).
    written: u64,
}

impl Wire {
    /// Encodes a message from the pipe, noting where it starts.
    fn encode(&mut self, msg: &Msg) {
        self.unsent_starts
            .push_back(self.written + self.conn.pending_transmit() as u64);
        self.conn.send_message(msg);
    }

    /// `n` more bytes were written: the messages begun on the wire can no
    /// longer be given back.
    fn advance(&mut self, n: usize) {
        self.conn.advance_transmit(n);
        self.written += n as u64;
        while self
            .unsent_starts
            .front()
            .is_some_and(|start| *start < self.written)
        {
            self.unsent_starts.pop_front();
        }
    }

    /// The connection is over: the messages not begun on the wire, then
    /// those never encoded, in order.
    fn take_unsent(&mut self) -> VecDeque<Msg> {
        let mut unsent: VecDeque<Msg> = match self.unsent_starts.front() {
            // Offsets count from the start of the stream; the queue from
            // what was written.
            Some(start) => self
                .conn
                .take_unsent((*start - self.written) as usize)
                .into(),
            None => VecDeque::new(),
        };
        self.unsent_starts.clear();
        unsent.append(&mut self.outbox);
        unsent
    }
}

/// The shared [`Wire`] as a pipe's direct path.
#[derive(Debug)]
struct SharedWire(Mutex<Wire>);

impl SharedWire {
    fn lock(&self) -> MutexGuard<'_, Wire> {
        // Every update leaves the wire consistent between calls; a panic
        // elsewhere while holding it does not make it unusable.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl DirectSend for SharedWire {
    fn try_send(&self, msg: Msg, queue_empty: &dyn Fn() -> bool) -> Result<bool, Msg> {
        // The reactor holds the lock only briefly; never wait for it.
        let Ok(mut wire) = self.0.try_lock() else {
            return Err(msg);
        };
        let wire = &mut *wire;
        if wire.writer.is_none()
            || !wire.conn.is_ready()
            || !wire.outbox.is_empty()
            || !queue_empty()
        {
            return Err(msg);
        }
        // A request or reply is not re-sent after a lost connection (REQ
        // and REP do not re-route), so it is not kept once encoded.
        wire.conn.send_message(&msg);
        while wire.conn.pending_transmit() > 0 {
            let result = {
                let mut iov = [IoSlice::new(&[]); 16];
                let n = wire.conn.transmit_slices(&mut iov);
                match wire.writer.as_mut() {
                    Some(writer) => writer.write_vectored(&iov[..n]),
                    None => return Ok(false),
                }
            };
            match result {
                Ok(written) if written > 0 => wire.advance(written),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Full, closed or failed: the reactor writes the rest (or
                // finds the error) from the connection's queue.
                _ => return Ok(false),
            }
        }
        Ok(true)
    }
}

/// A connection's I/O state.
#[derive(Debug)]
pub(crate) struct Engine {
    stream: Stream,
    wire: Arc<SharedWire>,
    rbuf: BytesMut,
    /// A TCP connect is in progress.
    connecting: bool,
    /// The pipe to the socket is full: reading waits until it drains.
    paused: bool,
    /// The peer's close was reported: read to the end of the stream.
    peer_closing: bool,
    /// Bytes to ask for in the next read (adapts to what reads return).
    read_chunk: usize,
    /// Decoded messages on their way to the pipe, handed over in batches;
    /// what the pipe had no room for waits here while reading is paused.
    inbox: VecDeque<Msg>,
    /// The deadline the reactor has a timer entry for (see
    /// [`timer_to_schedule`](Self::timer_to_schedule)).
    scheduled: Option<Instant>,
    /// When the connection (or its connect) started.
    started: Instant,
    /// The handshake completed.
    handshaken: bool,
    /// Messages discarded for breaking a limit since the reactor last
    /// asked, with the last limit broken (see [`take_discards`](Self::take_discards)).
    discards: Option<(ProtocolError, u64)>,
}

impl Engine {
    /// A connection over `stream` starting at `now` (its handshake timer
    /// runs from then, a TCP connect in progress included).
    pub(crate) fn new(
        stream: Stream,
        config: ConnectionConfig,
        connecting: bool,
        now: Instant,
    ) -> Engine {
        Engine {
            stream,
            wire: Arc::new(SharedWire(Mutex::new(Wire {
                conn: Connection::new(config, now),
                outbox: VecDeque::new(),
                writer: None,
                unsent_starts: VecDeque::new(),
                written: 0,
            }))),
            rbuf: BytesMut::new(),
            connecting,
            paused: false,
            peer_closing: false,
            read_chunk: MIN_READ_CHUNK,
            inbox: VecDeque::new(),
            scheduled: None,
            started: now,
            handshaken: false,
            discards: None,
        }
    }

    pub(crate) fn stream(&mut self) -> &mut Stream {
        &mut self.stream
    }

    pub(crate) fn is_connecting(&self) -> bool {
        self.connecting
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.paused
    }

    /// Checks a non-blocking connect: `Ok(true)` once it completed,
    /// `Ok(false)` while it is still in progress.
    pub(crate) fn finish_connect(&mut self) -> io::Result<bool> {
        if let Some(err) = self.stream.take_error()? {
            return Err(err);
        }
        let connected = self.stream.is_connected()?;
        if connected {
            self.connecting = false;
        }
        Ok(connected)
    }

    /// Hands the decoded messages to `pipe` in one batch (one lock), as many
    /// as it has room for; what does not fit waits in `inbox` and reading
    /// pauses (`paused`) until the socket drains the pipe. `Some(info)` when
    /// the handshake completes (the caller then sets up the pipe and calls
    /// again).
    ///
    /// Nothing decoded is ever left behind while not paused: reads are
    /// edge-triggered, so nothing would come back for it.
    fn deliver(&mut self, pipe: Option<&Arc<Pipe>>) -> Result<Option<PeerInfo>, ProtocolError> {
        let mut ready = None;
        let mut wire = self.wire.lock();
        while let Some(event) = wire.conn.poll_event() {
            match event {
                Event::Ready(info) => {
                    ready = Some(info);
                    break;
                }
                // No mechanism zmio speaks asks an authenticator yet (NULL
                // never does); until ZAP is wired in, a peer that would need
                // one is refused rather than left waiting.
                Event::Authenticate(_) => {
                    let reply = AuthReply {
                        status_code: 500,
                        status_text: "no authenticator".into(),
                        user_id: Bytes::new(),
                    };
                    wire.conn
                        .handle_auth(reply, &mut self.rbuf, Instant::now())?;
                }
                // No pipe yet cannot happen after Ready; a lingering session
                // with no reader may drop input.
                Event::Discarded(limit) => {
                    let count = self.discards.take().map_or(0, |(_, n)| n);
                    self.discards = Some((limit, count + 1));
                }
                Event::Message(msg) if pipe.is_some() => self.inbox.push_back(msg),
                Event::Message(_) => {}
            }
        }
        // The socket is woken by this push and may answer at once through
        // the direct path: the wire must be free by then.
        drop(wire);
        self.paused = match pipe {
            Some(pipe) => pipe.push_batch(pipe.inb(), &mut self.inbox) == Pushed::NowFull,
            None => false,
        };
        Ok(ready)
    }

    /// The messages discarded since the last call (the last limit they
    /// broke, and how many), for the reactor to log and report.
    pub(crate) fn take_discards(&mut self) -> Option<(ProtocolError, u64)> {
        self.discards.take()
    }

    /// The poller said the peer closed its side (or the socket has an
    /// error): from now on every read goes on to the end of the stream.
    pub(crate) fn note_read_closed(&mut self) {
        self.peer_closing = true;
    }

    /// Reads and decodes until the kernel has nothing more or the pipe is full.
    ///
    /// A read that returns less than was asked for has emptied the socket's
    /// receive queue, and data arriving later raises a new edge-triggered
    /// event, so the usual extra read that only returns `WouldBlock` is
    /// skipped: one syscall less per wake-up, which is latency. The one
    /// event that may already be folded into the current one is the peer's
    /// close; once the poller has reported it, reads go on to the end.
    pub(crate) fn read(&mut self, pipe: Option<&Arc<Pipe>>) -> ReadStatus {
        let mut drained = false;
        // One clock read per wake-up: what arrives now arrived "now".
        let mut now = None;
        loop {
            match self.deliver(pipe) {
                Ok(Some(info)) => {
                    self.handshaken = true;
                    return ReadStatus::Ready(info);
                }
                Ok(None) => {}
                Err(e) => return ReadStatus::Closed(DisconnectReason::Protocol(e)),
            }
            if self.paused || drained {
                return ReadStatus::Idle;
            }
            let start = self.rbuf.len();
            // A large frame whose header is in is read whole into this buffer
            // (a bounded part of it per read), so its body is sliced out
            // without being copied.
            let frame_rest = self.wire.lock().conn.input_wanted().saturating_sub(start);
            let chunk = frame_rest.clamp(self.read_chunk, MAX_READ_CHUNK);
            self.rbuf.resize(start + chunk, 0);
            let result = self.stream.read(&mut self.rbuf[start..]);
            let got = *result.as_ref().unwrap_or(&0);
            self.rbuf.truncate(start + got);
            match result {
                Ok(0) => return ReadStatus::Closed(DisconnectReason::PeerClosed),
                Ok(_) => {
                    drained = got < chunk && !self.peer_closing;
                    self.read_chunk = (2 * got).clamp(MIN_READ_CHUNK, MAX_READ_CHUNK);
                    let now = *now.get_or_insert_with(Instant::now);
                    let result = self.wire.lock().conn.handle_input(&mut self.rbuf, now);
                    if let Err(e) = result {
                        return ReadStatus::Closed(DisconnectReason::Protocol(e));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ReadStatus::Idle,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return ReadStatus::Closed(DisconnectReason::io(&e)),
            }
        }
    }

    /// Encodes what the pipe holds and writes until done or the kernel's
    /// buffer is full (a writable event resumes it). `Err` ends the connection.
    ///
    /// Messages leave the pipe all at once (one lock, a swap) into the
    /// outbox, and are encoded from there while less than [`TX_HIGH`] bytes
    /// wait to be written.
    pub(crate) fn flush(&mut self, pipe: Option<&Arc<Pipe>>) -> Result<(), DisconnectReason> {
        if self.connecting {
            return Ok(());
        }
        let mut guard = self.wire.lock();
        let wire = &mut *guard;
        loop {
            if let (Some(pipe), true) = (pipe, wire.conn.is_ready()) {
                while wire.conn.pending_transmit() < TX_HIGH {
                    if wire.outbox.is_empty() {
                        pipe.take_all(pipe.out(), &mut wire.outbox);
                    }
                    let Some(msg) = wire.outbox.pop_front() else {
                        break;
                    };
                    wire.encode(&msg);
                }
            }
            if wire.conn.pending_transmit() == 0 {
                return Ok(());
            }
            let mut iov = [IoSlice::new(&[]); MAX_IOV];
            let n = wire.conn.transmit_slices(&mut iov);
            match self.stream.write_vectored(&iov[..n]) {
                Ok(0) => return Err(DisconnectReason::PeerClosed),
                Ok(written) => wire.advance(written),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(DisconnectReason::io(&e)),
            }
        }
    }

    /// Opens the direct path for a REQ or REP pipe (see [`Wire`]): a second
    /// handle on the stream, and the wire to write through. `None` if the
    /// handle cannot be had (messages then all go through the reactor).
    pub(crate) fn open_direct_path(&mut self) -> Option<Arc<dyn DirectSend>> {
        match self.stream.writer() {
            Ok(writer) => {
                self.wire.lock().writer = Some(writer);
                Some(self.wire.clone())
            }
            Err(e) => {
                log::debug!("no direct writes on this connection: {e}");
                None
            }
        }
    }

    /// The connection is over: the messages taken from the pipe that were
    /// never begun on the wire (encoded and not yet written, or not yet
    /// encoded) go back to its front, in order, for the next connection or
    /// (when the peer is gone for good) the socket's other peers. A message
    /// the kernel took part of is lost with what the kernel holds; none
    /// arrives twice.
    pub(crate) fn return_unsent(&mut self, pipe: &Pipe) {
        let mut unsent = self.wire.lock().take_unsent();
        pipe.unshift(pipe.out(), &mut unsent);
    }

    /// Runs the connection's timers due at `now`. A PING it queues goes out
    /// with the next [`flush`](Self::flush); `Err` ends the connection.
    pub(crate) fn handle_timeout(&mut self, now: Instant) -> Result<(), DisconnectReason> {
        let mut wire = self.wire.lock();
        // Not reading because the socket's queue is full: the peer's
        // silence proves nothing.
        if self.paused {
            wire.conn.input_paused();
        }
        wire.conn
            .handle_timeout(now)
            .map_err(DisconnectReason::TimedOut)
    }

    /// When the connection (or its connect) started.
    pub(crate) fn started(&self) -> Instant {
        self.started
    }

    /// Whether the ZMTP handshake completed on this connection.
    pub(crate) fn is_handshaken(&self) -> bool {
        self.handshaken
    }

    /// The reactor's timer entry at `at` fired: it no longer holds one for
    /// this engine if that was the entry it scheduled.
    pub(crate) fn timer_fired(&mut self, at: Instant) {
        if self.scheduled == Some(at) {
            self.scheduled = None;
        }
    }

    /// When the reactor should add a timer entry for this engine: only if
    /// the connection's next deadline is earlier than the entry it already
    /// has (a later deadline is caught when that entry fires and re-arms),
    /// so busy connections push nothing.
    pub(crate) fn timer_to_schedule(&mut self) -> Option<Instant> {
        let next = self.wire.lock().conn.next_timeout()?;
        if self.scheduled.is_some_and(|at| at <= next) {
            return None;
        }
        self.scheduled = Some(next);
        Some(next)
    }

    /// Whether messages or encoded bytes still wait to be written.
    pub(crate) fn has_pending_output(&self) -> bool {
        let wire = self.wire.lock();
        wire.conn.pending_transmit() > 0 || !wire.outbox.is_empty()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // A pipe may still hold the wire as its direct path for a moment:
        // the connection closes with the engine all the same.
        self.wire.lock().writer = None;
    }
}
