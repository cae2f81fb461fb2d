//! PAIR: exactly one peer (RFC 31). Sends block at the high water mark, as
//! PUSH's do; a second peer that connects while one is attached is refused:
//! its connection is closed, as libzmq does.

use std::sync::Arc;

use super::Routing;
use crate::core::pipe::{Pipe, PipeId};
use crate::core::rules::TypeRules;
use crate::error::Result;
use crate::routing::strategy::fair_queue::FairQueue;
use crate::routing::strategy::load_balance::LoadBalancer;
use zmio_proto::Msg;
use zmio_proto::SocketKind;

#[derive(Debug, Default)]
pub struct PairRouting {
    /// The one peer's pipe.
    peer: Option<PipeId>,
    /// Over that one pipe: the same blocking and reading as PUSH and PULL.
    lb: LoadBalancer,
    fq: FairQueue,
}

impl Routing for PairRouting {
    const RULES: TypeRules = TypeRules::plain(SocketKind::Pair);

    fn attach(&mut self, pipe: Arc<Pipe>) {
        if self.peer.is_some() {
            log::warn!("PAIR: refusing a second peer (a PAIR socket talks to exactly one)");
            pipe.request_close();
            return;
        }
        self.peer = Some(pipe.id());
        self.lb.attach(pipe.clone());
        self.fq.attach(pipe);
    }

    fn detach(&mut self, id: PipeId) {
        if self.peer == Some(id) {
            // Its unread input may still be read; the fair queue lets it go after.
            self.peer = None;
            self.lb.detach(id);
        }
    }

    fn writable(&mut self) -> bool {
        self.lb.has_room()
    }

    fn send(&mut self, msg: Msg) -> Result<Option<Msg>> {
        Ok(self.lb.send(msg).err())
    }

    fn recv(&mut self) -> Result<Option<Msg>> {
        Ok(self.fq.recv().map(|(_, msg)| msg))
    }
}
