//! A session's life: registering it, driving its engine on readiness and
//! on its pipe's activations, the handshake's completion (the pipe set up
//! and handed to the socket), and closing a socket's sessions with linger.

use super::*;

/// A subscribe or cancel as a subscriber sends it.
pub(super) fn is_subscription(msg: &zmio_proto::Msg) -> bool {
    zmio_proto::subscription::parse(msg).is_some()
}

/// What became of a session after handling an event.
pub(super) enum Next {
    Keep,
    /// The connection ended; reconnect or remove, as the origin says.
    Disconnected(DisconnectReason),
    /// Lingering is over (or the socket is gone): remove the session.
    Remove,
}

pub(super) fn connection_config(options: &Options, kind: crate::SocketKind) -> ConnectionConfig {
    ConnectionConfig {
        socket_kind: kind,
        routing_id: options.routing_id.clone(),
        max_msg_size: options.max_msg_size,
        max_frames: options.max_frames_per_msg,
        max_metadata_size: options.max_metadata_size,
        timing: options.timing(),
        security: options.security.clone(),
    }
}

pub(super) fn drive_session(
    s: &mut Session,
    ctx: &mut Ctx,
    token: Token,
    readable: bool,
    writable: bool,
) -> Next {
    let Some(engine) = s.engine.as_mut() else {
        return Next::Keep;
    };
    let mut connected = false;
    if engine.is_connecting() {
        match engine.finish_connect() {
            Ok(true) => {
                if let Err(e) = transport::configure(engine.stream(), &s.options) {
                    log::warn!("cannot set connection options: {e}");
                }
                connected = true;
            }
            Ok(false) => return Next::Keep,
            Err(e) => return Next::Disconnected(DisconnectReason::io(&e)),
        }
    }
    if connected {
        s.emit(|| MonitorEventKind::Connected);
    }
    let Some(engine) = s.engine.as_mut() else {
        return Next::Keep;
    };
    if readable || (engine.is_paused() && s.pipe.as_ref().is_some_and(|p| p.inb().has_room())) {
        loop {
            let Some(engine) = s.engine.as_mut() else {
                return Next::Keep;
            };
            match engine.read(s.pipe.as_ref()) {
                ReadStatus::Idle => break,
                ReadStatus::Ready(info) => {
                    if let Some(next) = on_ready(s, ctx, token, info) {
                        return next;
                    }
                }
                ReadStatus::Closed(reason) => {
                    // Flush what the protocol queued (an ERROR command) on a best-effort basis.
                    let _ = engine.flush(None);
                    return Next::Disconnected(reason);
                }
            }
        }
        report_discards(s, ctx);
    }
    let _ = writable; // Writes are attempted whenever there may be output; the kernel says WouldBlock if not.
    let Some(engine) = s.engine.as_mut() else {
        return Next::Keep;
    };
    if let Err(reason) = engine.flush(s.pipe.as_ref()) {
        return Next::Disconnected(reason);
    }
    if s.linger_done() {
        return Next::Remove;
    }
    Next::Keep
}

/// Messages the peer sent over a limit were discarded (the connection goes
/// on): a rate-limited warning and a monitor event per read.
fn report_discards(s: &mut Session, ctx: &mut Ctx) {
    let Some((error, count)) = s.engine.as_mut().and_then(Engine::take_discards) else {
        return;
    };
    let limit = Limit::of(&error);
    let what = limit.map_or("protocol", Limit::as_str);
    warn_limited!(
        ctx.warnings,
        (s.socket_id, what),
        "discarded {count} message(s) from a peer: {error}"
    );
    if let Some(limit) = limit {
        s.emit(|| MonitorEventKind::LimitExceeded { limit });
    }
}

/// The handshake completed: give the session its pipe (accepted) or tell the
/// socket it reconnected (connect).
///
/// The pipe learns of the new connection first (the peer's READY routing id,
/// before any of its messages, so a ROUTER can name the peer; REQ/REP's
/// direct writer); a connect pipe, attached at connect time, also gets a
/// `Ready` event so a ROUTER learns the id for sending.
pub(super) fn on_ready(
    s: &mut Session,
    ctx: &mut Ctx,
    token: Token,
    info: PeerInfo,
) -> Option<Next> {
    log::debug!("handshake done with a {} peer", info.socket_kind);
    s.emit(|| MonitorEventKind::HandshakeSucceeded);
    let engine = s.engine.as_mut()?;
    match &mut s.origin {
        Origin::Accepted {
            listener, pending, ..
        } => {
            if std::mem::take(pending)
                && let Some(n) = ctx.pending.get_mut(listener)
            {
                *n = n.saturating_sub(1);
            }
            if s.lingering {
                return Some(Next::Remove);
            }
            let pipe = Pipe::with_options(&s.options, &s.socket.owner(), ctx.shared.clone());
            ctx.pipes.insert(pipe.id(), token);
            let direct = pipe.wants_direct().then(|| engine.open_direct_path());
            pipe.connection_up(info.routing_id, direct.flatten());
            s.socket.post(SocketEvent::Attach(pipe.clone()));
            s.pipe = Some(pipe);
        }
        Origin::Connect {
            failures,
            was_ready,
            ..
        } => {
            *failures = 0;
            if let Some(pipe) = &s.pipe {
                let direct = pipe.wants_direct().then(|| engine.open_direct_path());
                pipe.connection_up(info.routing_id, direct.flatten());
                if s.socket.rules().needs_peer_ready {
                    s.socket.post(SocketEvent::Ready(pipe.clone()));
                }
                if std::mem::replace(was_ready, true) {
                    s.socket.post(SocketEvent::Reconnected(pipe.clone()));
                }
            }
        }
    }
    None
}

impl Reactor {
    pub(super) fn register_session(&mut self, token: Token) -> bool {
        let Some(Entry::Session(s)) = self.entries.get_mut(token) else {
            return false;
        };
        let Some(engine) = s.engine.as_mut() else {
            return false;
        };
        match self.poll.registry().register(
            engine.stream(),
            token,
            Interest::READABLE | Interest::WRITABLE,
        ) {
            Ok(()) => true,
            Err(e) => {
                log::warn!("cannot register connection: {e}");
                self.disconnected(token, DisconnectReason::io(&e));
                false
            }
        }
    }

    /// Reads and writes a session's connection as far as it goes now.
    pub(super) fn drive(&mut self, token: Token, readable: bool, writable: bool) {
        let Some(Entry::Session(s)) = self.entries.get_mut(token) else {
            return;
        };
        let next = drive_session(s, &mut self.ctx, token, readable, writable);
        match next {
            Next::Keep => self.schedule_connection_timer(token),
            Next::Disconnected(reason) => self.disconnected(token, reason),
            Next::Remove => self.remove_entry(token),
        }
    }

    pub(super) fn close_socket(&mut self, socket_id: SocketId, linger: Option<Duration>) {
        let tokens = self.entries.tokens_where(|e| match e {
            Entry::Listener(l) => l.socket_id == socket_id,
            Entry::Session(s) => s.socket_id == socket_id,
        });
        self.ctx.warnings.forget(|&(id, _)| id == socket_id);
        let mut lingering = false;
        for token in tokens {
            // Subscriptions mean nothing once the subscriber is closed:
            // they never linger (an XSUB's other messages do).
            if let Some(Entry::Session(s)) = self.entries.get_mut(token)
                && s.socket.rules().sends_subscriptions
                && let Some(pipe) = &s.pipe
            {
                pipe.retain(pipe.out(), |msg| !is_subscription(msg));
            }
            match self.entries.get_mut(token) {
                Some(Entry::Session(s)) if linger != Some(Duration::ZERO) => {
                    s.lingering = true;
                    if s.linger_done() {
                        self.remove_entry(token);
                    } else {
                        lingering = true;
                    }
                }
                _ => self.remove_entry(token),
            }
        }
        if let (true, Some(linger)) = (lingering, linger) {
            self.ctx
                .timer_after(Instant::now(), linger, TimerKind::LingerExpired(socket_id));
        }
    }
}
