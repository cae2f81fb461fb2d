//! ZMTP 3.1 (RFC 37, accepting RFC 23's 3.0 peers) as a sans-IO state machine:
//! bytes in, events out, bytes to transmit. Nothing here touches a socket,
//! a clock or a thread.
//!
//! Layers, bottom up: [`wire`] constants and limits; [`greeting`]; [`frame`]
//! (decoder and transmit queue); [`metadata`] and [`command`] codecs;
//! [`mechanism`] handshakes; [`timer`] deadlines; [`connection`] ties them
//! together. The time is always passed in.

pub(crate) mod command;
pub(crate) mod connection;
pub(crate) mod frame;
mod greeting;
mod mechanism;
pub(crate) mod metadata;
pub(crate) mod timer;
mod wire;

pub(crate) use connection::{Connection, ConnectionConfig, Event, PeerInfo};
pub(crate) use frame::Encoder;
pub(crate) use timer::{TimedOut, Timing};
