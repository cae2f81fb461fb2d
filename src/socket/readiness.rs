//! Readiness: what a socket could do now without waiting (ZMQ_EVENTS), and
//! its readiness fd (ZMQ_FD) for other event loops; `crate::poll` is built
//! on these.

use super::*;

/// Readiness.
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
}
