//! A connection's timers: which deadlines exist, the table that holds them,
//! and the settings that arm them. Pure data; the connection decides when a
//! timer is set or stopped, and the caller passes the time in.

use std::fmt;
use std::time::{Duration, Instant};

/// The deadlines a connection keeps, each indexing one slot of a [`TimerTable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The handshake (greetings and READY both ways) must be done by then.
    Handshake = 0,
    /// Send the next PING.
    NextPing = 1,
    /// A PING went out: something must arrive from the peer by then.
    PingTimeout = 2,
    /// The peer's PING asked for traffic within its TTL: by then.
    PeerTtl = 3,
}

impl Timer {
    /// Every timer, in the order a due one is handled.
    pub const ALL: [Timer; 4] = [
        Timer::Handshake,
        Timer::PingTimeout,
        Timer::PeerTtl,
        Timer::NextPing,
    ];
}

/// One optional deadline per [`Timer`].
#[derive(Clone, Debug, Default)]
pub(crate) struct TimerTable {
    deadlines: [Option<Instant>; 4],
}

impl TimerTable {
    /// Arms `timer` for `at` (replacing any earlier setting).
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer as usize] = Some(at);
    }

    /// Arms `timer` for `after` from `now`; a deadline past what an
    /// `Instant` can hold (a huge option value) means never: disarmed.
    pub(crate) fn set_after(&mut self, timer: Timer, now: Instant, after: Duration) {
        match now.checked_add(after) {
            Some(at) => self.set(timer, at),
            None => self.stop(timer),
        }
    }

    /// Disarms `timer`.
    pub fn stop(&mut self, timer: Timer) {
        self.deadlines[timer as usize] = None;
    }

    /// Disarms every timer.
    pub fn stop_all(&mut self) {
        self.deadlines = [None; 4];
    }

    /// When `timer` fires, if armed.
    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer as usize]
    }

    /// Whether `timer` is armed and due at `now`.
    pub fn is_due(&self, timer: Timer, now: Instant) -> bool {
        self.get(timer).is_some_and(|at| at <= now)
    }

    /// The earliest armed deadline.
    pub fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }
}

/// Timing settings of a connection (libzmq's option names).
///
/// ```
/// use std::time::Duration;
/// use zmio_proto::Timing;
/// let timing = Timing { heartbeat_ivl: Some(Duration::from_secs(1)), ..Timing::default() };
/// // With no heartbeat timeout of its own, a PING waits one interval for traffic.
/// assert_eq!(timing.ping_timeout(), Some(Duration::from_secs(1)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// ZMQ_HANDSHAKE_IVL: the handshake must complete within this; `None` = no limit.
    pub handshake_ivl: Option<Duration>,
    /// ZMQ_HEARTBEAT_IVL: send a PING this often; `None` = no heartbeats.
    pub heartbeat_ivl: Option<Duration>,
    /// ZMQ_HEARTBEAT_TIMEOUT: after a PING, drop the connection if nothing
    /// arrives within this; `None` = the heartbeat interval.
    pub heartbeat_timeout: Option<Duration>,
    /// ZMQ_HEARTBEAT_TTL: sent in our PINGs, in deciseconds (0 = none).
    pub heartbeat_ttl_ds: u16,
}

impl Default for Timing {
    /// libzmq's defaults: a 30 s handshake limit, no heartbeats.
    fn default() -> Timing {
        Timing {
            handshake_ivl: Some(Duration::from_secs(30)),
            heartbeat_ivl: None,
            heartbeat_timeout: None,
            heartbeat_ttl_ds: 0,
        }
    }
}

impl Timing {
    /// No timers at all (the handshake may take forever, no heartbeats).
    ///
    /// ```
    /// assert_eq!(zmio_proto::Timing::NONE.ping_timeout(), None);
    /// ```
    pub const NONE: Timing = Timing {
        handshake_ivl: None,
        heartbeat_ivl: None,
        heartbeat_timeout: None,
        heartbeat_ttl_ds: 0,
    };

    /// How long to wait for traffic after sending a PING.
    pub fn ping_timeout(&self) -> Option<Duration> {
        self.heartbeat_timeout.or(self.heartbeat_ivl)
    }
}

/// Which deadline ended a connection: the one type for it, from the
/// connection's timers up to zmio's monitor events.
///
/// ```
/// use zmio_proto::Timeout;
/// assert_eq!(Timeout::Handshake.to_string(), "handshake timed out");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Timeout {
    /// ZMQ_HANDSHAKE_IVL: the handshake did not complete in time.
    Handshake,
    /// ZMQ_HEARTBEAT_TIMEOUT: nothing arrived in time after our PING.
    Heartbeat,
    /// Nothing arrived within the TTL the peer's PING asked for.
    PeerTtl,
    /// ZMQ_CONNECT_TIMEOUT: a transport's connect did not complete in time.
    /// The connection's own timers never end with it; a driver that
    /// connects does.
    Connect,
}

impl Timeout {
    /// A short description for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Timeout::Handshake => "handshake timed out",
            Timeout::Heartbeat => "heartbeat timed out",
            Timeout::PeerTtl => "peer TTL expired",
            Timeout::Connect => "connect timed out",
        }
    }
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_keeps_one_deadline_per_timer_and_reports_the_earliest() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut t = TimerTable::default();
        assert_eq!(t.next(), None);
        t.set(Timer::NextPing, t0 + ms(50));
        t.set(Timer::Handshake, t0 + ms(80));
        assert_eq!(t.next(), Some(t0 + ms(50)));
        t.set(Timer::NextPing, t0 + ms(90));
        assert_eq!(t.next(), Some(t0 + ms(80)));
        assert!(t.is_due(Timer::Handshake, t0 + ms(80)));
        assert!(!t.is_due(Timer::Handshake, t0 + ms(79)));
        t.stop(Timer::Handshake);
        assert_eq!(t.next(), Some(t0 + ms(90)));
        t.stop_all();
        assert_eq!(t.next(), None);
    }

    #[test]
    fn a_deadline_past_what_an_instant_holds_is_never() {
        let t0 = Instant::now();
        let mut t = TimerTable::default();
        t.set_after(Timer::NextPing, t0, Duration::from_millis(5));
        assert_eq!(t.get(Timer::NextPing), Some(t0 + Duration::from_millis(5)));
        t.set_after(Timer::NextPing, t0, Duration::MAX);
        assert_eq!(t.get(Timer::NextPing), None);
        assert_eq!(t.next(), None);
    }
}
