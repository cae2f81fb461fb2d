//! The socket core: [`Socket<T>`] typed by its socket type, so a PULL has no
//! `send` and a PUSH no `recv` at compile time; it does the waiting,
//! timeouts, mailbox events and close for every type, and the type's
//! routing policy decides where messages go. Beside it: [`markers`] (the
//! types), [`endpoints`] (bind and connect), [`options`], [`readiness`].

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
use crate::routing::types::{Routing, SocketKind};
use zmio_proto::Msg;

mod endpoints;
mod markers;
mod options;
mod readiness;

use endpoints::Bound;
pub use markers::{
    Dealer, Pair, Pub, Pull, Push, RecvSocketType, Rep, Req, Router, SendSocketType, SocketType,
    Sub, XPub, XSub,
};

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

/// What the poller and the proxy reach of any socket.
impl<T: SocketType> Socket<T> {
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
