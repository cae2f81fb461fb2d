//! zmio-proto: ZMTP 3.1 (RFC 37, accepting RFC 23's 3.0 peers) as a sans-IO
//! state machine: bytes in, events out, bytes to transmit, time passed in.
//! Nothing here touches a socket, a clock or a thread; the `zmio` crate
//! drives it over mio, and a test drives it over byte queues.
//!
//! Modules, bottom up: [`wire`] constants and limits; [`greeting`];
//! [`frame`] (decoder and encoder); [`metadata`] and [`command`] codecs;
//! [`subscription`] messages; [`mechanism`] handshakes and traffic
//! transforms; [`zap`] the authenticator's request and reply (RFC 27);
//! [`transmit`] (the encoder behind the transform); [`timer`] settings;
//! [`connection`] ties them together. [`SocketKind`] is RFC 23's
//! socket types and their compatibility matrix; [`Msg`] a multipart
//! message; [`ProtocolError`] what a peer did wrong.
//!
//! Two connections joined in memory, the way a test pump does it:
//!
//! ```
//! use std::time::Instant;
//! use bytes::BytesMut;
//! use zmio_proto::{Connection, ConnectionConfig, Event, Msg, SocketKind};
//!
//! let now = Instant::now();
//! let mut push = Connection::new(ConnectionConfig::new(SocketKind::Push), now);
//! let mut pull = Connection::new(ConnectionConfig::new(SocketKind::Pull), now);
//! let (mut to_push, mut to_pull) = (BytesMut::new(), BytesMut::new());
//! let mut sent = false;
//! let mut received = None;
//! for _ in 0..4 {
//!     if push.is_ready() && !sent {
//!         push.send_message(&Msg::from("hello"));
//!         sent = true;
//!     }
//!     push.drain_transmit(&mut to_pull);
//!     pull.drain_transmit(&mut to_push);
//!     push.handle_input(&mut to_push, now).unwrap();
//!     pull.handle_input(&mut to_pull, now).unwrap();
//!     while let Some(event) = pull.poll_event() {
//!         if let Event::Message(msg) = event {
//!             received = Some(msg);
//!         }
//!     }
//! }
//! assert_eq!(received, Some(Msg::from("hello")));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations)]
// Nothing a peer controls may panic the protocol: no unwrap or expect
// outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod command;
pub mod connection;
mod error;
pub mod frame;
pub mod greeting;
pub mod mechanism;
pub mod metadata;
mod msg;
mod socket_type;
pub mod subscription;
pub mod timer;
pub mod transmit;
pub mod wire;
pub mod zap;

pub use connection::{Connection, ConnectionConfig, Event, PeerInfo};
pub use error::ProtocolError;
pub use frame::{Decoded, Encoder, Frame, FrameDecoder};
pub use msg::Msg;
pub use socket_type::SocketKind;
pub use timer::{Timeout, Timing};
