//! DEALER: load-balances messages over its peers and fair-queues what they
//! send, with no envelope handling (RFC 28).

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
pub struct DealerRouting {
    lb: LoadBalancer,
    fq: FairQueue,
}

impl Routing for DealerRouting {
    const RULES: TypeRules = TypeRules {
        reroutes_lost_peers: true,
        conflates: true,
        ..TypeRules::plain(SocketKind::Dealer)
    };

    fn attach(&mut self, pipe: Arc<Pipe>) {
        self.lb.attach(pipe.clone());
        self.fq.attach(pipe);
    }

    fn detach(&mut self, id: PipeId) {
        // The fair queue drops a closed pipe once its last message is read.
        self.lb.detach(id);
    }

    fn lost(&mut self, pipe: &Arc<Pipe>, reconnecting: bool) {
        self.lb.reroute(pipe, reconnecting);
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
