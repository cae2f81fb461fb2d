//! [`ProtocolError`]: what a peer did wrong on the wire, or why it cannot talk
//! to us. It ends that one connection and never anything else.

/// What a peer did wrong, or why it cannot talk to us. Ends that connection only.
///
/// ```
/// use bytes::BytesMut;
/// use std::time::Instant;
/// use zmio_proto::{Connection, ConnectionConfig, ProtocolError, SocketKind};
/// let mut conn = Connection::new(ConnectionConfig::new(SocketKind::Pull), Instant::now());
/// let mut http = BytesMut::from(&b"GET / HTTP/1.1\r\n"[..]);
/// assert_eq!(conn.handle_input(&mut http, Instant::now()), Err(ProtocolError::BadSignature));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The first bytes are not a ZMTP 3 greeting (HTTP, TLS, ZMTP 1.0, garbage).
    #[error("not a ZMTP 3 peer: bad greeting signature")]
    BadSignature,
    /// The peer speaks a ZMTP version we do not (below 3.0).
    #[error("unsupported ZMTP version {major}.{minor}")]
    UnsupportedVersion {
        /// Major version the peer announced.
        major: u8,
        /// Minor version the peer announced.
        minor: u8,
    },
    /// The peer wants a security mechanism other than ours.
    #[error("security mechanism mismatch: we use {ours}, the peer asked for {theirs}")]
    MechanismMismatch {
        /// Our mechanism name.
        ours: &'static str,
        /// The peer's mechanism, lossily decoded.
        theirs: String,
    },
    /// A frame's flags byte has reserved bits set.
    #[error("frame flags {0:#04x} have reserved bits set")]
    ReservedFlags(u8),
    /// A message is larger than the socket's maximum message size.
    #[error("message of at least {size} bytes exceeds the maximum message size {max}")]
    MessageTooLarge {
        /// Bytes claimed so far.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// A command frame is larger than we buffer (commands are parsed whole).
    #[error("command of {size} bytes exceeds the command size limit {max}")]
    CommandTooLarge {
        /// Size the command frame claimed.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// The handshake metadata (the peer's READY) is larger than we accept.
    #[error("handshake metadata of {size} bytes exceeds the limit {max}")]
    MetadataTooLarge {
        /// Size the peer's command claimed.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// A multipart message has more frames than we accept.
    #[error("message has more than {max} frames")]
    TooManyFrames {
        /// The limit.
        max: usize,
    },
    /// A command frame is malformed.
    #[error("malformed command: {0}")]
    MalformedCommand(&'static str),
    /// The READY metadata is malformed.
    #[error("malformed metadata: {0}")]
    MalformedMetadata(&'static str),
    /// A command arrived where the handshake does not allow it.
    #[error("unexpected command `{0}` during the handshake")]
    UnexpectedCommand(String),
    /// A message frame arrived before the handshake completed.
    #[error("message frame before the handshake completed")]
    MessageBeforeReady,
    /// The peer's socket type cannot talk to ours.
    #[error("incompatible socket types: we are {ours}, the peer is {theirs}")]
    IncompatibleSocketType {
        /// Our socket type.
        ours: crate::SocketKind,
        /// The peer's announced socket type, lossily decoded.
        theirs: String,
    },
    /// The authenticator refused the peer (its status text).
    #[error("authentication failed: {0}")]
    AuthenticationFailed(String),
    /// An authenticator's reply came when the connection was not waiting
    /// for one (a driver error, not the peer's).
    #[error("an authentication reply came while none was awaited")]
    UnexpectedAuthReply,
    /// A frame arrived while the authenticator was deciding about the peer,
    /// which must wait for our answer.
    #[error("frame from the peer while its authentication was pending")]
    FrameDuringAuthentication,
    /// The peer closed the handshake with an ERROR command.
    #[error("peer sent ERROR: {0}")]
    PeerError(String),
}
