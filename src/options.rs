//! Socket options, checked when set. Names follow libzmq's (`ZMQ_SNDHWM` ...);
//! docs/options.md is the table.

use std::time::Duration;

use bytes::Bytes;

use zmio_proto::Timing;
use zmio_proto::mechanism::Security;

/// A socket's option values; a snapshot travels with each bind/connect, so a
/// change applies to later endpoints, as in libzmq.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    /// ZMQ_SNDHWM: messages queued per peer for sending; 0 = no limit.
    pub sndhwm: usize,
    /// ZMQ_RCVHWM: messages queued per peer on receipt; 0 = no limit.
    pub rcvhwm: usize,
    /// ZMQ_LINGER: how long close keeps delivering queued messages; None = until done.
    pub linger: Option<Duration>,
    /// ZMQ_RECONNECT_IVL: first wait before reconnecting; None = never reconnect.
    pub reconnect_ivl: Option<Duration>,
    /// ZMQ_RECONNECT_IVL_MAX: the wait doubles up to this; zero = no backoff.
    pub reconnect_ivl_max: Duration,
    /// ZMQ_SNDTIMEO: None = block forever.
    pub sndtimeo: Option<Duration>,
    /// ZMQ_RCVTIMEO: None = block forever.
    pub rcvtimeo: Option<Duration>,
    /// ZMQ_ROUTING_ID (ZMQ_IDENTITY).
    pub routing_id: Bytes,
    /// ZMQ_TCP_KEEPALIVE: None = the OS default.
    pub tcp_keepalive: Option<bool>,
    /// ZMQ_TCP_KEEPALIVE_IDLE: None = the OS default.
    pub tcp_keepalive_idle: Option<Duration>,
    /// ZMQ_TCP_KEEPALIVE_CNT: None = the OS default.
    pub tcp_keepalive_cnt: Option<u32>,
    /// ZMQ_TCP_KEEPALIVE_INTVL: None = the OS default.
    pub tcp_keepalive_intvl: Option<Duration>,
    /// ZMQ_SNDBUF: the kernel send buffer size; None = the OS (or transport) default.
    pub sndbuf: Option<usize>,
    /// ZMQ_RCVBUF: the kernel receive buffer size; None = the OS default.
    pub rcvbuf: Option<usize>,
    /// ZMQ_TOS: the IP type-of-service byte on tcp; 0 = leave the OS default.
    pub tos: u32,
    /// ZMQ_IPV6.
    pub ipv6: bool,
    /// ZMQ_MAXMSGSIZE (whole message, all frames); None = no limit.
    pub max_msg_size: Option<u64>,
    /// ZMQ_HANDSHAKE_IVL: None = no limit.
    pub handshake_ivl: Option<Duration>,
    /// ZMQ_HEARTBEAT_IVL: None = no heartbeats.
    pub heartbeat_ivl: Option<Duration>,
    /// ZMQ_HEARTBEAT_TIMEOUT: None = the heartbeat interval.
    pub heartbeat_timeout: Option<Duration>,
    /// ZMQ_HEARTBEAT_TTL: zero = none; at most [`MAX_HEARTBEAT_TTL`].
    pub heartbeat_ttl: Duration,
    /// ZMQ_CONFLATE: keep only the newest message each way.
    pub conflate: bool,
    /// ZMQ_IMMEDIATE: queue only to peers with a completed connection.
    pub immediate: bool,
    /// ZMQ_CONNECT_TIMEOUT: None = the OS's own.
    pub connect_timeout: Option<Duration>,
    /// ZMQ_RECONNECT_STOP.
    pub reconnect_stop: ReconnectStop,
    /// Most frames per message from a peer.
    pub max_frames_per_msg: usize,
    /// Largest handshake metadata from a peer, in bytes.
    pub max_metadata_size: u64,
    /// The security mechanism of every connection (ZMQ_MECHANISM); NULL
    /// until the security options land.
    pub security: Security,
    /// Most accepted connections per listener still in their handshake; 0 = no limit.
    pub max_pending_handshakes: usize,
}

/// ZMQ_RECONNECT_STOP: when a connect gives up reconnecting. Combine with `|`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ReconnectStop(u8);

impl ReconnectStop {
    /// Never stop (the default).
    pub const NEVER: ReconnectStop = ReconnectStop(0);
    /// ZMQ_RECONNECT_STOP_CONN_REFUSED: stop once a connect attempt is
    /// refused (nothing listens at the address: ECONNREFUSED).
    pub const CONN_REFUSED: ReconnectStop = ReconnectStop(1);
    /// ZMQ_RECONNECT_STOP_HANDSHAKE_FAILED: stop once a connection ends
    /// before its ZMTP handshake completed.
    pub const HANDSHAKE_FAILED: ReconnectStop = ReconnectStop(2);
    /// ZMQ_RECONNECT_STOP_AFTER_DISCONNECT: stop once an established
    /// connection (handshake done) ends.
    pub const AFTER_DISCONNECT: ReconnectStop = ReconnectStop(4);

    /// Whether every flag of `other` is set in `self`.
    pub fn contains(self, other: ReconnectStop) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for ReconnectStop {
    type Output = ReconnectStop;
    fn bitor(self, rhs: ReconnectStop) -> ReconnectStop {
        ReconnectStop(self.0 | rhs.0)
    }
}

/// Default most frames per message (each costs a handle even when empty).
pub(crate) const DEFAULT_MAX_FRAMES_PER_MSG: usize = zmio_proto::wire::MAX_FRAMES_PER_MESSAGE;
/// Default largest handshake metadata.
pub(crate) const DEFAULT_MAX_METADATA_SIZE: u64 = zmio_proto::wire::DEFAULT_MAX_METADATA_SIZE;
/// Default most unfinished handshakes per listener.
pub(crate) const DEFAULT_MAX_PENDING_HANDSHAKES: usize = 1024;

/// The largest ZMQ_HEARTBEAT_TTL: 65535 deciseconds (and what rounds down to it).
pub(crate) const MAX_HEARTBEAT_TTL: Duration = Duration::from_millis(6_553_599);

impl Default for Options {
    fn default() -> Options {
        Options {
            sndhwm: 1000,
            rcvhwm: 1000,
            linger: None,
            reconnect_ivl: Some(Duration::from_millis(100)),
            reconnect_ivl_max: Duration::ZERO,
            sndtimeo: None,
            rcvtimeo: None,
            routing_id: Bytes::new(),
            tcp_keepalive: None,
            tcp_keepalive_idle: None,
            tcp_keepalive_cnt: None,
            tcp_keepalive_intvl: None,
            sndbuf: None,
            rcvbuf: None,
            tos: 0,
            ipv6: false,
            max_msg_size: None,
            handshake_ivl: Some(Duration::from_secs(30)),
            heartbeat_ivl: None,
            heartbeat_timeout: None,
            heartbeat_ttl: Duration::ZERO,
            conflate: false,
            immediate: false,
            connect_timeout: None,
            reconnect_stop: ReconnectStop::NEVER,
            max_frames_per_msg: DEFAULT_MAX_FRAMES_PER_MSG,
            max_metadata_size: DEFAULT_MAX_METADATA_SIZE,
            security: Security::Null,
            max_pending_handshakes: DEFAULT_MAX_PENDING_HANDSHAKES,
        }
    }
}

impl Options {
    /// The connection timers these options ask for.
    pub(crate) fn timing(&self) -> Timing {
        // Deciseconds, rounded down; the setter keeps it within a u16.
        let ttl = self.heartbeat_ttl.min(MAX_HEARTBEAT_TTL).as_millis() / 100;
        Timing {
            handshake_ivl: self.handshake_ivl,
            heartbeat_ivl: self.heartbeat_ivl,
            heartbeat_timeout: self.heartbeat_timeout,
            heartbeat_ttl_ds: u16::try_from(ttl).unwrap_or(u16::MAX),
        }
    }

    /// The wait before reconnect attempt number `failures + 1`.
    pub(crate) fn reconnect_delay(&self, failures: u32) -> Option<Duration> {
        let base = self.reconnect_ivl?;
        if self.reconnect_ivl_max <= base {
            return Some(base);
        }
        let factor = 1u32.checked_shl(failures.min(31)).unwrap_or(u32::MAX);
        Some(base.saturating_mul(factor).min(self.reconnect_ivl_max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_backs_off_to_the_maximum() {
        let mut o = Options::default();
        let ms = Duration::from_millis;
        assert_eq!(o.reconnect_delay(5), Some(ms(100)));
        o.reconnect_ivl_max = ms(1000);
        assert_eq!(o.reconnect_delay(0), Some(ms(100)));
        assert_eq!(o.reconnect_delay(1), Some(ms(200)));
        assert_eq!(o.reconnect_delay(3), Some(ms(800)));
        assert_eq!(o.reconnect_delay(4), Some(ms(1000)));
        assert_eq!(o.reconnect_delay(200), Some(ms(1000)));
        o.reconnect_ivl = None;
        assert_eq!(o.reconnect_delay(0), None);
    }

    #[test]
    fn heartbeat_ttl_goes_out_in_deciseconds_rounded_down() {
        let mut o = Options::default();
        assert_eq!(o.timing().heartbeat_ttl_ds, 0);
        assert_eq!(o.timing().handshake_ivl, Some(Duration::from_secs(30)));
        o.heartbeat_ttl = Duration::from_millis(1_299);
        assert_eq!(o.timing().heartbeat_ttl_ds, 12);
        o.heartbeat_ttl = MAX_HEARTBEAT_TTL;
        assert_eq!(o.timing().heartbeat_ttl_ds, u16::MAX);
    }
}
