//! Socket options: the typed setters and getters named after libzmq's,
//! with their validation (a bad value is an error at the call), and the
//! options only one socket type has, on `Socket<T>` for that `T` alone.

use super::*;

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
    /// peer. A larger message is discarded as it arrives (never buffered;
    /// the messages before and after it are delivered, a monitor reports
    /// [`LimitExceeded`](crate::MonitorEventKind::LimitExceeded)); a peer
    /// that sends 16 such messages in a row gets a ZMTP ERROR and is
    /// disconnected. `None` (default) is no limit.
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

    /// The most frames one message from a peer may have (default 1,048,576,
    /// at least 1): each received frame costs a 32-byte handle, however
    /// small. A message with more is discarded as it arrives, as for
    /// [`set_max_msg_size`](Self::set_max_msg_size). No libzmq equivalent
    /// (libzmq has no such limit; the default takes its peers' many-frame
    /// messages ten times over).
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
