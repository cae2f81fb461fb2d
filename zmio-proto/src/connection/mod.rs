//! One ZMTP 3.1 connection as a sans-IO state machine.
//!
//! How to drive it (the engine does this):
//! 1. [`Connection::new`] queues our greeting (and starts the handshake
//!    timer); write out what
//!    [`Connection::transmit_slices`] exposes, then call
//!    [`Connection::advance_transmit`] with the number of bytes written.
//! 2. Append every read from the peer to one `BytesMut` and pass it to
//!    [`Connection::handle_input`] with the time it arrived; it consumes each
//!    complete greeting or frame from its front and leaves an incomplete
//!    tail for the next read. Any bytes count as a sign of life.
//! 3. Drain [`Connection::poll_event`]: one [`Event::Ready`], then
//!    [`Event::Message`]s.
//! 4. Once [`Connection::is_ready`], queue messages with
//!    [`Connection::send_message`].
//! 5. After `handle_input` returns `Err`, the connection is dead: flush what
//!    is pending to transmit (possibly an ERROR command), then close.
//! 6. Timers: after any of the above, [`Connection::next_timeout`] says when
//!    to call [`Connection::handle_timeout`] next. That call may queue a PING
//!    (transmit it as in step 1) or return [`Timeout`]: close then.
//!
//! The connection never reads the clock: every `now` comes from the caller.
//!
//! Input may be split at any byte; nothing here panics on any input.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};

use crate::Msg;
use crate::ProtocolError;
use crate::SocketKind;

use crate::command::{Cancel, Command, Ping, Pong, RawCommand, Subscribe};
use crate::frame::{Decoded, Frame, FrameDecoder};
use crate::greeting::{self, PeerGreeting};
use crate::mechanism::{AuthReply, AuthRequest, Handshake, HandshakeContext, Security, Step};
use crate::subscription;
use crate::timer::{Timeout, Timer, TimerTable, Timing};
use crate::transmit::Transmit;
use crate::wire::MAX_DISCARDS_IN_A_ROW;
use crate::wire::{
    DEFAULT_MAX_COMMAND_SIZE, DEFAULT_MAX_METADATA_SIZE, GREETING_LEN, MAX_FRAMES_PER_MESSAGE,
    MIN_COMMAND_SIZE,
};

/// How our side of a connection presents itself.
#[derive(Clone, Debug)]
pub struct ConnectionConfig {
    /// Our socket type, sent as `Socket-Type` in READY.
    pub socket_kind: SocketKind,
    /// Our routing id, sent as `Identity` in READY when `socket_kind.sends_identity()`.
    pub routing_id: Bytes,
    /// Largest message (all frames) accepted from the peer; `None` is unlimited.
    pub max_msg_size: Option<u64>,
    /// Most frames one message from the peer may have.
    pub max_frames: usize,
    /// Largest handshake metadata (the peer's READY properties) accepted.
    pub max_metadata_size: u64,
    /// Handshake limit and heartbeats.
    pub timing: Timing,
    /// The security mechanism this side speaks (NULL unless set).
    pub security: Security,
}

impl ConnectionConfig {
    /// A configuration for a `socket_kind` socket with an empty routing id,
    /// no message size limit, the default frame and metadata limits
    /// ([`MAX_FRAMES_PER_MESSAGE`], [`DEFAULT_MAX_METADATA_SIZE`]) and no
    /// timers; set the fields to change any of it.
    ///
    /// ```
    /// use zmio_proto::{ConnectionConfig, SocketKind};
    /// let mut config = ConnectionConfig::new(SocketKind::Dealer);
    /// config.routing_id = bytes::Bytes::from_static(b"worker-1");
    /// assert_eq!(config.max_msg_size, None);
    /// ```
    pub fn new(socket_kind: SocketKind) -> ConnectionConfig {
        ConnectionConfig {
            socket_kind,
            routing_id: Bytes::new(),
            max_msg_size: None,
            max_frames: MAX_FRAMES_PER_MESSAGE,
            max_metadata_size: DEFAULT_MAX_METADATA_SIZE,
            timing: Timing::NONE,
            security: Security::Null,
        }
    }
}

/// What the peer told us in its greeting and READY.
///
/// ```
/// use zmio_proto::{PeerInfo, SocketKind};
/// let peer = PeerInfo { socket_kind: SocketKind::Dealer, routing_id: None, minor_version: 1, user_id: None };
/// assert!(SocketKind::Router.is_compatible(peer.socket_kind));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's socket type.
    pub socket_kind: SocketKind,
    /// The peer's `Identity` property, if it sent a non-empty one.
    pub routing_id: Option<Bytes>,
    /// The peer's ZMTP minor version (0 for a 3.0 peer).
    pub minor_version: u8,
    /// The user id the authenticator attributed the peer to, if one was asked.
    pub user_id: Option<Bytes>,
}

/// Output of [`Connection::poll_event`].
///
/// ```
/// use zmio_proto::{Event, Msg};
/// let event = Event::Message(Msg::from("hi"));
/// assert!(matches!(event, Event::Message(m) if m.frame_count() == 1));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The handshake completed; messages may flow.
    Ready(PeerInfo),
    /// A complete message from the peer.
    Message(Msg),
    /// The mechanism asks the authenticator (ZAP) about the peer: answer
    /// with [`Connection::handle_auth`]. Nothing else happens on the
    /// connection until then.
    Authenticate(AuthRequest),
    /// A message from the peer broke a limit (the error says which) and is
    /// discarded as it arrives; the connection goes on. Messages before and
    /// after it are delivered.
    Discarded(ProtocolError),
}

/// Where the connection is. Each state is consumed by value in
/// [`Connection::process`] and a new one put back, so a failed step leaves
/// [`State::Failed`] behind.
#[derive(Debug)]
enum State {
    /// Waiting for the peer's 64-byte greeting (ours is already queued).
    Greeting,
    /// Greetings exchanged; the mechanism handshake runs.
    Handshake {
        /// The mechanism's handshake state.
        mechanism: Handshake,
        /// The peer's minor version.
        peer_minor: u8,
    },
    /// The mechanism waits for the authenticator's answer.
    Authenticating {
        /// The mechanism's handshake state.
        mechanism: Handshake,
        /// The peer's minor version.
        peer_minor: u8,
    },
    /// Handshake done: messages and commands flow.
    Traffic(Traffic),
    /// A protocol error ended the connection.
    Failed,
}

/// The traffic phase: assembling multipart messages and answering commands.
#[derive(Debug)]
struct Traffic {
    /// Our socket type.
    ours: SocketKind,
    /// The peer's minor version (decides SUBSCRIBE command vs message).
    peer_minor: u8,
    /// Frames received so far of a message whose last frame has not arrived.
    partial: Option<Msg>,
    /// The TTL (deciseconds) of the last PING received in this input, if non-zero.
    peer_ttl: Option<u16>,
    /// Messages discarded since the last one delivered.
    discards_in_a_row: u32,
}

/// One ZMTP connection's protocol state.
///
/// ```
/// use std::time::Instant;
/// use zmio_proto::{Connection, ConnectionConfig, SocketKind};
/// let conn = Connection::new(ConnectionConfig::new(SocketKind::Pull), Instant::now());
/// assert!(!conn.is_ready());
/// assert_eq!(conn.pending_transmit(), 64); // our greeting, queued at once
/// ```
#[derive(Debug)]
pub struct Connection {
    config: ConnectionConfig,
    state: State,
    decoder: FrameDecoder,
    /// Everything we send after the greeting goes through here.
    transmit: Transmit,
    /// Applied to every frame received after the handshake.
    input_transform: crate::mechanism::Transform,
    events: VecDeque<Event>,
    /// The error that ended the connection, returned again on later input.
    error: Option<ProtocolError>,
    /// Deadlines; all disarmed once the connection is dead.
    timers: TimerTable,
    /// The command size cap after the handshake.
    max_command_size: u64,
    /// The peer's minor version once its greeting passed.
    peer_minor: Option<u8>,
    /// The handshake completed (stays true after a later failure).
    handshaken: bool,
}

/// Bytes of a READY command body besides its metadata: the name size octet and `READY`.
const READY_OVERHEAD: u64 = 6;

/// The ERROR reason we send a peer that broke a limit, if the error is one.
fn limit_reason(error: &ProtocolError) -> Option<&'static [u8]> {
    Some(match error {
        ProtocolError::MessageTooLarge { .. } => b"Message too large",
        ProtocolError::TooManyFrames { .. } => b"Too many frames",
        ProtocolError::MetadataTooLarge { .. } => b"Metadata too large",
        ProtocolError::CommandTooLarge { .. } => b"Command too large",
        _ => return None,
    })
}

impl Connection {
    /// Creates the connection at time `now`; our 64-byte greeting is queued
    /// for transmission at once and the handshake timer starts.
    pub fn new(config: ConnectionConfig, now: Instant) -> Connection {
        // Commands are buffered whole before parsing: cap them at the message
        // size limit (with a floor so READY always fits), or at a generous
        // default when messages are unlimited.
        let max_command_size = config
            .max_msg_size
            .map_or(DEFAULT_MAX_COMMAND_SIZE, |m| m.max(MIN_COMMAND_SIZE));
        let mut transmit = Transmit::default();
        let security = &config.security;
        transmit.push_greeting(&greeting::encode(
            &security.greeting_name(),
            security.as_server(),
        ));
        let mut timers = TimerTable::default();
        if let Some(ivl) = config.timing.handshake_ivl {
            timers.set_after(Timer::Handshake, now, ivl);
        }
        Connection {
            decoder: FrameDecoder::new(config.max_msg_size, max_command_size)
                .with_max_frames(config.max_frames),
            config,
            state: State::Greeting,
            transmit,
            input_transform: crate::mechanism::Transform::Identity,
            events: VecDeque::new(),
            error: None,
            timers,
            max_command_size,
            peer_minor: None,
            handshaken: false,
        }
    }

    /// Feeds bytes received from the peer at `now` (call it when bytes
    /// arrived: any bytes are a sign of life, which stops the heartbeat and
    /// peer TTL deadlines). Consumes every complete unit (greeting, frame)
    /// from the front of `input`, leaving only an incomplete tail there.
    /// Events go to an internal queue read by [`poll_event`](Self::poll_event).
    /// On `Err` the connection is dead (the caller flushes what is pending to
    /// transmit, which may hold an ERROR command, then closes); later calls
    /// return the same error. Never panics on any input, at any split.
    pub fn handle_input(
        &mut self,
        input: &mut BytesMut,
        now: Instant,
    ) -> Result<(), ProtocolError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        let was_ready = self.is_ready();
        self.run(input, now, was_ready)
    }

    /// Processes `input` at `now`, then the timers of a connection that
    /// became ready (`was_ready` is whether it was before).
    fn run(
        &mut self,
        input: &mut BytesMut,
        now: Instant,
        was_ready: bool,
    ) -> Result<(), ProtocolError> {
        self.timers.stop(Timer::PingTimeout);
        self.timers.stop(Timer::PeerTtl);
        if let Err(error) = self.process(input) {
            return self.fail(error);
        }
        if let State::Traffic(traffic) = &mut self.state {
            if !was_ready {
                self.timers.stop(Timer::Handshake);
                if let Some(ivl) = self.config.timing.heartbeat_ivl {
                    self.timers.set_after(Timer::NextPing, now, ivl);
                }
            }
            // "The ping-ttl [...] specifies a time-to-live in tenths of a
            // second; if the receiving peer does not receive any traffic
            // within this time, it SHOULD close the connection."
            if let Some(ttl) = traffic.peer_ttl.take() {
                let ttl = Duration::from_millis(u64::from(ttl) * 100);
                self.timers.set_after(Timer::PeerTtl, now, ttl);
            }
        }
        Ok(())
    }

    /// Ends the connection for `error`: an ERROR for a peer over a limit is
    /// queued, the timers stop, and the error is kept for later calls.
    fn fail(&mut self, error: ProtocolError) -> Result<(), ProtocolError> {
        log::debug!("ZMTP connection failed: {error}");
        // A peer over a limit is told why before it is dropped, where ZMTP
        // has room for an ERROR command: once greetings are exchanged, and
        // after the handshake only with a 3.1 peer (3.0 has no commands
        // among messages).
        if let (Some(reason), Some(minor)) = (limit_reason(&error), self.peer_minor)
            && (!self.handshaken || minor >= 1)
        {
            crate::command::ErrorCommand {
                reason: Bytes::from_static(reason),
            }
            .encode(&mut self.transmit);
        }
        self.error = Some(error.clone());
        self.state = State::Failed;
        self.timers.stop_all();
        Err(error)
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called next;
    /// `None` while no timer is armed (and always once the connection is dead).
    pub fn next_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Handles the timers due at `now` (calling it early, or again, does no
    /// harm). A due PING is queued for transmission and the next one
    /// scheduled; `Err` means the connection must be dropped (it is dead
    /// from then on, with no timer armed).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Timeout> {
        for timer in Timer::ALL {
            if !self.timers.is_due(timer, now) {
                continue;
            }
            let timed_out = match timer {
                Timer::Handshake => Timeout::Handshake,
                Timer::PingTimeout => Timeout::Heartbeat,
                Timer::PeerTtl => Timeout::PeerTtl,
                Timer::NextPing => {
                    self.send_ping(now);
                    continue;
                }
            };
            log::debug!("ZMTP connection: {timed_out}");
            self.state = State::Failed;
            self.timers.stop_all();
            return Err(timed_out);
        }
        Ok(())
    }

    /// The caller stopped reading (its consumer is slow, see the engine's
    /// pause): silence from the peer proves nothing then, so the heartbeat
    /// and peer TTL waits stop as if bytes had arrived. Call it before
    /// [`handle_timeout`](Self::handle_timeout) while not reading.
    pub fn input_paused(&mut self) {
        self.timers.stop(Timer::PingTimeout);
        self.timers.stop(Timer::PeerTtl);
    }

    /// Queues a PING, schedules the next, and starts waiting for a sign of life.
    fn send_ping(&mut self, now: Instant) {
        let timing = self.config.timing;
        match (self.is_ready(), timing.heartbeat_ivl) {
            (true, Some(ivl)) => {
                Ping {
                    ttl: timing.heartbeat_ttl_ds,
                    context: Bytes::new(),
                }
                .encode(&mut self.transmit);
                self.timers.set_after(Timer::NextPing, now, ivl);
                // One wait at a time: a later PING does not extend it.
                if self.timers.get(Timer::PingTimeout).is_none()
                    && let Some(timeout) = timing.ping_timeout()
                {
                    self.timers.set_after(Timer::PingTimeout, now, timeout);
                }
            }
            _ => self.timers.stop(Timer::NextPing),
        }
    }

    /// The state machine loop behind [`handle_input`](Self::handle_input).
    fn process(&mut self, input: &mut BytesMut) -> Result<(), ProtocolError> {
        loop {
            match std::mem::replace(&mut self.state, State::Failed) {
                State::Greeting => {
                    let Some(PeerGreeting { minor, .. }) = greeting::check(
                        input,
                        &self.config.security.greeting_name(),
                        self.config.security.name(),
                    )?
                    else {
                        self.state = State::Greeting;
                        return Ok(());
                    };
                    input.advance(GREETING_LEN);
                    self.peer_minor = Some(minor);
                    // The handshake's commands carry the peer's metadata:
                    // they get the (smaller) metadata cap.
                    self.decoder.set_max_command_size(
                        self.max_command_size
                            .min(self.config.max_metadata_size.saturating_add(READY_OVERHEAD)),
                    );
                    let mechanism = self.config.security.start(&self.config, &mut self.transmit);
                    self.state = State::Handshake {
                        mechanism,
                        peer_minor: minor,
                    };
                }
                State::Handshake {
                    mechanism,
                    peer_minor,
                } => {
                    let frame = self.decoder.decode(input).map_err(|e| match e {
                        ProtocolError::CommandTooLarge { size, .. } => {
                            ProtocolError::MetadataTooLarge {
                                size: size.saturating_sub(READY_OVERHEAD),
                                max: self.config.max_metadata_size,
                            }
                        }
                        other => other,
                    })?;
                    let frame = match frame {
                        Some(Decoded::Frame(frame)) => frame,
                        // Only commands may come now; an oversized message
                        // frame is the breach it would be at any size.
                        Some(Decoded::Discarding(_)) => {
                            return Err(ProtocolError::MessageBeforeReady);
                        }
                        None => {
                            self.state = State::Handshake {
                                mechanism,
                                peer_minor,
                            };
                            return Ok(());
                        }
                    };
                    self.state = self.handshake_frame(mechanism, peer_minor, frame)?;
                }
                // The peer must wait for our answer, which waits for the
                // authenticator: a frame now is a breach, and nothing more
                // is read until the answer comes (`handle_auth`).
                State::Authenticating {
                    mechanism,
                    peer_minor,
                } => {
                    self.state = State::Authenticating {
                        mechanism,
                        peer_minor,
                    };
                    return match self.decoder.decode(input)? {
                        Some(_) => Err(ProtocolError::FrameDuringAuthentication),
                        None => Ok(()),
                    };
                }
                State::Traffic(mut traffic) => {
                    // Hot path: stays here until the input runs dry.
                    let result = loop {
                        match self.decoder.decode(input) {
                            Ok(Some(Decoded::Frame(frame))) => {
                                let result = self.input_transform.decode(frame).and_then(|frame| {
                                    traffic.on_frame(frame, &mut self.transmit, &mut self.events)
                                });
                                if let Err(e) = result {
                                    break Err(e);
                                }
                            }
                            Ok(Some(Decoded::Discarding(limit))) => {
                                if let Err(e) = traffic.discard(limit, &mut self.events) {
                                    break Err(e);
                                }
                            }
                            Ok(None) => break Ok(()),
                            Err(e) => break Err(e),
                        }
                    };
                    self.state = State::Traffic(traffic);
                    return result;
                }
                // A connection that timed out: its input means nothing now.
                // (A protocol error is answered with its stored error before
                // getting here.)
                State::Failed => {
                    self.state = State::Failed;
                    return Ok(());
                }
            }
        }
    }

    /// One frame during the mechanism handshake.
    fn handshake_frame(
        &mut self,
        mechanism: Handshake,
        peer_minor: u8,
        frame: Frame,
    ) -> Result<State, ProtocolError> {
        // During the handshake only commands may arrive: "A peer MAY start to
        // send messages immediately after completing its handshake, that is,
        // having both sent and received a READY command."
        if !frame.command {
            return Err(ProtocolError::MessageBeforeReady);
        }
        let raw = match RawCommand::parse(frame.body.clone()) {
            Ok(raw) => raw,
            // Not a command; unless the mechanism knows it as a peer's
            // known-broken ERROR (libzmq 4.3's PLAIN server sends one).
            Err(e) => {
                return Err(mechanism
                    .malformed_error_reason(&frame.body)
                    .map_or(e, ProtocolError::PeerError));
            }
        };
        let step = mechanism.handle_command(
            raw,
            self.handshake_context(peer_minor),
            &mut self.transmit,
        )?;
        Ok(self.step(step, peer_minor))
    }

    fn handshake_context(&self, peer_minor: u8) -> HandshakeContext {
        HandshakeContext {
            ours: self.config.socket_kind,
            peer_minor,
        }
    }

    /// The state a handshake step leads to.
    fn step(&mut self, step: Step, peer_minor: u8) -> State {
        match step {
            Step::Continue(mechanism) => State::Handshake {
                mechanism,
                peer_minor,
            },
            Step::Authenticate(mechanism, request) => {
                self.events.push_back(Event::Authenticate(request));
                State::Authenticating {
                    mechanism,
                    peer_minor,
                }
            }
            Step::Done {
                peer,
                output,
                input,
            } => {
                self.transmit.set_transform(output);
                self.input_transform = input;
                self.handshaken = true;
                self.decoder.set_max_command_size(self.max_command_size);
                self.events.push_back(Event::Ready(peer));
                State::Traffic(Traffic {
                    ours: self.config.socket_kind,
                    peer_minor,
                    partial: None,
                    peer_ttl: None,
                    discards_in_a_row: 0,
                })
            }
        }
    }

    /// The authenticator's answer to the [`Event::Authenticate`] this
    /// connection reported, at `now`. The handshake goes on (an accepted
    /// peer) or the connection fails (a refused one: an ERROR is queued for
    /// it, as RFC 27 asks); input that waited meanwhile is processed, as by
    /// [`handle_input`](Self::handle_input).
    ///
    /// ```
    /// use std::time::Instant;
    /// use zmio_proto::mechanism::AuthReply;
    /// use zmio_proto::{Connection, ConnectionConfig, ProtocolError, SocketKind};
    /// // A NULL connection never asks: an answer it did not ask for is refused.
    /// let mut conn = Connection::new(ConnectionConfig::new(SocketKind::Pull), Instant::now());
    /// let reply = AuthReply { status_code: 200, status_text: "OK".into(), user_id: "u".into() };
    /// let mut input = bytes::BytesMut::new();
    /// assert_eq!(
    ///     conn.handle_auth(reply, &mut input, Instant::now()),
    ///     Err(ProtocolError::UnexpectedAuthReply)
    /// );
    /// ```
    pub fn handle_auth(
        &mut self,
        reply: AuthReply,
        input: &mut BytesMut,
        now: Instant,
    ) -> Result<(), ProtocolError> {
        if !matches!(self.state, State::Authenticating { .. }) {
            return Err(ProtocolError::UnexpectedAuthReply);
        }
        let State::Authenticating {
            mechanism,
            peer_minor,
        } = std::mem::replace(&mut self.state, State::Failed)
        else {
            return Err(ProtocolError::UnexpectedAuthReply);
        };
        let context = self.handshake_context(peer_minor);
        match mechanism.handle_auth(reply, context, &mut self.transmit) {
            Ok(step) => {
                self.state = self.step(step, peer_minor);
                self.run(input, now, false)
            }
            Err(error) => self.fail(error),
        }
    }

    /// How many bytes the input buffer should hold for the next unit to be
    /// complete: the greeting's 64 octets, or the whole frame whose header
    /// is in (its size already checked against the limits); 0 when unknown.
    /// A reader uses it to read a large frame into one buffer, so its body
    /// is sliced out without a copy.
    pub fn input_wanted(&self) -> usize {
        match self.state {
            State::Greeting => GREETING_LEN,
            State::Handshake { .. } | State::Authenticating { .. } | State::Traffic(_) => {
                self.decoder.awaiting()
            }
            State::Failed => 0,
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Handshake complete (our READY sent and the peer's READY received and valid).
    pub fn is_ready(&self) -> bool {
        matches!(self.state, State::Traffic(_))
    }

    /// Queues a message for transmission. Only valid once ready.
    ///
    /// A SUB/XSUB subscription (one frame starting with 0x01 or 0x00) goes to a
    /// ZMTP 3.1 peer as a SUBSCRIBE/CANCEL command and to a 3.0 peer as the
    /// message itself. Everything else is one data frame per message frame.
    pub fn send_message(&mut self, msg: &Msg) {
        let State::Traffic(traffic) = &self.state else {
            debug_assert!(false, "send_message before the handshake completed");
            log::warn!("dropping a message queued before the ZMTP handshake completed");
            return;
        };
        if traffic.ours.is_subscriber()
            && traffic.peer_minor >= 1
            && let Some(sub) = subscription::parse(msg)
            && let Some(frame) = msg.single_frame()
        {
            let topic = frame.slice(1..);
            return if sub.subscribe {
                Subscribe { topic }.encode(&mut self.transmit)
            } else {
                Cancel { topic }.encode(&mut self.transmit)
            };
        }
        self.transmit.push_message(msg);
    }

    /// Bytes queued for transmission.
    pub fn pending_transmit(&self) -> usize {
        self.transmit.pending()
    }

    /// Fills `dst` with slices of the pending bytes in order; returns how many it filled.
    pub fn transmit_slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        self.transmit.slices(dst)
    }

    /// Marks `n` bytes as written (`n <= pending_transmit()`).
    pub fn advance_transmit(&mut self, n: usize) {
        self.transmit.advance(n);
    }

    /// Moves every pending byte to the end of `out` (a copy: for tests and
    /// in-memory pumps; a real transport writes
    /// [`transmit_slices`](Self::transmit_slices) instead).
    ///
    /// ```
    /// use std::time::Instant;
    /// use zmio_proto::{Connection, ConnectionConfig, SocketKind};
    /// let mut conn = Connection::new(ConnectionConfig::new(SocketKind::Pull), Instant::now());
    /// let mut out = bytes::BytesMut::new();
    /// conn.drain_transmit(&mut out);
    /// assert_eq!(out.len(), 64); // the greeting
    /// assert_eq!(conn.pending_transmit(), 0);
    /// ```
    pub fn drain_transmit(&mut self, out: &mut BytesMut) {
        self.transmit.drain_into(out);
    }

    /// For a connection that ended: the messages whose encoding begins
    /// `skip` bytes into the transmit queue or later, none of which was
    /// written, so another connection can send them (see
    /// [`Transmit::take_unsent`]). Empties the queue.
    ///
    /// ```
    /// use std::time::Instant;
    /// use zmio_proto::{Connection, ConnectionConfig, SocketKind};
    /// let mut conn = Connection::new(ConnectionConfig::new(SocketKind::Push), Instant::now());
    /// // Only the greeting is queued: no message to give back.
    /// assert!(conn.take_unsent(0).is_empty());
    /// assert_eq!(conn.pending_transmit(), 0);
    /// ```
    pub fn take_unsent(&mut self, skip: usize) -> Vec<Msg> {
        self.transmit.take_unsent(skip)
    }
}

impl Traffic {
    /// One frame after the handshake.
    fn on_frame(
        &mut self,
        frame: Frame,
        enc: &mut Transmit,
        events: &mut VecDeque<Event>,
    ) -> Result<(), ProtocolError> {
        if frame.command {
            // libzmq may put a command (e.g. PING) between the frames of a
            // message: handle it and keep the partial message.
            return self.on_command(RawCommand::parse(frame.body)?, enc, events);
        }
        let msg = match self.partial.take() {
            None => Msg::from(frame.body),
            Some(mut msg) => {
                msg.push_back(frame.body);
                msg
            }
        };
        if frame.more {
            self.partial = Some(msg);
        } else {
            self.discards_in_a_row = 0;
            events.push_back(Event::Message(msg));
        }
        Ok(())
    }

    /// The decoder is skipping a message that broke `limit`: what of it was
    /// kept goes too. A peer whose every message breaks a limit is
    /// misconfigured or hostile: after [`MAX_DISCARDS_IN_A_ROW`] without a
    /// message between, the connection ends with the limit's error.
    fn discard(
        &mut self,
        limit: ProtocolError,
        events: &mut VecDeque<Event>,
    ) -> Result<(), ProtocolError> {
        self.partial = None;
        self.discards_in_a_row += 1;
        if self.discards_in_a_row > MAX_DISCARDS_IN_A_ROW {
            return Err(limit);
        }
        events.push_back(Event::Discarded(limit));
        Ok(())
    }

    /// One command after the handshake.
    fn on_command(
        &mut self,
        raw: RawCommand,
        enc: &mut Transmit,
        events: &mut VecDeque<Event>,
    ) -> Result<(), ProtocolError> {
        match Command::decode(raw)? {
            // The handshake is over; READY belongs to it alone.
            Command::Ready(_) => Err(ProtocolError::UnexpectedCommand("READY".into())),
            // "The peer SHALL treat an incoming ERROR command as fatal."
            Command::Error(error) => Err(ProtocolError::PeerError(error.reason_lossy())),
            // "When a peer receives a PING command it SHALL respond with a PONG
            // command that echoes the ping-context."
            Command::Ping(ping) => {
                if ping.ttl > 0 {
                    self.peer_ttl = Some(ping.ttl);
                }
                Pong {
                    context: ping.context,
                }
                .encode(enc);
                Ok(())
            }
            // Any incoming traffic is a sign of life; PONG carries nothing more.
            Command::Pong(_) => Ok(()),
            Command::Subscribe(Subscribe { topic }) => {
                self.subscription(true, &topic, events);
                Ok(())
            }
            Command::Cancel(Cancel { topic }) => {
                self.subscription(false, &topic, events);
                Ok(())
            }
            Command::Unknown(raw) => {
                log::debug!("ignoring unknown ZMTP command {}", raw.display_name());
                Ok(())
            }
        }
    }

    /// A SUBSCRIBE/CANCEL command reaches a PUB/XPUB as the one-frame message
    /// `[prefix, topic..]`, as a ZMTP 3.0 peer would have sent it. Other kinds
    /// never see subscriptions as data.
    fn subscription(&self, subscribe: bool, topic: &[u8], events: &mut VecDeque<Event>) {
        if !self.ours.is_publisher() {
            log::debug!("ignoring a subscription command on a {} socket", self.ours);
            return;
        }
        events.push_back(Event::Message(subscription::encode(topic, subscribe)));
    }
}

#[cfg(test)]
mod tests;
