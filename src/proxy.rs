//! A proxy forwards messages between a frontend and a backend socket, as
//! libzmq's zmq_proxy and zmq_proxy_steerable: a queue (ROUTER frontend,
//! DEALER backend), a forwarder (XSUB frontend, XPUB backend) or a
//! streamer (PULL frontend, PUSH backend), with an optional capture socket
//! that gets a copy of every message and an optional control socket that
//! pauses, resumes or stops it.
//!
//! One thread does it all and sleeps in a [`Poller`] while nothing can move.
//! A message is read from one side only while the other can take it: one
//! the other side hands back (its peers are at their high water mark) is
//! held, and that direction reads nothing more until it has gone out, so
//! the proxy passes backpressure on instead of queueing without bound.

use crate::error::{Error, Result};
use crate::poll::{AnySocket, Poller};
use crate::socket::{RecvSocketType, SendSocketType, Socket};
use zmio_proto::Msg;
use zmio_proto::SocketKind;

/// How many messages one direction moves before the other gets a turn and
/// the control socket is read again.
const BATCH: usize = 256;

/// Message and byte counts of one side of a proxy (what libzmq's
/// STATISTICS command reports).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SideStats {
    /// Messages received from this side.
    pub messages_in: u64,
    /// Bytes (all frames) received from this side.
    pub bytes_in: u64,
    /// Messages sent to this side.
    pub messages_out: u64,
    /// Bytes (all frames) sent to this side.
    pub bytes_out: u64,
}

/// What a proxy has forwarded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// The frontend's counts.
    pub frontend: SideStats,
    /// The backend's counts.
    pub backend: SideStats,
}

impl ProxyStats {
    /// As libzmq's reply to STATISTICS: eight frames, each a native-endian
    /// 64-bit count: frontend messages in, bytes in, messages out, bytes
    /// out, then the same for the backend.
    fn to_msg(self) -> Msg {
        let counts = [self.frontend, self.backend]
            .into_iter()
            .flat_map(|s| [s.messages_in, s.bytes_in, s.messages_out, s.bytes_out]);
        Msg::from_frames(counts.map(|n| n.to_ne_bytes().to_vec()))
    }
}

/// A proxy between two sockets, set up with [`Proxy::new`] and run with
/// [`Proxy::run`]. [`proxy`] is the short form without capture or control.
///
/// Messages (all frames, as one) go from the frontend to the backend, and,
/// when the frontend can send and the backend receive (ROUTER/DEALER,
/// XSUB/XPUB, PAIR), from the backend to the frontend too. The types say at
/// compile time that a frontend can receive and a backend can send, so a
/// PUSH frontend or a PULL backend does not build.
///
/// The control socket takes single-frame commands, as zmq_proxy_steerable:
/// `PAUSE` stops forwarding (messages wait in the sockets' queues, up to
/// their high water marks), `RESUME` starts it again, `TERMINATE` makes
/// [`run`](Proxy::run) return, `STATISTICS` is answered (if the control
/// socket can send) with the counts as eight 64-bit frames (see
/// [`ProxyStats`]). A REP control socket gets a reply to every command (an
/// empty frame for the others), so a REQ can steer it; another unknown
/// command is logged and ignored.
///
/// The capture socket gets a copy of every message forwarded either way
/// (frames are shared, not copied). A copy the capture socket cannot take
/// at once (no peer, or its peers are at their high water mark) is
/// dropped, where libzmq would block the whole proxy.
///
/// ```
/// use std::thread;
/// use zmio::{Context, Proxy, Pull, Push, Req};
/// # fn main() -> zmio::Result<()> {
/// let ctx = Context::new()?;
/// let mut frontend = ctx.socket::<Pull>()?;
/// let mut backend = ctx.socket::<Push>()?;
/// let mut control = ctx.socket::<zmio::Rep>()?;
/// let input = frontend.bind("tcp://127.0.0.1:*")?.to_string();
/// let output = backend.bind("tcp://127.0.0.1:*")?.to_string();
/// let steer = control.bind("tcp://127.0.0.1:*")?.to_string();
/// let streamer = thread::spawn(move || {
///     Proxy::new(&mut frontend, &mut backend).control(&mut control).run()
/// });
///
/// let mut producer = ctx.socket::<Push>()?;
/// producer.connect(&input)?;
/// let mut consumer = ctx.socket::<zmio::Pull>()?;
/// consumer.connect(&output)?;
/// producer.send("work")?;
/// assert_eq!(&consumer.recv()?.frame(0).unwrap()[..], b"work");
///
/// let mut admin = ctx.socket::<Req>()?;
/// admin.connect(&steer)?;
/// admin.send("TERMINATE")?;
/// admin.recv()?;
/// let stats = streamer.join().unwrap()?;
/// assert_eq!(stats.frontend.messages_in, 1);
/// # Ok(())
/// # }
/// ```
pub struct Proxy<'a> {
    frontend: &'a mut dyn AnySocket,
    backend: &'a mut dyn AnySocket,
    capture: Option<&'a mut dyn AnySocket>,
    control: Option<&'a mut dyn AnySocket>,
}

impl std::fmt::Debug for Proxy<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("frontend", &self.frontend.kind())
            .field("backend", &self.backend.kind())
            .field("capture", &self.capture.as_ref().map(|c| c.kind()))
            .field("control", &self.control.as_ref().map(|c| c.kind()))
            .finish()
    }
}

/// One direction's state.
#[derive(Debug, Default)]
struct Flow {
    /// A message the destination handed back: it goes out before anything
    /// more is read from the source.
    held: Option<Msg>,
}

impl<'a> Proxy<'a> {
    /// A proxy from `frontend` to `backend` (and back, when both can).
    pub fn new<F: RecvSocketType, B: SendSocketType>(
        frontend: &'a mut Socket<F>,
        backend: &'a mut Socket<B>,
    ) -> Proxy<'a> {
        Proxy {
            frontend,
            backend,
            capture: None,
            control: None,
        }
    }

    /// Sends a copy of every forwarded message to `capture`.
    pub fn capture<C: SendSocketType>(mut self, capture: &'a mut Socket<C>) -> Proxy<'a> {
        self.capture = Some(capture);
        self
    }

    /// Takes PAUSE, RESUME, TERMINATE and STATISTICS commands from `control`.
    pub fn control<C: RecvSocketType>(mut self, control: &'a mut Socket<C>) -> Proxy<'a> {
        self.control = Some(control);
        self
    }

    /// Forwards until TERMINATE arrives on the control socket (then returns
    /// the counts) or a socket fails; without a control socket, until a
    /// socket fails.
    pub fn run(mut self) -> Result<ProxyStats> {
        let mut poller = Poller::new()?;
        poller.watch(&*self.frontend);
        poller.watch(&*self.backend);
        if let Some(control) = &self.control {
            poller.watch(&**control);
        }
        let result = self.forward(&mut poller);
        // The sockets outlive the proxy: they must not keep waking a poller
        // that is gone.
        poller.unwatch(&*self.frontend);
        poller.unwatch(&*self.backend);
        if let Some(control) = &self.control {
            poller.unwatch(&**control);
        }
        result
    }

    fn forward(&mut self, poller: &mut Poller) -> Result<ProxyStats> {
        let both_ways =
            self.frontend.shared().rules().sends && self.backend.shared().rules().receives;
        let mut stats = ProxyStats::default();
        let mut downstream = Flow::default();
        let mut upstream = Flow::default();
        let mut paused = false;
        loop {
            poller.arm();
            if let Some(control) = self.control.as_deref_mut()
                && let Steer::Terminate = steer(control, &mut paused, stats)?
            {
                return Ok(stats);
            }
            let mut moved = false;
            if !paused {
                moved |= pump(
                    &mut *self.frontend,
                    &mut *self.backend,
                    self.capture.as_deref_mut(),
                    &mut downstream,
                    &mut stats.frontend,
                    &mut stats.backend,
                )?;
                if both_ways {
                    moved |= pump(
                        &mut *self.backend,
                        &mut *self.frontend,
                        self.capture.as_deref_mut(),
                        &mut upstream,
                        &mut stats.backend,
                        &mut stats.frontend,
                    )?;
                }
            }
            // Nothing could move: sleep until a socket is notified of a
            // change (armed above, so one since then ends the sleep at once).
            if !moved {
                poller.sleep()?;
            }
        }
    }
}

enum Steer {
    Go,
    Terminate,
}

/// Reads and carries out the commands waiting on the control socket.
fn steer(control: &mut dyn AnySocket, paused: &mut bool, stats: ProxyStats) -> Result<Steer> {
    loop {
        let command = match control.recv_now() {
            Ok(command) => command,
            Err(Error::WouldBlock) => return Ok(Steer::Go),
            Err(e) => return Err(e),
        };
        let word = command.frame(0).map(|f| &f[..]).unwrap_or_default();
        let mut reply = (control.kind() == SocketKind::Rep).then(|| Msg::from(""));
        let mut terminate = false;
        match word {
            b"PAUSE" => *paused = true,
            b"RESUME" => *paused = false,
            b"TERMINATE" => terminate = true,
            b"STATISTICS" if control.shared().rules().sends => reply = Some(stats.to_msg()),
            other => log::warn!(
                "proxy: unknown control command {:?}",
                String::from_utf8_lossy(other)
            ),
        }
        if let Some(reply) = reply {
            // A reply the controller cannot take now is dropped (a REP's
            // reply never waits; another socket's peer is full).
            control.send_or_hand_back(reply)?;
        }
        if terminate {
            return Ok(Steer::Terminate);
        }
    }
}

/// Moves up to [`BATCH`] messages from `from` to `to`; says whether any moved.
fn pump<'s>(
    from: &mut dyn AnySocket,
    to: &mut dyn AnySocket,
    mut capture: Option<&mut (dyn AnySocket + 's)>,
    flow: &mut Flow,
    from_stats: &mut SideStats,
    to_stats: &mut SideStats,
) -> Result<bool> {
    let mut moved = false;
    for _ in 0..BATCH {
        let msg = match flow.held.take() {
            Some(msg) => msg,
            None => match from.recv_now() {
                Ok(msg) => {
                    from_stats.messages_in += 1;
                    from_stats.bytes_in += size(&msg);
                    if let Some(capture) = capture.as_deref_mut() {
                        // Dropped if the capture socket cannot take it now.
                        capture.send_or_hand_back(msg.clone())?;
                    }
                    msg
                }
                Err(Error::WouldBlock) => break,
                Err(e) => return Err(e),
            },
        };
        let bytes = size(&msg);
        if let Some(back) = to.send_or_hand_back(msg)? {
            flow.held = Some(back);
            break;
        }
        to_stats.messages_out += 1;
        to_stats.bytes_out += bytes;
        moved = true;
    }
    Ok(moved)
}

fn size(msg: &Msg) -> u64 {
    msg.frames().map(|f| f.len() as u64).sum()
}

/// Forwards between `frontend` and `backend` until a socket fails, as
/// zmq_proxy without a capture socket (see [`Proxy`] for capture and control).
pub fn proxy<F: RecvSocketType, B: SendSocketType>(
    frontend: &mut Socket<F>,
    backend: &mut Socket<B>,
) -> Result<()> {
    Proxy::new(frontend, backend).run().map(|_| ())
}
