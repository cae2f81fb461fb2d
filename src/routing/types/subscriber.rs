//! SUB: fair-queues messages that match its subscriptions and tells every
//! peer what it subscribes to, again after each reconnect (RFC 29).

use std::sync::Arc;

use bytes::Bytes;
use zmio_proto::subscription;

use super::Routing;
use crate::core::pipe::{Pipe, PipeId};
use crate::core::rules::TypeRules;
use crate::error::Result;
use crate::routing::strategy::fair_queue::FairQueue;
use crate::routing::strategy::sub_trie::SubTrie;
use zmio_proto::Msg;
use zmio_proto::SocketKind;

#[derive(Debug, Default)]
pub struct SubRouting {
    fq: FairQueue,
    /// The socket's own subscriptions, counted (libzmq: subscribing twice
    /// needs two unsubscribes). Also filters input, in case a publisher does not.
    subscriptions: SubTrie,
}

/// Queues a subscribe for every prefix of `subscriptions` to `pipe`, whatever
/// its high water mark says (a new or reconnected peer needs the whole set).
pub(super) fn send_all_subscriptions(subscriptions: &SubTrie, pipe: &Pipe) {
    for prefix in subscriptions.prefixes() {
        pipe.push(pipe.out(), subscription::encode(&prefix, true));
    }
}

/// SUB's own options.
impl SubRouting {
    /// Adds (`on`) or drops one subscription to `prefix`.
    pub(crate) fn subscribe(&mut self, prefix: &[u8], on: bool) -> Result<()> {
        let changed = if on {
            self.subscriptions.add(prefix)
        } else {
            self.subscriptions.remove(prefix)
        };
        if changed {
            for pipe in self.fq.pipes() {
                // Subscriptions are never dropped for the high water mark.
                pipe.push(pipe.out(), subscription::encode(prefix, on));
            }
        }
        Ok(())
    }
}

impl Routing for SubRouting {
    const RULES: TypeRules = TypeRules {
        sends: false,
        lingers: false,
        sends_subscriptions: true,
        conflates: true,
        ..TypeRules::plain(SocketKind::Sub)
    };

    fn attach(&mut self, pipe: Arc<Pipe>) {
        send_all_subscriptions(&self.subscriptions, &pipe);
        self.fq.attach(pipe);
    }

    fn detach(&mut self, _id: PipeId) {
        // The fair queue drops a closed pipe once its last message is read.
    }

    fn reconnected(&mut self, pipe: &Arc<Pipe>) {
        // Whatever was queued went to the old connection or nowhere; the new
        // peer needs the whole current set.
        pipe.clear(pipe.out());
        send_all_subscriptions(&self.subscriptions, pipe);
    }

    fn recv(&mut self) -> Result<Option<Msg>> {
        while let Some((_, msg)) = self.fq.recv() {
            let topic = msg.frame(0).map(Bytes::as_ref).unwrap_or_default();
            if self.subscriptions.matches(topic) {
                return Ok(Some(msg));
            }
        }
        Ok(None)
    }
}
