//! ZMTP commands: one type per command, each with `decode` (from the command
//! data, the body after the name) and `encode` (onto any [`FrameSink`]).
//!
//! ```text
//! command-body = command-name command-data
//! command-name = short-size 1*255command-name-char
//! ```
//!
//! Names are compared case-sensitively, as libzmq does.

use bytes::Bytes;

use crate::ProtocolError;

use super::frame::FrameSink;
use super::metadata::{self, Properties};
use super::wire::MAX_PING_CONTEXT;

/// A command body split into its name and data (zero copy).
///
/// ```
/// use bytes::Bytes;
/// use zmio_proto::command::RawCommand;
/// let raw = RawCommand::parse(Bytes::from_static(b"\x04PINGdata")).unwrap();
/// assert_eq!(&raw.name[..], b"PING");
/// assert_eq!(&raw.data[..], b"data");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawCommand {
    /// The command name (`READY`, `PING`, ...).
    pub name: Bytes,
    /// Everything after the name.
    pub data: Bytes,
}

impl RawCommand {
    /// Splits a command frame's body.
    pub fn parse(body: Bytes) -> Result<RawCommand, ProtocolError> {
        // "command-name = short-size 1*255command-name-char": the name-size
        // octet and the name lie inside the body, and the name is not empty.
        let Some(&name_len) = body.first() else {
            return Err(ProtocolError::MalformedCommand("empty command body"));
        };
        let name_len = usize::from(name_len);
        if name_len == 0 {
            return Err(ProtocolError::MalformedCommand("empty command name"));
        }
        if name_len > body.len() - 1 {
            return Err(ProtocolError::MalformedCommand(
                "command name runs past the end of the frame",
            ));
        }
        Ok(RawCommand {
            name: body.slice(1..1 + name_len),
            data: body.slice(1 + name_len..),
        })
    }

    /// The name, lossily decoded, for errors and logs.
    pub fn display_name(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// READY: the NULL mechanism's handshake command, carrying metadata.
///
/// ```text
/// ready = command-size %d5 "READY" metadata
/// ```
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use zmio_proto::Encoder;
/// use zmio_proto::command::{RawCommand, Ready};
/// let ready = Ready { socket_type: Bytes::from_static(b"PUSH"), identity: None };
/// let mut enc = Encoder::new();
/// ready.encode(&mut enc);
/// let mut wire = BytesMut::new();
/// enc.drain_into(&mut wire);
/// // A short command frame: flags, size, then the body.
/// let raw = RawCommand::parse(wire.freeze().slice(2..)).unwrap();
/// assert_eq!(Ready::decode(&raw.data).unwrap(), ready);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ready {
    /// The `Socket-Type` property, as sent (not yet checked against the known
    /// names: an unknown one is an incompatibility, reported by the caller).
    pub socket_type: Bytes,
    /// The `Identity` property, if present (possibly empty).
    pub identity: Option<Bytes>,
}

impl Ready {
    /// Command name.
    pub const NAME: &'static [u8] = b"READY";
    const SOCKET_TYPE: &'static str = "Socket-Type";
    const IDENTITY: &'static str = "Identity";

    /// Decodes READY's metadata.
    pub fn decode(data: &Bytes) -> Result<Ready, ProtocolError> {
        let mut socket_type: Option<Bytes> = None;
        let mut identity: Option<Bytes> = None;
        for property in Properties::new(data) {
            let (name, value) = property?;
            // "The case (upper or lower) of names SHALL NOT be significant."
            if name.eq_ignore_ascii_case(Self::SOCKET_TYPE.as_bytes()) {
                // One socket type per peer: a second, different one is a lie.
                if socket_type.as_ref().is_some_and(|st| st[..] != *value) {
                    return Err(ProtocolError::MalformedMetadata(
                        "conflicting Socket-Type properties",
                    ));
                }
                socket_type = Some(data.slice_ref(value));
            } else if name.eq_ignore_ascii_case(Self::IDENTITY.as_bytes()) {
                if identity.as_ref().is_some_and(|id| id[..] != *value) {
                    return Err(ProtocolError::MalformedMetadata(
                        "conflicting Identity properties",
                    ));
                }
                identity = Some(data.slice_ref(value));
            } else {
                // Other properties (X-*, Resource, ...) are not used.
                log::trace!("ignoring READY property {}", String::from_utf8_lossy(name));
            }
        }
        // "The sender SHOULD specify the Socket-Type"; we need it to check
        // compatibility, as libzmq does.
        let Some(socket_type) = socket_type else {
            return Err(ProtocolError::MalformedMetadata(
                "READY without a Socket-Type property",
            ));
        };
        Ok(Ready {
            socket_type,
            identity,
        })
    }

    /// Queues READY.
    pub fn encode(&self, enc: &mut impl FrameSink) {
        enc.push_command(Self::NAME, &[&self.metadata()]);
    }

    /// The metadata block alone, for the commands that carry the same
    /// properties under another name (PLAIN's INITIATE).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use zmio_proto::command::Ready;
    /// let ready = Ready { socket_type: Bytes::from_static(b"PUSH"), identity: None };
    /// assert_eq!(Ready::decode(&Bytes::from(ready.metadata())).unwrap(), ready);
    /// ```
    pub fn metadata(&self) -> Vec<u8> {
        let mut props: Vec<(&str, &[u8])> = vec![(Self::SOCKET_TYPE, &self.socket_type)];
        if let Some(id) = &self.identity {
            props.push((Self::IDENTITY, id));
        }
        metadata::encode(&props)
    }
}

/// ERROR: a fatal error from the peer, with a reason to log.
///
/// ```text
/// error = command-size %d5 "ERROR" error-reason
/// error-reason = short-size 0*255VCHAR
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorCommand {
    /// The reason, as sent.
    pub reason: Bytes,
}

impl ErrorCommand {
    /// Command name.
    pub const NAME: &'static [u8] = b"ERROR";

    /// Decodes the reason.
    pub fn decode(data: &Bytes) -> Result<ErrorCommand, ProtocolError> {
        // error-reason = short-size 0*255VCHAR: the size octet is there and
        // the reason fits in the command.
        let Some(&len) = data.first() else {
            return Err(ProtocolError::MalformedCommand(
                "ERROR without a reason size",
            ));
        };
        let len = usize::from(len);
        if len > data.len() - 1 {
            return Err(ProtocolError::MalformedCommand(
                "ERROR reason runs past the end of the command",
            ));
        }
        Ok(ErrorCommand {
            reason: data.slice(1..1 + len),
        })
    }

    /// Queues ERROR; a reason over 255 octets is truncated.
    pub fn encode(&self, enc: &mut impl FrameSink) {
        let reason = &self.reason[..self.reason.len().min(255)];
        enc.push_command(Self::NAME, &[&[reason.len() as u8], reason]);
    }

    /// The reason, lossily decoded.
    pub fn reason_lossy(&self) -> String {
        String::from_utf8_lossy(&self.reason).into_owned()
    }
}

/// PING: a heartbeat request (ZMTP 3.1).
///
/// ```text
/// ping = command-size %d4 "PING" ping-ttl ping-context
/// ping-ttl = 2OCTET
/// ping-context = 0*16OCTET
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ping {
    /// Time to live in tenths of seconds (0: none).
    pub ttl: u16,
    /// The context to echo, at most 16 octets.
    pub context: Bytes,
}

impl Ping {
    /// Command name.
    pub const NAME: &'static [u8] = b"PING";

    /// Decodes a PING. A context over 16 octets is cut to 16, so that the
    /// PONG we echo obeys "MUST not exceed 16 octets".
    pub fn decode(data: &Bytes) -> Result<Ping, ProtocolError> {
        // ping-ttl = 2OCTET: the TTL is mandatory.
        let Some(ttl) = data.get(..2) else {
            return Err(ProtocolError::MalformedCommand(
                "PING shorter than its 2-octet TTL",
            ));
        };
        let ttl = u16::from_be_bytes([ttl[0], ttl[1]]);
        let end = data.len().min(2 + MAX_PING_CONTEXT);
        Ok(Ping {
            ttl,
            context: data.slice(2..end),
        })
    }

    /// Queues PING (a context over 16 octets is cut to 16).
    pub fn encode(&self, enc: &mut impl FrameSink) {
        let context = &self.context[..self.context.len().min(MAX_PING_CONTEXT)];
        enc.push_command(Self::NAME, &[&self.ttl.to_be_bytes(), context]);
    }
}

/// PONG: the reply to PING, echoing its context.
///
/// ```text
/// pong = command-size %d4 "PONG" ping-context
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pong {
    /// The echoed context.
    pub context: Bytes,
}

impl Pong {
    /// Command name.
    pub const NAME: &'static [u8] = b"PONG";

    /// Decodes a PONG (any data is accepted: we never act on it).
    pub fn decode(data: &Bytes) -> Pong {
        Pong {
            context: data.clone(),
        }
    }

    /// Queues PONG. "When a peer receives a PING command it SHALL respond with
    /// a PONG command that echoes the ping-context, which ... MUST not exceed
    /// 16 octets."
    pub fn encode(&self, enc: &mut impl FrameSink) {
        let context = &self.context[..self.context.len().min(MAX_PING_CONTEXT)];
        enc.push_command(Self::NAME, &[context]);
    }
}

/// SUBSCRIBE: a subscriber asks for messages starting with `topic` (ZMTP 3.1).
///
/// ```text
/// subscribe = command-size %d9 "SUBSCRIBE" subscription
/// subscription = *OCTET
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscribe {
    /// The subscription prefix (may be empty: everything).
    pub topic: Bytes,
}

impl Subscribe {
    /// Command name.
    pub const NAME: &'static [u8] = b"SUBSCRIBE";

    /// Decodes a SUBSCRIBE: every octet of the data is the topic.
    pub fn decode(data: &Bytes) -> Subscribe {
        Subscribe {
            topic: data.clone(),
        }
    }

    /// Queues SUBSCRIBE.
    pub fn encode(&self, enc: &mut impl FrameSink) {
        enc.push_command(Self::NAME, &[&self.topic]);
    }
}

/// CANCEL: a subscriber withdraws one subscription to `topic` (ZMTP 3.1).
///
/// ```text
/// cancel = command-size %d6 "CANCEL" subscription
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cancel {
    /// The subscription prefix to cancel.
    pub topic: Bytes,
}

impl Cancel {
    /// Command name.
    pub const NAME: &'static [u8] = b"CANCEL";

    /// Decodes a CANCEL: every octet of the data is the topic.
    pub fn decode(data: &Bytes) -> Cancel {
        Cancel {
            topic: data.clone(),
        }
    }

    /// Queues CANCEL.
    pub fn encode(&self, enc: &mut impl FrameSink) {
        enc.push_command(Self::NAME, &[&self.topic]);
    }
}

/// Any command, decoded by name.
///
/// ```
/// use bytes::Bytes;
/// use zmio_proto::command::{Command, RawCommand};
/// let raw = RawCommand::parse(Bytes::from_static(b"\x06CANCELnews")).unwrap();
/// assert!(matches!(Command::decode(raw), Ok(Command::Cancel(c)) if &c.topic[..] == b"news"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// READY.
    Ready(Ready),
    /// ERROR.
    Error(ErrorCommand),
    /// PING.
    Ping(Ping),
    /// PONG.
    Pong(Pong),
    /// SUBSCRIBE.
    Subscribe(Subscribe),
    /// CANCEL.
    Cancel(Cancel),
    /// A command we do not know (mechanism-specific, JOIN/LEAVE, future ones).
    Unknown(RawCommand),
}

impl Command {
    /// Decodes a command by its (case-sensitive) name.
    pub fn decode(raw: RawCommand) -> Result<Command, ProtocolError> {
        Ok(match &raw.name[..] {
            Ready::NAME => Command::Ready(Ready::decode(&raw.data)?),
            ErrorCommand::NAME => Command::Error(ErrorCommand::decode(&raw.data)?),
            Ping::NAME => Command::Ping(Ping::decode(&raw.data)?),
            Pong::NAME => Command::Pong(Pong::decode(&raw.data)),
            Subscribe::NAME => Command::Subscribe(Subscribe::decode(&raw.data)),
            Cancel::NAME => Command::Cancel(Cancel::decode(&raw.data)),
            _ => Command::Unknown(raw),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Encoder;
    use std::io::IoSlice;

    fn encoded(f: impl FnOnce(&mut Encoder)) -> Vec<u8> {
        let mut enc = Encoder::new();
        f(&mut enc);
        let mut slots = [IoSlice::new(&[]); 4];
        let n = enc.slices(&mut slots);
        slots[..n].iter().flat_map(|s| s.iter().copied()).collect()
    }

    fn raw(body: &'static [u8]) -> Result<RawCommand, ProtocolError> {
        RawCommand::parse(Bytes::from_static(body))
    }

    #[test]
    fn command_body_splits_into_name_and_data() {
        let r = raw(b"\x04PINGxyz").unwrap();
        assert_eq!(&r.name[..], b"PING");
        assert_eq!(&r.data[..], b"xyz");
        let r = raw(b"\x04PONG").unwrap();
        assert!(r.data.is_empty());
    }

    #[test]
    fn command_name_size_octet_must_be_inside_the_body() {
        assert!(matches!(raw(b""), Err(ProtocolError::MalformedCommand(_))));
    }

    #[test]
    fn command_name_must_fit_inside_the_body() {
        assert!(matches!(
            raw(b"\x05PING"),
            Err(ProtocolError::MalformedCommand(_))
        ));
        assert!(matches!(
            raw(b"\xffX"),
            Err(ProtocolError::MalformedCommand(_))
        ));
    }

    #[test]
    fn command_name_has_at_least_one_char() {
        assert!(matches!(
            raw(b"\x00data"),
            Err(ProtocolError::MalformedCommand(_))
        ));
    }

    #[test]
    fn names_are_case_sensitive() {
        let c = Command::decode(raw(b"\x04ping\x00\x00").unwrap()).unwrap();
        assert!(matches!(c, Command::Unknown(_)));
    }

    #[test]
    fn ready_round_trips_as_byte_literal() {
        let ready = Ready {
            socket_type: Bytes::from_static(b"DEALER"),
            identity: Some(Bytes::from_static(b"id")),
        };
        let wire = encoded(|e| ready.encode(e));
        let want: &[u8] =
            b"\x04\x2b\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER\x08Identity\x00\x00\x00\x02id";
        assert_eq!(wire, want);
        let r = RawCommand::parse(Bytes::copy_from_slice(&wire[2..])).unwrap();
        assert_eq!(Command::decode(r).unwrap(), Command::Ready(ready));
    }

    #[test]
    fn property_names_are_case_insensitive() {
        let data = Bytes::from(metadata::encode(&[
            ("SOCKET-TYPE", b"PUB"),
            ("identity", b"x"),
        ]));
        let r = Ready::decode(&data).unwrap();
        assert_eq!(&r.socket_type[..], b"PUB");
        assert_eq!(r.identity.as_deref(), Some(&b"x"[..]));
    }

    #[test]
    fn conflicting_socket_types_are_refused() {
        let data = Bytes::from(metadata::encode(&[
            ("Socket-Type", b"PUB"),
            ("socket-type", b"SUB"),
        ]));
        assert!(matches!(
            Ready::decode(&data),
            Err(ProtocolError::MalformedMetadata(_))
        ));
        // The same value twice is not a conflict.
        let data = Bytes::from(metadata::encode(&[
            ("Socket-Type", b"PUB"),
            ("Socket-Type", b"PUB"),
        ]));
        assert!(Ready::decode(&data).is_ok());
    }

    #[test]
    fn ready_needs_a_socket_type() {
        let data = Bytes::from(metadata::encode(&[("Identity", b"x")]));
        assert!(matches!(
            Ready::decode(&data),
            Err(ProtocolError::MalformedMetadata(_))
        ));
    }

    #[test]
    fn unknown_properties_are_ignored() {
        let data = Bytes::from(metadata::encode(&[
            ("X-Foo", b"bar"),
            ("Socket-Type", b"PULL"),
            ("Resource", b""),
        ]));
        let r = Ready::decode(&data).unwrap();
        assert_eq!(&r.socket_type[..], b"PULL");
        assert_eq!(r.identity, None);
    }

    #[test]
    fn error_reason_byte_literal() {
        let e = ErrorCommand {
            reason: Bytes::from_static(b"Invalid socket type"),
        };
        let wire = encoded(|enc| e.encode(enc));
        assert_eq!(wire, b"\x04\x1a\x05ERROR\x13Invalid socket type");
        assert_eq!(
            ErrorCommand::decode(&Bytes::copy_from_slice(&wire[8..])).unwrap(),
            e
        );
    }

    #[test]
    fn error_reason_must_fit() {
        assert!(ErrorCommand::decode(&Bytes::from_static(b"")).is_err());
        assert!(ErrorCommand::decode(&Bytes::from_static(b"\x05abc")).is_err());
        assert_eq!(
            ErrorCommand::decode(&Bytes::from_static(b"\x00"))
                .unwrap()
                .reason
                .len(),
            0
        );
    }

    #[test]
    fn ping_carries_a_2_octet_ttl() {
        assert!(matches!(
            Ping::decode(&Bytes::from_static(b"\x01")),
            Err(ProtocolError::MalformedCommand(_))
        ));
        let p = Ping::decode(&Bytes::from_static(b"\x01\x02ctx")).unwrap();
        assert_eq!(p.ttl, 0x0102);
        assert_eq!(&p.context[..], b"ctx");
    }

    #[test]
    fn ping_context_over_16_octets_is_cut_to_16() {
        let p = Ping::decode(&Bytes::from_static(b"\x00\x00abcdefghijklmnopqrstuvwxyz")).unwrap();
        assert_eq!(&p.context[..], b"abcdefghijklmnop");
    }

    #[test]
    fn ping_pong_byte_literals() {
        let ping = Ping {
            ttl: 10,
            context: Bytes::from_static(b"c"),
        };
        assert_eq!(encoded(|e| ping.encode(e)), b"\x04\x08\x04PING\x00\x0ac");
        let pong = Pong {
            context: Bytes::from_static(b"c"),
        };
        assert_eq!(encoded(|e| pong.encode(e)), b"\x04\x06\x04PONGc");
    }

    #[test]
    fn subscribe_cancel_byte_literals() {
        let s = Subscribe {
            topic: Bytes::from_static(b"ab"),
        };
        assert_eq!(encoded(|e| s.encode(e)), b"\x04\x0c\x09SUBSCRIBEab");
        let c = Cancel {
            topic: Bytes::new(),
        };
        assert_eq!(encoded(|e| c.encode(e)), b"\x04\x07\x06CANCEL");
        let r = RawCommand::parse(Bytes::from_static(b"\x09SUBSCRIBEab")).unwrap();
        assert_eq!(Command::decode(r).unwrap(), Command::Subscribe(s));
    }
}
