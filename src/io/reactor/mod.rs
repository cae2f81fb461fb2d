//! The reactor: the only code that touches mio. One thread runs a `Poll` loop
//! over every listener and connection of the sockets assigned to it;
//! application threads reach it through [`ReactorShared`]: a command queue and
//! a `Waker`, woken once per batch of commands.

mod slab;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token, Waker};

use crate::core::mailbox::{SocketEvent, SocketId, SocketShared};
use crate::core::pipe::{Pipe, PipeEvents, PipeId};
use crate::endpoint::Endpoint;
use crate::io::engine::{Engine, ReadStatus};
use crate::io::session::{Origin, Session};
use crate::io::transport::{self, Listener, Stream, ipc};
use crate::monitor::{DisconnectReason, Limit, MonitorEvent, MonitorEventKind, Timeout};
use crate::options::{Options, ReconnectStop};
use crate::ratelimit::{RateLimiter, warn_limited};
use slab::Slab;
use zmio_proto::{ConnectionConfig, PeerInfo};

const WAKER: Token = Token(usize::MAX);

/// What application threads ask of the reactor.
#[derive(Debug)]
pub(crate) enum Command {
    /// Serve a listener bound by the socket.
    Bind {
        socket_id: SocketId,
        socket: Arc<SocketShared>,
        listener: Listener,
        /// The resolved endpoint, the key for `Unbind`.
        endpoint: String,
        options: Arc<Options>,
    },
    /// Connect (and keep reconnecting) to an endpoint, feeding `pipe`.
    Connect {
        socket_id: SocketId,
        socket: Arc<SocketShared>,
        endpoint: Endpoint,
        pipe: Arc<Pipe>,
        options: Arc<Options>,
    },
    /// Close a listener and the connections it accepted; `done` is signalled
    /// once the port is free again.
    Unbind {
        socket_id: SocketId,
        endpoint: String,
        done: Done,
    },
    /// Drop a connect session.
    Disconnect { pipe: PipeId },
    /// A pipe's socket side made progress (queued output or drained input).
    Activate(PipeId),
    /// The socket is closed: deliver what is queued within `linger`, then drop
    /// everything. `done` is signalled once its listeners are closed (not
    /// when lingering ends), so the ports can be bound again at once.
    Close {
        socket_id: SocketId,
        linger: Option<Duration>,
        done: Done,
    },
    /// The context is going: exit once every closed socket has lingered.
    Shutdown,
}

/// Signalled by the reactor when a command has taken effect.
pub(crate) type Done = std::sync::mpsc::SyncSender<()>;

/// The part of a reactor other threads hold.
#[derive(Debug)]
pub(crate) struct ReactorShared {
    commands: Mutex<Vec<Command>>,
    waker: Waker,
}

/// The connection side of a pipe: activity wakes the reactor to serve the
/// pipe, and a socket that ends the pipe has the connection closed.
impl PipeEvents for ReactorShared {
    fn read_activated(&self, pipe: PipeId) {
        self.activate(pipe);
    }

    fn write_activated(&self, pipe: PipeId) {
        self.activate(pipe);
    }

    fn terminated(&self, pipe: PipeId) {
        self.send(Command::Disconnect { pipe });
    }
}

impl ReactorShared {
    /// Queues a command; wakes the reactor if it is the first of a batch.
    pub(crate) fn send(&self, command: Command) {
        let first = {
            let mut queue = self.commands.lock().unwrap_or_else(|p| p.into_inner());
            queue.push(command);
            queue.len() == 1
        };
        if first && let Err(e) = self.waker.wake() {
            log::error!("cannot wake the reactor: {e}");
        }
    }

    /// A handle with no reactor thread behind it: commands just accumulate,
    /// so tests can see who woke the reactor and why.
    #[cfg(feature = "bench-internals")]
    // Tests and benchmarks only: without an epoll instance they cannot run.
    #[allow(clippy::expect_used)]
    pub(crate) fn detached() -> Arc<ReactorShared> {
        let poll = Poll::new().expect("poll for a test reactor handle");
        let waker = Waker::new(poll.registry(), WAKER).expect("waker for a test reactor handle");
        Arc::new(ReactorShared {
            commands: Mutex::new(Vec::new()),
            waker,
        })
    }

    /// The commands queued so far (tests only).
    #[cfg(feature = "bench-internals")]
    pub(crate) fn take_commands(&self) -> Vec<Command> {
        std::mem::take(&mut *self.commands.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Tells the reactor a pipe has work.
    pub(crate) fn activate(&self, pipe: PipeId) {
        self.send(Command::Activate(pipe));
    }
}

/// A reactor thread and its handle.
#[derive(Debug)]
pub(crate) struct ReactorThread {
    shared: Arc<ReactorShared>,
    thread: Option<JoinHandle<()>>,
}

impl ReactorThread {
    /// Starts a reactor on a new thread named `name`.
    pub(crate) fn spawn(name: String) -> io::Result<ReactorThread> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let shared = Arc::new(ReactorShared {
            commands: Mutex::new(Vec::new()),
            waker,
        });
        let mut reactor = Reactor {
            poll,
            entries: Slab::default(),
            ctx: Ctx {
                shared: shared.clone(),
                pipes: HashMap::new(),
                timers: BinaryHeap::new(),
                pending: HashMap::new(),
                warnings: RateLimiter::default(),
            },
            shutdown: false,
        };
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || reactor.run())?;
        Ok(ReactorThread {
            shared,
            thread: Some(thread),
        })
    }

    /// The handle application threads use.
    pub(crate) fn shared(&self) -> &Arc<ReactorShared> {
        &self.shared
    }
}

impl Drop for ReactorThread {
    fn drop(&mut self) {
        self.shared.send(Command::Shutdown);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            log::error!("reactor thread panicked");
        }
    }
}

#[derive(Debug)]
struct Listening {
    socket_id: SocketId,
    socket: Arc<SocketShared>,
    listener: Listener,
    endpoint: String,
    options: Arc<Options>,
    /// Accepting is paused until an `AcceptRetry` timer: the process or
    /// system ran out of descriptors or memory.
    backing_off: bool,
    /// In an episode of such failures (logged once, at its start), until
    /// an accept succeeds again.
    exhausted: bool,
}

/// How long a listener waits before accepting again after running out of
/// descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM). The refused
/// connections wait in the backlog; edge-triggered readiness would not
/// report them again, so the retry is a timer.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Whether an accept error means resources ran out (retry later) rather
/// than something about the one connection.
fn out_of_resources(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// A subscribe or cancel as a subscriber sends it.
fn is_subscription(msg: &zmio_proto::Msg) -> bool {
    zmio_proto::subscription::parse(msg).is_some()
}

#[derive(Debug)]
enum Entry {
    Listener(Listening),
    /// Boxed: a session holds a whole protocol state and is far larger than a listener.
    Session(Box<Session>),
}

/// A timer entry's purpose. Entries are never removed early: each is
/// checked against the current state when it fires, and a token of a
/// removed entry finds nothing (tokens carry a generation).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    Reconnect(usize),
    LingerExpired(SocketId),
    /// A session's connection has a deadline (handshake, heartbeat): run
    /// its timers, then re-arm from its next deadline.
    Connection(usize),
    /// ZMQ_CONNECT_TIMEOUT of the connect that session started at that time.
    ConnectTimeout(usize, Instant),
    /// A listener that ran out of descriptors accepts again.
    AcceptRetry(usize),
}

/// Reactor state other than the poll and the entries, so a session can be
/// borrowed from the slab while this is borrowed too.
#[derive(Debug)]
struct Ctx {
    shared: Arc<ReactorShared>,
    pipes: HashMap<PipeId, Token>,
    timers: BinaryHeap<Reverse<(Instant, TimerKind)>>,
    /// Accepted connections still in their handshake, per listener token.
    pending: HashMap<Token, usize>,
    /// Warnings about peers, per socket and reason, rate-limited.
    warnings: RateLimiter<(SocketId, &'static str)>,
}

impl Ctx {
    /// Adds a timer entry `after` from `now`. A deadline past what an
    /// `Instant` can hold (an option set to `Duration::MAX`, say) is never
    /// reached: no entry, so the wait is forever.
    fn timer_after(&mut self, now: Instant, after: Duration, kind: TimerKind) {
        if let Some(at) = now.checked_add(after) {
            self.timers.push(Reverse((at, kind)));
        }
    }
}

#[derive(Debug)]
struct Reactor {
    poll: Poll,
    entries: Slab<Entry>,
    ctx: Ctx,
    shutdown: bool,
}

/// What became of a session after handling an event.
enum Next {
    Keep,
    /// The connection ended; reconnect or remove, as the origin says.
    Disconnected(DisconnectReason),
    /// Lingering is over (or the socket is gone): remove the session.
    Remove,
}

fn connection_config(options: &Options, kind: crate::SocketKind) -> ConnectionConfig {
    ConnectionConfig {
        socket_kind: kind,
        routing_id: options.routing_id.clone(),
        max_msg_size: options.max_msg_size,
        max_frames: options.max_frames_per_msg,
        max_metadata_size: options.max_metadata_size,
        timing: options.timing(),
        security: options.security.clone(),
    }
}

impl Reactor {
    fn run(&mut self) {
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = self
                .ctx
                .timers
                .peek()
                .map(|Reverse((at, _))| at.saturating_duration_since(Instant::now()));
            if let Err(e) = self.poll.poll(&mut events, timeout)
                && e.kind() != io::ErrorKind::Interrupted
            {
                log::error!("reactor poll failed: {e}");
                return;
            }
            for event in events.iter() {
                if event.token() != WAKER {
                    self.on_event(event);
                }
            }
            self.run_commands();
            self.run_timers();
            if self.shutdown && self.entries.is_empty() {
                return;
            }
        }
    }

    fn run_commands(&mut self) {
        loop {
            let commands = std::mem::take(
                &mut *self
                    .ctx
                    .shared
                    .commands
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()),
            );
            if commands.is_empty() {
                return;
            }
            for command in commands {
                self.run_command(command);
            }
        }
    }

    fn run_command(&mut self, command: Command) {
        match command {
            Command::Bind {
                socket_id,
                socket,
                listener,
                endpoint,
                options,
            } => {
                socket.monitor.emit(|| MonitorEvent {
                    endpoint: endpoint.clone(),
                    peer: None,
                    kind: MonitorEventKind::Listening,
                });
                let token = self.entries.insert(Entry::Listener(Listening {
                    socket_id,
                    socket,
                    listener,
                    endpoint,
                    options,
                    backing_off: false,
                    exhausted: false,
                }));
                if let Some(Entry::Listener(l)) = self.entries.get_mut(token)
                    && let Err(e) =
                        self.poll
                            .registry()
                            .register(&mut l.listener, token, Interest::READABLE)
                {
                    log::error!("cannot register listener {}: {e}", l.endpoint);
                }
            }
            Command::Connect {
                socket_id,
                socket,
                endpoint,
                pipe,
                options,
            } => {
                let pipe_id = pipe.id();
                let token = self.entries.insert(Entry::Session(Box::new(Session {
                    socket_id,
                    socket,
                    options,
                    pipe: Some(pipe),
                    origin: Origin::Connect {
                        endpoint,
                        failures: 0,
                        was_ready: false,
                    },
                    engine: None,
                    lingering: false,
                })));
                self.ctx.pipes.insert(pipe_id, token);
                self.start_connect(token);
            }
            Command::Unbind {
                socket_id,
                endpoint,
                done,
            } => {
                let listeners = self.entries.tokens_where(|e| {
                    matches!(e, Entry::Listener(l) if l.socket_id == socket_id && l.endpoint == endpoint)
                });
                for listener in listeners {
                    self.remove_entry(listener);
                    let accepted = self.entries.tokens_where(|e| {
                        matches!(e, Entry::Session(s) if matches!(s.origin, Origin::Accepted { listener: l, .. } if l == listener))
                    });
                    for token in accepted {
                        self.remove_entry(token);
                    }
                }
                // The caller may have stopped waiting; nothing to do then.
                let _ = done.send(());
            }
            Command::Disconnect { pipe } => {
                if let Some(token) = self.ctx.pipes.get(&pipe).copied() {
                    self.remove_entry(token);
                }
            }
            Command::Activate(pipe) => {
                if let Some(token) = self.ctx.pipes.get(&pipe).copied() {
                    // Only output, or room for paused input: reads happen on
                    // readable events (edge-triggered, read to WouldBlock).
                    self.drive(token, false, true);
                }
            }
            Command::Close {
                socket_id,
                linger,
                done,
            } => {
                self.close_socket(socket_id, linger);
                let _ = done.send(());
            }
            Command::Shutdown => self.shutdown = true,
        }
    }

    fn close_socket(&mut self, socket_id: SocketId, linger: Option<Duration>) {
        let tokens = self.entries.tokens_where(|e| match e {
            Entry::Listener(l) => l.socket_id == socket_id,
            Entry::Session(s) => s.socket_id == socket_id,
        });
        self.ctx.warnings.forget(|&(id, _)| id == socket_id);
        let mut lingering = false;
        for token in tokens {
            // Subscriptions mean nothing once the subscriber is closed:
            // they never linger (an XSUB's other messages do).
            if let Some(Entry::Session(s)) = self.entries.get_mut(token)
                && s.socket.rules().sends_subscriptions
                && let Some(pipe) = &s.pipe
            {
                pipe.retain(pipe.out(), |msg| !is_subscription(msg));
            }
            match self.entries.get_mut(token) {
                Some(Entry::Session(s)) if linger != Some(Duration::ZERO) => {
                    s.lingering = true;
                    if s.linger_done() {
                        self.remove_entry(token);
                    } else {
                        lingering = true;
                    }
                }
                _ => self.remove_entry(token),
            }
        }
        if let (true, Some(linger)) = (lingering, linger) {
            self.ctx
                .timer_after(Instant::now(), linger, TimerKind::LingerExpired(socket_id));
        }
    }

    fn run_timers(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, _))) = self.ctx.timers.peek() {
            if *at > now {
                return;
            }
            let Some(Reverse((at, kind))) = self.ctx.timers.pop() else {
                return;
            };
            match kind {
                TimerKind::Reconnect(token) => {
                    let token = Token(token);
                    if let Some(Entry::Session(s)) = self.entries.get_mut(token)
                        && s.engine.is_none()
                    {
                        self.start_connect(token);
                    }
                }
                TimerKind::Connection(token) => self.connection_timer(Token(token), at, now),
                TimerKind::ConnectTimeout(token, started) => {
                    let token = Token(token);
                    if let Some(Entry::Session(s)) = self.entries.get_mut(token)
                        && let Some(engine) = &s.engine
                        && engine.is_connecting()
                        && engine.started() == started
                    {
                        log::debug!("connect timed out");
                        self.disconnected(token, DisconnectReason::TimedOut(Timeout::Connect));
                    }
                }
                TimerKind::AcceptRetry(token) => {
                    let token = Token(token);
                    if let Some(Entry::Listener(l)) = self.entries.get_mut(token) {
                        l.backing_off = false;
                        self.accept(token);
                    }
                }
                TimerKind::LingerExpired(socket_id) => {
                    let tokens = self.entries.tokens_where(
                        |e| matches!(e, Entry::Session(s) if s.socket_id == socket_id),
                    );
                    for token in tokens {
                        self.remove_entry(token);
                    }
                }
            }
        }
    }

    /// Adds a timer entry for the session's connection if its next deadline
    /// is earlier than the entry it has (most drives push nothing).
    fn schedule_connection_timer(&mut self, token: Token) {
        if let Some(Entry::Session(s)) = self.entries.get_mut(token)
            && let Some(engine) = s.engine.as_mut()
            && let Some(at) = engine.timer_to_schedule()
        {
            self.ctx
                .timers
                .push(Reverse((at, TimerKind::Connection(token.0))));
        }
    }

    /// A connection timer entry set for `at` fired: run the connection's
    /// due timers, write out a PING they queued, and re-arm (or drop the
    /// connection when one expired).
    fn connection_timer(&mut self, token: Token, at: Instant, now: Instant) {
        let Some(Entry::Session(s)) = self.entries.get_mut(token) else {
            return;
        };
        let Some(engine) = s.engine.as_mut() else {
            return;
        };
        engine.timer_fired(at);
        if let Err(reason) = engine.handle_timeout(now) {
            let _ = engine.flush(None);
            self.disconnected(token, reason);
            return;
        }
        // Writes what was queued and re-arms from the next deadline.
        self.drive(token, false, true);
    }

    /// Removes a listener or session, closing its pipe and telling its socket.
    fn remove_entry(&mut self, token: Token) {
        let registry = self.poll.registry();
        match self.entries.remove(token) {
            Some(Entry::Listener(mut l)) => {
                if let Err(e) = registry.deregister(&mut l.listener) {
                    log::debug!("deregister listener: {e}");
                }
                self.ctx.pending.remove(&token);
                l.socket.monitor.emit(|| MonitorEvent {
                    endpoint: l.endpoint.clone(),
                    peer: None,
                    kind: MonitorEventKind::Closed,
                });
            }
            Some(Entry::Session(mut s)) => {
                if let Origin::Accepted {
                    listener,
                    pending: true,
                    ..
                } = s.origin
                    && let Some(n) = self.ctx.pending.get_mut(&listener)
                {
                    *n = n.saturating_sub(1);
                }
                if let Some(engine) = s.engine.as_mut() {
                    let _ = registry.deregister(engine.stream());
                    if !engine.is_connecting() {
                        s.emit(|| MonitorEventKind::Disconnected {
                            reason: DisconnectReason::Local,
                        });
                    }
                }
                if let Some(pipe) = s.pipe.take() {
                    self.ctx.pipes.remove(&pipe.id());
                    pipe.connection_down();
                    pipe.close();
                    if !s.lingering {
                        s.socket.post(SocketEvent::Detach(pipe.id()));
                    }
                }
            }
            None => {}
        }
    }

    fn on_event(&mut self, event: &mio::event::Event) {
        let token = event.token();
        match self.entries.get_mut(token) {
            Some(Entry::Listener(_)) => self.accept(token),
            Some(Entry::Session(s)) => {
                if (event.is_read_closed() || event.is_error())
                    && let Some(engine) = s.engine.as_mut()
                {
                    engine.note_read_closed();
                }
                let readable = event.is_readable() || event.is_read_closed() || event.is_error();
                let writable = event.is_writable() || event.is_error();
                self.drive(token, readable, writable);
            }
            None => {}
        }
    }

    fn accept(&mut self, token: Token) {
        loop {
            let Some(Entry::Listener(l)) = self.entries.get_mut(token) else {
                return;
            };
            if l.backing_off {
                // The retry timer accepts what waits; never spin on it.
                return;
            }
            let (stream, peer) = match l.listener.accept() {
                Ok(accepted) => {
                    l.exhausted = false;
                    accepted
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if out_of_resources(&e) => {
                    // The connection stays in the backlog; accept it once
                    // something was freed. Reported once per episode.
                    l.backing_off = true;
                    if !std::mem::replace(&mut l.exhausted, true) {
                        log::warn!(
                            "accept on {} failed: {e}; retrying every {} ms until it succeeds",
                            l.endpoint,
                            ACCEPT_BACKOFF.as_millis()
                        );
                        l.socket.monitor.emit(|| MonitorEvent {
                            endpoint: l.endpoint.clone(),
                            peer: None,
                            kind: MonitorEventKind::AcceptFailed {
                                error: e.to_string(),
                            },
                        });
                    }
                    self.ctx.timer_after(
                        Instant::now(),
                        ACCEPT_BACKOFF,
                        TimerKind::AcceptRetry(token.0),
                    );
                    return;
                }
                Err(e) => {
                    warn_limited!(
                        self.ctx.warnings,
                        (l.socket_id, "accept"),
                        "accept on {} failed: {e}",
                        l.endpoint
                    );
                    l.socket.monitor.emit(|| MonitorEvent {
                        endpoint: l.endpoint.clone(),
                        peer: None,
                        kind: MonitorEventKind::AcceptFailed {
                            error: e.to_string(),
                        },
                    });
                    return;
                }
            };
            let peer_name = peer.as_deref().unwrap_or("an ipc peer");
            let pending = self.ctx.pending.entry(token).or_default();
            let max_pending = l.options.max_pending_handshakes;
            if max_pending != 0 && *pending >= max_pending {
                // Closed at once (dropping the stream): peers that connect
                // and say nothing cannot hold more than this.
                warn_limited!(
                    self.ctx.warnings,
                    (l.socket_id, Limit::PendingHandshakes.as_str()),
                    "{} refused {peer_name}: {max_pending} connections already in their handshake",
                    l.endpoint
                );
                l.socket.monitor.emit(|| MonitorEvent {
                    endpoint: l.endpoint.clone(),
                    peer: peer.clone(),
                    kind: MonitorEventKind::LimitExceeded {
                        limit: Limit::PendingHandshakes,
                    },
                });
                continue;
            }
            *pending += 1;
            if let Err(e) = transport::configure(&stream, &l.options) {
                log::warn!("cannot set options on connection from {peer_name}: {e}");
            }
            log::debug!("{} accepted {peer_name}", l.endpoint);
            let config = connection_config(&l.options, l.socket.kind());
            let session = Session {
                socket_id: l.socket_id,
                socket: l.socket.clone(),
                options: l.options.clone(),
                pipe: None,
                origin: Origin::Accepted {
                    listener: token,
                    endpoint: Arc::from(l.endpoint.as_str()),
                    peer: peer.map(Arc::from),
                    pending: true,
                },
                engine: Some(Engine::new(stream, config, false, Instant::now())),
                lingering: false,
            };
            session.emit(|| MonitorEventKind::Accepted);
            let session_token = self.entries.insert(Entry::Session(Box::new(session)));
            if self.register_session(session_token) {
                self.drive(session_token, true, true);
            }
        }
    }

    fn register_session(&mut self, token: Token) -> bool {
        let Some(Entry::Session(s)) = self.entries.get_mut(token) else {
            return false;
        };
        let Some(engine) = s.engine.as_mut() else {
            return false;
        };
        match self.poll.registry().register(
            engine.stream(),
            token,
            Interest::READABLE | Interest::WRITABLE,
        ) {
            Ok(()) => true,
            Err(e) => {
                log::warn!("cannot register connection: {e}");
                self.disconnected(token, DisconnectReason::io(&e));
                false
            }
        }
    }

    fn start_connect(&mut self, token: Token) {
        let Some(Entry::Session(s)) = self.entries.get_mut(token) else {
            return;
        };
        let Origin::Connect { endpoint, .. } = &s.origin else {
            return;
        };
        let attempt = match endpoint.ipc_addr() {
            Some(addr) => ipc::connect(addr).map(Stream::Unix),
            None => endpoint
                .resolve(s.options.ipv6)
                .map_err(|e| io::Error::new(io::ErrorKind::NotFound, e))
                .and_then(|addrs| {
                    let addr = addrs
                        .first()
                        .copied()
                        .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
                    TcpStream::connect(addr).map(Stream::Tcp)
                }),
        };
        match attempt {
            Ok(stream) => {
                log::debug!("connecting to {endpoint}");
                let config = connection_config(&s.options, s.socket.kind());
                let tcp = matches!(stream, Stream::Tcp(_));
                let now = Instant::now();
                s.engine = Some(Engine::new(stream, config, true, now));
                if tcp {
                    // mio connects without blocking: in progress until writable.
                    s.emit(|| MonitorEventKind::ConnectDelayed);
                    if let Some(timeout) = s.options.connect_timeout {
                        self.ctx
                            .timer_after(now, timeout, TimerKind::ConnectTimeout(token.0, now));
                    }
                }
                if self.register_session(token) {
                    self.schedule_connection_timer(token);
                }
            }
            Err(e) => {
                log::debug!("connect to {endpoint} failed: {e}");
                self.disconnected(token, DisconnectReason::io(&e));
            }
        }
    }

    /// Reads and writes a session's connection as far as it goes now.
    fn drive(&mut self, token: Token, readable: bool, writable: bool) {
        let Some(Entry::Session(s)) = self.entries.get_mut(token) else {
            return;
        };
        let next = drive_session(s, &mut self.ctx, token, readable, writable);
        match next {
            Next::Keep => self.schedule_connection_timer(token),
            Next::Disconnected(reason) => self.disconnected(token, reason),
            Next::Remove => self.remove_entry(token),
        }
    }

    /// The connection of a session ended: an accepted session goes; a connect
    /// session waits and reconnects.
    fn disconnected(&mut self, token: Token, reason: DisconnectReason) {
        let Some(Entry::Session(s)) = self.entries.get_mut(token) else {
            return;
        };
        let warnings = &mut self.ctx.warnings;
        let key = |what| (s.socket_id, what);
        match &reason {
            DisconnectReason::Protocol(e) => {
                let what = Limit::of(e).map_or("protocol", Limit::as_str);
                warn_limited!(warnings, key(what), "dropping peer: {e}");
            }
            DisconnectReason::Io { message, .. } => log::debug!("connection ended: {message}"),
            DisconnectReason::PeerClosed => log::debug!("peer closed the connection"),
            DisconnectReason::TimedOut(Timeout::Connect) => log::debug!("connect timed out"),
            DisconnectReason::TimedOut(t) => {
                warn_limited!(warnings, key(t.as_str()), "dropping peer: {t}")
            }
            DisconnectReason::Local => {}
        }
        // How far this connection got.
        let (connected, handshaken) = s
            .engine
            .as_ref()
            .map_or((false, false), |e| (!e.is_connecting(), e.is_handshaken()));
        if let Some(mut engine) = s.engine.take() {
            let _ = self.poll.registry().deregister(engine.stream());
            if let Some(pipe) = &s.pipe {
                engine.return_unsent(pipe);
            }
        }
        if let Some(pipe) = &s.pipe {
            pipe.connection_down();
            // What a publisher queued for this subscriber is stale; it
            // subscribes again when it reconnects (and a closing PUB has
            // nothing to linger for).
            // The subscriptions it had go too: a subscriber sends its own
            // again after every reconnect, and whoever binds the endpoint
            // next may be another one (libzmq keeps them and applies them
            // to the next peer).
            if s.socket.rules().receives_subscriptions {
                pipe.clear(pipe.out());
                pipe.reset_peer();
            }
        }
        let done = s.linger_done();
        let stop = s.options.reconnect_stop;
        let stopped = (stop.contains(ReconnectStop::CONN_REFUSED)
            && !connected
            && matches!(
                &reason,
                DisconnectReason::Io {
                    kind: io::ErrorKind::ConnectionRefused,
                    ..
                }
            ))
            || (stop.contains(ReconnectStop::HANDSHAKE_FAILED) && connected && !handshaken)
            || (stop.contains(ReconnectStop::AFTER_DISCONNECT) && handshaken);
        let mut stopped_at = None;
        let delay = match &mut s.origin {
            Origin::Connect { endpoint, .. } if stopped && !done => {
                log::debug!("not reconnecting to {endpoint} (ZMQ_RECONNECT_STOP)");
                stopped_at = Some(endpoint.to_string());
                None
            }
            Origin::Connect { failures, .. } if !done => {
                let delay = s.options.reconnect_delay(*failures);
                *failures = failures.saturating_add(1);
                delay
            }
            _ => None,
        };
        // Messages queued for this peer go to live peers instead: when a
        // connection that was up ends, or the peer is given up. Not for
        // each failed attempt of a connect that never got through (that
        // would wake the socket at every retry for nothing).
        if let Some(pipe) = &s.pipe
            && s.socket.rules().reroutes_lost_peers
            && (handshaken || delay.is_none())
        {
            s.socket.post(SocketEvent::Lost {
                pipe: pipe.clone(),
                reconnecting: delay.is_some(),
            });
        }
        // After the socket has its Lost event: whoever acts on a
        // Disconnected finds the peer's queue being moved already.
        if s.socket.monitor.is_active() {
            if let DisconnectReason::Protocol(e) = &reason
                && let Some(limit) = Limit::of(e)
            {
                s.emit(|| MonitorEventKind::LimitExceeded { limit });
            }
            if connected && !handshaken {
                s.emit(|| MonitorEventKind::HandshakeFailed {
                    reason: reason.clone(),
                });
            }
            if connected {
                s.emit(|| MonitorEventKind::Disconnected {
                    reason: reason.clone(),
                });
            }
        }
        match delay {
            Some(delay) => {
                s.emit(|| MonitorEventKind::ConnectRetried { interval: delay });
                self.ctx
                    .timer_after(Instant::now(), delay, TimerKind::Reconnect(token.0))
            }
            None => {
                let socket = s.socket.clone();
                self.remove_entry(token);
                // Reported once the socket has been told the pipe is gone.
                if let Some(endpoint) = stopped_at {
                    socket.monitor.emit(|| MonitorEvent {
                        endpoint,
                        peer: None,
                        kind: MonitorEventKind::ReconnectStopped,
                    });
                }
            }
        }
    }
}

fn drive_session(
    s: &mut Session,
    ctx: &mut Ctx,
    token: Token,
    readable: bool,
    writable: bool,
) -> Next {
    let Some(engine) = s.engine.as_mut() else {
        return Next::Keep;
    };
    let mut connected = false;
    if engine.is_connecting() {
        match engine.finish_connect() {
            Ok(true) => {
                if let Err(e) = transport::configure(engine.stream(), &s.options) {
                    log::warn!("cannot set connection options: {e}");
                }
                connected = true;
            }
            Ok(false) => return Next::Keep,
            Err(e) => return Next::Disconnected(DisconnectReason::io(&e)),
        }
    }
    if connected {
        s.emit(|| MonitorEventKind::Connected);
    }
    let Some(engine) = s.engine.as_mut() else {
        return Next::Keep;
    };
    if readable || (engine.is_paused() && s.pipe.as_ref().is_some_and(|p| p.inb().has_room())) {
        loop {
            let Some(engine) = s.engine.as_mut() else {
                return Next::Keep;
            };
            match engine.read(s.pipe.as_ref()) {
                ReadStatus::Idle => break,
                ReadStatus::Ready(info) => {
                    if let Some(next) = on_ready(s, ctx, token, info) {
                        return next;
                    }
                }
                ReadStatus::Closed(reason) => {
                    // Flush what the protocol queued (an ERROR command) on a best-effort basis.
                    let _ = engine.flush(None);
                    return Next::Disconnected(reason);
                }
            }
        }
    }
    let _ = writable; // Writes are attempted whenever there may be output; the kernel says WouldBlock if not.
    let Some(engine) = s.engine.as_mut() else {
        return Next::Keep;
    };
    if let Err(reason) = engine.flush(s.pipe.as_ref()) {
        return Next::Disconnected(reason);
    }
    if s.linger_done() {
        return Next::Remove;
    }
    Next::Keep
}

/// The handshake completed: give the session its pipe (accepted) or tell the
/// socket it reconnected (connect).
///
/// The pipe learns of the new connection first (the peer's READY routing id,
/// before any of its messages, so a ROUTER can name the peer; REQ/REP's
/// direct writer); a connect pipe, attached at connect time, also gets a
/// `Ready` event so a ROUTER learns the id for sending.
fn on_ready(s: &mut Session, ctx: &mut Ctx, token: Token, info: PeerInfo) -> Option<Next> {
    log::debug!("handshake done with a {} peer", info.socket_kind);
    s.emit(|| MonitorEventKind::HandshakeSucceeded);
    let engine = s.engine.as_mut()?;
    match &mut s.origin {
        Origin::Accepted {
            listener, pending, ..
        } => {
            if std::mem::take(pending)
                && let Some(n) = ctx.pending.get_mut(listener)
            {
                *n = n.saturating_sub(1);
            }
            if s.lingering {
                return Some(Next::Remove);
            }
            let pipe = Pipe::with_options(&s.options, &s.socket.owner(), ctx.shared.clone());
            ctx.pipes.insert(pipe.id(), token);
            let direct = pipe.wants_direct().then(|| engine.open_direct_path());
            pipe.connection_up(info.routing_id, direct.flatten());
            s.socket.post(SocketEvent::Attach(pipe.clone()));
            s.pipe = Some(pipe);
        }
        Origin::Connect {
            failures,
            was_ready,
            ..
        } => {
            *failures = 0;
            if let Some(pipe) = &s.pipe {
                let direct = pipe.wants_direct().then(|| engine.open_direct_path());
                pipe.connection_up(info.routing_id, direct.flatten());
                if s.socket.rules().needs_peer_ready {
                    s.socket.post(SocketEvent::Ready(pipe.clone()));
                }
                if std::mem::replace(was_ready, true) {
                    s.socket.post(SocketEvent::Reconnected(pipe.clone()));
                }
            }
        }
    }
    None
}
