//! The public socket: [`Socket<T>`] typed by its socket type, so a PULL has no
//! `send` and a PUSH no `recv` at compile time. The socket core does the
//! waiting, timeouts and hand-off to the reactor for every type; the type's
//! routing policy decides where messages go.

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::core::mailbox::{SocketEvent, SocketId, SocketShared};
use crate::core::pipe::{Pipe, PipeId};
use crate::core::signal::{PollEvents, ReadinessFd};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::io::reactor::{Command, ReactorShared};
use crate::io::threads::IoThreads;
use crate::io::transport::{Listener, ipc, tcp};
use crate::monitor::{Monitor, MonitorEvent, MonitorEventKind};
use crate::options::Options;
use crate::routing::types::{self, Routing, SocketKind};
use zmio_proto::Msg;

mod sealed {
    /// What a socket type brings that only zmio may name: its routing
    /// policy (with the type's rules, `Routing::RULES`).
    pub trait Sealed {
        type Routing: crate::routing::types::Routing;
    }
}

/// A socket type: one of the marker types [`Push`], [`Pull`], [`Pub`],
/// [`Sub`], [`Req`], [`Rep`], [`Dealer`], [`Router`], [`Pair`], [`XPub`],
/// [`XSub`].
pub trait SocketType: sealed::Sealed + 'static {
    /// The ZMTP socket type.
    const KIND: SocketKind;
}

/// Socket types that send.
pub trait SendSocketType: SocketType {}

/// Socket types that receive.
pub trait RecvSocketType: SocketType {}

macro_rules! socket_type {
    ($(#[$doc:meta])* $name:ident, $routing:ty $(, $cap:ident)*) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub enum $name {}
        impl sealed::Sealed for $name {
            type Routing = $routing;
        }
        impl SocketType for $name {
            const KIND: SocketKind = <$routing as Routing>::RULES.kind;
        }
        $(impl $cap for $name {})*
    };
}

socket_type!(
    /// PUSH: sends round-robin to its peers, blocking when all are full.
    Push, types::push::PushRouting, SendSocketType
);
socket_type!(
    /// PULL: receives fair-queued from its peers.
    Pull, types::pull::PullRouting, RecvSocketType
);
socket_type!(
    /// PUB: sends to every subscribed peer; drops for a peer at its high
    /// water mark; never blocks.
    Pub, types::publisher::PubRouting, SendSocketType
);
socket_type!(
    /// SUB: receives the messages matching its subscriptions.
    Sub, types::subscriber::SubRouting, RecvSocketType
);
socket_type!(
    /// REQ: sends a request, then receives its reply, in strict turns.
    Req, types::req::ReqRouting, SendSocketType, RecvSocketType
);
socket_type!(
    /// REP: receives a request, then sends its reply, in strict turns.
    Rep, types::rep::RepRouting, SendSocketType, RecvSocketType
);
socket_type!(
    /// DEALER: sends round-robin to its peers (blocking when all are full,
    /// as PUSH does) and receives fair-queued from them, with no envelope
    /// handling. Its routing id ([`Socket::set_routing_id`]) names it to a ROUTER.
    Dealer, types::dealer::DealerRouting, SendSocketType, RecvSocketType
);
socket_type!(
    /// ROUTER: every received message starts with a frame naming the peer
    /// it came from; a sent message's first frame names the peer it goes to.
    ///
    /// A peer is named by the routing id it sent in its handshake, or, if it
    /// sent none, by an id the ROUTER makes up: a zero byte and a 4-byte
    /// counter, as libzmq does. A peer that claims an id another connected
    /// peer already has is refused (its connection closed, nothing it sent
    /// received), as libzmq does without ZMQ_ROUTER_HANDOVER; with
    /// [`Socket::set_router_handover`] the newcomer takes the id over.
    ///
    /// A message for an unknown peer is dropped, as is one for a peer at its
    /// high water mark, so `send` never blocks; with
    /// [`Socket::set_router_mandatory`] the first fails with
    /// [`Error::HostUnreachable`] and the second waits as other sends do.
    Router, types::router::RouterRouting, SendSocketType, RecvSocketType
);
socket_type!(
    /// PAIR: talks to exactly one peer; sends block at the high water mark.
    /// A second peer connecting while one is attached is refused (its
    /// connection is closed and a warning logged), as libzmq does.
    Pair, types::pair::PairRouting, SendSocketType, RecvSocketType
);
socket_type!(
    /// XPUB: a [`Pub`] whose peers' subscriptions are received as messages:
    /// `0x01 + prefix` for a subscribe, `0x00 + prefix` for a cancel.
    ///
    /// As libzmq, a subscribe is passed up only when it is the first to its
    /// prefix over all peers, and a cancel only when it removes the last
    /// (a peer that goes away cancels what it had); with
    /// [`Socket::set_xpub_verbose`] every subscribe is passed up. Other
    /// messages from peers are ignored. A subscription received is in
    /// effect for the next send.
    XPub, types::xpub::XPubRouting, SendSocketType, RecvSocketType
);
socket_type!(
    /// XSUB: receives every message its peers send (no filtering of its
    /// own); subscribes by sending `0x01 + prefix` and cancels by sending
    /// `0x00 + prefix` (one frame each), which go to every peer and again
    /// to a peer that reconnects. Every subscribe is sent on; a cancel only
    /// when it drops the last count of its prefix, as libzmq. Any other
    /// message goes to every connected peer, dropped for one at its high
    /// water mark.
    XSub, types::xsub::XSubRouting, SendSocketType, RecvSocketType
);

/// How long an operation may wait.
#[derive(Clone, Copy, Debug)]
enum Wait {
    Never,
    /// Up to this long from the first time it has to wait: the clock is only
    /// read then, so a send or receive that need not wait never reads it.
    Within(Duration),
    Until(Instant),
    Forever,
}

impl Wait {
    fn from_timeout(timeout: Option<Duration>) -> Wait {
        match timeout {
            None => Wait::Forever,
            Some(d) if d.is_zero() => Wait::Never,
            Some(d) => Wait::Within(d),
        }
    }
}

#[derive(Debug)]
struct Bound {
    /// As the user wrote it.
    given: String,
    /// As resolved (`tcp://127.0.0.1:5555`), the listener's key.
    resolved: String,
}

/// `Send` but not `Sync` (the `Cell`); `fn() -> T` so `T` need not be anything.
type TypeMarker<T> = (fn() -> T, Cell<()>);

/// A socket of type `T` (see [`Push`], [`Pull`], [`Pub`], [`Sub`], [`Req`],
/// [`Rep`], [`Dealer`], [`Router`], [`Pair`], [`XPub`], [`XSub`]). It can be moved to another thread but not shared between
/// threads, like a libzmq socket. Dropping it closes it: queued messages
/// are still delivered for up to the linger time.
///
/// ```
/// use zmio::{Context, Push, Pull};
/// # fn main() -> zmio::Result<()> {
/// let ctx = Context::new()?;
/// let mut pull = ctx.socket::<Pull>()?;
/// let endpoint = pull.bind("tcp://127.0.0.1:*")?;
/// let mut push = ctx.socket::<Push>()?;
/// push.connect(&endpoint.to_string())?;
/// push.send("hello")?;
/// assert_eq!(&pull.recv()?.frame(0).unwrap()[..], b"hello");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Socket<T: SocketType> {
    id: SocketId,
    shared: Arc<SocketShared>,
    reactor: Arc<ReactorShared>,
    routing: T::Routing,
    options: Options,
    binds: Vec<Bound>,
    connects: Vec<(String, PipeId)>,
    /// This socket's ends of its inproc connections: `true` for those
    /// accepted on a bound name (the rest it connected).
    inproc: Vec<(bool, Arc<Pipe>)>,
    last_endpoint: Option<String>,
    /// A message [`events`](Self::events) or a poll took to learn that the
    /// socket is readable; the next receive returns it first.
    peeked: Option<Msg>,
    /// The readiness fd, once asked for.
    readiness_fd: Option<ReadinessFd>,
    /// Keeps the context (and so the reactor) alive while the socket lives;
    /// holds the inproc names.
    context: Arc<IoThreads>,
    _type: PhantomData<TypeMarker<T>>,
}

impl<T: SocketType> Socket<T> {
    pub(crate) fn new(
        context: Arc<IoThreads>,
        id: SocketId,
        reactor: Arc<ReactorShared>,
    ) -> Result<Socket<T>> {
        Ok(Socket {
            id,
            shared: SocketShared::new(<T::Routing as Routing>::RULES),
            reactor,
            routing: T::Routing::default(),
            options: Options::default(),
            binds: Vec::new(),
            connects: Vec::new(),
            inproc: Vec::new(),
            last_endpoint: None,
            peeked: None,
            readiness_fd: None,
            context,
            _type: PhantomData,
        })
    }

    /// The socket's type.
    pub fn kind(&self) -> SocketKind {
        T::KIND
    }

    /// Listens on `endpoint`: `tcp://HOST:PORT` (HOST may be `*`, an IPv4
    /// address, `[IPv6]` or a name; PORT may be `*` or `0` for an ephemeral
    /// port) or `ipc://PATH` (a Unix domain socket; `ipc://*` picks a fresh
    /// path in the temporary directory, `ipc://@name` is Linux's abstract
    /// namespace) or `inproc://NAME` (sockets of this socket's context;
    /// [`Error::AddrInUse`] if the name is bound already). Returns the endpoint actually bound, e.g.
    /// `tcp://127.0.0.1:41234`. The socket file of an ipc bind is removed on
    /// unbind and close; a stale one left by a dead process is replaced.
    pub fn bind(&mut self, endpoint: &str) -> Result<Endpoint> {
        self.bind_listener(endpoint).inspect_err(|e| {
            self.shared.monitor.emit(|| MonitorEvent {
                endpoint: endpoint.to_owned(),
                peer: None,
                kind: MonitorEventKind::BindFailed {
                    error: e.to_string(),
                },
            });
        })
    }

    fn bind_listener(&mut self, endpoint: &str) -> Result<Endpoint> {
        let parsed: Endpoint = endpoint.parse()?;
        if let Some(name) = parsed.inproc_name() {
            return self.bind_inproc(name, endpoint, parsed.clone());
        }
        let bind_error = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::AddrInUse => Error::AddrInUse(endpoint.to_owned()),
            std::io::ErrorKind::AddrNotAvailable => Error::AddrNotAvailable(endpoint.to_owned()),
            _ => Error::Io(e),
        };
        let (listener, bound) = match parsed.ipc_addr() {
            Some(addr) => {
                let (listener, bound, file) = ipc::listen(addr).map_err(bind_error)?;
                (
                    Listener::Unix {
                        listener,
                        _socket_file: file,
                    },
                    bound,
                )
            }
            None => {
                let listener =
                    tcp::listen(parsed.bind_addr(self.options.ipv6)?).map_err(bind_error)?;
                let bound = Endpoint::from_socket_addr(listener.local_addr()?);
                (Listener::Tcp(listener), bound)
            }
        };
        let resolved = bound.to_string();
        self.reactor.send(Command::Bind {
            socket_id: self.id,
            socket: self.shared.clone(),
            listener,
            endpoint: resolved.clone(),
            options: Arc::new(self.options.clone()),
        });
        self.binds.push(Bound {
            given: endpoint.to_owned(),
            resolved: resolved.clone(),
        });
        self.last_endpoint = Some(resolved);
        Ok(bound)
    }

    /// Connects to `endpoint`, now or whenever the peer appears, and again
    /// after every disconnection. Messages sent meanwhile wait in this
    /// connection's queue (up to the send high water mark). An
    /// `inproc://NAME` connect joins the socket bound at NAME in this
    /// context, now or when it binds; it fails with
    /// [`Error::IncompatibleSocketType`] if that socket's type cannot talk
    /// to this one, and does not come back after the binder closes (as in libzmq).
    pub fn connect(&mut self, endpoint: &str) -> Result<()> {
        let parsed: Endpoint = endpoint.parse()?;
        if let Some(name) = parsed.inproc_name() {
            return self.connect_inproc(name, endpoint);
        }
        parsed.check_connectable()?;
        let pipe = Pipe::with_options(&self.options, &self.shared.owner(), self.reactor.clone());
        self.connects.push((endpoint.to_owned(), pipe.id()));
        self.reactor.send(Command::Connect {
            socket_id: self.id,
            socket: self.shared.clone(),
            endpoint: parsed,
            pipe: pipe.clone(),
            options: Arc::new(self.options.clone()),
        });
        // After the reactor knows the pipe, so a policy that refuses it (a
        // PAIR's second peer) can have it closed. No event for it can be
        // handled before this: events are read on this thread.
        self.routing.attach(pipe);
        self.last_endpoint = Some(endpoint.to_owned());
        Ok(())
    }

    /// Stops listening on an endpoint given to [`bind`](Self::bind) (as
    /// written there, or as it returned) and closes the connections it accepted.
    pub fn unbind(&mut self, endpoint: &str) -> Result<()> {
        let i = self
            .binds
            .iter()
            .position(|b| b.given == endpoint || b.resolved == endpoint)
            .ok_or_else(|| Error::EndpointNotFound(endpoint.to_owned()))?;
        let bound = self.binds.remove(i);
        if let Some(name) = bound.resolved.strip_prefix("inproc://") {
            self.context.inproc().unbind(name, self.id);
            let name = bound.resolved.as_str();
            for (_, pipe) in self
                .inproc
                .iter()
                .filter(|(accepted, p)| *accepted && p.inproc_endpoint() == Some(name))
            {
                pipe.close_inproc();
            }
            return Ok(());
        }
        self.reactor_call(|done| Command::Unbind {
            socket_id: self.id,
            endpoint: bound.resolved,
            done,
        });
        Ok(())
    }

    /// Drops a connection made with [`connect`](Self::connect); messages
    /// still queued for it are discarded.
    pub fn disconnect(&mut self, endpoint: &str) -> Result<()> {
        let i = self
            .connects
            .iter()
            .position(|(given, _)| given == endpoint)
            .ok_or_else(|| Error::EndpointNotFound(endpoint.to_owned()))?;
        let (_, pipe) = self.connects.remove(i);
        self.routing.detach(pipe);
        if let Some(at) = self.inproc.iter().position(|(_, p)| p.id() == pipe) {
            let (_, inproc) = self.inproc.swap_remove(at);
            self.context.inproc().forget_pending(&inproc);
            inproc.close_inproc();
        } else {
            self.reactor.send(Command::Disconnect { pipe });
        }
        Ok(())
    }

    fn bind_inproc(&mut self, name: &str, given: &str, parsed: Endpoint) -> Result<Endpoint> {
        let binding = crate::io::transport::inproc::Binding {
            socket_id: self.id,
            socket: self.shared.clone(),
            owner: self.shared.owner(),
            sndhwm: self.options.sndhwm,
            rcvhwm: self.options.rcvhwm,
            conflate: self.options.conflate,
            immediate: self.options.immediate,
            routing_id: self.routing_id_for_peer(),
        };
        let waiting = self.context.inproc().bind(name, binding)?;
        for pipe in waiting {
            self.inproc.push((true, pipe.clone()));
            self.routing.attach(pipe);
        }
        let resolved = parsed.to_string();
        self.binds.push(Bound {
            given: given.to_owned(),
            resolved: resolved.clone(),
        });
        self.last_endpoint = Some(resolved);
        Ok(parsed)
    }

    fn connect_inproc(&mut self, name: &str, given: &str) -> Result<()> {
        let pipe = Pipe::inproc(
            &format!("inproc://{name}"),
            &self.options,
            &self.shared.owner(),
        );
        self.context.inproc().connect(
            name,
            self.id,
            &self.shared,
            &pipe,
            self.routing_id_for_peer(),
        )?;
        self.connects.push((given.to_owned(), pipe.id()));
        self.inproc.push((false, pipe.clone()));
        self.routing.attach(pipe);
        self.last_endpoint = Some(given.to_owned());
        Ok(())
    }

    /// The routing id an inproc peer sees, as a READY's Identity would carry it.
    fn routing_id_for_peer(&self) -> Option<Bytes> {
        (!self.options.routing_id.is_empty()).then(|| self.options.routing_id.clone())
    }

    /// Sends a command and waits until the reactor has carried it out. If the
    /// reactor is gone (it cannot be while this socket holds the context,
    /// short of a panic there), the sender is dropped and this returns.
    fn reactor_call(&self, command: impl FnOnce(crate::io::reactor::Done) -> Command) {
        let (done, wait) = std::sync::mpsc::sync_channel(1);
        self.reactor.send(command(done));
        let _ = wait.recv();
    }

    /// Starts monitoring the socket (libzmq's `zmq_socket_monitor` with
    /// every event): the returned [`Monitor`] receives a [`MonitorEvent`]
    /// for each listener and connection event from now on, until the socket
    /// closes or `monitor` is called again (which stops the previous
    /// monitor). The monitor holds at most
    /// [`MONITOR_CAPACITY`](crate::MONITOR_CAPACITY) unread events; later
    /// ones are dropped and counted ([`Monitor::dropped`]), so a reader that
    /// falls behind never holds up the socket.
    pub fn monitor(&mut self) -> Result<Monitor> {
        Ok(self.shared.monitor.start(""))
    }

    /// The endpoint of the last bind (resolved) or connect (ZMQ_LAST_ENDPOINT).
    pub fn last_endpoint(&self) -> Option<&str> {
        self.last_endpoint.as_deref()
    }

    fn process_events(&mut self) {
        for event in self.shared.take_events() {
            match event {
                SocketEvent::Attach(pipe) => {
                    if pipe.inproc_endpoint().is_some() {
                        self.inproc.push((true, pipe.clone()));
                    }
                    self.routing.attach(pipe);
                }
                SocketEvent::Detach(id) => {
                    self.inproc.retain(|(_, p)| p.id() != id);
                    self.routing.detach(id);
                }
                SocketEvent::Reconnected(pipe) => self.routing.reconnected(&pipe),
                SocketEvent::Ready(pipe) => self.routing.ready(&pipe),
                SocketEvent::Lost { pipe, reconnecting } => self.routing.lost(&pipe, reconnecting),
            }
        }
    }

    /// Sleeps until something changes after `seq`, or fails as `wait` says.
    fn block(&self, seq: u64, wait: &mut Wait) -> Result<()> {
        if let Wait::Within(timeout) = *wait {
            *wait = Instant::now()
                .checked_add(timeout)
                .map_or(Wait::Forever, Wait::Until);
        }
        match *wait {
            Wait::Never => Err(Error::WouldBlock),
            Wait::Within(_) => Ok(()),
            Wait::Until(deadline) if Instant::now() >= deadline => Err(Error::TimedOut),
            Wait::Until(deadline) => {
                self.shared.wait(seq, Some(deadline));
                Ok(())
            }
            Wait::Forever => {
                self.shared.wait(seq, None);
                Ok(())
            }
        }
    }

    fn send_waiting(&mut self, mut msg: Msg, mut wait: Wait) -> Result<()> {
        self.check_send_turn()?;
        loop {
            let seq = self.shared.seq();
            self.process_events();
            match self.routing.send(msg)? {
                None => return Ok(()),
                Some(back) => msg = back,
            }
            self.block(seq, &mut wait)?;
        }
    }

    fn recv_waiting(&mut self, mut wait: Wait) -> Result<Msg> {
        if let Some(msg) = self.peeked.take() {
            return Ok(msg);
        }
        loop {
            let seq = self.shared.seq();
            self.process_events();
            if let Some(msg) = self.routing.recv()? {
                return Ok(msg);
            }
            self.block(seq, &mut wait)?;
        }
    }
}

/// Readiness: what [`crate::poll`] and the readiness fd are built on.
impl<T: SocketType> Socket<T> {
    /// ZMQ_EVENTS: what the socket could do now without waiting.
    /// [`PollEvents::READABLE`] if a receive would return a message now,
    /// [`PollEvents::WRITABLE`] if a send would not have to wait: for PUSH,
    /// DEALER and PAIR some peer has room; PUB, XPUB, XSUB and ROUTER
    /// (without ROUTER_MANDATORY) always, as they drop rather than wait;
    /// REQ only before a request and REP only after one was received (in
    /// their send turn); PULL and SUB never.
    ///
    /// To know it is readable the socket takes the next message from its
    /// queues; it stays the next one [`recv`](Socket::recv) returns (with
    /// ZMQ_CONFLATE too, even if a newer message arrives meanwhile).
    ///
    /// Also drains the [readiness fd](Self::readiness_fd), which is left
    /// readable again if the socket is still readable (see there).
    pub fn events(&mut self) -> PollEvents {
        if let Some(fd) = &self.readiness_fd {
            fd.drain();
        }
        let ready = self.readiness();
        if let Some(fd) = &self.readiness_fd
            && ready.contains(PollEvents::READABLE)
        {
            fd.rearm();
        }
        ready
    }

    /// A file descriptor that becomes readable when something may have
    /// changed on the socket, to sit it inside another event loop (epoll,
    /// mio, tokio's `AsyncFd`, ...) as libzmq's ZMQ_FD. Made on the first
    /// call; the same fd after that, valid while the socket lives. Never
    /// read or write it: [`events`](Self::events) drains it.
    ///
    /// Use it like this: wait until the fd is readable; call `events()`;
    /// receive while it says [`PollEvents::READABLE`] (or until
    /// [`Error::WouldBlock`]), send while it says [`PollEvents::WRITABLE`];
    /// then wait on the fd again. The edge cases:
    ///
    /// - Input is level-triggered: while a message is waiting, `events()`
    ///   leaves the fd readable, so a loop that receives only one message
    ///   per wake-up is woken again for the next.
    /// - Output is edge-triggered: the fd signals when room appears after
    ///   the socket was full, not while it stays writable (a PUB is always
    ///   writable; signalling that would wake the loop forever). Send until
    ///   a send would block before waiting on the fd for room.
    /// - Wake-ups may be spurious: after the messages were received with
    ///   [`recv`](Socket::recv) rather than after `events()`, or after a
    ///   change that made nothing ready (a peer connected to a PULL), the
    ///   fd is readable and `events()` reports nothing. Such a call also
    ///   quiets the fd until the next change.
    /// - Several messages arriving before the loop wakes signal the fd
    ///   once; they are all there to receive.
    /// - Only `events()` drains the fd; [`crate::poll`] does not (a socket
    ///   polled both ways gets spurious wake-ups on the fd, nothing worse).
    ///
    /// Unix only (a Unix domain socket pair underneath).
    pub fn readiness_fd(&mut self) -> Result<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        let fd = match &mut self.readiness_fd {
            Some(fd) => fd,
            slot @ None => {
                let fd = ReadinessFd::new()?;
                self.shared.watch(fd.key(), &fd.watch());
                // Whatever is ready already counts as a change.
                fd.rearm();
                slot.insert(fd)
            }
        };
        Ok(fd.reader().as_raw_fd())
    }

    /// What the socket could do now, without draining the readiness fd.
    pub(crate) fn readiness(&mut self) -> PollEvents {
        self.process_events();
        let mut ready = PollEvents::empty();
        if self.peeked.is_none() {
            self.peeked = self.routing.recv().ok().flatten();
        }
        if self.peeked.is_some() {
            ready |= PollEvents::READABLE;
        }
        let send_turn = self.peeked.is_none() || self.routing.send_over_unread().is_ok();
        if send_turn && self.routing.writable() {
            ready |= PollEvents::WRITABLE;
        }
        ready
    }

    /// The socket's mailbox, for pollers to watch.
    pub(crate) fn shared(&self) -> &Arc<SocketShared> {
        &self.shared
    }

    /// A message peeked for readiness and not received yet is still unread
    /// as far as the application knows: a REQ or REP is in its receive turn.
    fn check_send_turn(&mut self) -> Result<()> {
        if self.peeked.is_some() && self.routing.send_over_unread()? {
            // A relaxed REQ abandons the request whose reply it was.
            self.peeked = None;
        }
        Ok(())
    }

    /// Sends if a peer can take `msg` now; hands it back if none can (for
    /// the proxy, which must not lose a message it has already received).
    pub(crate) fn send_or_hand_back(&mut self, msg: Msg) -> Result<Option<Msg>> {
        self.check_send_turn()?;
        self.process_events();
        self.routing.send(msg)
    }

    /// Receives without waiting, for any socket type (an error for a type
    /// that cannot receive).
    pub(crate) fn recv_now(&mut self) -> Result<Msg> {
        self.recv_waiting(Wait::Never)
    }
}

impl<T: SendSocketType> Socket<T> {
    /// Sends a message (all its frames or none), waiting up to the send
    /// timeout (forever by default) for a peer with room.
    /// Fails with [`Error::TimedOut`] when the timeout expires and
    /// [`Error::WouldBlock`] when the timeout is zero and no peer has room.
    pub fn send(&mut self, msg: impl Into<Msg>) -> Result<()> {
        let wait = Wait::from_timeout(self.options.sndtimeo);
        self.send_waiting(msg.into(), wait)
    }

    /// Sends without waiting: [`Error::WouldBlock`] if no peer can take it now.
    pub fn try_send(&mut self, msg: impl Into<Msg>) -> Result<()> {
        self.send_waiting(msg.into(), Wait::Never)
    }
}

impl<T: RecvSocketType> Socket<T> {
    /// Receives the next message, waiting up to the receive timeout (forever
    /// by default). Fails with [`Error::TimedOut`] when it expires.
    pub fn recv(&mut self) -> Result<Msg> {
        let wait = Wait::from_timeout(self.options.rcvtimeo);
        self.recv_waiting(wait)
    }

    /// Receives without waiting: [`Error::WouldBlock`] if nothing is there.
    pub fn try_recv(&mut self) -> Result<Msg> {
        self.recv_waiting(Wait::Never)
    }
}

impl Socket<Sub> {
    /// Receives messages whose first frame starts with `prefix` (the empty
    /// prefix matches everything). Subscribing twice needs two unsubscribes.
    pub fn subscribe(&mut self, prefix: impl AsRef<[u8]>) -> Result<()> {
        self.process_events();
        self.routing.subscribe(prefix.as_ref(), true)
    }

    /// Drops one subscription to `prefix`.
    pub fn unsubscribe(&mut self, prefix: impl AsRef<[u8]>) -> Result<()> {
        self.process_events();
        self.routing.subscribe(prefix.as_ref(), false)
    }
}

impl Socket<XPub> {
    /// ZMQ_XPUB_VERBOSE (default false): pass every subscribe from a peer up
    /// to [`recv`](Self::recv), including repeats of a prefix some peer
    /// already subscribes to. Cancels are passed up only when the last
    /// subscriber of a prefix cancels either way (as libzmq, where only
    /// ZMQ_XPUB_VERBOSER also passes repeated cancels). Applies at once.
    pub fn set_xpub_verbose(&mut self, on: bool) -> Result<()> {
        self.process_events();
        self.routing.set_xpub_verbose(on)
    }
}

impl Socket<Router> {
    /// ZMQ_ROUTER_MANDATORY (default false): a message whose first frame
    /// names no connected peer fails with [`Error::HostUnreachable`] instead
    /// of being dropped, and one for a peer at its high water mark waits up
    /// to the send timeout ([`Error::WouldBlock`] / [`Error::TimedOut`])
    /// instead of being dropped. Applies at once.
    pub fn set_router_mandatory(&mut self, on: bool) -> Result<()> {
        self.process_events();
        self.routing.set_router_mandatory(on)
    }

    /// ZMQ_ROUTER_HANDOVER (default false): a peer that connects with a
    /// routing id another connected peer has takes the id over, and the
    /// peer that had it is disconnected (what it sent before is still
    /// received, under the id). Off, the newcomer is refused instead, as
    /// in libzmq. Applies to peers that complete their handshake later.
    pub fn set_router_handover(&mut self, on: bool) -> Result<()> {
        self.process_events();
        self.routing.set_router_handover(on)
    }
}

impl Socket<Req> {
    /// ZMQ_REQ_RELAXED (default false): a `send` while the reply to the last
    /// request is still awaited is allowed; that request is abandoned (a
    /// reply to it that comes later is dropped, as far as it can be told
    /// apart: replies from other peers always are, and with
    /// [`set_req_correlate`](Self::set_req_correlate) any reply not echoing
    /// the new request's id is) and the new one goes out to the next peer
    /// in turn. A `recv` with no request outstanding is still an error.
    /// Applies at once.
    pub fn set_req_relaxed(&mut self, on: bool) -> Result<()> {
        self.process_events();
        self.routing.set_req_relaxed(on)
    }

    /// ZMQ_REQ_CORRELATE (default false): each request goes out as
    /// `[request id, "", body...]`, the id a 4-byte big-endian counter that
    /// starts at a random value, and only a reply whose first frame is the
    /// outstanding request's id is taken (others are dropped); the id is
    /// stripped before the reply is returned. Usually used with
    /// [`set_req_relaxed`](Self::set_req_relaxed). Applies to the next request.
    pub fn set_req_correlate(&mut self, on: bool) -> Result<()> {
        self.process_events();
        self.routing.set_req_correlate(on)
    }
}

/// The most keepalive probes Linux allows (TCP_KEEPCNT).
const MAX_TCP_KEEPALIVE_CNT: u32 = 127;

/// The longest keepalive idle time and interval Linux allows (TCP_KEEPIDLE,
/// TCP_KEEPINTVL), in seconds.
const MAX_TCP_KEEPALIVE_SECS: u64 = 32_767;

/// A kernel buffer size: `None`, or positive and within a C `int`.
fn check_buffer_size(option: &'static str, bytes: Option<usize>) -> Result<Option<usize>> {
    match bytes {
        Some(n) if n == 0 || i32::try_from(n).is_err() => Err(invalid(
            option,
            "must be positive and at most 2147483647 (or None for the OS default)",
        )),
        other => Ok(other),
    }
}

/// A duration option where zero is refused and `None` has a meaning of its own.
fn nonzero(
    option: &'static str,
    value: Option<Duration>,
    none_means: &str,
) -> Result<Option<Duration>> {
    if value == Some(Duration::ZERO) {
        return Err(invalid(
            option,
            &format!("must be positive (or None {none_means})"),
        ));
    }
    Ok(value)
}

/// A TCP keepalive time: whole seconds from 1 to the Linux limit.
fn keepalive_secs(option: &'static str, value: Duration) -> Result<Duration> {
    if value.as_secs() == 0 || value.as_secs() > MAX_TCP_KEEPALIVE_SECS || value.subsec_nanos() != 0
    {
        return Err(invalid(
            option,
            "must be a whole number of seconds, 1 to 32767",
        ));
    }
    Ok(value)
}

fn invalid(option: &'static str, reason: &str) -> Error {
    Error::InvalidOption {
        option,
        reason: reason.to_owned(),
    }
}

/// Options. Each applies to connections made by later `bind`/`connect`
/// calls, except the timeouts and linger, which apply at once.
impl<T: SocketType> Socket<T> {
    /// ZMQ_SNDHWM: messages queued per peer for sending (default 1000, 0 = no limit).
    pub fn set_sndhwm(&mut self, messages: usize) -> Result<()> {
        self.options.sndhwm = messages;
        Ok(())
    }

    /// The send high water mark.
    pub fn sndhwm(&self) -> usize {
        self.options.sndhwm
    }

    /// ZMQ_RCVHWM: messages queued per peer on receipt (default 1000, 0 = no limit).
    pub fn set_rcvhwm(&mut self, messages: usize) -> Result<()> {
        self.options.rcvhwm = messages;
        Ok(())
    }

    /// The receive high water mark.
    pub fn rcvhwm(&self) -> usize {
        self.options.rcvhwm
    }

    /// ZMQ_LINGER: after close, how long queued messages may still be
    /// delivered. `None` (the default, as libzmq's -1) waits until they are;
    /// `Some(Duration::ZERO)` discards them at once. The context waits for
    /// lingering sockets when it is dropped.
    pub fn set_linger(&mut self, linger: Option<Duration>) -> Result<()> {
        self.options.linger = linger;
        Ok(())
    }

    /// The linger time.
    pub fn linger(&self) -> Option<Duration> {
        self.options.linger
    }

    /// ZMQ_RECONNECT_IVL: the wait before reconnecting (default 100 ms);
    /// `None` never reconnects. Must not be zero.
    pub fn set_reconnect_ivl(&mut self, interval: Option<Duration>) -> Result<()> {
        self.options.reconnect_ivl =
            nonzero("ZMQ_RECONNECT_IVL", interval, "to disable reconnecting")?;
        Ok(())
    }

    /// ZMQ_RECONNECT_IVL_MAX: the reconnect wait doubles after each failed
    /// attempt up to this; zero (the default) keeps it fixed.
    pub fn set_reconnect_ivl_max(&mut self, max: Duration) -> Result<()> {
        self.options.reconnect_ivl_max = max;
        Ok(())
    }

    /// ZMQ_SNDTIMEO: how long `send` waits; `None` (default) forever,
    /// zero not at all.
    pub fn set_sndtimeo(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.options.sndtimeo = timeout;
        Ok(())
    }

    /// ZMQ_RCVTIMEO: how long `recv` waits; `None` (default) forever, zero not at all.
    pub fn set_rcvtimeo(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.options.rcvtimeo = timeout;
        Ok(())
    }

    /// ZMQ_ROUTING_ID (ZMQ_IDENTITY): 1 to 255 bytes, not starting with a
    /// zero byte (those are reserved), sent to peers in the handshake.
    pub fn set_routing_id(&mut self, id: impl AsRef<[u8]>) -> Result<()> {
        let id = id.as_ref();
        if id.is_empty() || id.len() > 255 {
            return Err(invalid("ZMQ_ROUTING_ID", "must be 1 to 255 bytes"));
        }
        if id[0] == 0 {
            return Err(invalid(
                "ZMQ_ROUTING_ID",
                "must not start with a zero byte (reserved)",
            ));
        }
        self.options.routing_id = Bytes::copy_from_slice(id);
        Ok(())
    }

    /// The routing id (empty if none was set).
    pub fn routing_id(&self) -> &[u8] {
        &self.options.routing_id
    }

    /// ZMQ_TCP_KEEPALIVE: `Some(true)`/`Some(false)` turns TCP keepalive on
    /// or off; `None` (default) leaves the OS default.
    pub fn set_tcp_keepalive(&mut self, keepalive: Option<bool>) -> Result<()> {
        self.options.tcp_keepalive = keepalive;
        Ok(())
    }

    /// ZMQ_TCP_KEEPALIVE_IDLE: idle time before keepalive probes (whole
    /// seconds, 1 to 32767, the Linux limit), when keepalive is on.
    pub fn set_tcp_keepalive_idle(&mut self, idle: Duration) -> Result<()> {
        self.options.tcp_keepalive_idle = Some(keepalive_secs("ZMQ_TCP_KEEPALIVE_IDLE", idle)?);
        Ok(())
    }

    /// ZMQ_TCP_KEEPALIVE_CNT: unanswered keepalive probes before the
    /// connection is dropped (1 to 127, the Linux limit), when keepalive is
    /// on. Unset (the default) leaves the OS default.
    pub fn set_tcp_keepalive_cnt(&mut self, probes: u32) -> Result<()> {
        if !(1..=MAX_TCP_KEEPALIVE_CNT).contains(&probes) {
            return Err(invalid("ZMQ_TCP_KEEPALIVE_CNT", "must be 1 to 127"));
        }
        self.options.tcp_keepalive_cnt = Some(probes);
        Ok(())
    }

    /// ZMQ_TCP_KEEPALIVE_INTVL: the time between keepalive probes (whole
    /// seconds, 1 to 32767), when keepalive is on. Unset (the default)
    /// leaves the OS default.
    pub fn set_tcp_keepalive_intvl(&mut self, interval: Duration) -> Result<()> {
        self.options.tcp_keepalive_intvl =
            Some(keepalive_secs("ZMQ_TCP_KEEPALIVE_INTVL", interval)?);
        Ok(())
    }

    /// ZMQ_SNDBUF: the kernel send buffer size asked for on each connection,
    /// in bytes (the kernel may round or cap it). `None` (the default)
    /// leaves the OS default on tcp and asks for 1 MiB on ipc. Must be
    /// positive and fit a C `int`.
    pub fn set_sndbuf(&mut self, bytes: Option<usize>) -> Result<()> {
        self.options.sndbuf = check_buffer_size("ZMQ_SNDBUF", bytes)?;
        Ok(())
    }

    /// ZMQ_RCVBUF: the kernel receive buffer size asked for on each
    /// connection, in bytes (the kernel may round or cap it). `None` (the
    /// default) leaves the OS default. Must be positive and fit a C `int`.
    pub fn set_rcvbuf(&mut self, bytes: Option<usize>) -> Result<()> {
        self.options.rcvbuf = check_buffer_size("ZMQ_RCVBUF", bytes)?;
        Ok(())
    }

    /// ZMQ_TOS: the IP type-of-service byte (IPv6 traffic class) set on
    /// tcp connections, 0 to 255. 0 (the default) leaves the OS default.
    pub fn set_tos(&mut self, tos: u32) -> Result<()> {
        if tos > 255 {
            return Err(invalid("ZMQ_TOS", "must be 0 to 255"));
        }
        self.options.tos = tos;
        Ok(())
    }

    /// ZMQ_IPV6: `*` binds dual-stack and host names resolve to IPv6 too
    /// (default false). IPv6 literals work either way.
    pub fn set_ipv6(&mut self, ipv6: bool) -> Result<()> {
        self.options.ipv6 = ipv6;
        Ok(())
    }

    /// ZMQ_MAXMSGSIZE: the largest message (all frames) accepted from a
    /// peer; a peer that sends more is disconnected. `None` (default) is no limit.
    pub fn set_max_msg_size(&mut self, bytes: Option<u64>) -> Result<()> {
        self.options.max_msg_size = bytes;
        Ok(())
    }

    /// ZMQ_CONFLATE (default false): keep only the newest message in each
    /// peer's queue: a new one replaces one still waiting, so a reader
    /// gets the latest state rather than every update. For PUB, SUB, PUSH,
    /// PULL and DEALER only (libzmq's list; an error on other types). The
    /// high water marks do not apply while it is on. Unlike libzmq, a
    /// multipart message is kept whole (libzmq does not support multipart
    /// with conflate). Subscriptions are never conflated.
    pub fn set_conflate(&mut self, on: bool) -> Result<()> {
        if on && !<T::Routing as Routing>::RULES.conflates {
            return Err(invalid(
                "ZMQ_CONFLATE",
                "only PUB, SUB, PUSH, PULL and DEALER sockets conflate",
            ));
        }
        self.options.conflate = on;
        Ok(())
    }

    /// ZMQ_IMMEDIATE (default false): messages are queued only to peers
    /// whose connection is up (handshake completed), so a send waits (or
    /// fails with [`Error::WouldBlock`] / [`Error::TimedOut`]) rather than
    /// fill the queue of a peer that is not there yet. Applies to the load
    /// balancing sockets (PUSH, DEALER, REQ, PAIR) for later connects; PUB
    /// already sends only to connected peers.
    pub fn set_immediate(&mut self, on: bool) -> Result<()> {
        self.options.immediate = on;
        Ok(())
    }

    /// ZMQ_HANDSHAKE_IVL: a connection whose ZMTP handshake has not
    /// completed within this (counted from the start of the connection,
    /// a TCP connect in progress included) is dropped; a connecting socket
    /// then reconnects. Default 30 s, as libzmq; `None` is no limit (libzmq's 0).
    pub fn set_handshake_ivl(&mut self, interval: Option<Duration>) -> Result<()> {
        self.options.handshake_ivl = nonzero("ZMQ_HANDSHAKE_IVL", interval, "for no limit")?;
        Ok(())
    }

    /// ZMQ_HEARTBEAT_IVL: send a ZMTP PING to each peer this often
    /// (default `None`: no heartbeats, libzmq's 0). Must not be zero.
    pub fn set_heartbeat_ivl(&mut self, interval: Option<Duration>) -> Result<()> {
        self.options.heartbeat_ivl = nonzero("ZMQ_HEARTBEAT_IVL", interval, "for no heartbeats")?;
        Ok(())
    }

    /// ZMQ_HEARTBEAT_TIMEOUT: after sending a PING, drop the connection if
    /// nothing at all arrives from the peer within this. `None` (the
    /// default, libzmq's -1) uses the heartbeat interval. Must not be zero.
    pub fn set_heartbeat_timeout(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.options.heartbeat_timeout = nonzero(
            "ZMQ_HEARTBEAT_TIMEOUT",
            timeout,
            "for the heartbeat interval",
        )?;
        Ok(())
    }

    /// ZMQ_HEARTBEAT_TTL: sent in our PINGs, in whole deciseconds (rounded
    /// down): the peer should drop the connection if it hears nothing from
    /// us within it. Default zero (none); at most 6553.5 s.
    pub fn set_heartbeat_ttl(&mut self, ttl: Duration) -> Result<()> {
        if ttl > crate::options::MAX_HEARTBEAT_TTL {
            return Err(invalid("ZMQ_HEARTBEAT_TTL", "must be at most 6553.5 s"));
        }
        self.options.heartbeat_ttl = ttl;
        Ok(())
    }

    /// ZMQ_CONNECT_TIMEOUT: a tcp connect still in progress after this is
    /// abandoned and counts as a failed attempt (the socket retries after
    /// the reconnect interval). `None` (the default, libzmq's 0) leaves it
    /// to the OS, which may take minutes when SYNs go unanswered. Must not
    /// be zero. (ipc connects complete or fail at once.)
    pub fn set_connect_timeout(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.options.connect_timeout =
            nonzero("ZMQ_CONNECT_TIMEOUT", timeout, "for the OS default")?;
        Ok(())
    }

    /// ZMQ_RECONNECT_STOP: when a connect stops reconnecting (default
    /// [`ReconnectStop::NEVER`](crate::ReconnectStop::NEVER)). A connect that
    /// stops is dropped: PUSH and DEALER move the messages queued for it to
    /// their live peers (as for any peer that will not come back), other
    /// types discard them; a monitor reports
    /// [`ReconnectStopped`](crate::MonitorEventKind::ReconnectStopped).
    pub fn set_reconnect_stop(&mut self, stop: crate::ReconnectStop) -> Result<()> {
        self.options.reconnect_stop = stop;
        Ok(())
    }

    /// The most frames one message from a peer may have (default 65,536,
    /// at least 1); a peer that sends more gets a ZMTP ERROR and is
    /// disconnected. No libzmq equivalent (libzmq has no such limit).
    pub fn set_max_frames_per_msg(&mut self, frames: usize) -> Result<()> {
        if frames == 0 {
            return Err(invalid("max_frames_per_msg", "must be at least 1"));
        }
        self.options.max_frames_per_msg = frames;
        Ok(())
    }

    /// The largest handshake metadata (the properties of a peer's READY)
    /// accepted, in bytes (default 8 KiB, at least 512); a peer that sends
    /// more gets a ZMTP ERROR and is disconnected before the rest of it is
    /// read. No libzmq equivalent.
    pub fn set_max_metadata_size(&mut self, bytes: u64) -> Result<()> {
        if bytes < 512 {
            return Err(invalid(
                "max_metadata_size",
                "must be at least 512 bytes (a READY with a 255-byte routing id must fit)",
            ));
        }
        self.options.max_metadata_size = bytes;
        Ok(())
    }

    /// The most connections accepted by one listener whose handshake has
    /// not completed yet (default 1024; 0 = no limit). A connection
    /// accepted beyond it is closed at once; a monitor reports
    /// [`LimitExceeded`](crate::MonitorEventKind::LimitExceeded). With
    /// [`set_handshake_ivl`](Self::set_handshake_ivl), it bounds what peers
    /// that connect and say nothing can hold. No libzmq equivalent.
    pub fn set_max_pending_handshakes(&mut self, connections: usize) -> Result<()> {
        self.options.max_pending_handshakes = connections;
        Ok(())
    }
}

impl<T: SocketType> Drop for Socket<T> {
    fn drop(&mut self) {
        // Under the inproc registry's lock, so no inproc peer posts a new
        // pipe after this: the ones posted and not yet seen are closed too.
        let mut unseen = Vec::new();
        self.context.inproc().forget_socket(self.id, || {
            for event in self.shared.close() {
                if let SocketEvent::Attach(pipe) = event
                    && pipe.inproc_endpoint().is_some()
                {
                    unseen.push(pipe);
                }
            }
        });
        let lingers = <T::Routing as Routing>::RULES.lingers;
        let discard = self.options.linger == Some(Duration::ZERO) || !lingers;
        for pipe in unseen.iter().chain(self.inproc.iter().map(|(_, p)| p)) {
            // What this socket queued stays readable by the peer, as if
            // lingering forever, unless the linger is zero.
            if discard {
                pipe.clear(pipe.out());
            }
            pipe.close_inproc();
        }
        // Waits only until the listeners are closed, so their ports can be
        // bound again at once; lingering goes on in the reactor.
        // A SUB only ever sends subscriptions, which mean nothing once it is
        // closed: it never lingers, whatever its linger option (so a SUB
        // whose peer never appeared does not hold up the context's drop).
        // An XSUB may send data too, which lingers like any sender's; the
        // reactor drops its subscriptions at close, so they never do.
        let linger = if !lingers {
            Some(Duration::ZERO)
        } else {
            self.options.linger
        };
        self.reactor_call(|done| Command::Close {
            socket_id: self.id,
            linger,
            done,
        });
        // After the listeners' `Closed` events; what lingering sessions do
        // from now on is not reported (as libzmq, whose monitor stops at close).
        self.shared.monitor.stop("");
    }
}
