//! Listeners: accepting connections until the kernel has none, the limit on
//! pending handshakes, and the back-off when descriptors or memory run out.

use super::lifecycle::connection_config;
use super::*;

#[derive(Debug)]
pub(super) struct Listening {
    pub(super) socket_id: SocketId,
    pub(super) socket: Arc<SocketShared>,
    pub(super) listener: Listener,
    pub(super) endpoint: String,
    pub(super) options: Arc<Options>,
    /// Accepting is paused until an `AcceptRetry` timer: the process or
    /// system ran out of descriptors or memory.
    pub(super) backing_off: bool,
    /// In an episode of such failures (logged once, at its start), until
    /// an accept succeeds again.
    pub(super) exhausted: bool,
}

/// How long a listener waits before accepting again after running out of
/// descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM). The refused
/// connections wait in the backlog; edge-triggered readiness would not
/// report them again, so the retry is a timer.
pub(super) const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Whether an accept error means resources ran out (retry later) rather
/// than something about the one connection.
pub(super) fn out_of_resources(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

impl Reactor {
    pub(super) fn accept(&mut self, token: Token) {
        loop {
            let Some(Entry::Listener(l)) = self.entries.get_mut(token) else {
                return;
            };
            if l.backing_off {
                // The retry timer accepts what waits; never spin on it.
                return;
            }
            let (stream, peer) = match l.listener.accept() {
                Ok(accepted) => {
                    l.exhausted = false;
                    accepted
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if out_of_resources(&e) => {
                    // The connection stays in the backlog; accept it once
                    // something was freed. Reported once per episode.
                    l.backing_off = true;
                    if !std::mem::replace(&mut l.exhausted, true) {
                        log::warn!(
                            "accept on {} failed: {e}; retrying every {} ms until it succeeds",
                            l.endpoint,
                            ACCEPT_BACKOFF.as_millis()
                        );
                        l.socket.monitor.emit(|| MonitorEvent {
                            endpoint: l.endpoint.clone(),
                            peer: None,
                            kind: MonitorEventKind::AcceptFailed {
                                error: e.to_string(),
                            },
                        });
                    }
                    self.ctx.timer_after(
                        Instant::now(),
                        ACCEPT_BACKOFF,
                        TimerKind::AcceptRetry(token.0),
                    );
                    return;
                }
                Err(e) => {
                    warn_limited!(
                        self.ctx.warnings,
                        (l.socket_id, "accept"),
                        "accept on {} failed: {e}",
                        l.endpoint
                    );
                    l.socket.monitor.emit(|| MonitorEvent {
                        endpoint: l.endpoint.clone(),
                        peer: None,
                        kind: MonitorEventKind::AcceptFailed {
                            error: e.to_string(),
                        },
                    });
                    return;
                }
            };
            let peer_name = peer.as_deref().unwrap_or("an ipc peer");
            let pending = self.ctx.pending.entry(token).or_default();
            let max_pending = l.options.max_pending_handshakes;
            if max_pending != 0 && *pending >= max_pending {
                // Closed at once (dropping the stream): peers that connect
                // and say nothing cannot hold more than this.
                warn_limited!(
                    self.ctx.warnings,
                    (l.socket_id, Limit::PendingHandshakes.as_str()),
                    "{} refused {peer_name}: {max_pending} connections already in their handshake",
                    l.endpoint
                );
                l.socket.monitor.emit(|| MonitorEvent {
                    endpoint: l.endpoint.clone(),
                    peer: peer.clone(),
                    kind: MonitorEventKind::LimitExceeded {
                        limit: Limit::PendingHandshakes,
                    },
                });
                continue;
            }
            *pending += 1;
            if let Err(e) = transport::configure(&stream, &l.options) {
                log::warn!("cannot set options on connection from {peer_name}: {e}");
            }
            log::debug!("{} accepted {peer_name}", l.endpoint);
            let config = connection_config(&l.options, l.socket.kind());
            let session = Session {
                socket_id: l.socket_id,
                socket: l.socket.clone(),
                options: l.options.clone(),
                pipe: None,
                origin: Origin::Accepted {
                    listener: token,
                    endpoint: Arc::from(l.endpoint.as_str()),
                    peer: peer.map(Arc::from),
                    pending: true,
                },
                engine: Some(Engine::new(stream, config, false, Instant::now())),
                lingering: false,
            };
            session.emit(|| MonitorEventKind::Accepted);
            let session_token = self.entries.insert(Entry::Session(Box::new(session)));
            if self.register_session(session_token) {
                self.drive(session_token, true, true);
            }
        }
    }
}
