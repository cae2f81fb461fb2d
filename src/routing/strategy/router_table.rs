//! ROUTER's map from routing id to pipe (libzmq's router `outpipes`), with
//! the ids it makes up for peers that did not send one.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;

use bytes::Bytes;

use crate::core::pipe::{Pipe, PipeId};

#[derive(Debug)]
struct Peer {
    pipe: Arc<Pipe>,
    /// The id this peer is known by; `None` until its handshake completed.
    id: Option<Bytes>,
    /// The pipe's handshake count when `id` was chosen.
    handshakes: u64,
    /// Detached: its id is free, but its last messages may still be read
    /// (and are still prefixed with it).
    detached: bool,
}

/// Routing ids to pipes and back.
///
/// A peer is named by the `Identity` it sent in READY. One that sent none
/// gets a generated id: a zero byte and a 4-byte big-endian counter, as
/// libzmq makes them (ids set by applications may not start with a zero
/// byte, so the two never clash). A peer whose id another connected peer
/// already has is refused and its connection closed, as libzmq does without
/// ZMQ_ROUTER_HANDOVER; nothing it sent is received. With handover the
/// newcomer takes the id and the peer that had it is disconnected.
#[derive(Debug)]
pub(crate) struct RouterTable {
    by_id: HashMap<Bytes, PipeId>,
    peers: HashMap<PipeId, Peer>,
    /// The next generated id's counter; starts at a random value, as in
    /// libzmq, so ids from a restarted ROUTER are unlikely to repeat.
    next_generated: u32,
    /// ZMQ_ROUTER_HANDOVER: a newcomer with a taken id takes it over.
    handover: bool,
}

impl Default for RouterTable {
    fn default() -> RouterTable {
        // RandomState is seeded randomly per process: a cheap random start.
        let start = RandomState::new().hash_one(0u8) as u32;
        RouterTable {
            by_id: HashMap::new(),
            peers: HashMap::new(),
            next_generated: start,
            handover: false,
        }
    }
}

impl RouterTable {
    /// ZMQ_ROUTER_HANDOVER on or off.
    pub(crate) fn set_handover(&mut self, on: bool) {
        self.handover = on;
    }

    /// Adds a pipe; it gets its id once its handshake has completed (at
    /// once for an accepted pipe, whose handshake is already done).
    pub(crate) fn attach(&mut self, pipe: Arc<Pipe>) {
        let id = pipe.id();
        self.peers.insert(
            id,
            Peer {
                pipe,
                id: None,
                handshakes: 0,
                detached: false,
            },
        );
        self.refresh(id);
    }

    /// Frees a pipe's id: nothing more is sent to it, but what it sent
    /// before may still be received under the id until [`purge`](Self::purge)
    /// lets it go.
    pub(crate) fn detach(&mut self, pipe: PipeId) {
        if let Some(peer) = self.peers.get_mut(&pipe) {
            peer.detached = true;
            if let Some(id) = &peer.id
                && self.by_id.get(id) == Some(&pipe)
            {
                self.by_id.remove(id);
            }
        }
    }

    /// Forgets the detached pipes for which `readable` is false (read to the end).
    pub(crate) fn purge(&mut self, readable: impl Fn(PipeId) -> bool) {
        self.peers
            .retain(|&id, peer| !peer.detached || readable(id));
    }

    /// The id of the peer behind `pipe`, chosen anew if a handshake
    /// completed on the pipe since it was last chosen. `None` for an unknown
    /// pipe or one not handshaken yet.
    pub(crate) fn refresh(&mut self, pipe: PipeId) -> Option<Bytes> {
        let (wanted, old) = {
            let peer = self.peers.get_mut(&pipe)?;
            let handshakes = peer.pipe.handshakes();
            if handshakes == peer.handshakes || peer.detached {
                return peer.id.clone();
            }
            peer.handshakes = handshakes;
            (peer.pipe.peer_routing_id(), peer.id.take())
        };
        if let Some(old) = old {
            self.by_id.remove(&old);
        }
        let id = match wanted.filter(|id| !id.is_empty()) {
            Some(id) if !self.by_id.contains_key(&id) => id,
            Some(id) if self.handover => {
                // The peer that had the id is disconnected; what it sent
                // before is still received under the id.
                if let Some(holder) = self.by_id.remove(&id)
                    && let Some(peer) = self.peers.get_mut(&holder)
                {
                    log::debug!("ROUTER: routing id {} handed over to a new peer", hex(&id));
                    peer.detached = true;
                    peer.pipe.request_close();
                }
                id
            }
            Some(id) => {
                // libzmq's default (no ZMQ_ROUTER_HANDOVER): the peer that
                // already has the id keeps it; the newcomer is refused.
                log::warn!(
                    "ROUTER: refusing a second peer with routing id {} (the first keeps it)",
                    hex(&id)
                );
                if let Some(peer) = self.peers.get_mut(&pipe) {
                    peer.detached = true;
                    peer.pipe.request_close();
                }
                return None;
            }
            None => self.generate(),
        };
        self.by_id.insert(id.clone(), pipe);
        if let Some(peer) = self.peers.get_mut(&pipe) {
            peer.id = Some(id.clone());
        }
        Some(id)
    }

    /// A fresh generated id: `0x00` and a counter not in use.
    fn generate(&mut self) -> Bytes {
        loop {
            let n = self.next_generated;
            self.next_generated = n.wrapping_add(1);
            let mut id = [0u8; 5];
            id[1..].copy_from_slice(&n.to_be_bytes());
            let id = Bytes::copy_from_slice(&id);
            if !self.by_id.contains_key(&id) {
                return id;
            }
        }
    }

    /// The pipes of the peers that can be sent to (named and attached).
    pub(crate) fn pipes(&self) -> impl Iterator<Item = &Arc<Pipe>> {
        self.peers
            .values()
            .filter(|p| p.id.is_some() && !p.detached)
            .map(|p| &p.pipe)
    }

    /// The pipe of the peer named `id`.
    pub(crate) fn pipe(&self, id: &[u8]) -> Option<&Arc<Pipe>> {
        let pipe = self.by_id.get(id)?;
        self.peers.get(pipe).map(|p| &p.pipe)
    }
}

/// `id` in lower-case hex, for messages.
pub(crate) fn hex(id: &[u8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::pipe::testing::pipes_of_one_socket;

    #[test]
    fn names_peers_by_their_id_or_a_generated_one() {
        let [a, b, c, d] = <[_; 4]>::try_from(pipes_of_one_socket(4, 10)).unwrap();
        let mut table = RouterTable::default();
        a.set_peer_routing_id(Some(Bytes::from_static(b"alice")));
        b.set_peer_routing_id(None);
        c.set_peer_routing_id(Some(Bytes::from_static(b"alice")));
        for p in [&a, &b, &c, &d] {
            table.attach(p.clone());
        }
        assert_eq!(table.refresh(a.id()).as_deref(), Some(&b"alice"[..]));
        let generated = table.refresh(b.id()).unwrap();
        assert_eq!((generated.len(), generated[0]), (5, 0));
        // A duplicate id is refused: the newcomer is never named (its
        // messages are not received) and the first keeps the id.
        assert_eq!(table.refresh(c.id()), None, "a duplicate id is refused");
        assert_eq!(table.refresh(c.id()), None);
        assert_eq!(table.refresh(d.id()), None, "not handshaken yet");
        assert_eq!(table.pipe(b"alice").map(|p| p.id()), Some(a.id()));
        assert_eq!(table.pipe(&generated).map(|p| p.id()), Some(b.id()));
        // A connect pipe handshakes (again) with a new id.
        d.set_peer_routing_id(Some(Bytes::from_static(b"dave")));
        assert_eq!(table.refresh(d.id()).as_deref(), Some(&b"dave"[..]));
        d.set_peer_routing_id(Some(Bytes::from_static(b"dave2")));
        assert_eq!(table.refresh(d.id()).as_deref(), Some(&b"dave2"[..]));
        assert!(table.pipe(b"dave").is_none());
        // Gone: the id is free for the next peer, but its last messages
        // still carry it until the pipe is read to the end.
        table.detach(a.id());
        assert!(table.pipe(b"alice").is_none());
        assert_eq!(table.refresh(a.id()).as_deref(), Some(&b"alice"[..]));
        table.purge(|p| p == a.id());
        assert!(table.refresh(a.id()).is_some());
        table.purge(|_| false);
        assert_eq!(table.refresh(a.id()), None);
        assert!(table.refresh(b.id()).is_some(), "attached pipes stay");
    }
}
