//! inproc: sockets of one context joined by shared queues, no connection
//! and no system call on the data path. The context holds a registry of
//! bound names; a connect to a name nobody has bound yet waits in it until
//! someone does (connect before bind works, as in libzmq).
//!
//! A connection is two pipes sharing two queues crosswise (one pipe's
//! outbound queue is the other's inbound), made by
//! [`Pipe::inproc`] (connecting side, at `connect`) and paired here
//! (`Binding::pair`, binding side, with libzmq's rule for the limits). The registry's lock is held while a binder's pipe is
//! posted to it, so a binder that closes either finds the pipe in its
//! mailbox or never gets it; either way no pipe is left without a reader.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use crate::core::mailbox::{SocketEvent, SocketId, SocketShared};
use crate::core::pipe::{Owner, Pipe, conflation};
use crate::error::{Error, Result};

/// A bound inproc name: what a connecting socket needs of the binder.
#[derive(Debug)]
pub(crate) struct Binding {
    pub(crate) socket_id: SocketId,
    pub(crate) socket: Arc<SocketShared>,
    /// The binder's side of the pipes it gets.
    pub(crate) owner: Owner,
    pub(crate) sndhwm: usize,
    pub(crate) rcvhwm: usize,
    pub(crate) conflate: bool,
    pub(crate) immediate: bool,
    /// ZMQ_ROUTING_ID (`None` if unset), given to the peer's pipe.
    pub(crate) routing_id: Option<Bytes>,
}

impl Binding {
    /// The binder's pipe for `connecting` (made by [`Pipe::inproc`]),
    /// sharing its queues crosswise. Each queue's limit becomes the
    /// sender's SNDHWM plus the receiver's RCVHWM (no limit if either is
    /// 0), as in libzmq, and conflation holds if either side asked for it.
    /// Both peers count as up from here, and each pipe carries the other
    /// socket's routing id.
    fn pair(&self, connecting: &Arc<Pipe>, routing_id: Option<Bytes>) -> Option<Arc<Pipe>> {
        let peer = connecting.crosswise(&self.owner, self.immediate)?;
        let (binder_out, binder_inb) = conflation(self.conflate, self.owner.rules);
        for (queue, their_hwm, conflate) in [
            (connecting.out(), self.rcvhwm, binder_inb),
            (connecting.inb(), self.sndhwm, binder_out),
        ] {
            queue.set_limits(
                |ours| {
                    if ours == 0 || their_hwm == 0 {
                        0
                    } else {
                        ours.saturating_add(their_hwm)
                    }
                },
                conflate,
            );
        }
        peer.set_peer_routing_id(routing_id);
        connecting.set_peer_routing_id(self.routing_id.clone());
        peer.set_peer_up(true);
        connecting.set_peer_up(true);
        Some(peer)
    }
}

/// A connect waiting for its name to be bound.
#[derive(Debug)]
struct Pending {
    socket_id: SocketId,
    socket: Arc<SocketShared>,
    pipe: Arc<Pipe>,
    routing_id: Option<Bytes>,
}

#[derive(Debug, Default)]
struct Names {
    bound: HashMap<String, Binding>,
    pending: HashMap<String, Vec<Pending>>,
}

/// The inproc names of one context.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    names: Mutex<Names>,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Names> {
        // Every update under this lock is a single map operation.
        self.names.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Binds `name` for `binding`'s socket. Returns the binder's pipes for
    /// the connects that were waiting for the name (already paired; the
    /// caller attaches them). A waiting connect of an incompatible socket
    /// type is refused (its pipe closed, a warning logged).
    pub(crate) fn bind(&self, name: &str, binding: Binding) -> Result<Vec<Arc<Pipe>>> {
        let mut names = self.lock();
        if names.bound.contains_key(name) {
            return Err(Error::AddrInUse(format!("inproc://{name}")));
        }
        let mut attached = Vec::new();
        for pending in names.pending.remove(name).unwrap_or_default() {
            let theirs = pending.pipe.socket_kind();
            if !binding.socket.kind().is_compatible(theirs) {
                log::warn!(
                    "inproc://{name}: refusing a {theirs} socket's connect to a {} socket",
                    binding.socket.kind()
                );
                pending.pipe.close_inproc();
                continue;
            }
            if let Some(pipe) = binding.pair(&pending.pipe, pending.routing_id) {
                paired(&pending.socket, &pending.pipe);
                attached.push(pipe);
            }
        }
        names.bound.insert(name.to_owned(), binding);
        Ok(attached)
    }

    /// Connects `pipe` (made by [`Pipe::inproc`]) to `name`: at once if it
    /// is bound (the binder's pipe is posted to the binder), else when it is.
    pub(crate) fn connect(
        &self,
        name: &str,
        socket_id: SocketId,
        socket: &Arc<SocketShared>,
        pipe: &Arc<Pipe>,
        routing_id: Option<Bytes>,
    ) -> Result<()> {
        let mut names = self.lock();
        let Some(binding) = names.bound.get(name) else {
            names
                .pending
                .entry(name.to_owned())
                .or_default()
                .push(Pending {
                    socket_id,
                    socket: socket.clone(),
                    pipe: pipe.clone(),
                    routing_id,
                });
            return Ok(());
        };
        let ours = pipe.socket_kind();
        let theirs = binding.socket.kind();
        if !ours.is_compatible(theirs) {
            return Err(Error::IncompatibleSocketType {
                endpoint: format!("inproc://{name}"),
                ours,
                theirs,
            });
        }
        if let Some(peer) = binding.pair(pipe, routing_id) {
            paired(socket, pipe);
            binding.socket.post(SocketEvent::Attach(peer));
        }
        Ok(())
    }

    /// Whether `socket_id` has bound `name`; if so the name is released.
    pub(crate) fn unbind(&self, name: &str, socket_id: SocketId) -> bool {
        let mut names = self.lock();
        match names.bound.get(name) {
            Some(b) if b.socket_id == socket_id => {
                names.bound.remove(name);
                true
            }
            _ => false,
        }
    }

    /// A waiting connect of `pipe` is dropped (a disconnect before any bind).
    pub(crate) fn forget_pending(&self, pipe: &Pipe) {
        let mut names = self.lock();
        for waiting in names.pending.values_mut() {
            waiting.retain(|p| p.pipe.id() != pipe.id());
        }
        names.pending.retain(|_, waiting| !waiting.is_empty());
    }

    /// The socket is closing: its names are released and its waiting
    /// connects dropped. Runs `then` under the registry's lock, so no
    /// connect can post a new pipe to the socket after it.
    pub(crate) fn forget_socket(&self, socket_id: SocketId, then: impl FnOnce()) {
        let mut names = self.lock();
        names.bound.retain(|_, b| b.socket_id != socket_id);
        for waiting in names.pending.values_mut() {
            waiting.retain(|p| p.socket_id != socket_id);
        }
        names.pending.retain(|_, waiting| !waiting.is_empty());
        then();
    }
}

/// A connecting socket's pipe was paired: it may wait to send (immediate)
/// or, for a ROUTER, to learn the peer's routing id.
fn paired(socket: &Arc<SocketShared>, pipe: &Arc<Pipe>) {
    if socket.rules().needs_peer_ready {
        socket.post(SocketEvent::Ready(pipe.clone()));
    } else {
        pipe.activate_sender();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::pipe::testing::{Recorder, owner};
    use crate::core::rules::TypeRules;
    use crate::options::Options;
    use zmio_proto::{Msg, SocketKind};

    #[test]
    fn inproc_pipes_share_queues_crosswise_with_summed_limits() {
        let a_socket = Arc::new(Recorder::default());
        let b_socket = Arc::new(Recorder::default());
        let b_owner = owner(SocketKind::Pull, &b_socket);
        let options = Options {
            sndhwm: 2,
            ..Options::default()
        };
        let a = Pipe::inproc("inproc://t", &options, &owner(SocketKind::Push, &a_socket));
        // Before the bind: queued up to the connecting side's SNDHWM.
        a.try_push(a.out(), Msg::from("early")).unwrap();
        a.try_push(a.out(), Msg::from("early 2")).unwrap();
        assert!(a.try_push(a.out(), Msg::from("full")).is_err());
        assert!(!a.is_peer_up());
        let binding = Binding {
            socket_id: 2,
            socket: SocketShared::new(TypeRules::plain(SocketKind::Pull)),
            owner: b_owner,
            sndhwm: 1,
            rcvhwm: 3,
            conflate: false,
            immediate: false,
            routing_id: None,
        };
        let b = binding.pair(&a, Some(Bytes::from_static(b"A"))).unwrap();
        assert!(a.is_peer_up() && b.is_peer_up());
        assert_eq!(b.peer_routing_id(), Some(Bytes::from_static(b"A")));
        assert_eq!(a.peer_routing_id(), None);
        assert_eq!(b.inproc_endpoint(), Some("inproc://t"));
        // 2 (A's SNDHWM) + 3 (B's RCVHWM).
        assert_eq!(a.room(a.out()), 3);
        assert_eq!(b.pop(b.inb()), Some(Msg::from("early")));
        // B found it non-empty; once empty, A's next push wakes B.
        assert_eq!(b.pop(b.inb()), Some(Msg::from("early 2")));
        assert_eq!(b.pop(b.inb()), None);
        let before = b_socket.seq();
        a.try_push(a.out(), Msg::from("hello")).unwrap();
        assert_eq!(b_socket.seq(), before + 1, "the binder's socket is woken");
        // Closing from one end tells both sockets.
        b.close_inproc();
        assert_eq!(a_socket.terminations(), 1);
        assert_eq!(b_socket.terminations(), 1);
        assert!(a.inb().is_closed_and_empty());
        assert_eq!(b.pop(b.inb()), Some(Msg::from("hello")), "still readable");
        assert!(b.inb().is_closed_and_empty());
    }
}
