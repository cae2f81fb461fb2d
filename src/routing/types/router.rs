//! ROUTER: names each peer by a routing id, prefixes what it receives with
//! the sender's id and sends each message to the peer its first frame names
//! (RFC 28). See [`RouterTable`] for how ids are chosen.

use std::collections::HashSet;
use std::sync::Arc;

use super::Routing;
use crate::core::pipe::{Pipe, PipeId};
use crate::core::rules::TypeRules;
use crate::error::{Error, Result};
use crate::routing::strategy::fair_queue::FairQueue;
use crate::routing::strategy::router_table::{RouterTable, hex};
use zmio_proto::Msg;
use zmio_proto::SocketKind;

#[derive(Debug, Default)]
pub struct RouterRouting {
    table: RouterTable,
    fq: FairQueue,
    /// ZMQ_ROUTER_MANDATORY: fail instead of dropping.
    mandatory: bool,
}

/// ROUTER's own options.
impl RouterRouting {
    /// ZMQ_ROUTER_HANDOVER: a peer claiming a taken routing id takes it over.
    pub(crate) fn set_router_handover(&mut self, on: bool) -> Result<()> {
        self.table.set_handover(on);
        Ok(())
    }

    /// ZMQ_ROUTER_MANDATORY: fail sends to unknown or full peers instead of dropping them.
    pub(crate) fn set_router_mandatory(&mut self, on: bool) -> Result<()> {
        self.mandatory = on;
        Ok(())
    }
}

impl Routing for RouterRouting {
    const RULES: TypeRules = TypeRules {
        needs_peer_ready: true,
        ..TypeRules::plain(SocketKind::Router)
    };

    fn attach(&mut self, pipe: Arc<Pipe>) {
        self.table.attach(pipe.clone());
        self.fq.attach(pipe);
    }

    fn detach(&mut self, id: PipeId) {
        // The fair queue drops a closed pipe once its last message is read;
        // until then its messages still carry the peer's id.
        self.table.detach(id);
        let readable: HashSet<PipeId> = self.fq.pipes().map(|p| p.id()).collect();
        self.table.purge(|p| readable.contains(&p));
    }

    fn ready(&mut self, pipe: &Arc<Pipe>) {
        self.table.refresh(pipe.id());
    }

    fn recv(&mut self) -> Result<Option<Msg>> {
        while let Some((pipe, mut msg)) = self.fq.recv() {
            // Every pipe the fair queue holds is in the table.
            let Some(id) = self.table.refresh(pipe) else {
                continue;
            };
            msg.push_front(id);
            return Ok(Some(msg));
        }
        Ok(None)
    }

    fn writable(&mut self) -> bool {
        // Without ROUTER_MANDATORY a send never waits (it drops); with it,
        // as libzmq, writable when some peer has room.
        !self.mandatory
            || self
                .table
                .pipes()
                .any(|pipe| pipe.has_room_or_wake_me(pipe.out()))
    }

    fn send(&mut self, msg: Msg) -> Result<Option<Msg>> {
        let mut frames = msg.into_frames();
        if frames.len() < 2 {
            // Only a routing id, or nothing: nothing to send.
            return Ok(None);
        }
        let id = frames.remove(0);
        let Some(pipe) = self.table.pipe(&id) else {
            if self.mandatory {
                return Err(Error::HostUnreachable(hex(&id)));
            }
            return Ok(None);
        };
        let body = Msg::from_frames(frames);
        if !self.mandatory {
            // A peer at its high water mark loses the message, as in libzmq.
            pipe.offer(pipe.out(), body);
            return Ok(None);
        }
        match pipe.try_push(pipe.out(), body) {
            Ok(()) => Ok(None),
            Err(mut back) => {
                back.push_front(id);
                Ok(Some(back))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::core::pipe::testing::{pipes_of_one_socket, sent};

    fn to(id: &[u8], body: &str) -> Msg {
        Msg::from_frames([
            Bytes::copy_from_slice(id),
            Bytes::copy_from_slice(body.as_bytes()),
        ])
    }

    #[test]
    fn a_full_peer_loses_the_message_unless_router_mandatory() {
        let [a] = <[_; 1]>::try_from(pipes_of_one_socket(1, 1)).unwrap();
        a.set_peer_routing_id(Some(Bytes::from_static(b"a")));
        let mut router = RouterRouting::default();
        router.attach(a.clone());
        assert!(router.send(to(b"a", "1")).unwrap().is_none());
        assert!(router.send(to(b"a", "dropped")).unwrap().is_none());
        assert_eq!(sent(&a), ["1"]);

        router.set_router_mandatory(true).unwrap();
        assert!(router.send(to(b"a", "2")).unwrap().is_none());
        let back = router.send(to(b"a", "3")).unwrap().expect("handed back");
        assert_eq!(back, to(b"a", "3"), "handed back whole, id first");
        assert!(matches!(
            router.send(to(b"zz", "x")),
            Err(Error::HostUnreachable(id)) if id == "7a7a"
        ));
        assert_eq!(sent(&a), ["2"]);
    }

    #[test]
    fn received_messages_are_prefixed_with_the_peer_id() {
        let [a] = <[_; 1]>::try_from(pipes_of_one_socket(1, 10)).unwrap();
        a.set_peer_routing_id(None);
        let mut router = RouterRouting::default();
        router.attach(a.clone());
        a.push(a.inb(), Msg::from("hi"));
        let got = router.recv().unwrap().expect("a message");
        let id = got.frame(0).expect("id frame");
        assert_eq!((id.len(), id[0]), (5, 0));
        assert_eq!(got.frame(1).map(|f| &f[..]), Some(&b"hi"[..]));
    }
}
