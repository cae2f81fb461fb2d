//! Connecting: starting a connect, and what follows a connection's end:
//! reconnect with back-off, the reconnect-stop rules, re-routing a lost
//! peer's queue and the monitor's ordering of those events.

use super::lifecycle::connection_config;
use super::resolver;
use super::*;
use crate::endpoint::Host;

impl Reactor {
    pub(super) fn start_connect(&mut self, token: Token) {
        let Some(Entry::Session(s)) = self.entries.get_mut(token) else {
            return;
        };
        let Origin::Connect {
            endpoint, lookup, ..
        } = &mut s.origin
        else {
            return;
        };
        let attempt = match (endpoint.ipc_addr(), endpoint.host()) {
            (Some(addr), _) => ipc::connect(addr).map(Stream::Unix),
            // A name is looked up on a thread of its own; the connect goes
            // on when the answer comes (`resolved`).
            (None, Some(Host::Name(_))) => {
                if lookup.is_none() {
                    self.ctx.lookups += 1;
                    *lookup = Some(self.ctx.lookups);
                    resolver::resolve_in_background(
                        self.ctx.shared.clone(),
                        token,
                        self.ctx.lookups,
                        endpoint.clone(),
                        s.options.ipv6,
                    );
                }
                return;
            }
            (None, _) => endpoint
                .resolve(s.options.ipv6)
                .map_err(|e| io::Error::new(io::ErrorKind::NotFound, e))
                .and_then(|addrs| first_connect(&addrs, &s.options)),
        };
        self.connect_attempt(token, attempt);
    }

    /// A lookup came back: the connect goes on (or fails and is retried
    /// later), unless the session went or started another lookup meanwhile.
    pub(super) fn resolved(
        &mut self,
        token: Token,
        attempt: u64,
        result: Result<Vec<std::net::SocketAddr>, String>,
    ) {
        let Some(Entry::Session(s)) = self.entries.get_mut(token) else {
            return;
        };
        let Origin::Connect { lookup, .. } = &mut s.origin else {
            return;
        };
        if *lookup != Some(attempt) {
            return;
        }
        *lookup = None;
        let attempt = result
            .map_err(|e| io::Error::new(io::ErrorKind::NotFound, e))
            .and_then(|addrs| first_connect(&addrs, &s.options));
        self.connect_attempt(token, attempt);
    }

    /// A connect started (or failed at once) on the session's transport.
    fn connect_attempt(&mut self, token: Token, attempt: io::Result<Stream>) {
        let Some(Entry::Session(s)) = self.entries.get_mut(token) else {
            return;
        };
        let Origin::Connect { endpoint, .. } = &s.origin else {
            return;
        };
        match attempt {
            Ok(stream) => {
                log::debug!("connecting to {endpoint}");
                let config = connection_config(&s.options, s.socket.kind());
                let tcp = matches!(stream, Stream::Tcp(_));
                let now = Instant::now();
                s.engine = Some(Engine::new(stream, config, true, now));
                if tcp {
                    // mio connects without blocking: in progress until writable.
                    s.emit(|| MonitorEventKind::ConnectDelayed);
                    if let Some(timeout) = s.options.connect_timeout {
                        self.ctx
                            .timer_after(now, timeout, TimerKind::ConnectTimeout(token.0, now));
                    }
                }
                if self.register_session(token) {
                    self.schedule_connection_timer(token);
                }
            }
            Err(e) => {
                log::debug!("connect to {endpoint} failed: {e}");
                self.disconnected(token, DisconnectReason::io(&e));
            }
        }
    }

    /// The connection of a session ended: an accepted session goes; a connect
    /// session waits and reconnects.
    pub(super) fn disconnected(&mut self, token: Token, reason: DisconnectReason) {
        let Some(Entry::Session(s)) = self.entries.get_mut(token) else {
            return;
        };
        let warnings = &mut self.ctx.warnings;
        let key = |what| (s.socket_id, what);
        match &reason {
            DisconnectReason::Protocol(e) => {
                let what = Limit::of(e).map_or("protocol", Limit::as_str);
                warn_limited!(warnings, key(what), "dropping peer: {e}");
            }
            DisconnectReason::Io { message, .. } => log::debug!("connection ended: {message}"),
            DisconnectReason::PeerClosed => log::debug!("peer closed the connection"),
            DisconnectReason::TimedOut(Timeout::Connect) => log::debug!("connect timed out"),
            DisconnectReason::TimedOut(t) => {
                warn_limited!(warnings, key(t.as_str()), "dropping peer: {t}")
            }
            DisconnectReason::Local => {}
        }
        // How far this connection got.
        let (connected, handshaken) = s
            .engine
            .as_ref()
            .map_or((false, false), |e| (!e.is_connecting(), e.is_handshaken()));
        if let Some(mut engine) = s.engine.take() {
            let _ = self.poll.registry().deregister(engine.stream());
            if let Some(pipe) = &s.pipe {
                engine.return_unsent(pipe);
            }
        }
        if let Some(pipe) = &s.pipe {
            pipe.connection_down();
            // What a publisher queued for this subscriber is stale; it
            // subscribes again when it reconnects (and a closing PUB has
            // nothing to linger for).
            // The subscriptions it had go too: a subscriber sends its own
            // again after every reconnect, and whoever binds the endpoint
            // next may be another one (libzmq keeps them and applies them
            // to the next peer).
            if s.socket.rules().receives_subscriptions {
                pipe.clear(pipe.out());
                pipe.reset_peer();
            }
        }
        let done = s.linger_done();
        let stop = s.options.reconnect_stop;
        let stopped = (stop.contains(ReconnectStop::CONN_REFUSED)
            && !connected
            && matches!(
                &reason,
                DisconnectReason::Io {
                    kind: io::ErrorKind::ConnectionRefused,
                    ..
                }
            ))
            || (stop.contains(ReconnectStop::HANDSHAKE_FAILED) && connected && !handshaken)
            || (stop.contains(ReconnectStop::AFTER_DISCONNECT) && handshaken);
        let mut stopped_at = None;
        let delay = match &mut s.origin {
            Origin::Connect { endpoint, .. } if stopped && !done => {
                log::debug!("not reconnecting to {endpoint} (ZMQ_RECONNECT_STOP)");
                stopped_at = Some(endpoint.to_string());
                None
            }
            Origin::Connect { failures, .. } if !done => {
                let delay = s.options.reconnect_delay(*failures);
                *failures = failures.saturating_add(1);
                delay
            }
            _ => None,
        };
        // Messages queued for this peer go to live peers instead: when a
        // connection that was up ends, or the peer is given up. Not for
        // each failed attempt of a connect that never got through (that
        // would wake the socket at every retry for nothing).
        if let Some(pipe) = &s.pipe
            && s.socket.rules().reroutes_lost_peers
            && (handshaken || delay.is_none())
        {
            s.socket.post(SocketEvent::Lost {
                pipe: pipe.clone(),
                reconnecting: delay.is_some(),
            });
        }
        // After the socket has its Lost event: whoever acts on a
        // Disconnected finds the peer's queue being moved already.
        if s.socket.monitor.is_active() {
            if let DisconnectReason::Protocol(e) = &reason
                && let Some(limit) = Limit::of(e)
            {
                s.emit(|| MonitorEventKind::LimitExceeded { limit });
            }
            if connected && !handshaken {
                s.emit(|| MonitorEventKind::HandshakeFailed {
                    reason: reason.clone(),
                });
            }
            if connected {
                s.emit(|| MonitorEventKind::Disconnected {
                    reason: reason.clone(),
                });
            }
        }
        match delay {
            Some(delay) => {
                s.emit(|| MonitorEventKind::ConnectRetried { interval: delay });
                self.ctx
                    .timer_after(Instant::now(), delay, TimerKind::Reconnect(token.0))
            }
            None => {
                let socket = s.socket.clone();
                self.remove_entry(token);
                // Reported once the socket has been told the pipe is gone.
                if let Some(endpoint) = stopped_at {
                    socket.monitor.emit(|| MonitorEvent {
                        endpoint,
                        peer: None,
                        kind: MonitorEventKind::ReconnectStopped,
                    });
                }
            }
        }
    }
}

/// A tcp connect to the first of `addrs` (IPv4 first, as `resolve` orders them).
fn first_connect(addrs: &[std::net::SocketAddr], options: &Options) -> io::Result<Stream> {
    let addr = addrs
        .first()
        .copied()
        .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
    transport::tcp::connect(addr, options).map(Stream::Tcp)
}
