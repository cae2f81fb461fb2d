//! A pipe joins one socket to one peer connection: two bounded queues of whole
//! messages, one each way, with libzmq's high/low water marks.
//!
//! Wake-ups happen only on transitions, so a busy pipe costs one wake-up per
//! batch, not per message: a reader that found a queue empty marks it idle and
//! the next push wakes it; a writer that found it full marks itself blocked and
//! the reader wakes it once the queue has drained to the low water mark.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use crate::msg::Msg;
use crate::reactor::ReactorShared;
use crate::socket::SocketShared;
use crate::socket_types::SocketKind;
use crate::transport::{Stream, Writer};
use crate::zmtp::{Connection, Encoder};

/// Identifies a pipe for the life of the process.
pub(crate) type PipeId = u64;

static NEXT_PIPE_ID: AtomicU64 = AtomicU64::new(1);

/// libzmq's low water mark: half the high water mark, or 1024 below it for big ones.
fn low_water_mark(hwm: usize) -> usize {
    const MAX_DELTA: usize = 1024;
    if hwm > 2 * MAX_DELTA {
        hwm - MAX_DELTA
    } else {
        hwm.div_ceil(2)
    }
}

/// Who to wake when the other side of a queue makes progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Socket,
    Reactor,
}

#[derive(Debug)]
struct QueueState {
    items: VecDeque<Msg>,
    /// The reader found the queue empty and waits to be woken by the next push.
    reader_idle: bool,
    /// The writer found the queue full and waits to be woken below the low water mark.
    writer_blocked: bool,
    /// The connection behind the pipe is gone: nothing more will be pushed.
    closed: bool,
}

/// One direction of a pipe.
#[derive(Debug)]
pub(crate) struct Queue {
    state: Mutex<QueueState>,
    /// 0 means no limit, as in libzmq.
    hwm: usize,
    lwm: usize,
    /// Which side reads this queue (the writer is the other one).
    reader: Side,
    /// Set when a push finds the reader idle (it had emptied the queue), or
    /// the connection closes; taken by a reader that keeps idle queues out
    /// of its rotation, so it looks at one again only when this says so.
    activated: AtomicBool,
}

/// What a push into a queue found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Queued; there is still room.
    Room,
    /// Queued; the queue is now at its high water mark.
    NowFull,
}

impl Queue {
    fn new(hwm: usize, reader: Side) -> Queue {
        Queue {
            state: Mutex::new(QueueState {
                items: VecDeque::new(),
                // A new queue's reader has not looked yet; the first look arms it.
                reader_idle: false,
                writer_blocked: false,
                closed: false,
            }),
            hwm,
            lwm: low_water_mark(hwm),
            reader,
            activated: AtomicBool::new(false),
        }
    }

    /// Reader side: whether the queue was activated since the last call
    /// (lock-free; see [`Pipe::take_socket_activations`]).
    pub(crate) fn take_activated(&self) -> bool {
        self.activated.swap(false, Ordering::AcqRel)
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // A panic while holding this lock cannot leave the queue inconsistent
        // (every update is a single VecDeque/bool operation), so poisoning is ignored.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_full(&self, state: &QueueState) -> bool {
        self.hwm != 0 && state.items.len() >= self.hwm
    }

    /// Number of messages waiting.
    pub(crate) fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// Whether the connection behind this queue has gone and nothing is left to read.
    pub(crate) fn is_closed_and_empty(&self) -> bool {
        let state = self.lock();
        state.closed && state.items.is_empty()
    }

    /// Whether a push would be accepted now.
    pub(crate) fn has_room(&self) -> bool {
        !self.is_full(&self.lock())
    }
}

/// The link between a socket (application thread) and one peer (reactor thread).
#[derive(Debug)]
pub(crate) struct Pipe {
    id: PipeId,
    /// Messages from the socket to the peer.
    out: Queue,
    /// Messages from the peer to the socket.
    inb: Queue,
    socket: Arc<SocketShared>,
    reactor: Arc<ReactorShared>,
    /// A handshaken connection is behind the pipe now (a connect pipe lives
    /// across reconnects; PUB sends nothing to a peer that is not there).
    peer_up: AtomicBool,
    /// REQ and REP write a message on the socket's own thread when the
    /// connection has nothing else to send (see [`Direct`]).
    direct: Option<Mutex<Direct>>,
    /// The routing id the peer sent in READY (`None`: it sent none), for
    /// the connection now behind the pipe; set before `handshakes` is bumped.
    peer_routing_id: Mutex<Option<Bytes>>,
    /// How many handshakes have completed on this pipe (a connect pipe
    /// lives across reconnects), so ROUTER sees when its peer's id may change.
    handshakes: AtomicU64,
}

/// The direct path: a socket that sends one message and then waits for the
/// answer (REQ, REP) writes it to the connection itself when the reactor
/// has nothing queued for it, instead of waking the reactor to do it. That
/// saves a thread wake-up per message, which is most of a round trip's
/// latency. Streams of messages (PUSH, PUB) keep going through the reactor,
/// which batches them into few writes.
///
/// Order on the wire is kept by `idle`: the reactor sets it, under this
/// lock, only when it has nothing encoded, nothing taken from the pipe and
/// the pipe is empty, and clears it before it writes anything; the socket
/// writes only while it is set and its own queue is empty.
#[derive(Debug)]
pub(crate) struct Direct {
    writer: Option<Writer>,
    idle: bool,
    /// What the socket encoded and could not write at once; the reactor
    /// sends it first.
    unsent: Encoder,
}

impl Direct {
    /// Reactor side: the connection's writer, after a handshake (`None`
    /// when the connection ends: the socket must not keep it open).
    fn set_writer(&mut self, writer: Option<Writer>) {
        self.writer = writer;
        self.idle = false;
        self.unsent = Encoder::new();
    }

    /// Reactor side: about to write; hands over what the socket could not
    /// finish writing, to go out first.
    pub(crate) fn take_unsent(&mut self, conn: &mut Connection) {
        self.idle = false;
        conn.transmit_first(&mut self.unsent);
    }

    /// Whether the socket may write directly now.
    pub(crate) fn is_idle(&self) -> bool {
        self.idle
    }

    /// Reactor side: everything is written and nothing waits: the socket
    /// may write directly until the reactor writes again.
    pub(crate) fn set_idle(&mut self, idle: bool) {
        self.idle = idle && self.writer.is_some();
    }
}

impl Pipe {
    /// A pipe with `sndhwm`/`rcvhwm` message limits (0 = unlimited).
    pub(crate) fn new(
        sndhwm: usize,
        rcvhwm: usize,
        socket: Arc<SocketShared>,
        reactor: Arc<ReactorShared>,
    ) -> Arc<Pipe> {
        let socket_kind = socket.kind();
        Arc::new(Pipe {
            id: NEXT_PIPE_ID.fetch_add(1, Ordering::Relaxed),
            out: Queue::new(sndhwm, Side::Reactor),
            inb: Queue::new(rcvhwm, Side::Socket),
            socket,
            reactor,
            peer_up: AtomicBool::new(false),
            peer_routing_id: Mutex::new(None),
            handshakes: AtomicU64::new(0),
            direct: matches!(socket_kind, SocketKind::Req | SocketKind::Rep).then(|| {
                Mutex::new(Direct {
                    writer: None,
                    idle: false,
                    unsent: Encoder::new(),
                })
            }),
        })
    }

    /// The direct path's state (REQ and REP only).
    pub(crate) fn direct(&self) -> Option<MutexGuard<'_, Direct>> {
        self.direct
            .as_ref()
            .map(|d| d.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Reactor side: a handshake completed on a new connection behind the
    /// pipe. The peer's READY routing id is recorded before any of its
    /// messages are queued; REQ and REP get a writer on `stream` for their
    /// direct path.
    pub(crate) fn connection_up(&self, routing_id: Option<Bytes>, stream: &Stream) {
        self.set_peer_routing_id(routing_id);
        if let Some(mut direct) = self.direct() {
            match stream.writer() {
                Ok(writer) => direct.set_writer(Some(writer)),
                Err(e) => log::debug!("no direct writes on this connection: {e}"),
            }
        }
        self.set_peer_up(true);
    }

    /// Reactor side: the connection behind the pipe ended. The direct
    /// path's writer is dropped (the socket must not keep the connection
    /// open) and a publisher stops sending to this peer.
    pub(crate) fn connection_down(&self) {
        if let Some(mut direct) = self.direct() {
            direct.set_writer(None);
        }
        self.set_peer_up(false);
    }

    /// Socket side: writes `msg` to the connection now if the direct path is
    /// open (see [`Direct`]); hands it back otherwise.
    fn send_direct(&self, msg: Msg) -> Result<(), Msg> {
        let Some(direct) = &self.direct else {
            return Err(msg);
        };
        // The reactor holds it only briefly; never wait for it.
        let Ok(mut direct) = direct.try_lock() else {
            return Err(msg);
        };
        if !direct.idle || !self.out.lock().items.is_empty() {
            return Err(msg);
        }
        let Direct { writer, unsent, .. } = &mut *direct;
        let Some(writer) = writer.as_mut() else {
            return Err(msg);
        };
        let last = msg.frame_count() - 1;
        for (i, frame) in msg.frames().enumerate() {
            unsent.push_frame(i < last, frame);
        }
        while unsent.pending() > 0 {
            let result = {
                let mut iov = [IoSlice::new(&[]); 16];
                let n = unsent.slices(&mut iov);
                writer.write_vectored(&iov[..n])
            };
            match result {
                Ok(written) if written > 0 => unsent.advance(written),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // Full, closed or failed: the reactor sends the rest (or
                // finds the error) from here on.
                _ => break,
            }
        }
        if unsent.pending() > 0 {
            direct.idle = false;
            drop(direct);
            self.reactor.activate(self.id);
        }
        Ok(())
    }

    /// Reactor side: a connection behind the pipe completed its handshake
    /// (`true`) or ended (`false`).
    pub(crate) fn set_peer_up(&self, up: bool) {
        self.peer_up.store(up, Ordering::Release);
    }

    /// Reactor side: a handshake completed with a peer that sent `routing_id`
    /// in READY; call before any of its messages are queued.
    pub(crate) fn set_peer_routing_id(&self, routing_id: Option<Bytes>) {
        *self
            .peer_routing_id
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = routing_id;
        self.handshakes.fetch_add(1, Ordering::Release);
    }

    /// How many handshakes have completed on this pipe (0: none yet).
    pub(crate) fn handshakes(&self) -> u64 {
        self.handshakes.load(Ordering::Acquire)
    }

    /// The routing id the current peer sent in READY, if any.
    pub(crate) fn peer_routing_id(&self) -> Option<Bytes> {
        self.peer_routing_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Socket side: asks the reactor to close this pipe's connection (a
    /// PAIR refusing a second peer); the socket gets a detach as usual.
    pub(crate) fn request_close(&self) {
        self.reactor
            .send(crate::reactor::Command::Disconnect { pipe: self.id });
    }

    /// Whether a handshaken connection is behind the pipe now.
    pub(crate) fn is_peer_up(&self) -> bool {
        self.peer_up.load(Ordering::Acquire)
    }

    /// This pipe's id.
    pub(crate) fn id(&self) -> PipeId {
        self.id
    }

    /// The outbound queue (socket to peer).
    pub(crate) fn out(&self) -> &Queue {
        &self.out
    }

    /// The inbound queue (peer to socket).
    pub(crate) fn inb(&self) -> &Queue {
        &self.inb
    }

    /// A push found `queue`'s reader idle: mark the queue activated (before
    /// the socket-wide mark, so a reader that sees that sees this too) and
    /// wake the reader.
    fn activate_reader(&self, queue: &Queue) {
        queue.activated.store(true, Ordering::Release);
        if queue.reader == Side::Socket {
            self.socket.mark_activation();
        }
        self.wake(queue.reader);
    }

    /// Socket side: whether any pipe of this socket was activated since the
    /// last call (one atomic swap), so a reader scans its idle pipes only then.
    pub(crate) fn take_socket_activations(&self) -> bool {
        self.socket.take_activations()
    }

    fn wake(&self, side: Side) {
        match side {
            Side::Socket => self.socket.notify(),
            Side::Reactor => self.reactor.activate(self.id),
        }
    }

    /// Writer side: queue `msg` unless the queue is full, in which case the
    /// writer is marked blocked (it will be woken) and the message is handed back.
    pub(crate) fn try_push(&self, queue: &Queue, msg: Msg) -> Result<(), Msg> {
        let msg = match self.send_direct_if_out(queue, msg) {
            Ok(()) => return Ok(()),
            Err(msg) => msg,
        };
        let wake_reader = {
            let mut state = queue.lock();
            if queue.is_full(&state) {
                state.writer_blocked = true;
                return Err(msg);
            }
            state.items.push_back(msg);
            std::mem::replace(&mut state.reader_idle, false)
        };
        if wake_reader {
            self.activate_reader(queue);
        }
        Ok(())
    }

    /// Writer side: queue `msg` if there is room, else drop it (PUB's policy);
    /// says whether it was queued. Never marks the writer blocked.
    pub(crate) fn offer(&self, queue: &Queue, msg: Msg) -> bool {
        let msg = match self.send_direct_if_out(queue, msg) {
            Ok(()) => return true,
            Err(msg) => msg,
        };
        let wake_reader = {
            let mut state = queue.lock();
            if queue.is_full(&state) {
                return false;
            }
            state.items.push_back(msg);
            std::mem::replace(&mut state.reader_idle, false)
        };
        if wake_reader {
            self.activate_reader(queue);
        }
        true
    }

    /// The direct path, for messages to the peer.
    fn send_direct_if_out(&self, queue: &Queue, msg: Msg) -> Result<(), Msg> {
        if std::ptr::eq(queue, &self.out) {
            self.send_direct(msg)
        } else {
            Err(msg)
        }
    }

    /// Writer side: queue `msg` whatever the high water mark says. For the few
    /// messages that must not be dropped or block (subscriptions, REP replies
    /// are checked by the caller), and for the reactor, which checks room first.
    pub(crate) fn push(&self, queue: &Queue, msg: Msg) -> Pushed {
        let (wake_reader, full) = {
            let mut state = queue.lock();
            state.items.push_back(msg);
            let full = queue.is_full(&state);
            if full {
                state.writer_blocked = true;
            }
            (std::mem::replace(&mut state.reader_idle, false), full)
        };
        if wake_reader {
            self.activate_reader(queue);
        }
        if full { Pushed::NowFull } else { Pushed::Room }
    }

    /// Writer side: how many messages `queue` takes before its high water
    /// mark (`usize::MAX` without one).
    #[cfg(any(test, feature = "bench-internals"))]
    pub(crate) fn room(&self, queue: &Queue) -> usize {
        if queue.hwm == 0 {
            return usize::MAX;
        }
        queue.hwm.saturating_sub(queue.lock().items.len())
    }

    /// Writer side: move as many messages from the front of `msgs` as the
    /// queue has room for, under one lock and with at most one wake-up. The
    /// room is decided under that lock (a count taken earlier may be stale,
    /// as the reader drains meanwhile), so messages are left in `msgs` only
    /// when the queue is full: then the writer is marked blocked and the
    /// reader wakes it at the low water mark.
    pub(crate) fn push_batch(&self, queue: &Queue, msgs: &mut VecDeque<Msg>) -> Pushed {
        let (wake_reader, full) = {
            let mut state = queue.lock();
            let take = if queue.hwm == 0 {
                msgs.len()
            } else {
                queue.hwm.saturating_sub(state.items.len()).min(msgs.len())
            };
            state.items.extend(msgs.drain(..take));
            let full = queue.is_full(&state);
            if full {
                state.writer_blocked = true;
            }
            let wake = take > 0 && std::mem::replace(&mut state.reader_idle, false);
            (wake, full)
        };
        if wake_reader {
            self.activate_reader(queue);
        }
        if full { Pushed::NowFull } else { Pushed::Room }
    }

    /// Reader side: take every message waiting into `into`, under one lock;
    /// when `into` is empty the two queues are swapped, so the hand-off costs
    /// the same for one message or a thousand (the reader's spare queue
    /// becomes the writer's). Marks the reader idle and wakes a writer
    /// blocked at the high water mark.
    pub(crate) fn take_all(&self, queue: &Queue, into: &mut VecDeque<Msg>) {
        let wake_writer = {
            let mut state = queue.lock();
            if into.is_empty() {
                std::mem::swap(&mut state.items, into);
            } else {
                into.extend(state.items.drain(..));
            }
            state.reader_idle = true;
            std::mem::replace(&mut state.writer_blocked, false)
        };
        if wake_writer {
            self.wake(writer_of(queue.reader));
        }
    }

    /// Writer side: put `msgs` back at the front of `queue`, before anything
    /// queued since, whatever the high water mark says (they were taken from
    /// this queue and not sent: a connection that ended returns them for
    /// the next one).
    pub(crate) fn unshift(&self, queue: &Queue, msgs: &mut VecDeque<Msg>) {
        if msgs.is_empty() {
            return;
        }
        let wake_reader = {
            let mut state = queue.lock();
            let mut rest = std::mem::take(&mut state.items);
            state.items = std::mem::take(msgs);
            state.items.append(&mut rest);
            std::mem::replace(&mut state.reader_idle, false)
        };
        if wake_reader {
            self.activate_reader(queue);
        }
    }

    /// Reader side: take up to `max` messages into `into`. An empty queue
    /// marks the reader idle; draining to the low water mark wakes a blocked writer.
    #[cfg(test)]
    pub(crate) fn pop_batch(&self, queue: &Queue, max: usize, into: &mut Vec<Msg>) {
        let wake_writer = {
            let mut state = queue.lock();
            let n = max.min(state.items.len());
            into.extend(state.items.drain(..n));
            if state.items.is_empty() {
                state.reader_idle = true;
            }
            state.writer_blocked && state.items.len() <= queue.lwm && {
                state.writer_blocked = false;
                true
            }
        };
        if wake_writer {
            self.wake(writer_of(queue.reader));
        }
    }

    /// Reader side: take one message; an empty queue marks the reader idle, and
    /// draining to the low water mark wakes a blocked writer.
    pub(crate) fn pop(&self, queue: &Queue) -> Option<Msg> {
        let (msg, wake_writer) = {
            let mut state = queue.lock();
            let msg = state.items.pop_front();
            if state.items.is_empty() {
                state.reader_idle = true;
            }
            let wake = state.writer_blocked && state.items.len() <= queue.lwm && {
                state.writer_blocked = false;
                true
            };
            (msg, wake)
        };
        if wake_writer {
            self.wake(writer_of(queue.reader));
        }
        msg
    }

    /// Drops everything queued in `queue` (a SUB rewriting its subscriptions).
    pub(crate) fn clear(&self, queue: &Queue) {
        queue.lock().items.clear();
    }

    /// Reactor side: the connection is gone. The socket may still read what
    /// arrived before; it is woken so that it notices.
    pub(crate) fn close(&self) {
        {
            let mut state = self.inb.lock();
            state.closed = true;
        }
        self.out.lock().closed = true;
        // The socket may hold this pipe as idle: it must look again to
        // read what is left and then let it go.
        self.inb.activated.store(true, Ordering::Release);
        self.socket.mark_activation();
        self.socket.notify();
    }
}

fn writer_of(reader: Side) -> Side {
    match reader {
        Side::Socket => Side::Reactor,
        Side::Reactor => Side::Socket,
    }
}

/// Pipes with no reactor thread and no socket behind them, for strategy tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::SocketKind;

    /// A pipe, its socket's mailbox and the reactor handle it wakes.
    /// The pipe's peer counts as connected, as after a handshake.
    pub(crate) fn pipe(hwm: usize) -> (Arc<Pipe>, Arc<SocketShared>, Arc<ReactorShared>) {
        let socket = SocketShared::new(SocketKind::Push);
        let reactor = ReactorShared::detached();
        let pipe = Pipe::new(hwm, hwm, socket.clone(), reactor.clone());
        pipe.set_peer_up(true);
        (pipe, socket, reactor)
    }

    /// `n` pipes of one socket (as a socket's peers are), peers connected.
    pub(crate) fn pipes_of_one_socket(n: usize, hwm: usize) -> Vec<Arc<Pipe>> {
        let socket = SocketShared::new(SocketKind::Pull);
        let reactor = ReactorShared::detached();
        (0..n)
            .map(|_| {
                let pipe = Pipe::new(hwm, hwm, socket.clone(), reactor.clone());
                pipe.set_peer_up(true);
                pipe
            })
            .collect()
    }

    /// The peer side: queue a message as the reactor would on receipt.
    pub(crate) fn deliver(pipe: &Pipe, msg: &str) {
        pipe.push(pipe.inb(), Msg::from(msg));
    }

    /// The peer side: what the socket queued for sending, as strings.
    pub(crate) fn sent(pipe: &Pipe) -> Vec<String> {
        let mut batch = Vec::new();
        pipe.pop_batch(pipe.out(), usize::MAX, &mut batch);
        batch
            .iter()
            .map(|m| String::from_utf8_lossy(m.frame(0).map_or(&[][..], |f| &f[..])).into_owned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::pipe;
    use super::*;
    use crate::reactor::Command;

    fn activations(reactor: &ReactorShared) -> usize {
        reactor
            .take_commands()
            .iter()
            .filter(|c| matches!(c, Command::Activate(_)))
            .count()
    }

    #[test]
    fn reactor_is_woken_once_per_batch() {
        let (p, _, reactor) = pipe(10);
        // Before the reactor has looked, pushes do not wake it: it will look anyway.
        p.try_push(p.out(), Msg::from("a")).unwrap();
        assert_eq!(activations(&reactor), 0);
        let mut batch = Vec::new();
        p.pop_batch(p.out(), 100, &mut batch);
        assert_eq!(batch.len(), 1);
        // Found empty: the next push wakes it, the ones after do not.
        for m in ["b", "c", "d"] {
            p.try_push(p.out(), Msg::from(m)).unwrap();
        }
        assert_eq!(activations(&reactor), 1);
    }

    #[test]
    fn full_queue_refuses_then_wakes_the_writer_at_the_low_water_mark() {
        let (p, socket, _) = pipe(4);
        for i in 0..4 {
            p.try_push(p.out(), Msg::from(format!("{i}"))).unwrap();
        }
        assert!(p.try_push(p.out(), Msg::from("x")).is_err());
        let before = socket.seq();
        let mut batch = Vec::new();
        p.pop_batch(p.out(), 1, &mut batch);
        assert_eq!(
            socket.seq(),
            before,
            "3 left is above the low water mark (2)"
        );
        p.pop_batch(p.out(), 1, &mut batch);
        assert_eq!(socket.seq(), before + 1, "drained to the low water mark");
        assert!(p.try_push(p.out(), Msg::from("x")).is_ok());
    }

    #[test]
    fn a_batch_that_fills_the_queue_blocks_the_writer_until_the_low_water_mark() {
        let (p, _, reactor) = pipe(4);
        assert_eq!(p.room(p.inb()), 4);
        let mut batch: VecDeque<Msg> = ["a", "b"].into_iter().map(Msg::from).collect();
        assert_eq!(p.push_batch(p.inb(), &mut batch), Pushed::Room);
        assert!(batch.is_empty());
        assert_eq!(p.room(p.inb()), 2);
        // Only what fits is taken; the rest stays with the writer.
        let mut batch: VecDeque<Msg> = ["c", "d", "e"].into_iter().map(Msg::from).collect();
        assert_eq!(p.push_batch(p.inb(), &mut batch), Pushed::NowFull);
        assert_eq!(batch, [Msg::from("e")]);
        // Even an empty batch on a full queue marks the writer blocked.
        assert_eq!(p.push_batch(p.inb(), &mut VecDeque::new()), Pushed::NowFull);
        reactor.take_commands();
        assert!(p.pop(p.inb()).is_some());
        assert_eq!(
            activations(&reactor),
            0,
            "3 left is above the low water mark"
        );
        assert!(p.pop(p.inb()).is_some());
        assert_eq!(activations(&reactor), 1, "woken at the low water mark");
        // Room made by the reader after the writer looked is used at once:
        // nothing is left behind while the queue has room.
        assert_eq!(p.push_batch(p.inb(), &mut batch), Pushed::Room);
        assert!(batch.is_empty());
    }

    #[test]
    fn take_all_swaps_the_queue_out_and_wakes_a_blocked_writer() {
        let (p, socket, _) = pipe(2);
        p.try_push(p.out(), Msg::from("a")).unwrap();
        p.try_push(p.out(), Msg::from("b")).unwrap();
        assert!(p.try_push(p.out(), Msg::from("c")).is_err());
        let before = socket.seq();
        let mut taken = VecDeque::new();
        p.take_all(p.out(), &mut taken);
        assert_eq!(taken, [Msg::from("a"), Msg::from("b")]);
        assert_eq!(socket.seq(), before + 1, "the blocked writer is woken");
        assert_eq!(p.out().len(), 0);
        // Into a queue that already holds some: appended after them.
        p.try_push(p.out(), Msg::from("c")).unwrap();
        p.take_all(p.out(), &mut taken);
        assert_eq!(taken.len(), 3);
        // Returned unsent: back in front of what was queued meanwhile.
        p.try_push(p.out(), Msg::from("d")).unwrap();
        p.unshift(p.out(), &mut taken);
        assert!(taken.is_empty());
        let mut all = Vec::new();
        p.pop_batch(p.out(), 10, &mut all);
        assert_eq!(all, ["a", "b", "c", "d"].map(Msg::from));
    }

    #[test]
    fn offer_drops_when_full_without_blocking_the_writer() {
        let (p, socket, _) = pipe(1);
        assert!(p.offer(p.out(), Msg::from("a")));
        assert!(!p.offer(p.out(), Msg::from("b")));
        let before = socket.seq();
        let mut batch = Vec::new();
        p.pop_batch(p.out(), 10, &mut batch);
        assert_eq!(socket.seq(), before, "a dropping writer is never woken");
    }

    #[test]
    fn socket_is_woken_when_input_arrives_after_it_looked() {
        let (p, socket, _) = pipe(10);
        assert!(p.pop(p.inb()).is_none());
        let before = socket.seq();
        p.push(p.inb(), Msg::from("a"));
        p.push(p.inb(), Msg::from("b"));
        assert_eq!(socket.seq(), before + 1);
    }

    #[test]
    fn closed_pipe_is_readable_to_the_end() {
        let (p, _, _) = pipe(10);
        p.push(p.inb(), Msg::from("last words"));
        p.close();
        assert!(!p.inb().is_closed_and_empty());
        assert!(p.pop(p.inb()).is_some());
        assert!(p.inb().is_closed_and_empty());
    }

    #[test]
    fn low_water_marks_follow_libzmq() {
        assert_eq!(low_water_mark(1000), 500);
        assert_eq!(low_water_mark(1), 1);
        assert_eq!(low_water_mark(10_000), 10_000 - 1024);
        assert_eq!(low_water_mark(0), 0);
    }
}
