//! Socket monitors: a bounded stream of [`MonitorEvent`]s about a socket's
//! listeners and connections, read like a channel (libzmq's
//! `zmq_socket_monitor`, without the PAIR socket in between).
//!
//! The reactor emits events through the socket's [`MonitorSlot`]; with no
//! monitor attached, an emission costs one atomic load and builds nothing.
//! The channel is bounded ([`MONITOR_CAPACITY`] events): when the reader
//! falls behind, new events are dropped (and counted) rather than queued
//! without limit or blocking the reactor.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{Error, Result};
use zmio_proto::ProtocolError;

/// Events a monitor holds before new ones are dropped.
pub const MONITOR_CAPACITY: usize = 1024;

/// One thing that happened on a monitored socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorEvent {
    /// The endpoint it concerns: the resolved endpoint of a bind (also for
    /// the connections it accepted, as libzmq does), or the endpoint given to
    /// `connect`.
    pub endpoint: String,
    /// The remote address of an accepted connection (`ip:port` on tcp; none
    /// on ipc, whose peers have no address), else `None`.
    pub peer: Option<String>,
    /// What happened.
    pub kind: MonitorEventKind,
}

/// What a [`MonitorEvent`] reports. Names follow libzmq's `ZMQ_EVENT_*`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MonitorEventKind {
    /// ZMQ_EVENT_LISTENING: a bind is listening.
    Listening,
    /// ZMQ_EVENT_BIND_FAILED: a bind failed (the call also returned the error).
    BindFailed {
        /// Why.
        error: String,
    },
    /// ZMQ_EVENT_ACCEPTED: a listener accepted a connection (`peer` says from where).
    Accepted,
    /// ZMQ_EVENT_ACCEPT_FAILED: accepting a connection failed.
    AcceptFailed {
        /// Why.
        error: String,
    },
    /// ZMQ_EVENT_CONNECTED: a connect's transport connection is established
    /// (the ZMTP handshake follows).
    Connected,
    /// ZMQ_EVENT_CONNECT_DELAYED: a tcp connect is in progress.
    ConnectDelayed,
    /// ZMQ_EVENT_CONNECT_RETRIED: a connect attempt failed or a connection
    /// ended; the next attempt comes after `interval`.
    ConnectRetried {
        /// The wait before the next attempt.
        interval: Duration,
    },
    /// Reconnecting stopped as ZMQ_RECONNECT_STOP asked: the connect is
    /// dropped (no libzmq event).
    ReconnectStopped,
    /// ZMQ_EVENT_HANDSHAKE_SUCCEEDED: the ZMTP handshake completed; messages flow.
    HandshakeSucceeded,
    /// ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL / _NO_DETAIL: the connection ended
    /// before its handshake completed. A `Disconnected` follows.
    HandshakeFailed {
        /// Why.
        reason: DisconnectReason,
    },
    /// ZMQ_EVENT_DISCONNECTED: an established connection ended.
    Disconnected {
        /// Why.
        reason: DisconnectReason,
    },
    /// ZMQ_EVENT_CLOSED: a listener was closed (unbind or socket close).
    Closed,
    /// A peer broke one of the socket's limits (no libzmq event). For a
    /// message over [`Limit::MaxMsgSize`] or [`Limit::MaxFramesPerMsg`] the
    /// message is discarded and the connection goes on (one event per read
    /// that discarded any); for the others, or a peer that sends nothing but
    /// oversized messages, the peer is disconnected and a `HandshakeFailed`
    /// or `Disconnected` follows, except for [`Limit::PendingHandshakes`],
    /// where the connection is closed as soon as it is accepted.
    LimitExceeded {
        /// Which limit.
        limit: Limit,
    },
    /// ZMQ_EVENT_MONITOR_STOPPED: the last event; the socket closed or a new
    /// monitor replaced this one.
    MonitorStopped,
}

/// Why a connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The peer closed the connection.
    PeerClosed,
    /// The operating system reported an error.
    Io {
        /// Its kind.
        kind: std::io::ErrorKind,
        /// Its text.
        message: String,
    },
    /// The peer broke the protocol or cannot talk to us (an incompatible
    /// socket type, another security mechanism, a limit exceeded ...).
    Protocol(ProtocolError),
    /// A deadline passed.
    TimedOut(Timeout),
    /// This side closed it (unbind, disconnect or socket close).
    Local,
}

impl DisconnectReason {
    /// The reason for an operating system error.
    pub(crate) fn io(error: &std::io::Error) -> DisconnectReason {
        DisconnectReason::Io {
            kind: error.kind(),
            message: error.to_string(),
        }
    }
}

/// Which deadline passed: zmio-proto's [`Timeout`](zmio_proto::Timeout),
/// the one type for it from the connection's timers up.
pub use zmio_proto::Timeout;

/// A limit against hostile or broken peers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// ZMQ_MAXMSGSIZE: bytes of one message, all frames.
    MaxMsgSize,
    /// Frames of one message (`set_max_frames_per_msg`).
    MaxFramesPerMsg,
    /// Bytes of the peer's handshake metadata (`set_max_metadata_size`).
    MaxMetadataSize,
    /// Bytes of one command frame.
    MaxCommandSize,
    /// Connections accepted by one listener whose handshake is not done
    /// (`set_max_pending_handshakes`).
    PendingHandshakes,
}

impl Limit {
    /// The limit a protocol error reports breaking, if any.
    pub(crate) fn of(error: &ProtocolError) -> Option<Limit> {
        match error {
            ProtocolError::MessageTooLarge { .. } => Some(Limit::MaxMsgSize),
            ProtocolError::TooManyFrames { .. } => Some(Limit::MaxFramesPerMsg),
            ProtocolError::MetadataTooLarge { .. } => Some(Limit::MaxMetadataSize),
            ProtocolError::CommandTooLarge { .. } => Some(Limit::MaxCommandSize),
            _ => None,
        }
    }

    /// A short name for log lines.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Limit::MaxMsgSize => "max message size",
            Limit::MaxFramesPerMsg => "max frames per message",
            Limit::MaxMetadataSize => "max metadata size",
            Limit::MaxCommandSize => "max command size",
            Limit::PendingHandshakes => "max pending handshakes",
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The receiving end of a socket monitor (see `Socket::monitor`). Events
/// come in the order they happened; the stream ends after
/// [`MonitorEventKind::MonitorStopped`] (or, if that was dropped because the
/// monitor was full, when the socket closes). Iterating blocks for each
/// next event and ends there too.
#[derive(Debug)]
pub struct Monitor {
    events: Receiver<MonitorEvent>,
    dropped: Arc<AtomicU64>,
}

const STOPPED: Error =
    Error::InvalidState("the monitor has stopped: its socket closed or a new monitor replaced it");

impl Monitor {
    /// Waits for the next event. Fails with [`Error::InvalidState`] once the
    /// monitor has stopped and every event was read.
    pub fn recv(&self) -> Result<MonitorEvent> {
        self.events.recv().map_err(|_| STOPPED)
    }

    /// Waits up to `timeout` for the next event: [`Error::TimedOut`] if
    /// none came, [`Error::InvalidState`] once stopped.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<MonitorEvent> {
        self.events.recv_timeout(timeout).map_err(|e| match e {
            RecvTimeoutError::Timeout => Error::TimedOut,
            RecvTimeoutError::Disconnected => STOPPED,
        })
    }

    /// The next event if one is there: [`Error::WouldBlock`] if none,
    /// [`Error::InvalidState`] once stopped.
    pub fn try_recv(&self) -> Result<MonitorEvent> {
        self.events.try_recv().map_err(|e| match e {
            TryRecvError::Empty => Error::WouldBlock,
            TryRecvError::Disconnected => STOPPED,
        })
    }

    /// Events dropped so far because the monitor held [`MONITOR_CAPACITY`]
    /// unread ones.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Iterator for Monitor {
    type Item = MonitorEvent;

    fn next(&mut self) -> Option<MonitorEvent> {
        self.recv().ok()
    }
}

#[derive(Debug)]
struct Sender {
    events: SyncSender<MonitorEvent>,
    dropped: Arc<AtomicU64>,
}

impl Sender {
    /// Sends without blocking; `false` if the reader is gone.
    fn send(&self, event: MonitorEvent) -> bool {
        match self.events.try_send(event) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }
}

/// A socket's monitor attachment, held in its shared part so the reactor can
/// emit events.
#[derive(Debug, Default)]
pub(crate) struct MonitorSlot {
    /// A monitor is attached: read before anything else, so an unmonitored
    /// socket pays one load per event site.
    active: AtomicBool,
    sender: Mutex<Option<Sender>>,
}

impl MonitorSlot {
    /// Whether a monitor is attached (an event would be delivered).
    pub(crate) fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Emits the event `make` builds, if a monitor is attached.
    pub(crate) fn emit(&self, make: impl FnOnce() -> MonitorEvent) {
        if !self.is_active() {
            return;
        }
        let mut sender = self.sender.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = sender.as_ref()
            && !s.send(make())
        {
            // The reader dropped its Monitor: stop building events.
            *sender = None;
            self.active.store(false, Ordering::Relaxed);
        }
    }

    /// Attaches a new monitor, stopping the one there was.
    pub(crate) fn start(&self, endpoint: &str) -> Monitor {
        let (events, receiver) = std::sync::mpsc::sync_channel(MONITOR_CAPACITY);
        let dropped = Arc::new(AtomicU64::new(0));
        let old = {
            let mut sender = self.sender.lock().unwrap_or_else(|p| p.into_inner());
            self.active.store(true, Ordering::Relaxed);
            sender.replace(Sender {
                events,
                dropped: dropped.clone(),
            })
        };
        if let Some(old) = old {
            old.send(stopped(endpoint));
        }
        Monitor {
            events: receiver,
            dropped,
        }
    }

    /// Detaches the monitor, after a last `MonitorStopped` event.
    pub(crate) fn stop(&self, endpoint: &str) {
        let old = {
            let mut sender = self.sender.lock().unwrap_or_else(|p| p.into_inner());
            self.active.store(false, Ordering::Relaxed);
            sender.take()
        };
        if let Some(old) = old {
            old.send(stopped(endpoint));
        }
    }
}

fn stopped(endpoint: &str) -> MonitorEvent {
    MonitorEvent {
        endpoint: endpoint.to_owned(),
        peer: None,
        kind: MonitorEventKind::MonitorStopped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: MonitorEventKind) -> MonitorEvent {
        MonitorEvent {
            endpoint: "tcp://127.0.0.1:1".into(),
            peer: None,
            kind,
        }
    }

    #[test]
    fn nothing_is_built_without_a_monitor() {
        let slot = MonitorSlot::default();
        slot.emit(|| panic!("built an event nobody reads"));
    }

    #[test]
    fn a_full_monitor_drops_and_counts_then_stops() {
        let slot = MonitorSlot::default();
        let monitor = slot.start("");
        for _ in 0..MONITOR_CAPACITY + 5 {
            slot.emit(|| event(MonitorEventKind::Listening));
        }
        assert_eq!(monitor.dropped(), 5);
        for _ in 0..MONITOR_CAPACITY {
            assert_eq!(
                monitor.try_recv().unwrap().kind,
                MonitorEventKind::Listening
            );
        }
        assert!(matches!(monitor.try_recv(), Err(Error::WouldBlock)));
        slot.stop("x");
        assert_eq!(
            monitor.recv().unwrap().kind,
            MonitorEventKind::MonitorStopped
        );
        assert!(matches!(monitor.recv(), Err(Error::InvalidState(_))));
        assert!(!slot.is_active());
    }

    #[test]
    fn a_new_monitor_stops_the_old_one() {
        let slot = MonitorSlot::default();
        let first = slot.start("");
        let second = slot.start("");
        slot.emit(|| event(MonitorEventKind::Closed));
        let old: Vec<_> = first.map(|e| e.kind).collect();
        assert_eq!(old, vec![MonitorEventKind::MonitorStopped]);
        assert_eq!(second.try_recv().unwrap().kind, MonitorEventKind::Closed);
    }

    #[test]
    fn a_dropped_reader_turns_emission_off() {
        let slot = MonitorSlot::default();
        drop(slot.start(""));
        slot.emit(|| event(MonitorEventKind::Closed));
        assert!(!slot.is_active());
    }
}
