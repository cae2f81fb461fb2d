//! REQ: sends a request to one peer (load-balanced), then takes the reply from
//! that peer only; strict send/receive alternation (RFC 28), unless relaxed.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use bytes::Bytes;

use super::Routing;
use crate::core::pipe::{Pipe, PipeId};
use crate::core::rules::TypeRules;
use crate::error::{Error, Result};
use crate::routing::strategy::fair_queue::FairQueue;
use crate::routing::strategy::load_balance::LoadBalancer;
use zmio_proto::Msg;
use zmio_proto::SocketKind;

/// The request awaiting its reply.
#[derive(Debug)]
struct Outstanding {
    /// The pipe it went to; replies from any other are dropped.
    pipe: PipeId,
    /// Its request id, when it was sent with ZMQ_REQ_CORRELATE.
    id: Option<[u8; 4]>,
}

#[derive(Debug)]
pub struct ReqRouting {
    lb: LoadBalancer,
    fq: FairQueue,
    /// The outstanding request, if a reply is awaited.
    awaiting: Option<Outstanding>,
    /// ZMQ_REQ_RELAXED: a send while a reply is awaited abandons that request.
    relaxed: bool,
    /// ZMQ_REQ_CORRELATE: requests carry an id frame the reply must echo.
    correlate: bool,
    /// The id for the next correlated request.
    next_id: u32,
}

/// A random starting request id (as libzmq), from the standard library's
/// randomly keyed hasher.
fn random_u32() -> u32 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x7a6d_696f);
    // Truncating to the low bits is intended.
    (hasher.finish() & u64::from(u32::MAX)) as u32
}

impl Default for ReqRouting {
    fn default() -> ReqRouting {
        ReqRouting {
            lb: LoadBalancer::default(),
            fq: FairQueue::default(),
            awaiting: None,
            relaxed: false,
            correlate: false,
            next_id: random_u32(),
        }
    }
}

/// REQ's own options.
impl ReqRouting {
    /// ZMQ_REQ_RELAXED: a send while a reply is awaited abandons that request.
    pub(crate) fn set_req_relaxed(&mut self, on: bool) -> Result<()> {
        self.relaxed = on;
        Ok(())
    }

    /// ZMQ_REQ_CORRELATE: requests carry an id the reply must echo.
    pub(crate) fn set_req_correlate(&mut self, on: bool) -> Result<()> {
        self.correlate = on;
        Ok(())
    }
}

impl Routing for ReqRouting {
    const RULES: TypeRules = TypeRules {
        writes_directly: true,
        ..TypeRules::plain(SocketKind::Req)
    };

    fn attach(&mut self, pipe: Arc<Pipe>) {
        self.lb.attach(pipe.clone());
        self.fq.attach(pipe);
    }

    fn detach(&mut self, id: PipeId) {
        self.lb.detach(id);
    }

    fn writable(&mut self) -> bool {
        (self.awaiting.is_none() || self.relaxed) && self.lb.has_room()
    }

    fn send_over_unread(&self) -> Result<bool> {
        if self.relaxed {
            Ok(true)
        } else {
            Err(Error::InvalidState(
                "REQ must receive the reply before sending another request",
            ))
        }
    }

    fn send(&mut self, mut msg: Msg) -> Result<Option<Msg>> {
        if self.awaiting.is_some() {
            if !self.relaxed {
                return Err(Error::InvalidState(
                    "REQ must receive the reply before sending another request",
                ));
            }
            // Relaxed: the outstanding request is abandoned; its reply, if
            // it ever comes, is dropped.
            self.awaiting = None;
        }
        // The envelope: an empty delimiter frame before the request, and
        // with correlation the request id before that.
        msg.push_front(Bytes::new());
        let id = self.correlate.then(|| {
            let id = self.next_id.to_be_bytes();
            self.next_id = self.next_id.wrapping_add(1);
            msg.push_front(Bytes::copy_from_slice(&id));
            id
        });
        match self.lb.send(msg) {
            Ok(pipe) => {
                self.awaiting = Some(Outstanding { pipe, id });
                Ok(None)
            }
            Err(back) => {
                let envelope = if id.is_some() { 2 } else { 1 };
                Ok(Some(Msg::from_frames(
                    back.into_frames().into_iter().skip(envelope),
                )))
            }
        }
    }

    fn recv(&mut self) -> Result<Option<Msg>> {
        let Some(outstanding) = &self.awaiting else {
            return Err(Error::InvalidState(
                "REQ must send a request before receiving a reply",
            ));
        };
        // Replies from other peers are stale (their requests were abandoned);
        // so are correlated replies with another id. Drop them.
        while let Some((from, msg)) = self.fq.recv() {
            if from != outstanding.pipe {
                continue;
            }
            let mut frames = msg.into_frames();
            if let Some(id) = outstanding.id {
                if frames.first().is_none_or(|f| f[..] != id[..]) {
                    continue;
                }
                frames.remove(0);
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::pipe::testing::pipes_of_one_socket;

    /// What the socket queued on `pipe`, frame by frame.
    fn sent_frames(pipe: &Pipe) -> Vec<Vec<Vec<u8>>> {
        let mut batch = Vec::new();
        pipe.pop_batch(pipe.out(), usize::MAX, &mut batch);
        batch
            .iter()
            .map(|m| m.frames().map(|f| f.to_vec()).collect())
            .collect()
    }

    fn reply(pipe: &Pipe, frames: &[&[u8]]) {
        pipe.push(
            pipe.inb(),
            Msg::from_frames(frames.iter().map(|f| f.to_vec())),
        );
    }

    #[test]
    fn strict_by_default_relaxed_abandons_the_outstanding_request() {
        let [a, b] = <[_; 2]>::try_from(pipes_of_one_socket(2, 10)).unwrap();
        let mut req = ReqRouting::default();
        req.attach(a.clone());
        req.attach(b.clone());
        assert!(matches!(req.recv(), Err(Error::InvalidState(_))));
        req.set_req_relaxed(true).unwrap();
        assert!(
            matches!(req.recv(), Err(Error::InvalidState(_))),
            "relaxed still needs a request first"
        );
        req.set_req_relaxed(false).unwrap();
        assert!(req.send(Msg::from("1")).unwrap().is_none());
        assert!(matches!(
            req.send(Msg::from("x")),
            Err(Error::InvalidState(_))
        ));
        req.set_req_relaxed(true).unwrap();
        assert!(req.send(Msg::from("2")).unwrap().is_none());
        assert_eq!(sent_frames(&a), [[&b""[..], b"1"]]);
        assert_eq!(sent_frames(&b), [[&b""[..], b"2"]]);
        // The abandoned request's reply (from a) is dropped; b's is taken.
        reply(&a, &[b"", b"late"]);
        assert!(req.recv().unwrap().is_none());
        reply(&b, &[b"", b"answer"]);
        let got = req.recv().unwrap().unwrap();
        assert_eq!(got.frame_count(), 1);
        assert_eq!(&got.frame(0).unwrap()[..], b"answer");
        assert!(matches!(req.recv(), Err(Error::InvalidState(_))));
    }

    #[test]
    fn correlated_requests_carry_an_id_the_reply_must_echo() {
        let [a] = <[_; 1]>::try_from(pipes_of_one_socket(1, 10)).unwrap();
        let mut req = ReqRouting::default();
        req.attach(a.clone());
        req.set_req_relaxed(true).unwrap();
        req.set_req_correlate(true).unwrap();
        assert!(req.send(Msg::from("1")).unwrap().is_none());
        assert!(req.send(Msg::from("2")).unwrap().is_none());
        let out = sent_frames(&a);
        assert_eq!(out.len(), 2);
        let id1 = out[0][0].clone();
        let id2 = out[1][0].clone();
        assert_eq!(id1.len(), 4);
        let n1 = u32::from_be_bytes(id1[..].try_into().unwrap());
        assert_eq!(id2, n1.wrapping_add(1).to_be_bytes());
        assert_eq!(out[0][1..], [&b""[..], b"1"]);
        assert_eq!(out[1][1..], [&b""[..], b"2"]);

        // The first request's reply, one without an id and one without the
        // delimiter are all dropped.
        reply(&a, &[&id1, b"", b"late"]);
        reply(&a, &[b"", b"no id"]);
        reply(&a, &[&id2, b"no delimiter"]);
        assert!(req.recv().unwrap().is_none());
        reply(&a, &[&id2, b"", b"answer", b"more"]);
        let got = req.recv().unwrap().unwrap();
        let got: Vec<_> = got.frames().map(|f| f.to_vec()).collect();
        assert_eq!(got, [&b"answer"[..], b"more"]);

        // Without correlation again, the plain envelope.
        req.set_req_correlate(false).unwrap();
        assert!(req.send(Msg::from("3")).unwrap().is_none());
        assert_eq!(sent_frames(&a), [[&b""[..], b"3"]]);
    }

    #[test]
    fn a_request_handed_back_loses_its_envelope() {
        let [a] = <[_; 1]>::try_from(pipes_of_one_socket(1, 1)).unwrap();
        let mut req = ReqRouting::default();
        req.attach(a.clone());
        req.set_req_relaxed(true).unwrap();
        req.set_req_correlate(true).unwrap();
        assert!(req.send(Msg::from("1")).unwrap().is_none());
        let back = req.send(Msg::from("2")).unwrap().expect("handed back");
        assert_eq!(back.frame_count(), 1);
        assert_eq!(&back.frame(0).unwrap()[..], b"2");
        assert!(
            matches!(req.recv(), Err(Error::InvalidState(_))),
            "the first request was abandoned and the second never went out"
        );
    }
}
