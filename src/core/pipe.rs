//! A pipe joins one socket to one peer connection: two bounded queues of whole
//! messages, one each way, with libzmq's high/low water marks.
//!
//! Wake-ups happen only on transitions, so a busy pipe costs one wake-up per
//! batch, not per message: a reader that found a queue empty marks it idle and
//! the next push wakes it; a writer that found it full marks itself blocked and
//! the reader wakes it once the queue has drained to the low water mark.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use bytes::Bytes;

use crate::core::rules::TypeRules;
use crate::options::Options;
use zmio_proto::Msg;
use zmio_proto::SocketKind;

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

/// What a pipe tells the two sides it joins, as libzmq's `i_pipe_events`:
/// the pipe names neither a socket nor the reactor, only this. The socket
/// side's sink is its mailbox, the connection side's the reactor (or, for
/// inproc, the peer socket's mailbox).
pub(crate) trait PipeEvents: Send + Sync + std::fmt::Debug {
    /// A queue this side reads was pushed to after this side found it
    /// empty, or it closed: look at it again.
    fn read_activated(&self, pipe: PipeId);
    /// A queue this side writes drained to its low water mark after
    /// refusing this side, or the peer this side waits for came up: try
    /// sending again.
    fn write_activated(&self, pipe: PipeId);
    /// The other side ended the pipe: let go of it.
    fn terminated(&self, pipe: PipeId);
}

/// One side of a queue: whom to tell, and the id that side knows its pipe
/// by (an inproc queue is shared by two pipes, one per socket).
#[derive(Clone, Debug)]
struct End {
    events: Arc<dyn PipeEvents>,
    pipe: PipeId,
    /// A socket side's activation mark, set before it is told of a read
    /// activation (so a reader that sees the mark sees the queue's too).
    activation: Option<Arc<Activation>>,
}

/// Set when any pipe of one socket is activated; the socket's strategies
/// look at their idle pipes only after taking it (see
/// [`Pipe::take_socket_activations`]).
#[derive(Debug, Default)]
pub(crate) struct Activation(AtomicBool);

impl Activation {
    /// A pipe of the socket was activated.
    pub(crate) fn set(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether a pipe was activated since the last call.
    pub(crate) fn take(&self) -> bool {
        self.0.swap(false, Ordering::AcqRel)
    }
}

/// The socket side of the pipes a socket owns: its sink, its activation
/// mark and its type.
#[derive(Clone, Debug)]
pub(crate) struct Owner {
    pub(crate) events: Arc<dyn PipeEvents>,
    pub(crate) activation: Arc<Activation>,
    pub(crate) rules: TypeRules,
}

impl Owner {
    /// This socket as a queue's end, for its pipe `pipe`.
    fn end(&self, pipe: PipeId) -> End {
        End {
            events: self.events.clone(),
            pipe,
            activation: Some(self.activation.clone()),
        }
    }
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
    /// 0 means no limit, as in libzmq. Under the lock because an inproc
    /// queue's limit grows when its reader appears (libzmq adds the
    /// receiver's RCVHWM to the sender's SNDHWM).
    hwm: usize,
    lwm: usize,
    /// ZMQ_CONFLATE: only the newest message is kept; never full.
    conflate: bool,
}

impl QueueState {
    fn is_full(&self) -> bool {
        !self.conflate && self.hwm != 0 && self.items.len() >= self.hwm
    }

    /// Queues one message (replacing what waits, when conflating).
    fn enqueue(&mut self, msg: Msg) {
        if self.conflate {
            self.items.clear();
        }
        self.items.push_back(msg);
    }
}

/// One direction of a pipe.
#[derive(Debug)]
pub(crate) struct Queue {
    state: Mutex<QueueState>,
    /// Who reads this queue; unset (nobody to wake) until an inproc
    /// connect finds its binder.
    reader: OnceLock<End>,
    /// Who writes it; unset likewise.
    writer: OnceLock<End>,
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
    fn new(hwm: usize, conflate: bool) -> Queue {
        Queue {
            state: Mutex::new(QueueState {
                items: VecDeque::new(),
                // A new queue's reader has not looked yet; the first look arms it.
                reader_idle: false,
                writer_blocked: false,
                closed: false,
                hwm,
                lwm: low_water_mark(hwm),
                conflate,
            }),
            reader: OnceLock::new(),
            writer: OnceLock::new(),
            activated: AtomicBool::new(false),
        }
    }

    fn with(hwm: usize, conflate: bool, reader: End, writer: End) -> Queue {
        let queue = Queue::new(hwm, conflate);
        let _ = queue.reader.set(reader);
        let _ = queue.writer.set(writer);
        queue
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

    /// A push found the reader idle: mark the queue activated (before the
    /// socket-wide mark, so a reader that sees that sees this too) and wake
    /// the reader.
    fn activate_reader(&self) {
        self.activated.store(true, Ordering::Release);
        if let Some(reader) = self.reader.get() {
            if let Some(activation) = &reader.activation {
                activation.set();
            }
            reader.events.read_activated(reader.pipe);
        }
    }

    /// The reader drained a queue its writer found full.
    fn activate_writer(&self) {
        if let Some(writer) = self.writer.get() {
            writer.events.write_activated(writer.pipe);
        }
    }

    /// Tells the reader the pipe is over.
    fn terminate_reader(&self) {
        if let Some(reader) = self.reader.get() {
            if let Some(activation) = &reader.activation {
                activation.set();
            }
            reader.events.terminated(reader.pipe);
        }
    }

    /// Changes the limit (`hwm` maps the current one to the new one; 0 is
    /// none) and turns conflation on if `conflate`: an inproc queue's
    /// limits once its far end is known.
    pub(crate) fn set_limits(&self, hwm: impl FnOnce(usize) -> usize, conflate: bool) {
        let mut state = self.lock();
        state.hwm = hwm(state.hwm);
        state.lwm = low_water_mark(state.hwm);
        state.conflate |= conflate;
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
        !self.lock().is_full()
    }
}

/// The link between a socket (application thread) and one peer (reactor thread).
#[derive(Debug)]
pub(crate) struct Pipe {
    id: PipeId,
    /// Messages from the socket to the peer.
    out: Arc<Queue>,
    /// Messages from the peer to the socket. (An inproc pipe's queues are
    /// its peer pipe's, crosswise.)
    inb: Arc<Queue>,
    /// The owning socket's type.
    kind: SocketKind,
    /// The owning socket's activation mark.
    activation: Arc<Activation>,
    /// A handshaken connection is behind the pipe now (a connect pipe lives
    /// across reconnects; PUB sends nothing to a peer that is not there).
    peer_up: AtomicBool,
    /// REQ and REP write a message on the socket's own thread when the
    /// connection has nothing else to send (see [`DirectSend`]): the
    /// connection's direct path while one is up.
    direct: Option<Mutex<Option<Arc<dyn DirectSend>>>>,
    /// The routing id the peer sent in READY (`None`: it sent none), for
    /// the connection now behind the pipe; set before `handshakes` is bumped.
    peer_routing_id: Mutex<Option<Bytes>>,
    /// How many handshakes have completed on this pipe (a connect pipe
    /// lives across reconnects), so ROUTER sees when its peer's id may change.
    handshakes: AtomicU64,
    /// How many times the peer behind the pipe was reset (a publisher's
    /// connect pipe whose connection ended: its subscriptions are gone);
    /// changed under the inbound queue's lock, so each message popped is
    /// known to come before or after a reset.
    peer_resets: AtomicU64,
    /// Set for an inproc pipe: no connection, the peer is another socket.
    inproc: Option<InprocLink>,
    /// ZMQ_IMMEDIATE: load balancing passes this pipe by while no
    /// connection is up behind it.
    immediate: bool,
}

/// What an inproc pipe knows of its connection: the endpoint (the peer
/// socket is the far end of its queues).
#[derive(Debug)]
pub(crate) struct InprocLink {
    /// The endpoint name, as bound (`inproc://name`).
    endpoint: String,
}

/// The direct path: a socket that sends one message and then waits for the
/// answer (REQ, REP) writes it to the connection itself when the reactor
/// has nothing queued for it, instead of waking the reactor to do it. That
/// saves a thread wake-up per message, which is most of a round trip's
/// latency. Streams of messages (PUSH, PUB) keep going through the reactor,
/// which batches them into few writes.
///
/// The I/O layer implements it over the connection itself, so the message
/// is encoded by the connection's own encoder, through its mechanism's
/// transform, in order with everything else the connection sends.
pub(crate) trait DirectSend: Send + Sync + std::fmt::Debug {
    /// Encodes `msg` and writes it now, if nothing queued earlier waits
    /// (`queue_empty` says whether the pipe's outbound queue is empty; it
    /// is asked under the connection's lock). `Err(msg)`: not now, queue it
    /// in the pipe. `Ok(true)`: written whole; `Ok(false)`: encoded, and the
    /// reactor must write the rest.
    fn try_send(&self, msg: Msg, queue_empty: &dyn Fn() -> bool) -> Result<bool, Msg>;
}

impl Pipe {
    /// A pipe with `sndhwm`/`rcvhwm` message limits (0 = unlimited).
    #[cfg(test)]
    pub(crate) fn new(
        sndhwm: usize,
        rcvhwm: usize,
        owner: &Owner,
        remote: Arc<dyn PipeEvents>,
    ) -> Arc<Pipe> {
        let options = Options {
            sndhwm,
            rcvhwm,
            ..Options::default()
        };
        Pipe::with_options(&options, owner, remote)
    }

    /// A pipe to a connection served by `remote` (the reactor), with the
    /// socket's high water marks, ZMQ_CONFLATE (keep only the newest
    /// message each way) and ZMQ_IMMEDIATE (no sending until a connection
    /// is up).
    pub(crate) fn with_options(
        options: &Options,
        owner: &Owner,
        remote: Arc<dyn PipeEvents>,
    ) -> Arc<Pipe> {
        let id = NEXT_PIPE_ID.fetch_add(1, Ordering::Relaxed);
        let to_remote = End {
            events: remote,
            pipe: id,
            activation: None,
        };
        let to_owner = owner.end(id);
        let (out_conflate, inb_conflate) = conflation(options.conflate, owner.rules);
        let out = Queue::with(
            options.sndhwm,
            out_conflate,
            to_remote.clone(),
            to_owner.clone(),
        );
        let inb = Queue::with(options.rcvhwm, inb_conflate, to_owner, to_remote);
        let (out, inb) = (Arc::new(out), Arc::new(inb));
        Pipe::build(id, out, inb, owner, None, options.immediate)
    }

    /// The connecting end of an inproc connection to `endpoint`: its queues
    /// have no reader or writer on the far side until the binder pairs it
    /// (the inproc table pairs it, see [`Pipe::crosswise`]); until then messages
    /// wait, up to `sndhwm`.
    pub(crate) fn inproc(endpoint: &str, options: &Options, owner: &Owner) -> Arc<Pipe> {
        let id = NEXT_PIPE_ID.fetch_add(1, Ordering::Relaxed);
        let (out_conflate, inb_conflate) = conflation(options.conflate, owner.rules);
        let out = Queue::new(options.sndhwm, out_conflate);
        let inb = Queue::new(options.rcvhwm, inb_conflate);
        let to_owner = owner.end(id);
        let _ = out.writer.set(to_owner.clone());
        let _ = inb.reader.set(to_owner);
        let link = InprocLink {
            endpoint: endpoint.to_owned(),
        };
        let (out, inb) = (Arc::new(out), Arc::new(inb));
        Pipe::build(id, out, inb, owner, Some(link), options.immediate)
    }

    fn build(
        id: PipeId,
        out: Arc<Queue>,
        inb: Arc<Queue>,
        owner: &Owner,
        inproc: Option<InprocLink>,
        immediate: bool,
    ) -> Arc<Pipe> {
        let direct = inproc.is_none() && owner.rules.writes_directly;
        Arc::new(Pipe {
            id,
            out,
            inb,
            kind: owner.rules.kind,
            activation: owner.activation.clone(),
            peer_up: AtomicBool::new(false),
            peer_routing_id: Mutex::new(None),
            handshakes: AtomicU64::new(0),
            peer_resets: AtomicU64::new(0),
            direct: direct.then(|| Mutex::new(None)),
            inproc,
            immediate,
        })
    }

    /// The other end of an inproc pipe: a pipe owned by `far` over the same
    /// two queues crosswise (this pipe's outbound queue is its inbound one),
    /// `far` becoming their reader and writer on that side. `None` for a
    /// pipe with a connection behind it. The queues' limits stay as they
    /// are ([`Queue::set_limits`]).
    pub(crate) fn crosswise(&self, far: &Owner, immediate: bool) -> Option<Arc<Pipe>> {
        let link = self.inproc.as_ref()?;
        let id = NEXT_PIPE_ID.fetch_add(1, Ordering::Relaxed);
        let to_far = far.end(id);
        let _ = self.out.reader.set(to_far.clone());
        let _ = self.inb.writer.set(to_far);
        let far_link = InprocLink {
            endpoint: link.endpoint.clone(),
        };
        Some(Pipe::build(
            id,
            self.inb.clone(),
            self.out.clone(),
            far,
            Some(far_link),
            immediate,
        ))
    }

    /// The inproc endpoint of an inproc pipe.
    pub(crate) fn inproc_endpoint(&self) -> Option<&str> {
        self.inproc.as_ref().map(|l| l.endpoint.as_str())
    }

    /// Closes an inproc connection from either end: both queues are closed
    /// (what is queued can still be read to the end), both sockets woken
    /// and told the pipe is gone. Does nothing to a pipe with a connection.
    pub(crate) fn close_inproc(&self) {
        if self.inproc.is_none() {
            return;
        }
        self.out.lock().closed = true;
        self.inb.lock().closed = true;
        for queue in [&self.out, &self.inb] {
            queue.activated.store(true, Ordering::Release);
        }
        self.set_peer_up(false);
        // This socket reads `inb`, the peer socket (once paired) `out`.
        self.inb.terminate_reader();
        self.out.terminate_reader();
    }

    /// Whether this pipe writes directly when it can (REQ and REP over a
    /// connection): the reactor then opens a direct path for each connection.
    pub(crate) fn wants_direct(&self) -> bool {
        self.direct.is_some()
    }

    /// The direct path slot (REQ and REP only).
    fn direct_slot(&self) -> Option<MutexGuard<'_, Option<Arc<dyn DirectSend>>>> {
        self.direct
            .as_ref()
            .map(|d| d.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Reactor side: a handshake completed on a new connection behind the
    /// pipe. The peer's READY routing id is recorded before any of its
    /// messages are queued; REQ and REP get the connection's direct path.
    pub(crate) fn connection_up(
        &self,
        routing_id: Option<Bytes>,
        direct: Option<Arc<dyn DirectSend>>,
    ) {
        self.set_peer_routing_id(routing_id);
        if let Some(mut slot) = self.direct_slot() {
            *slot = direct;
        }
        self.set_peer_up(true);
    }

    /// Reactor side: the connection behind the pipe ended. The direct path
    /// is dropped and a publisher stops sending to this peer.
    pub(crate) fn connection_down(&self) {
        if let Some(mut slot) = self.direct_slot() {
            *slot = None;
        }
        self.set_peer_up(false);
    }

    /// Socket side: writes `msg` to the connection now if the direct path is
    /// open and nothing waits ahead of it; hands it back otherwise.
    fn send_direct(&self, msg: Msg) -> Result<(), Msg> {
        let Some(slot) = &self.direct else {
            return Err(msg);
        };
        // The reactor holds it only to swap the path; never wait for it.
        let Ok(slot) = slot.try_lock() else {
            return Err(msg);
        };
        let Some(path) = slot.as_ref() else {
            return Err(msg);
        };
        let written = path.try_send(msg, &|| self.out.lock().items.is_empty())?;
        drop(slot);
        if !written {
            // The reactor writes the rest.
            if let Some(reader) = self.out.reader.get() {
                reader.events.read_activated(reader.pipe);
            }
        }
        Ok(())
    }

    /// Reactor side: a connection behind the pipe completed its handshake
    /// (`true`) or ended (`false`).
    pub(crate) fn set_peer_up(&self, up: bool) {
        self.peer_up.store(up, Ordering::Release);
        if up && self.immediate {
            // A send may be waiting for a peer that is up.
            self.activate_sender();
        }
    }

    /// Tells the socket side a send may go ahead now (the peer is up).
    pub(crate) fn activate_sender(&self) {
        self.out.activate_writer();
    }

    /// Whether load balancing may queue to this pipe now: always, unless
    /// ZMQ_IMMEDIATE is set and no connection is up.
    pub(crate) fn is_eligible(&self) -> bool {
        !self.immediate || self.is_peer_up()
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
        if self.inproc.is_some() {
            self.close_inproc();
            return;
        }
        // The reactor, reading `out`, closes the connection.
        self.out.terminate_reader();
    }

    /// Whether a handshaken connection is behind the pipe now.
    pub(crate) fn is_peer_up(&self) -> bool {
        self.peer_up.load(Ordering::Acquire)
    }

    /// The type of the socket this pipe belongs to.
    pub(crate) fn socket_kind(&self) -> SocketKind {
        self.kind
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

    /// Socket side: whether any pipe of this socket was activated since the
    /// last call (one atomic swap), so a reader scans its idle pipes only then.
    pub(crate) fn take_socket_activations(&self) -> bool {
        self.activation.take()
    }

    /// Writer side: queue `msg` unless the queue is full, in which case the
    /// writer is marked blocked (it will be woken) and the message is handed back.
    pub(crate) fn try_push(&self, queue: &Queue, msg: Msg) -> Result<(), Msg> {
        let msg = match self.send_direct_if_out(queue, msg) {
            Ok(()) => return Ok(()),
            Err(msg) => msg,
        };
        let activate_reader = {
            let mut state = queue.lock();
            if state.is_full() {
                state.writer_blocked = true;
                return Err(msg);
            }
            state.enqueue(msg);
            std::mem::replace(&mut state.reader_idle, false)
        };
        if activate_reader {
            queue.activate_reader();
        }
        Ok(())
    }

    /// Writer side: whether `queue` has room now. If not, the writer is
    /// marked blocked, as by a refused [`try_push`](Self::try_push), so the
    /// reader wakes it once the queue drains (a poller waits on that).
    pub(crate) fn has_room_or_wake_me(&self, queue: &Queue) -> bool {
        let mut state = queue.lock();
        if state.is_full() {
            state.writer_blocked = true;
            return false;
        }
        true
    }

    /// Writer side: queue `msg` if there is room, else drop it (PUB's policy);
    /// says whether it was queued. Never marks the writer blocked.
    pub(crate) fn offer(&self, queue: &Queue, msg: Msg) -> bool {
        let msg = match self.send_direct_if_out(queue, msg) {
            Ok(()) => return true,
            Err(msg) => msg,
        };
        let activate_reader = {
            let mut state = queue.lock();
            if state.is_full() {
                return false;
            }
            state.enqueue(msg);
            std::mem::replace(&mut state.reader_idle, false)
        };
        if activate_reader {
            queue.activate_reader();
        }
        true
    }

    /// The direct path, for messages to the peer.
    fn send_direct_if_out(&self, queue: &Queue, msg: Msg) -> Result<(), Msg> {
        if std::ptr::eq(queue, &*self.out) {
            self.send_direct(msg)
        } else {
            Err(msg)
        }
    }

    /// Writer side: queue `msg` whatever the high water mark says. For the few
    /// messages that must not be dropped or block (subscriptions, REP replies
    /// are checked by the caller), and for the reactor, which checks room first.
    pub(crate) fn push(&self, queue: &Queue, msg: Msg) -> Pushed {
        let (activate_reader, full) = {
            let mut state = queue.lock();
            state.enqueue(msg);
            let full = state.is_full();
            if full {
                state.writer_blocked = true;
            }
            (std::mem::replace(&mut state.reader_idle, false), full)
        };
        if activate_reader {
            queue.activate_reader();
        }
        if full { Pushed::NowFull } else { Pushed::Room }
    }

    /// Writer side: how many messages `queue` takes before its high water
    /// mark (`usize::MAX` without one).
    #[cfg(test)]
    pub(crate) fn room(&self, queue: &Queue) -> usize {
        let state = queue.lock();
        if state.hwm == 0 || state.conflate {
            return usize::MAX;
        }
        state.hwm.saturating_sub(state.items.len())
    }

    /// Writer side: move as many messages from the front of `msgs` as the
    /// queue has room for, under one lock and with at most one wake-up. The
    /// room is decided under that lock (a count taken earlier may be stale,
    /// as the reader drains meanwhile), so messages are left in `msgs` only
    /// when the queue is full: then the writer is marked blocked and the
    /// reader wakes it at the low water mark.
    pub(crate) fn push_batch(&self, queue: &Queue, msgs: &mut VecDeque<Msg>) -> Pushed {
        let (activate_reader, full) = {
            let mut state = queue.lock();
            let take = if state.conflate {
                // Only the newest counts; the rest are dropped here.
                if let Some(last) = msgs.pop_back() {
                    msgs.clear();
                    state.enqueue(last);
                    1
                } else {
                    0
                }
            } else {
                let take = if state.hwm == 0 {
                    msgs.len()
                } else {
                    state.hwm.saturating_sub(state.items.len()).min(msgs.len())
                };
                state.items.extend(msgs.drain(..take));
                take
            };
            let full = state.is_full();
            if full {
                state.writer_blocked = true;
            }
            let wake = take > 0 && std::mem::replace(&mut state.reader_idle, false);
            (wake, full)
        };
        if activate_reader {
            queue.activate_reader();
        }
        if full { Pushed::NowFull } else { Pushed::Room }
    }

    /// Reader side: take every message waiting into `into`, under one lock;
    /// when `into` is empty the two queues are swapped, so the hand-off costs
    /// the same for one message or a thousand (the reader's spare queue
    /// becomes the writer's). Marks the reader idle and wakes a writer
    /// blocked at the high water mark.
    pub(crate) fn take_all(&self, queue: &Queue, into: &mut VecDeque<Msg>) {
        let activate_writer = {
            let mut state = queue.lock();
            if into.is_empty() {
                std::mem::swap(&mut state.items, into);
            } else {
                into.extend(state.items.drain(..));
            }
            state.reader_idle = true;
            std::mem::replace(&mut state.writer_blocked, false)
        };
        if activate_writer {
            queue.activate_writer();
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
        let activate_reader = {
            let mut state = queue.lock();
            if state.conflate {
                // Anything queued since is newer than what comes back.
                if state.items.is_empty() {
                    state.items.extend(msgs.pop_back());
                }
                msgs.clear();
            } else {
                let mut rest = std::mem::take(&mut state.items);
                state.items = std::mem::take(msgs);
                state.items.append(&mut rest);
            }
            std::mem::replace(&mut state.reader_idle, false)
        };
        if activate_reader {
            queue.activate_reader();
        }
    }

    /// Reader side: take up to `max` messages into `into`. An empty queue
    /// marks the reader idle; draining to the low water mark wakes a blocked writer.
    #[cfg(test)]
    pub(crate) fn pop_batch(&self, queue: &Queue, max: usize, into: &mut Vec<Msg>) {
        let activate_writer = {
            let mut state = queue.lock();
            let n = max.min(state.items.len());
            into.extend(state.items.drain(..n));
            if state.items.is_empty() {
                state.reader_idle = true;
            }
            state.writer_blocked && state.items.len() <= state.lwm && {
                state.writer_blocked = false;
                true
            }
        };
        if activate_writer {
            queue.activate_writer();
        }
    }

    /// Reader side: take one message; an empty queue marks the reader idle, and
    /// draining to the low water mark wakes a blocked writer.
    #[cfg(test)]
    pub(crate) fn pop(&self, queue: &Queue) -> Option<Msg> {
        self.pop_with_resets(queue).0
    }

    /// [`Pipe::pop`], with the count of peer resets (see
    /// [`Pipe::reset_peer`]) the message came after.
    pub(crate) fn pop_with_resets(&self, queue: &Queue) -> (Option<Msg>, u64) {
        let (msg, activate_writer, resets) = {
            let mut state = queue.lock();
            let resets = self.peer_resets.load(Ordering::Acquire);
            let msg = state.items.pop_front();
            if state.items.is_empty() {
                state.reader_idle = true;
            }
            let wake = state.writer_blocked && state.items.len() <= state.lwm && {
                state.writer_blocked = false;
                true
            };
            (msg, wake, resets)
        };
        if activate_writer {
            queue.activate_writer();
        }
        (msg, resets)
    }

    /// Reactor side: the peer behind a publisher's pipe is gone (its
    /// connection ended; a connect pipe stays for the next one). What it
    /// sent and was not read yet is dropped and the reset counted, so the
    /// socket forgets the peer's subscriptions before reading anything the
    /// next peer sends; the socket is woken to look.
    pub(crate) fn reset_peer(&self) {
        {
            let mut state = self.inb.lock();
            state.items.clear();
            self.peer_resets.fetch_add(1, Ordering::AcqRel);
        }
        self.inb.activate_reader();
    }

    /// How many times the peer was reset (see [`Pipe::reset_peer`]).
    pub(crate) fn peer_resets(&self) -> u64 {
        self.peer_resets.load(Ordering::Acquire)
    }

    /// Drops everything queued in `queue` (a SUB rewriting its subscriptions).
    pub(crate) fn clear(&self, queue: &Queue) {
        queue.lock().items.clear();
    }

    /// Keeps only the messages of `queue` that `keep` accepts.
    pub(crate) fn retain(&self, queue: &Queue, keep: impl FnMut(&Msg) -> bool) {
        queue.lock().items.retain(keep);
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
        self.inb.activate_reader();
    }
}

/// Which of a pipe's queues conflate (outbound, inbound) for ZMQ_CONFLATE
/// on a socket with these rules: the ones carrying data. A subscriber's
/// outbound queue and a publisher's inbound one carry subscriptions, never
/// conflated (each one counts).
pub(crate) fn conflation(conflate: bool, rules: TypeRules) -> (bool, bool) {
    (
        conflate && !rules.sends_subscriptions,
        conflate && !rules.receives_subscriptions,
    )
}

/// Pipes with no reactor thread and no socket behind them, for strategy tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::SocketKind;

    /// A sink that counts what a pipe told it.
    #[derive(Debug, Default)]
    pub(crate) struct Recorder {
        /// Every event, ever (as a socket's notification count).
        events: AtomicU64,
        /// Read and write activations not yet taken (as the reactor's
        /// activation commands).
        activations: AtomicU64,
        /// Terminations.
        terminated: AtomicU64,
    }

    impl Recorder {
        /// How many events so far.
        pub(crate) fn seq(&self) -> u64 {
            self.events.load(Ordering::Acquire)
        }

        /// The read and write activations since the last call.
        pub(crate) fn take_activations(&self) -> u64 {
            self.activations.swap(0, Ordering::AcqRel)
        }

        /// How many terminations so far.
        pub(crate) fn terminations(&self) -> u64 {
            self.terminated.load(Ordering::Acquire)
        }
    }

    impl PipeEvents for Recorder {
        fn read_activated(&self, _pipe: PipeId) {
            self.events.fetch_add(1, Ordering::AcqRel);
            self.activations.fetch_add(1, Ordering::AcqRel);
        }

        fn write_activated(&self, _pipe: PipeId) {
            self.events.fetch_add(1, Ordering::AcqRel);
            self.activations.fetch_add(1, Ordering::AcqRel);
        }

        fn terminated(&self, _pipe: PipeId) {
            self.events.fetch_add(1, Ordering::AcqRel);
            self.terminated.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// The socket side of a socket of `kind` whose events `recorder` counts.
    pub(crate) fn owner(kind: SocketKind, recorder: &Arc<Recorder>) -> Owner {
        Owner {
            events: recorder.clone(),
            activation: Arc::default(),
            rules: TypeRules::plain(kind),
        }
    }

    /// A pipe, the recorder of its socket side and that of its reactor
    /// side. The pipe's peer counts as connected, as after a handshake.
    pub(crate) fn pipe(hwm: usize) -> (Arc<Pipe>, Arc<Recorder>, Arc<Recorder>) {
        let socket = Arc::new(Recorder::default());
        let reactor = Arc::new(Recorder::default());
        let pipe = Pipe::new(hwm, hwm, &owner(SocketKind::Push, &socket), reactor.clone());
        pipe.set_peer_up(true);
        (pipe, socket, reactor)
    }

    /// `n` pipes of one socket (as a socket's peers are), peers connected.
    pub(crate) fn pipes_of_one_socket(n: usize, hwm: usize) -> Vec<Arc<Pipe>> {
        let owner = owner(SocketKind::Pull, &Arc::new(Recorder::default()));
        let reactor = Arc::new(Recorder::default());
        (0..n)
            .map(|_| {
                let pipe = Pipe::new(hwm, hwm, &owner, reactor.clone());
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
    use super::testing::{Recorder, owner, pipe};
    use super::*;

    fn activations(reactor: &Recorder) -> u64 {
        reactor.take_activations()
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
        reactor.take_activations();
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
    fn a_conflating_queue_keeps_only_the_newest_message() {
        let options = Options {
            rcvhwm: 2,
            conflate: true,
            ..Options::default()
        };
        let socket = owner(SocketKind::Pull, &Arc::new(Recorder::default()));
        let p = Pipe::with_options(&options, &socket, Arc::new(Recorder::default()));
        for m in ["a", "b", "c"] {
            assert_eq!(p.push(p.inb(), Msg::from(m)), Pushed::Room, "never full");
        }
        let mut batch: VecDeque<Msg> = ["d", "e"].into_iter().map(Msg::from).collect();
        p.push_batch(p.inb(), &mut batch);
        assert!(batch.is_empty());
        assert_eq!(p.pop(p.inb()), Some(Msg::from("e")));
        assert_eq!(p.pop(p.inb()), None);
        // Returned unsent: kept only if nothing newer came meanwhile.
        let mut back: VecDeque<Msg> = ["x", "y"].into_iter().map(Msg::from).collect();
        p.unshift(p.inb(), &mut back);
        assert_eq!(p.pop(p.inb()), Some(Msg::from("y")));
    }

    #[test]
    fn conflate_spares_subscriptions() {
        let rules = |kind| TypeRules {
            sends_subscriptions: kind == SocketKind::Sub,
            receives_subscriptions: kind == SocketKind::Pub,
            ..TypeRules::plain(kind)
        };
        assert_eq!(conflation(true, rules(SocketKind::Sub)), (false, true));
        assert_eq!(conflation(true, rules(SocketKind::Pub)), (true, false));
        assert_eq!(conflation(true, rules(SocketKind::Dealer)), (true, true));
        assert_eq!(conflation(false, rules(SocketKind::Dealer)), (false, false));
    }

    #[test]
    fn low_water_marks_follow_libzmq() {
        assert_eq!(low_water_mark(1000), 500);
        assert_eq!(low_water_mark(1), 1);
        assert_eq!(low_water_mark(10_000), 10_000 - 1024);
        assert_eq!(low_water_mark(0), 0);
    }
}
