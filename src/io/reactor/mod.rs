//! The reactor's loop: the only code that touches mio. One thread runs a
//! `Poll` loop over every listener and connection of the sockets assigned to
//! it; application threads reach it through [`ReactorShared`]: a command
//! queue and a `Waker`, woken once per batch of commands. Here: the commands,
//! the timers and the dispatch of events; [`listener`] accepts, [`connecter`]
//! connects and reconnects, [`lifecycle`] runs a session from registration to
//! close.

mod connecter;
mod lifecycle;
mod listener;
mod resolver;
mod slab;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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
use listener::Listening;
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
    /// A host name lookup a connect session started came back.
    Resolved {
        token: Token,
        attempt: u64,
        result: Result<Vec<std::net::SocketAddr>, String>,
    },
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
                lookups: 0,
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
    /// Host name lookups started, numbering each.
    lookups: u64,
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
                        lookup: None,
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
            Command::Resolved {
                token,
                attempt,
                result,
            } => self.resolved(token, attempt, result),
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
}
