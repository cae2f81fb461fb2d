//! The I/O layer: the mio reactor that owns every network source, the
//! sessions and engines it runs (a byte stream joined to a
//! `zmio_proto::Connection` and a pipe), and the transports. Sockets reach it
//! only through the reactor's command queue and the pipes' sinks.

pub(crate) mod engine;
pub(crate) mod reactor;
pub(crate) mod session;
pub(crate) mod threads;
pub(crate) mod transport;
