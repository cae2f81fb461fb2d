//! PUSH: load-balances messages over its peers (RFC 30).

use std::sync::Arc;

use super::Routing;
use crate::core::pipe::{Pipe, PipeId};
use crate::core::rules::TypeRules;
use crate::error::Result;
use crate::routing::strategy::load_balance::LoadBalancer;
use zmio_proto::Msg;
use zmio_proto::SocketKind;

#[derive(Debug, Default)]
pub struct PushRouting {
    lb: LoadBalancer,
}

impl Routing for PushRouting {
    const RULES: TypeRules = TypeRules {
        receives: false,
        reroutes_lost_peers: true,
        conflates: true,
        ..TypeRules::plain(SocketKind::Push)
    };

    fn attach(&mut self, pipe: Arc<Pipe>) {
        self.lb.attach(pipe);
    }

    fn detach(&mut self, id: PipeId) {
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
}
