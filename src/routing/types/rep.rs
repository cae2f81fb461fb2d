//! REP: receives a request (fair-queued), keeps its envelope, and sends the
//! reply back along it to the same peer; strict alternation (RFC 28).

use std::sync::Arc;

use bytes::Bytes;

use super::Routing;
use crate::core::pipe::{Pipe, PipeId};
use crate::core::rules::TypeRules;
use crate::error::{Error, Result};
use crate::routing::strategy::fair_queue::FairQueue;
use zmio_proto::Msg;
use zmio_proto::SocketKind;

#[derive(Debug, Default)]
pub struct RepRouting {
    fq: FairQueue,
    /// The request being answered: its pipe and envelope (routing frames and
    /// the empty delimiter).
    replying: Option<(PipeId, Vec<Bytes>)>,
}

impl Routing for RepRouting {
    const RULES: TypeRules = TypeRules {
        writes_directly: true,
        ..TypeRules::plain(SocketKind::Rep)
    };

    fn attach(&mut self, pipe: Arc<Pipe>) {
        self.fq.attach(pipe);
    }

    fn detach(&mut self, _id: PipeId) {
        // The fair queue drops a closed pipe once its last message is read.
    }

    fn recv(&mut self) -> Result<Option<Msg>> {
        if self.replying.is_some() {
            return Err(Error::InvalidState(
                "REP must send the reply before receiving another request",
            ));
        }
        while let Some((pipe, msg)) = self.fq.recv() {
            let mut frames = msg.into_frames();
            // The envelope ends at the first empty frame; a request without
            // one, or with nothing after it, is malformed and dropped (libzmq too).
            let Some(delimiter) = frames.iter().position(Bytes::is_empty) else {
                continue;
            };
            if delimiter + 1 == frames.len() {
                continue;
            }
            let body = frames.split_off(delimiter + 1);
            self.replying = Some((pipe, frames));
            return Ok(Some(Msg::from_frames(body)));
        }
        Ok(None)
    }

    fn writable(&mut self) -> bool {
        // A reply never waits (it is dropped for a full peer, as libzmq).
        self.replying.is_some()
    }

    fn send_over_unread(&self) -> Result<bool> {
        Err(Error::InvalidState(
            "REP must receive a request before sending a reply",
        ))
    }

    fn send(&mut self, msg: Msg) -> Result<Option<Msg>> {
        let Some((pipe_id, mut frames)) = self.replying.take() else {
            return Err(Error::InvalidState(
                "REP must receive a request before sending a reply",
            ));
        };
        frames.extend(msg.into_frames());
        // A peer that left, or is at its high water mark, loses the reply, as in libzmq.
        if let Some(pipe) = self.fq.pipes().find(|p| p.id() == pipe_id) {
            pipe.offer(pipe.out(), Msg::from_frames(frames));
        }
        Ok(None)
    }
}
