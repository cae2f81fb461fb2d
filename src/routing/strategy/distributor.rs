//! Fan-out to every pipe whose peer subscribed to a prefix of the message
//! (libzmq's dist plus its per-pipe subscriptions), dropping for peers at
//! their high water mark.

use std::sync::Arc;

use bytes::Bytes;

use crate::core::pipe::{Pipe, PipeId};
use crate::routing::strategy::sub_trie::SubTrie;
use zmio_proto::Msg;
use zmio_proto::subscription::{self, Subscription};

#[derive(Debug)]
struct Subscriber {
    pipe: Arc<Pipe>,
    subscriptions: SubTrie,
    /// Not read yet since it was attached (its first pushes activate nothing).
    unread: bool,
    /// The pipe's peer resets these subscriptions are from: a connect
    /// pipe outlives its connections, and each new peer subscribes anew.
    resets: u64,
}

/// What one subscription message from a peer did (see [`Distributor::apply`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Applied {
    /// A subscribe (`0x01`), not a cancel (`0x00`).
    pub(crate) subscribe: bool,
    /// The peer's set changed: a new prefix for it, or one it had removed.
    pub(crate) changed: bool,
    /// The prefix went from no peer to one (subscribe) or from one to none
    /// (cancel), counting over all peers.
    pub(crate) edge: bool,
}

/// The publishing side of pub-sub: the filter runs here, per peer.
#[derive(Debug, Default)]
pub(crate) struct Distributor {
    subscribers: Vec<Subscriber>,
    /// Each prefix counted once per peer subscribed to it (XPUB passes up a
    /// subscription only on its first peer and a cancel only on its last).
    all: SubTrie,
}

impl Distributor {
    /// Adds a peer with no subscriptions yet.
    pub(crate) fn attach(&mut self, pipe: Arc<Pipe>) {
        let resets = pipe.peer_resets();
        self.subscribers.push(Subscriber {
            pipe,
            subscriptions: SubTrie::default(),
            unread: true,
            resets,
        });
    }

    /// Removes a peer, dropping its subscriptions; returns the prefixes no
    /// other peer subscribes to any more.
    pub(crate) fn detach(&mut self, id: PipeId) -> Vec<Bytes> {
        let Some(i) = self.subscribers.iter().position(|s| s.pipe.id() == id) else {
            return Vec::new();
        };
        let gone = self.subscribers.remove(i);
        gone.subscriptions
            .prefixes()
            .into_iter()
            .filter(|prefix| self.all.remove(prefix))
            .collect()
    }

    /// Applies the subscription messages (`0x01|0x00 + prefix`) each peer has
    /// sent since the last call; other messages from subscribers are ignored.
    /// A peer's subscriptions are a set, so a repeated subscribe (as after a
    /// reconnect) is harmless, as in libzmq. `seen` gets each subscription
    /// message with what it did, in the order each peer sent them.
    pub(crate) fn read_subscriptions(&mut self, mut seen: impl FnMut(Msg, Applied)) {
        // Only peers that sent something since they were last read: one
        // atomic operation per send when none did, however many peers.
        let any = self
            .subscribers
            .first()
            .is_some_and(|s| s.pipe.take_socket_activations());
        for sub in &mut self.subscribers {
            if !(std::mem::take(&mut sub.unread) || (any && sub.pipe.inb().take_activated())) {
                continue;
            }
            loop {
                let (msg, resets) = sub.pipe.pop_with_resets(sub.pipe.inb());
                if resets != sub.resets {
                    // The peer these were from is gone: forget them, as if
                    // it had cancelled each one, before reading the next
                    // peer's (the reactor dropped what the old one sent
                    // and this did not read).
                    sub.resets = resets;
                    for prefix in std::mem::take(&mut sub.subscriptions).prefixes() {
                        let edge = self.all.remove(&prefix);
                        let mut cancel = Vec::with_capacity(1 + prefix.len());
                        cancel.push(0);
                        cancel.extend_from_slice(&prefix);
                        let applied = Applied {
                            subscribe: false,
                            changed: true,
                            edge,
                        };
                        seen(Msg::from(cancel), applied);
                    }
                }
                let Some(msg) = msg else { break };
                if let Some(applied) = Self::apply(&mut self.all, sub, &msg) {
                    seen(msg, applied);
                }
            }
        }
    }

    /// Applies one message from a peer: `None` if it is not a subscription.
    fn apply(all: &mut SubTrie, sub: &mut Subscriber, msg: &Msg) -> Option<Applied> {
        let Subscription { subscribe, prefix } = subscription::parse(msg)?;
        let had = sub.subscriptions.contains(prefix);
        let changed = subscribe != had;
        let mut edge = false;
        if changed && subscribe {
            sub.subscriptions.add(prefix);
            edge = all.add(prefix);
        } else if changed {
            sub.subscriptions.remove(prefix);
            edge = all.remove(prefix);
        }
        Some(Applied {
            subscribe,
            changed,
            edge,
        })
    }

    /// Queues `msg` for every matching peer that has room and is connected
    /// now (a connect pipe waiting to reconnect gets nothing, nor one whose
    /// new peer's subscriptions were not read yet); never blocks.
    pub(crate) fn send(&mut self, msg: Msg) {
        // One pass: each match gets a clone once the next match is found,
        // and the last one takes the message itself.
        let mut matched: Option<&Subscriber> = None;
        {
            let topic = msg.frame(0).map_or(&[][..], |f| &f[..]);
            for sub in &self.subscribers {
                if sub.pipe.is_peer_up()
                    && sub.resets == sub.pipe.peer_resets()
                    && sub.subscriptions.matches(topic)
                    && let Some(previous) = matched.replace(sub)
                {
                    previous.pipe.offer(previous.pipe.out(), msg.clone());
                }
            }
        }
        if let Some(last) = matched {
            last.pipe.offer(last.pipe.out(), msg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::pipe::testing::{pipes_of_one_socket, sent};

    fn subscribe(p: &Pipe, on: bool, prefix: &[u8]) {
        let mut frame = vec![u8::from(on)];
        frame.extend_from_slice(prefix);
        p.push(p.inb(), Msg::from(frame));
    }

    #[test]
    fn fans_out_by_prefix_and_drops_for_full_peers() {
        let [a, b, c] = <[_; 3]>::try_from(pipes_of_one_socket(3, 2)).unwrap();
        let mut dist = Distributor::default();
        for p in [&a, &b, &c] {
            dist.attach(p.clone());
        }
        subscribe(&a, true, b"news");
        subscribe(&b, true, b"");
        subscribe(&b, true, b"");
        c.push(c.inb(), Msg::from("not a subscription"));
        dist.read_subscriptions(|_, _| {});
        dist.send(Msg::from("news.1"));
        dist.send(Msg::from("weather"));
        dist.send(Msg::from("news.2"));
        assert_eq!(sent(&a), ["news.1", "news.2"]);
        assert_eq!(
            sent(&b),
            ["news.1", "weather"],
            "third dropped at the HWM of 2"
        );
        assert!(sent(&c).is_empty());
        // One cancel undoes any number of identical subscribes from one peer (a set, as libzmq).
        subscribe(&b, false, b"");
        subscribe(&a, false, b"news");
        dist.read_subscriptions(|_, _| {});
        dist.send(Msg::from("news.3"));
        assert!(sent(&a).is_empty());
        assert!(sent(&b).is_empty());
    }

    #[test]
    fn counts_each_prefix_once_per_peer_over_all_peers() {
        let [a, b] = <[_; 2]>::try_from(pipes_of_one_socket(2, 10)).unwrap();
        let mut dist = Distributor::default();
        dist.attach(a.clone());
        dist.attach(b.clone());
        let mut seen = Vec::new();
        let read = |dist: &mut Distributor, seen: &mut Vec<(Vec<u8>, Applied)>| {
            dist.read_subscriptions(|m, applied| seen.push((m.frame(0).unwrap().to_vec(), applied)))
        };
        let applied = |subscribe, changed, edge| Applied {
            subscribe,
            changed,
            edge,
        };
        subscribe(&a, true, b"t");
        subscribe(&a, true, b"t");
        a.push(a.inb(), Msg::from("\x02not one"));
        read(&mut dist, &mut seen);
        subscribe(&b, true, b"t");
        subscribe(&b, true, b"u");
        read(&mut dist, &mut seen);
        subscribe(&a, false, b"t");
        subscribe(&a, false, b"t");
        read(&mut dist, &mut seen);
        let got: Vec<Applied> = seen.iter().map(|(_, a)| *a).collect();
        assert_eq!(
            got,
            [
                applied(true, true, true),
                applied(true, false, false),
                applied(true, true, false),
                applied(true, true, true),
                applied(false, true, false),
                applied(false, false, false),
            ]
        );
        let mut gone = dist.detach(b.id());
        gone.sort();
        assert_eq!(gone, [&b"t"[..], b"u"], "b was the last on both");
    }

    #[test]
    fn a_peer_that_is_not_connected_gets_nothing() {
        let [a, b] = <[_; 2]>::try_from(pipes_of_one_socket(2, 10)).unwrap();
        let mut dist = Distributor::default();
        dist.attach(a.clone());
        dist.attach(b.clone());
        subscribe(&a, true, b"");
        subscribe(&b, true, b"");
        dist.read_subscriptions(|_, _| {});
        b.set_peer_up(false);
        dist.send(Msg::from("while b is away"));
        b.set_peer_up(true);
        dist.send(Msg::from("b is back"));
        assert_eq!(sent(&a), ["while b is away", "b is back"]);
        assert_eq!(sent(&b), ["b is back"]);
    }

    #[test]
    fn multipart_messages_match_on_the_first_frame() {
        let a = pipes_of_one_socket(1, 10).remove(0);
        let mut dist = Distributor::default();
        dist.attach(a.clone());
        subscribe(&a, true, b"k");
        dist.read_subscriptions(|_, _| {});
        dist.send(Msg::from_frames(["x", "k"]));
        dist.send(Msg::from_frames(["k", "x"]));
        assert_eq!(sent(&a), ["k"]);
    }
}
