//! zmio: brokerless ZeroMQ-compatible messaging sockets in pure Rust.
#![forbid(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations)]

mod error;
mod msg;
mod socket_types;
mod zmtp;

pub use error::{Error, ProtocolError, Result};
pub use msg::Msg;
pub use socket_types::SocketKind;
