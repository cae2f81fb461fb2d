//! Host names resolved off the reactor thread: each lookup runs on a
//! short-lived thread of its own and reports back through the reactor's
//! command queue, so a resolver that never answers delays only the connect
//! that asked, never the reactor or any other socket (libzmq resolves on its
//! I/O thread and stalls them all).

use std::net::SocketAddr;
use std::sync::Arc;

use mio::Token;

use super::{Command, ReactorShared};
use crate::endpoint::Endpoint;

/// One lookup in flight: `attempt` tells its answer from a stale one (the
/// session reconnected or went meanwhile).
pub(super) fn resolve_in_background(
    reactor: Arc<ReactorShared>,
    token: Token,
    attempt: u64,
    endpoint: Endpoint,
    ipv6: bool,
) {
    let spawned = std::thread::Builder::new()
        .name("zmio-resolve".into())
        .spawn({
            let reactor = reactor.clone();
            let endpoint = endpoint.clone();
            move || {
                let result = lookup(&endpoint, ipv6);
                reactor.send(Command::Resolved {
                    token,
                    attempt,
                    result,
                });
            }
        });
    if let Err(e) = spawned {
        // No thread to be had: this attempt fails like a failed lookup and
        // the session retries after its reconnect interval.
        reactor.send(Command::Resolved {
            token,
            attempt,
            result: Err(format!("cannot start a resolver thread: {e}")),
        });
    }
}

/// The lookup itself (blocking): the addresses in connect order, or why not.
fn lookup(endpoint: &Endpoint, ipv6: bool) -> Result<Vec<SocketAddr>, String> {
    #[cfg(test)]
    tests::maybe_hang(endpoint);
    endpoint.resolve(ipv6).map_err(|e| e.to_string())
}

#[cfg(test)]
pub(super) mod tests {
    use std::time::Duration;

    use crate::endpoint::{Endpoint, Host};
    use crate::{Context, Pull, Push};

    /// The host name whose lookup never returns, standing for a DNS server
    /// that never answers.
    const HANGING: &str = "never-answers.zmio.test";

    /// Blocks for ever on the hanging name (tests only).
    pub(super) fn maybe_hang(endpoint: &Endpoint) {
        if endpoint.host() == Some(&Host::Name(HANGING.into())) {
            loop {
                std::thread::park();
            }
        }
    }

    #[test]
    fn a_connect_waiting_on_its_resolver_holds_up_no_other_socket() {
        // The scenario runs on a thread of its own: were the reactor stuck,
        // the test fails at the deadline instead of hanging with it.
        let (done, outcome) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let ctx = Context::new().unwrap();
            let mut stuck = ctx.socket::<Push>().unwrap();
            stuck.set_linger(Some(Duration::ZERO)).unwrap();
            stuck.connect(&format!("tcp://{HANGING}:5555")).unwrap();
            // Everything else on the same reactor goes on.
            let mut pull = ctx.socket::<Pull>().unwrap();
            let endpoint = pull.bind("tcp://127.0.0.1:*").unwrap().to_string();
            let mut push = ctx.socket::<Push>().unwrap();
            push.connect(&endpoint).unwrap();
            for i in 0..10 {
                push.send(format!("m{i}")).unwrap();
                let msg = pull.recv().unwrap();
                assert_eq!(&msg.frame(0).unwrap()[..], format!("m{i}").as_bytes());
            }
            // Closing the stuck socket waits for its lookup no more.
            drop(stuck);
            drop((push, pull, ctx));
            let _ = done.send(());
        });
        outcome
            .recv_timeout(Duration::from_secs(10))
            .expect("the other sockets' messages and the close within 10 s");
    }
}
