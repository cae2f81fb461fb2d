//! PUB: fans each message out to the peers subscribed to a prefix of it;
//! drops for a peer at its high water mark; never blocks (RFC 29).

use std::sync::Arc;

use super::Routing;
use crate::core::pipe::{Pipe, PipeId};
use crate::core::rules::TypeRules;
use crate::error::Result;
use crate::routing::strategy::distributor::Distributor;
use zmio_proto::Msg;
use zmio_proto::SocketKind;

#[derive(Debug, Default)]
pub struct PubRouting {
    dist: Distributor,
}

impl Routing for PubRouting {
    const RULES: TypeRules = TypeRules {
        receives: false,
        receives_subscriptions: true,
        conflates: true,
        ..TypeRules::plain(SocketKind::Pub)
    };

    fn attach(&mut self, pipe: Arc<Pipe>) {
        self.dist.attach(pipe);
    }

    fn detach(&mut self, id: PipeId) {
        self.dist.detach(id);
    }

    fn writable(&mut self) -> bool {
        // Drops for a peer at its high water mark rather than wait.
        true
    }

    fn send(&mut self, msg: Msg) -> Result<Option<Msg>> {
        self.dist.read_subscriptions(|_, _| {});
        self.dist.send(msg);
        Ok(None)
    }

    fn recv(&mut self) -> Result<Option<Msg>> {
        Err(crate::Error::InvalidState("PUB sockets cannot receive"))
    }
}
