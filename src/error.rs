//! Errors: one public [`Error`] for everything a caller can hit. What a peer
//! did wrong on the wire is `zmio_proto`'s [`ProtocolError`](crate::ProtocolError):
//! it costs only that peer's connection and never surfaces from `send`/`recv`.

use std::io;

/// Result alias for zmio calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a zmio call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The endpoint string does not parse.
    #[error("invalid endpoint `{endpoint}`: {reason}")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The endpoint names a transport zmio does not speak (yet).
    #[error("unsupported transport in `{0}`: zmio speaks tcp://, ipc:// and inproc://")]
    UnsupportedTransport(String),
    /// Binding failed because something already listens there.
    #[error(
        "address in use: {0} (another socket is bound there; pick another port, or port `*` for an ephemeral one)"
    )]
    AddrInUse(String),
    /// An ipc bind to a path where something other than a socket exists (a
    /// regular file, a directory, a symbolic link, ...). zmio replaces only
    /// a stale socket file, never anything else.
    #[error(
        "cannot bind {endpoint}: the path exists and is {found}, not a socket; remove it or choose another path"
    )]
    NotASocket {
        /// The endpoint as given.
        endpoint: String,
        /// What is there: "a regular file", "a directory", ...
        found: &'static str,
    },
    /// Binding failed because the address is not local to this machine.
    #[error("address not available: {0} (it is not an address of this machine)")]
    AddrNotAvailable(String),
    /// A host name did not resolve.
    #[error("cannot resolve `{0}`")]
    Resolve(String),
    /// An option value is out of range or malformed.
    #[error("invalid value for option {option}: {reason}")]
    InvalidOption {
        /// The option, named as in libzmq (`ZMQ_SNDHWM`, ...).
        option: &'static str,
        /// Why the value was refused.
        reason: String,
    },
    /// The call is not allowed now, e.g. REQ `recv` before `send`.
    #[error("operation not valid in the socket's current state: {0}")]
    InvalidState(&'static str),
    /// `unbind`/`disconnect` of an endpoint the socket is not bound or connected to.
    #[error("endpoint not in use by this socket: {0}")]
    EndpointNotFound(String),
    /// A non-blocking call could not complete now (no peer ready, queues full,
    /// or no message waiting). Retry later.
    #[error("operation would block: no peer is ready (queues full or empty); retry later")]
    WouldBlock,
    /// The send or receive timeout expired.
    #[error("timed out waiting for a peer (send/receive timeout expired)")]
    TimedOut,
    /// A ROUTER with `router_mandatory` was asked to send to a routing id no
    /// connected peer has (the id is shown in hex).
    #[error(
        "no peer with routing id {0} (hex) is connected to this ROUTER; check the first frame names a peer it received from, or turn router_mandatory off to drop such messages"
    )]
    HostUnreachable(String),
    /// An inproc connect to a socket whose type cannot talk to this one's
    /// (RFC 23's compatibility table, e.g. PUSH to PUB).
    #[error("cannot connect a {ours} socket to the {theirs} socket bound at {endpoint}")]
    IncompatibleSocketType {
        /// The endpoint connected to.
        endpoint: String,
        /// This socket's type.
        ours: crate::SocketKind,
        /// The bound socket's type.
        theirs: crate::SocketKind,
    },
    /// An operating system error.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        let kind = match &err {
            Error::InvalidEndpoint { .. }
            | Error::UnsupportedTransport(_)
            | Error::InvalidOption { .. }
            | Error::IncompatibleSocketType { .. } => io::ErrorKind::InvalidInput,
            Error::AddrInUse(_) => io::ErrorKind::AddrInUse,
            Error::NotASocket { .. } => io::ErrorKind::AlreadyExists,
            Error::AddrNotAvailable(_) => io::ErrorKind::AddrNotAvailable,
            Error::Resolve(_) => io::ErrorKind::NotFound,
            Error::InvalidState(_) => io::ErrorKind::Unsupported,
            Error::EndpointNotFound(_) => io::ErrorKind::NotFound,
            Error::WouldBlock => io::ErrorKind::WouldBlock,
            Error::TimedOut => io::ErrorKind::TimedOut,
            Error::HostUnreachable(_) => io::ErrorKind::NotConnected,
            Error::Io(e) => return io::Error::new(e.kind(), err),
        };
        io::Error::new(kind, err)
    }
}
