//! Waiting on many sockets and file descriptors from one thread: [`poll`]
//! (zmq_poll), the reusable [`Poller`] behind it, and the readiness fd that
//! lets a socket sit inside another event loop
//! ([`Socket::readiness_fd`](crate::Socket::readiness_fd)).
//!
//! A socket's readiness is exact ([`Socket::events`](crate::Socket::events)):
//! the poller checks it, and when nothing is ready it sleeps until a watched
//! socket is notified of a change (a message arrived, room appeared, a peer
//! came or went), a file descriptor is ready or the timeout passes, and
//! checks again. A watcher is registered under the socket's mailbox lock
//! before the check, and every notification signals the watchers under that
//! lock after the change it reports, so no wake-up is lost between the check
//! and the sleep.

use std::cell::RefCell;
use std::fmt;
use std::io::ErrorKind;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Token};

use crate::core::mailbox::SocketShared;
use crate::core::signal::{PollEvents, Watch, next_watch_key};
use crate::error::{Error, Result};
use crate::socket::{Socket, SocketType};
use zmio_proto::Msg;
use zmio_proto::SocketKind;

/// A poller's wake-up: a mio waker, written only when the poller is about
/// to sleep or sleeps (`armed`), so a busy socket costs it one write per sleep.
#[derive(Debug)]
struct WakeSignal {
    waker: mio::Waker,
    armed: AtomicBool,
}

impl Watch for WakeSignal {
    fn signal(&self) {
        if self.armed.swap(false, Ordering::AcqRel) {
            let _ = self.waker.wake();
        }
    }
}

/// What the poller and the proxy need of a socket, whatever its type.
pub(crate) trait AnySocket {
    fn kind(&self) -> SocketKind;
    fn shared(&self) -> &Arc<SocketShared>;
    fn readiness(&mut self) -> PollEvents;
    fn recv_now(&mut self) -> Result<Msg>;
    fn send_or_hand_back(&mut self, msg: Msg) -> Result<Option<Msg>>;
}

impl<T: SocketType> AnySocket for Socket<T> {
    fn kind(&self) -> SocketKind {
        T::KIND
    }
    fn shared(&self) -> &Arc<SocketShared> {
        Socket::shared(self)
    }
    fn readiness(&mut self) -> PollEvents {
        Socket::readiness(self)
    }
    fn recv_now(&mut self) -> Result<Msg> {
        Socket::recv_now(self)
    }
    fn send_or_hand_back(&mut self, msg: Msg) -> Result<Option<Msg>> {
        Socket::send_or_hand_back(self, msg)
    }
}

enum Source<'a> {
    Socket(&'a mut dyn AnySocket),
    Fd(RawFd),
}

impl fmt::Debug for Source<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Socket(socket) => write!(f, "Socket({})", socket.kind()),
            Source::Fd(fd) => write!(f, "Fd({fd})"),
        }
    }
}

/// One thing to wait on in [`poll`]: a socket or a raw file descriptor,
/// with the events of interest; after the poll, what it is ready for.
#[derive(Debug)]
pub struct PollItem<'a> {
    source: Source<'a>,
    interest: PollEvents,
    ready: PollEvents,
}

impl<'a> PollItem<'a> {
    /// Waits for `socket` to be ready for `interest` (readable, writable
    /// or both), as [`Socket::events`] reports it.
    pub fn socket<T: SocketType>(socket: &'a mut Socket<T>, interest: PollEvents) -> PollItem<'a> {
        PollItem {
            source: Source::Socket(socket),
            interest,
            ready: PollEvents::empty(),
        }
    }

    /// Waits for a file descriptor (any kind the OS can poll: a socket, a
    /// pipe, an eventfd, ...) to be ready for `interest`. The fd must stay
    /// open during the poll. [`PollEvents::ERROR`] is reported even if not
    /// asked for.
    pub fn fd(fd: RawFd, interest: PollEvents) -> PollItem<'a> {
        PollItem {
            source: Source::Fd(fd),
            interest,
            ready: PollEvents::empty(),
        }
    }

    /// What the item was found ready for by the last poll (only events of
    /// interest, and [`PollEvents::ERROR`] for a file descriptor).
    pub fn ready(&self) -> PollEvents {
        self.ready
    }

    /// Whether the last poll found it readable.
    pub fn is_readable(&self) -> bool {
        self.ready.is_readable()
    }

    /// Whether the last poll found it writable.
    pub fn is_writable(&self) -> bool {
        self.ready.is_writable()
    }
}

const WAKER: Token = Token(0);

/// A reusable poller: [`poll`] keeps one per thread; keep your own to
/// choose when its resources (an epoll instance and an eventfd) are freed.
#[derive(Debug)]
pub struct Poller {
    poll: mio::Poll,
    events: Events,
    signal: Arc<WakeSignal>,
    key: u64,
    /// The distinct file descriptors of the current poll and their interest.
    fds: Vec<(RawFd, Interest)>,
}

impl Poller {
    /// A poller.
    pub fn new() -> Result<Poller> {
        let poll = mio::Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER)?;
        Ok(Poller {
            poll,
            events: Events::with_capacity(64),
            signal: Arc::new(WakeSignal {
                waker,
                armed: AtomicBool::new(false),
            }),
            key: next_watch_key(),
            fds: Vec::new(),
        })
    }

    /// As [`poll`], with this poller.
    pub fn poll(&mut self, items: &mut [PollItem<'_>], timeout: Option<Duration>) -> Result<usize> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        for item in items.iter_mut() {
            item.ready = PollEvents::empty();
        }
        let result = self
            .register_fds(items)
            .and_then(|()| self.watch_sockets(items))
            .and_then(|()| self.wait_ready(items, timeout, deadline));
        // Whatever happened, the sockets and fds are left as they were.
        self.unwatch_sockets(items);
        self.deregister_fds();
        result
    }

    fn register_fds(&mut self, items: &[PollItem<'_>]) -> Result<()> {
        self.fds.clear();
        for item in items {
            let Source::Fd(fd) = item.source else {
                continue;
            };
            let Some(interest) = mio_interest(item.interest) else {
                continue;
            };
            match self.fds.iter_mut().find(|(f, _)| *f == fd) {
                Some((_, merged)) => *merged = merged.add(interest),
                None => self.fds.push((fd, interest)),
            }
        }
        for i in 0..self.fds.len() {
            let (fd, interest) = self.fds[i];
            if let Err(e) =
                self.poll
                    .registry()
                    .register(&mut SourceFd(&fd), Token(i + 1), interest)
            {
                // Only those registered so far are deregistered.
                self.fds.truncate(i);
                return Err(Error::Io(e));
            }
        }
        Ok(())
    }

    fn deregister_fds(&mut self) {
        for (fd, _) in self.fds.drain(..) {
            let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
        }
    }

    fn watch_sockets(&mut self, items: &[PollItem<'_>]) -> Result<()> {
        let watch: Arc<dyn Watch> = self.signal.clone();
        for item in items {
            if let Source::Socket(socket) = &item.source {
                socket.shared().watch(self.key, &watch);
            }
        }
        Ok(())
    }

    fn unwatch_sockets(&mut self, items: &[PollItem<'_>]) {
        for item in items {
            if let Source::Socket(socket) = &item.source {
                socket.shared().unwatch(self.key);
            }
        }
    }

    fn wait_ready(
        &mut self,
        items: &mut [PollItem<'_>],
        timeout: Option<Duration>,
        deadline: Option<Instant>,
    ) -> Result<usize> {
        // The fds' state now (edge-triggered from here on: an fd found ready
        // ends the poll, so no edge is needed again).
        let mut sleep = Some(Duration::ZERO);
        loop {
            // With no fd, the first look needs no OS poll.
            if !self.fds.is_empty() || sleep != Some(Duration::ZERO) {
                self.wait_fds(items, sleep)?;
            }
            // Armed before the check: a change after it wakes the sleep.
            self.signal.armed.store(true, Ordering::Release);
            let mut count = 0;
            for item in items.iter_mut() {
                if let Source::Socket(socket) = &mut item.source {
                    item.ready = if item.interest.is_empty() {
                        PollEvents::empty()
                    } else {
                        socket.readiness() & item.interest
                    };
                }
                if !item.ready.is_empty() {
                    count += 1;
                }
            }
            if count > 0 {
                return Ok(count);
            }
            sleep = match (timeout, deadline) {
                // Never waits.
                (Some(t), _) if t.is_zero() => return Ok(0),
                (_, Some(deadline)) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Ok(0);
                    }
                    Some(deadline - now)
                }
                // No timeout, or one too far to count.
                _ => None,
            };
        }
    }

    /// Sleeps in the OS poll up to `sleep` and records the fds found ready.
    fn wait_fds(&mut self, items: &mut [PollItem<'_>], sleep: Option<Duration>) -> Result<()> {
        match self.poll.poll(&mut self.events, sleep) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(Error::Io(e)),
        }
        for event in self.events.iter() {
            let Some(&(fd, _)) = event.token().0.checked_sub(1).and_then(|i| self.fds.get(i))
            else {
                continue;
            };
            let mut found = PollEvents::empty();
            if event.is_readable() || event.is_read_closed() {
                found |= PollEvents::READABLE;
            }
            if event.is_writable() || event.is_write_closed() {
                found |= PollEvents::WRITABLE;
            }
            if event.is_error() {
                found |= PollEvents::ERROR;
            }
            for item in items.iter_mut() {
                if matches!(item.source, Source::Fd(f) if f == fd) {
                    item.ready |= found & (item.interest | PollEvents::ERROR);
                }
            }
        }
        Ok(())
    }

    /// Proxy side: has every notification of `socket` wake [`sleep`](Self::sleep)
    /// until [`unwatch`](Self::unwatch).
    pub(crate) fn watch(&self, socket: &dyn AnySocket) {
        let watch: Arc<dyn Watch> = self.signal.clone();
        socket.shared().watch(self.key, &watch);
    }

    pub(crate) fn unwatch(&self, socket: &dyn AnySocket) {
        socket.shared().unwatch(self.key);
    }

    /// Proxy side: call before checking the watched sockets; a change
    /// notified after this ends the next [`sleep`](Self::sleep) at once.
    pub(crate) fn arm(&self) {
        self.signal.armed.store(true, Ordering::Release);
    }

    /// Proxy side: sleeps until a watched socket is notified of a change
    /// (since the last [`arm`](Self::arm)).
    pub(crate) fn sleep(&mut self) -> Result<()> {
        match self.poll.poll(&mut self.events, None) {
            Err(e) if e.kind() != ErrorKind::Interrupted => Err(Error::Io(e)),
            _ => Ok(()),
        }
    }
}

fn mio_interest(events: PollEvents) -> Option<Interest> {
    match (events.is_readable(), events.is_writable()) {
        (true, true) => Some(Interest::READABLE | Interest::WRITABLE),
        (true, false) => Some(Interest::READABLE),
        (false, true) => Some(Interest::WRITABLE),
        (false, false) => None,
    }
}

thread_local! {
    static POLLER: RefCell<Option<Poller>> = const { RefCell::new(None) };
}

/// Waits until at least one item is ready for what it asks, or the timeout
/// passes (`None`: no timeout; zero: just look), as zmq_poll. Returns how
/// many items are ready (0 on timeout); each item's
/// [`ready`](PollItem::ready) says for what.
///
/// A socket item is ready exactly when [`Socket::events`] would say so (a
/// readable socket's next message is already taken from its queues and is
/// the one the next receive returns). The wait sleeps in the OS; it wakes
/// when a polled socket is notified of a change, which may turn out to make
/// nothing ready, in which case it sleeps again. Uses a [`Poller`] kept per
/// thread.
///
/// ```
/// use std::time::Duration;
/// use zmio::{Context, PollEvents, PollItem, Pull, Push};
/// # fn main() -> zmio::Result<()> {
/// let ctx = Context::new()?;
/// let mut a = ctx.socket::<Pull>()?;
/// let mut b = ctx.socket::<Pull>()?;
/// let endpoint_a = a.bind("tcp://127.0.0.1:*")?.to_string();
/// let _endpoint_b = b.bind("tcp://127.0.0.1:*")?;
/// let mut push = ctx.socket::<Push>()?;
/// push.connect(&endpoint_a)?;
/// push.send("to a")?;
///
/// let mut items = [
///     PollItem::socket(&mut a, PollEvents::READABLE),
///     PollItem::socket(&mut b, PollEvents::READABLE),
/// ];
/// let ready = zmio::poll(&mut items, Some(Duration::from_secs(10)))?;
/// assert_eq!(ready, 1);
/// assert!(items[0].is_readable() && !items[1].is_readable());
/// assert_eq!(&a.try_recv()?.frame(0).unwrap()[..], b"to a");
/// # Ok(())
/// # }
/// ```
pub fn poll(items: &mut [PollItem<'_>], timeout: Option<Duration>) -> Result<usize> {
    POLLER.with(|cell| {
        let Ok(mut slot) = cell.try_borrow_mut() else {
            // Only if a poll were entered from inside another on this thread.
            return Poller::new()?.poll(items, timeout);
        };
        if slot.is_none() {
            *slot = Some(Poller::new()?);
        }
        match slot.as_mut() {
            Some(poller) => poller.poll(items, timeout),
            None => Err(Error::InvalidState("no poller")),
        }
    })
}
