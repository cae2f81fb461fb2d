//! XSUB: receives fair-queued from its peers with no filtering of its own;
//! the application sends subscriptions as messages (`0x01 + prefix`,
//! `0x00 + prefix`), which go to every peer, again after each reconnect.

use std::sync::Arc;

use zmio_proto::subscription::{self, Subscription};

use super::Routing;
use super::subscriber::send_all_subscriptions;
use crate::core::pipe::{Pipe, PipeId};
use crate::core::rules::TypeRules;
use crate::error::Result;
use crate::routing::strategy::fair_queue::FairQueue;
use crate::routing::strategy::sub_trie::SubTrie;
use zmio_proto::Msg;
use zmio_proto::SocketKind;

#[derive(Debug, Default)]
pub struct XSubRouting {
    fq: FairQueue,
    /// The subscriptions the application sent, counted (a cancel goes out
    /// only with the last count, as libzmq's XSUB).
    subscriptions: SubTrie,
}

impl Routing for XSubRouting {
    const RULES: TypeRules = TypeRules {
        sends_subscriptions: true,
        ..TypeRules::plain(SocketKind::XSub)
    };

    fn attach(&mut self, pipe: Arc<Pipe>) {
        send_all_subscriptions(&self.subscriptions, &pipe);
        self.fq.attach(pipe);
    }

    fn detach(&mut self, _id: PipeId) {
        // The fair queue drops a closed pipe once its last message is read.
    }

    fn reconnected(&mut self, pipe: &Arc<Pipe>) {
        pipe.clear(pipe.out());
        send_all_subscriptions(&self.subscriptions, pipe);
    }

    fn writable(&mut self) -> bool {
        // Drops for a peer at its high water mark rather than wait.
        true
    }

    fn send(&mut self, msg: Msg) -> Result<Option<Msg>> {
        match subscription::parse(&msg) {
            Some(Subscription {
                subscribe: true,
                prefix,
            }) => {
                // Every subscribe goes up, even a repeated one (a verbose
                // XPUB upstream may want to see it), as libzmq's XSUB.
                self.subscriptions.add(prefix);
                for pipe in self.fq.pipes() {
                    // Subscriptions are never dropped for the high water mark.
                    pipe.push(pipe.out(), msg.clone());
                }
            }
            Some(Subscription {
                subscribe: false,
                prefix,
            }) => {
                if self.subscriptions.remove(prefix) {
                    for pipe in self.fq.pipes() {
                        pipe.push(pipe.out(), msg.clone());
                    }
                }
            }
            _ => {
                // Anything else goes to every connected peer with room
                // (libzmq's XSUB sends it to all), dropped for a full one.
                for pipe in self.fq.pipes() {
                    if pipe.is_peer_up() {
                        pipe.offer(pipe.out(), msg.clone());
                    }
                }
            }
        }
        Ok(None)
    }

    fn recv(&mut self) -> Result<Option<Msg>> {
        Ok(self.fq.recv().map(|(_, msg)| msg))
    }
}
