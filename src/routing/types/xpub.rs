//! XPUB: a PUB (fan-out by prefix, drops at the high water mark, never
//! blocks) whose peers' subscriptions reach the application as messages
//! (`0x01 + prefix` to subscribe, `0x00 + prefix` to cancel).

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::{BufMut, BytesMut};

use super::Routing;
use crate::core::pipe::{Pipe, PipeId};
use crate::core::rules::TypeRules;
use crate::error::Result;
use crate::routing::strategy::distributor::{Applied, Distributor};
use zmio_proto::Msg;
use zmio_proto::SocketKind;

#[derive(Debug, Default)]
pub struct XPubRouting {
    dist: Distributor,
    /// Subscription messages applied but not received yet.
    pending: VecDeque<Msg>,
    /// ZMQ_XPUB_VERBOSE: pass up every subscribe, not only a prefix's first.
    verbose: bool,
}

impl XPubRouting {
    /// Applies what the peers sent; queues the subscriptions to pass up.
    fn read(&mut self) {
        let verbose = self.verbose;
        let pending = &mut self.pending;
        self.dist.read_subscriptions(|msg, applied: Applied| {
            // As libzmq: a subscribe when it is the prefix's first (over all
            // peers) or always if verbose; a cancel when it was the last.
            let pass = if applied.subscribe {
                applied.edge || verbose
            } else {
                applied.edge
            };
            if pass {
                pending.push_back(msg);
            }
        });
    }
}

/// XPUB's own options.
impl XPubRouting {
    /// ZMQ_XPUB_VERBOSE: pass every subscribe up, not only a prefix's first.
    pub(crate) fn set_xpub_verbose(&mut self, on: bool) -> Result<()> {
        self.verbose = on;
        Ok(())
    }
}

impl Routing for XPubRouting {
    const RULES: TypeRules = TypeRules {
        receives_subscriptions: true,
        ..TypeRules::plain(SocketKind::XPub)
    };

    fn attach(&mut self, pipe: Arc<Pipe>) {
        self.dist.attach(pipe);
    }

    fn detach(&mut self, id: PipeId) {
        // Its subscriptions go with it: cancel those no other peer holds.
        self.read();
        for prefix in self.dist.detach(id) {
            let mut frame = BytesMut::with_capacity(1 + prefix.len());
            frame.put_u8(0);
            frame.put_slice(&prefix);
            self.pending.push_back(Msg::from(frame.freeze()));
        }
    }

    fn writable(&mut self) -> bool {
        // Drops for a peer at its high water mark rather than wait.
        true
    }

    fn send(&mut self, msg: Msg) -> Result<Option<Msg>> {
        self.read();
        self.dist.send(msg);
        Ok(None)
    }

    fn recv(&mut self) -> Result<Option<Msg>> {
        if self.pending.is_empty() {
            self.read();
        }
        Ok(self.pending.pop_front())
    }
}
