//! A socket's mailbox: the events the reactor and its pipes post to the
//! socket, the condition variable its application thread sleeps on, and
//! the watchers (pollers, readiness fds) signalled on every notification.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use crate::core::pipe::{Activation, Owner, Pipe, PipeEvents, PipeId};
use crate::core::rules::TypeRules;
use crate::core::signal::Watch;
use crate::monitor::MonitorSlot;
use zmio_proto::SocketKind;

/// Identifies a socket within its process.
pub(crate) type SocketId = u64;

/// What the reactor tells a socket about its pipes.
#[derive(Debug)]
pub(crate) enum SocketEvent {
    /// A new peer completed its handshake.
    Attach(Arc<Pipe>),
    /// A peer is gone.
    Detach(PipeId),
    /// A connecting pipe has a new connection after losing one.
    Reconnected(Arc<Pipe>),
    /// A connecting pipe completed a handshake (first or after a reconnect):
    /// its peer's routing id is on the pipe. Posted for ROUTER only.
    Ready(Arc<Pipe>),
    /// A peer's connection ended (not by this socket's doing); the pipe
    /// comes back with the next connection if `reconnecting`. Posted for
    /// PUSH and DEALER, which move what waits in it to live peers.
    Lost { pipe: Arc<Pipe>, reconnecting: bool },
}

#[derive(Debug, Default)]
struct Mailbox {
    events: Vec<SocketEvent>,
    waiting: bool,
    /// The socket is gone: events are dropped rather than kept (a pipe in an
    /// event would keep this mailbox, and so itself, alive).
    closed: bool,
    /// Pollers and readiness fds told of every notification (see
    /// `crate::poll`). Empty unless someone watches, so the notifying
    /// side only looks at the length, under the lock it already holds.
    watchers: Vec<(u64, Arc<dyn Watch>)>,
}

/// The part of a socket the reactor holds: a mailbox and a condition
/// variable the application thread sleeps on.
///
/// `seq` and `has_events` are read without the lock on every send and
/// receive; they are only ever changed under it, so a waiter that checks
/// `seq` under the lock cannot miss a notification.
#[derive(Debug)]
pub(crate) struct SocketShared {
    rules: TypeRules,
    mailbox: Mutex<Mailbox>,
    wakeup: Condvar,
    /// Bumped on every notification, so a waiter can tell whether anything
    /// happened since it last looked.
    seq: AtomicU64,
    /// Events wait in the mailbox.
    has_events: AtomicBool,
    /// A pipe of this socket was activated (see `Pipe::take_socket_activations`).
    activations: Arc<Activation>,
    /// Where the reactor reports events, when the socket is monitored.
    pub(crate) monitor: MonitorSlot,
}

impl SocketShared {
    fn lock(&self) -> MutexGuard<'_, Mailbox> {
        // Every update under this lock is a single push or increment.
        self.mailbox.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The socket's type.
    pub(crate) fn kind(&self) -> SocketKind {
        self.rules.kind
    }

    /// The socket type's rules.
    pub(crate) fn rules(&self) -> TypeRules {
        self.rules
    }

    /// The socket side of the pipes this socket owns.
    pub(crate) fn owner(self: &Arc<Self>) -> Owner {
        Owner {
            events: self.clone(),
            activation: self.activations.clone(),
            rules: self.rules,
        }
    }

    /// Something changed on a pipe: wake the socket if it waits.
    pub(crate) fn notify(&self) {
        let waiting = {
            let mailbox = self.lock();
            self.seq.fetch_add(1, Ordering::Release);
            signal_all(&mailbox.watchers);
            mailbox.waiting
        };
        // Woken after the lock is released, so the waiter does not wake only
        // to block again on the mailbox lock. No wake-up is lost: the waiter
        // checks `seq` and sets `waiting` under the lock, and we read
        // `waiting` under it after changing `seq`.
        if waiting {
            self.wakeup.notify_one();
        }
    }

    /// Delivers an event and wakes the socket.
    pub(crate) fn post(&self, event: SocketEvent) {
        let mut mailbox = self.lock();
        if mailbox.closed {
            return;
        }
        mailbox.events.push(event);
        self.has_events.store(true, Ordering::Release);
        self.seq.fetch_add(1, Ordering::Release);
        signal_all(&mailbox.watchers);
        let waiting = mailbox.waiting;
        drop(mailbox);
        if waiting {
            self.wakeup.notify_one();
        }
    }

    /// A mailbox for a socket of a type with these rules.
    pub(crate) fn new(rules: TypeRules) -> Arc<SocketShared> {
        Arc::new(SocketShared {
            rules,
            mailbox: Mutex::new(Mailbox::default()),
            wakeup: Condvar::new(),
            seq: AtomicU64::new(0),
            has_events: AtomicBool::new(false),
            activations: Arc::default(),
            monitor: MonitorSlot::default(),
        })
    }

    /// How many notifications there have been (for tests of who wakes whom).
    pub(crate) fn seq(&self) -> u64 {
        self.seq.load(Ordering::Acquire)
    }

    /// Has `watcher` signalled on every notification from now on (once per
    /// `key`), and returns the notification count, read under the same lock:
    /// any notification after that count signals the watcher.
    pub(crate) fn watch(&self, key: u64, watcher: &Arc<dyn Watch>) -> u64 {
        let mut mailbox = self.lock();
        if !mailbox.watchers.iter().any(|(k, _)| *k == key) {
            mailbox.watchers.push((key, watcher.clone()));
        }
        self.seq.load(Ordering::Acquire)
    }

    /// Stops signalling the watcher registered under `key`.
    pub(crate) fn unwatch(&self, key: u64) {
        self.lock().watchers.retain(|(k, _)| *k != key);
    }

    /// The socket is gone: later events are dropped, watchers forgotten,
    /// and the events not yet taken are handed back.
    pub(crate) fn close(&self) -> Vec<SocketEvent> {
        let mut mailbox = self.lock();
        mailbox.closed = true;
        mailbox.watchers.clear();
        std::mem::take(&mut mailbox.events)
    }

    /// The events posted since the last call; no lock when there are none.
    pub(crate) fn take_events(&self) -> Vec<SocketEvent> {
        if !self.has_events.load(Ordering::Acquire) {
            return Vec::new();
        }
        let mut mailbox = self.lock();
        self.has_events.store(false, Ordering::Relaxed);
        std::mem::take(&mut mailbox.events)
    }

    /// Sleeps until a notification after `seen`, or the deadline.
    pub(crate) fn wait(&self, seen: u64, deadline: Option<Instant>) {
        let mut mailbox = self.lock();
        while self.seq.load(Ordering::Acquire) == seen {
            mailbox.waiting = true;
            mailbox = match deadline {
                None => self.wakeup.wait(mailbox).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    self.wakeup
                        .wait_timeout(mailbox, deadline - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
        mailbox.waiting = false;
    }
}

/// The socket side of a pipe: activity wakes the socket, and a pipe the
/// other side ended is detached.
impl PipeEvents for SocketShared {
    // The pipe sets the socket's activation mark itself before telling it.
    fn read_activated(&self, _pipe: PipeId) {
        self.notify();
    }

    fn write_activated(&self, _pipe: PipeId) {
        self.notify();
    }

    fn terminated(&self, pipe: PipeId) {
        self.post(SocketEvent::Detach(pipe));
    }
}

/// Tells each watcher of a notification (called under the mailbox lock).
fn signal_all(watchers: &[(u64, Arc<dyn Watch>)]) {
    for (_, watcher) in watchers {
        watcher.signal();
    }
}
