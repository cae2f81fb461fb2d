//! PULL: fair-queues messages from its peers (RFC 30).

use std::sync::Arc;

use super::Routing;
use crate::core::pipe::{Pipe, PipeId};
use crate::core::rules::TypeRules;
use crate::error::Result;
use crate::routing::strategy::fair_queue::FairQueue;
use zmio_proto::Msg;
use zmio_proto::SocketKind;

#[derive(Debug, Default)]
pub struct PullRouting {
    fq: FairQueue,
}

impl Routing for PullRouting {
    const RULES: TypeRules = TypeRules {
        sends: false,
        conflates: true,
        ..TypeRules::plain(SocketKind::Pull)
    };

    fn attach(&mut self, pipe: Arc<Pipe>) {
        self.fq.attach(pipe);
    }

    fn detach(&mut self, _id: PipeId) {
        // The fair queue drops a closed pipe once its last message is read.
    }

    fn recv(&mut self) -> Result<Option<Msg>> {
        Ok(self.fq.recv().map(|(_, msg)| msg))
    }
}
