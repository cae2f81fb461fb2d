//! Socket types as routing policies over the shared strategies.

mod kind;

pub use kind::SocketKind;
