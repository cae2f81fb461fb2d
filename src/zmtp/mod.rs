//! ZMTP 3.1 (RFC 37, accepting RFC 23's 3.0 peers) as a sans-IO state machine:
//! bytes in, events out, bytes to transmit. Nothing here touches a socket,
//! a clock or a thread.

pub(crate) mod connection;

pub(crate) use connection::{Connection, ConnectionConfig, Event, PeerInfo};
