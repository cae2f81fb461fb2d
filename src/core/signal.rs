//! Wake-up signals a socket gives besides its condition variable: the
//! readiness flags ([`PollEvents`]), the [`Watch`] trait its mailbox signals
//! on every notification (pollers, readiness fds), and the readiness fd.

use std::fmt;
use std::io::{ErrorKind, Read};
use std::ops::{BitAnd, BitOr, BitOrAssign};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::error::Result;

/// What a socket or file descriptor is ready for (ZMQ_POLLIN, ZMQ_POLLOUT,
/// ZMQ_POLLERR), or what a poll waits for.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PollEvents(u8);

impl PollEvents {
    /// A receive would return a message now (ZMQ_POLLIN); for a file
    /// descriptor, it is readable (or at end of file).
    pub const READABLE: PollEvents = PollEvents(1);
    /// A send would not have to wait now (ZMQ_POLLOUT); for a file
    /// descriptor, it is writable.
    pub const WRITABLE: PollEvents = PollEvents(2);
    /// A file descriptor has an error condition (ZMQ_POLLERR); reported
    /// whether asked for or not. Sockets never report it.
    pub const ERROR: PollEvents = PollEvents(4);

    /// Nothing.
    pub const fn empty() -> PollEvents {
        PollEvents(0)
    }

    /// Whether nothing is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every event in `other` is set here.
    pub const fn contains(self, other: PollEvents) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether [`READABLE`](Self::READABLE) is set.
    pub const fn is_readable(self) -> bool {
        self.contains(PollEvents::READABLE)
    }

    /// Whether [`WRITABLE`](Self::WRITABLE) is set.
    pub const fn is_writable(self) -> bool {
        self.contains(PollEvents::WRITABLE)
    }
}

impl BitOr for PollEvents {
    type Output = PollEvents;
    fn bitor(self, rhs: PollEvents) -> PollEvents {
        PollEvents(self.0 | rhs.0)
    }
}

impl BitOrAssign for PollEvents {
    fn bitor_assign(&mut self, rhs: PollEvents) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for PollEvents {
    type Output = PollEvents;
    fn bitand(self, rhs: PollEvents) -> PollEvents {
        PollEvents(self.0 & rhs.0)
    }
}

impl fmt::Debug for PollEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = [
            (PollEvents::READABLE, "READABLE"),
            (PollEvents::WRITABLE, "WRITABLE"),
            (PollEvents::ERROR, "ERROR"),
        ]
        .into_iter()
        .filter(|(e, _)| self.contains(*e))
        .map(|(_, name)| name)
        .collect();
        if names.is_empty() {
            f.write_str("PollEvents(empty)")
        } else {
            write!(f, "PollEvents({})", names.join(" | "))
        }
    }
}

/// Something told of every notification of a socket it watches; called
/// under the socket's mailbox lock, so it must be quick and never block.
pub(crate) trait Watch: Send + Sync + fmt::Debug {
    fn signal(&self);
}

/// A fresh key for a watcher, so it can be found again to unwatch.
pub(crate) fn next_watch_key() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The writing side of a readiness fd.
#[derive(Debug)]
struct FdSignal {
    writer: UnixStream,
    /// A byte is (about to be) in the socket pair: no need for another.
    /// Cleared only after the reader has drained it, so while it is set
    /// the fd is readable or about to be.
    pending: AtomicBool,
}

impl Watch for FdSignal {
    fn signal(&self) {
        if !self.pending.swap(true, Ordering::AcqRel) {
            // One byte at most is ever in the pair, so this cannot block;
            // an error (the reader closed) means nobody listens any more
            // (and raises no SIGPIPE).
            let _ = crate::sys::send_nosignal(&self.writer, &[1]);
        }
    }
}

/// A socket's readiness fd: the read end of a Unix socket pair that a
/// byte is written to when the socket is notified of a change.
#[derive(Debug)]
pub(crate) struct ReadinessFd {
    reader: UnixStream,
    signal: Arc<FdSignal>,
    key: u64,
}

impl ReadinessFd {
    pub(crate) fn new() -> Result<ReadinessFd> {
        let (reader, writer) = UnixStream::pair()?;
        reader.set_nonblocking(true)?;
        writer.set_nonblocking(true)?;
        Ok(ReadinessFd {
            reader,
            signal: Arc::new(FdSignal {
                writer,
                pending: AtomicBool::new(false),
            }),
            key: next_watch_key(),
        })
    }

    pub(crate) fn key(&self) -> u64 {
        self.key
    }

    pub(crate) fn watch(&self) -> Arc<dyn Watch> {
        self.signal.clone()
    }

    pub(crate) fn reader(&self) -> &UnixStream {
        &self.reader
    }

    /// Empties the fd. A change notified from here on writes a new byte;
    /// one notified before is seen by the readiness check that follows.
    pub(crate) fn drain(&self) {
        let mut buf = [0u8; 16];
        loop {
            match (&self.reader).read(&mut buf) {
                Ok(n) if n > 0 => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                _ => break,
            }
        }
        // After the read: while `pending` was set no byte could be written,
        // so none is lost by clearing it now.
        self.signal.pending.store(false, Ordering::Release);
    }

    /// Makes the fd readable (if it is not already).
    pub(crate) fn rearm(&self) {
        self.signal.signal();
    }
}
