//! REQ: sends a request to one peer (load-balanced), then takes the reply from
//! that peer only; strict send/receive alternation (RFC 28).

use std::sync::Arc;

use bytes::Bytes;

use super::Routing;
use crate::error::{Error, Result};
use crate::msg::Msg;
use crate::pipe::{Pipe, PipeId};
use crate::strategy::fair_queue::FairQueue;
use crate::strategy::load_balance::LoadBalancer;

#[derive(Debug, Default)]
pub(crate) struct Req {
    lb: LoadBalancer,
    fq: FairQueue,
    /// The pipe the outstanding request went to.
    awaiting: Option<PipeId>,
}

impl Routing for Req {
    fn attach(&mut self, pipe: Arc<Pipe>) {
        self.lb.attach(pipe.clone());
        self.fq.attach(pipe);
    }

    fn detach(&mut self, id: PipeId) {
        self.lb.detach(id);
    }

    fn send(&mut self, mut msg: Msg) -> Result<Option<Msg>> {
        if self.awaiting.is_some() {
            return Err(Error::InvalidState(
                "REQ must receive the reply before sending another request",
            ));
        }
        // The envelope: an empty delimiter frame before the request.
        msg.push_front(Bytes::new());
        match self.lb.send(msg) {
            Ok(pipe) => {
                self.awaiting = Some(pipe);
                Ok(None)
            }
            Err(mut back) => {
                back = Msg::from_frames(back.into_frames().into_iter().skip(1));
                Ok(Some(back))
            }
        }
    }

    fn recv(&mut self) -> Result<Option<Msg>> {
        let Some(pipe) = self.awaiting else {
            return Err(Error::InvalidState(
                "REQ must send a request before receiving a reply",
            ));
        };
        // Replies from other peers are stale (their requests were abandoned); drop them.
        while let Some((from, msg)) = self.fq.recv() {
            if from != pipe {
                continue;
            }
            let mut frames = msg.into_frames();
            // A reply without the empty delimiter is malformed: libzmq drops it too.
            if frames.len() < 2 || !frames[0].is_empty() {
                continue;
            }
            frames.remove(0);
            self.awaiting = None;
            return Ok(Some(Msg::from_frames(frames)));
        }
        Ok(None)
    }
}
