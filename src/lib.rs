//! zmio: brokerless messaging sockets that speak ZeroMQ's wire protocol
//! (ZMTP 3.1), in pure Rust. Typed sockets (PUSH/PULL, PUB/SUB, REQ/REP,
//! DEALER/ROUTER, PAIR, XPUB/XSUB) bind and connect over TCP and talk to each other and
//! to libzmq, pyzmq, JeroMQ or NetMQ peers with no broker in between.
//!
//! ```
//! use zmio::{Context, Rep, Req};
//! # fn main() -> zmio::Result<()> {
//! let ctx = Context::new()?;
//! let mut server = ctx.socket::<Rep>()?;
//! let endpoint = server.bind("tcp://127.0.0.1:*")?.to_string();
//! let mut client = ctx.socket::<Req>()?;
//! client.connect(&endpoint)?;
//! client.send("ping")?;
//! let request = server.recv()?;
//! server.send(request)?;
//! assert_eq!(&client.recv()?.frame(0).unwrap()[..], b"ping");
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations)]
// Nothing a peer or a caller controls may panic the library: no unwrap or
// expect outside tests (the hostile-peers issue).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

// Layers, bottom up; every `use crate::` points down (`scripts/check-layers`
// fails the build otherwise, see docs/architecture.md):
//   vocabulary  error, endpoint, options, monitor, ratelimit, sys
//   core        pipe, mailbox, signal
//   routing     strategies, socket-type policies
//   io          reactor, session, engine, transports
//   socket      Socket<T> and its options
//   api         context, poll, proxy
mod endpoint;
mod error;
mod monitor;
mod options;
mod ratelimit;
mod sys;

mod core;

mod routing;

mod io;

mod socket;

mod context;
mod poll;
mod proxy;

pub use context::Context;
pub use core::signal::PollEvents;
pub use endpoint::{Endpoint, Host, Transport};
pub use error::{Error, Result};
pub use monitor::{
    DisconnectReason, Limit, MONITOR_CAPACITY, Monitor, MonitorEvent, MonitorEventKind, Timeout,
};
pub use options::ReconnectStop;
pub use poll::{PollItem, Poller, poll};
pub use proxy::{Proxy, ProxyStats, SideStats, proxy};
pub use socket::{
    Dealer, Pair, Pub, Pull, Push, RecvSocketType, Rep, Req, Router, SendSocketType, Socket,
    SocketType, Sub, XPub, XSub,
};
pub use zmio_proto::{Msg, ProtocolError, SocketKind};
