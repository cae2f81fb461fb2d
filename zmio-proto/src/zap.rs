//! The ZAP codec (RFC 27, "ZeroMQ Authentication Protocol"): the frames of
//! an authentication request and of its reply, both ways, sans-IO.
//!
//! A server whose mechanism asks about a peer ([`Event::Authenticate`])
//! sends a [`ZapRequest`] to the handler bound at [`ZAP_ENDPOINT`] and feeds
//! the [`ZapReply`]'s [`AuthReply`] to
//! [`Connection::handle_auth`](crate::Connection::handle_auth). A handler
//! decodes requests and encodes replies with the same types. The frames here
//! are those after the empty delimiter a REQ or DEALER puts first (a REP
//! handler sees exactly these).
//!
//! ```text
//! zap-request = version request-id domain address identity mechanism *credentials
//! zap-reply   = version request-id status-code status-text user-id metadata
//! version     = "1.0"
//! status-code = "200" / "300" / "400" / "500"
//! ```
//!
//! What libzmq 4.3.5 puts in a request (its `zap_client.cpp`): request id
//! `"1"`; the socket's ZAP domain; the peer's IP address (no port) as the
//! address; as the identity, the routing id of the *server's own* socket
//! (its `ZMQ_ROUTING_ID`), not the peer's, which is unknown until INITIATE;
//! for PLAIN the user name and password as two credential frames. It
//! refuses a reply with another version or request id, a status code other
//! than the four, or malformed metadata, and closes the connection then
//! without an ERROR.
//!
//! [`Event::Authenticate`]: crate::Event::Authenticate

use std::fmt;

use bytes::Bytes;

use crate::mechanism::{AuthReply, AuthRequest};
use crate::metadata::{self, Properties};

/// Where a ZAP handler binds, and where a server sends its requests.
///
/// ```
/// assert!(zmio_proto::zap::ZAP_ENDPOINT.starts_with("inproc://"));
/// ```
pub const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";

/// The one ZAP version: the first frame of every request and reply.
///
/// ```
/// assert_eq!(zmio_proto::zap::VERSION, b"1.0");
/// ```
pub const VERSION: &[u8] = b"1.0";

/// Frames of a request before its credentials.
const REQUEST_FIXED_FRAMES: usize = 6;
/// Frames of a reply.
const REPLY_FRAMES: usize = 6;

/// A ZAP message that cannot be taken (or built) as it is.
///
/// ```
/// use bytes::Bytes;
/// use zmio_proto::zap::{ZapError, ZapReply};
/// let frames = vec![Bytes::from_static(b"2.0")];
/// assert_eq!(ZapReply::decode(&frames, b"1"), Err(ZapError::FrameCount { expected: 6, got: 1 }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ZapError {
    /// A reply has other than 6 frames, or a request fewer than 6.
    #[error("ZAP message has {got} frames, expected {expected}")]
    FrameCount {
        /// The frames a reply has (or a request at least has).
        expected: usize,
        /// The frames there were.
        got: usize,
    },
    /// The version frame is not `"1.0"`.
    #[error("ZAP version is not 1.0")]
    BadVersion,
    /// The reply answers another request.
    #[error("ZAP reply's request id does not match the request's")]
    RequestIdMismatch,
    /// The status code is not one of `200`, `300`, `400`, `500`.
    #[error("ZAP status code is not 200, 300, 400 or 500")]
    InvalidStatusCode,
    /// The reply's metadata frame is malformed, or a name to encode is not
    /// 1 to 255 octets.
    #[error("ZAP metadata is malformed: {0}")]
    MalformedMetadata(&'static str),
}

/// One ZAP request: which peer, presenting what, to which mechanism.
/// `Debug` shows how many credentials there are, never what they hold.
///
/// ```
/// use bytes::Bytes;
/// use zmio_proto::zap::ZapRequest;
///
/// let request = ZapRequest {
///     request_id: Bytes::from_static(b"1"),
///     domain: Bytes::from_static(b"global"),
///     address: Bytes::from_static(b"127.0.0.1"),
///     routing_id: Bytes::new(),
///     mechanism: Bytes::from_static(b"PLAIN"),
///     credentials: vec![Bytes::from_static(b"admin"), Bytes::from_static(b"secret")],
/// };
/// let frames = request.encode();
/// assert_eq!(frames.len(), 8);
/// assert_eq!(ZapRequest::decode(&frames), Ok(request.clone()));
/// assert!(!format!("{request:?}").contains("secret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ZapRequest {
    /// Chosen by the server, echoed by the reply (libzmq: `"1"`).
    pub request_id: Bytes,
    /// The server socket's ZAP domain (may be empty).
    pub domain: Bytes,
    /// The peer's address (libzmq: its IP address, without the port).
    pub address: Bytes,
    /// RFC 27's "identity" frame; libzmq sends the routing id of the
    /// server's own socket here.
    pub routing_id: Bytes,
    /// The mechanism asking (`"NULL"`, `"PLAIN"`, `"CURVE"`).
    pub mechanism: Bytes,
    /// What the peer presented: PLAIN's user name and password, CURVE's
    /// public key, none for NULL.
    pub credentials: Vec<Bytes>,
}

impl ZapRequest {
    /// The request for what a mechanism asked (`auth`), with the fields
    /// only the socket knows.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use zmio_proto::Event;
    /// use zmio_proto::zap::ZapRequest;
    ///
    /// // What a server's socket layer does with a connection's event.
    /// fn ask(event: Event, peer_ip: &str) -> Option<Vec<Bytes>> {
    ///     let Event::Authenticate(auth) = event else { return None };
    ///     let request = ZapRequest::for_auth(
    ///         &auth,
    ///         Bytes::from_static(b"1"),
    ///         Bytes::new(),
    ///         Bytes::copy_from_slice(peer_ip.as_bytes()),
    ///         Bytes::new(),
    ///     );
    ///     Some(request.encode())
    /// }
    /// assert_eq!(ask(Event::Message("hi".into()), "127.0.0.1"), None);
    /// ```
    pub fn for_auth(
        auth: &AuthRequest,
        request_id: Bytes,
        domain: Bytes,
        address: Bytes,
        routing_id: Bytes,
    ) -> ZapRequest {
        ZapRequest {
            request_id,
            domain,
            address,
            routing_id,
            mechanism: Bytes::from_static(auth.mechanism.as_bytes()),
            // Cheap reference-counted clones of the HELLO's slices.
            credentials: auth.credentials.clone(),
        }
    }

    /// The request's frames, in order, without the delimiter.
    pub fn encode(&self) -> Vec<Bytes> {
        let mut frames = Vec::with_capacity(REQUEST_FIXED_FRAMES + self.credentials.len());
        frames.extend([
            Bytes::from_static(VERSION),
            self.request_id.clone(),
            self.domain.clone(),
            self.address.clone(),
            self.routing_id.clone(),
            self.mechanism.clone(),
        ]);
        frames.extend(self.credentials.iter().cloned());
        frames
    }

    /// A handler's side: the request in `frames` (without the delimiter).
    pub fn decode(frames: &[Bytes]) -> Result<ZapRequest, ZapError> {
        let [
            version,
            request_id,
            domain,
            address,
            routing_id,
            mechanism,
            credentials @ ..,
        ] = frames
        else {
            return Err(ZapError::FrameCount {
                expected: REQUEST_FIXED_FRAMES,
                got: frames.len(),
            });
        };
        if version[..] != *VERSION {
            return Err(ZapError::BadVersion);
        }
        Ok(ZapRequest {
            request_id: request_id.clone(),
            domain: domain.clone(),
            address: address.clone(),
            routing_id: routing_id.clone(),
            mechanism: mechanism.clone(),
            credentials: credentials.to_vec(),
        })
    }

    /// The reply to this request carrying `reply` (a handler's answer),
    /// with no metadata.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use zmio_proto::mechanism::AuthReply;
    /// use zmio_proto::zap::{ZapReply, ZapRequest};
    /// let request = ZapRequest {
    ///     request_id: Bytes::from_static(b"7"), domain: Bytes::new(), address: Bytes::new(),
    ///     routing_id: Bytes::new(), mechanism: Bytes::from_static(b"NULL"), credentials: vec![],
    /// };
    /// let ok = AuthReply { status_code: 200, status_text: "OK".into(), user_id: "anon".into() };
    /// let frames = request.reply(ok.clone()).encode().unwrap();
    /// assert_eq!(ZapReply::decode(&frames, b"7").unwrap().reply, ok);
    /// ```
    pub fn reply(&self, reply: AuthReply) -> ZapReply {
        ZapReply {
            request_id: self.request_id.clone(),
            reply,
            metadata: Vec::new(),
        }
    }
}

impl fmt::Debug for ZapRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Credentials may hold a password: only their number is shown.
        f.debug_struct("ZapRequest")
            .field("request_id", &self.request_id)
            .field("domain", &self.domain)
            .field("address", &self.address)
            .field("routing_id", &self.routing_id)
            .field("mechanism", &self.mechanism)
            .field(
                "credentials",
                &format_args!("<{} redacted>", self.credentials.len()),
            )
            .finish()
    }
}

/// One ZAP reply: the answer ([`AuthReply`]: status code, text, user id)
/// to the request `request_id`, and the metadata the handler attaches to
/// the peer (libzmq shows it on every message from that peer, with
/// `User-Id`).
///
/// ```
/// use bytes::Bytes;
/// use zmio_proto::mechanism::AuthReply;
/// use zmio_proto::zap::ZapReply;
///
/// let reply = ZapReply {
///     request_id: Bytes::from_static(b"1"),
///     reply: AuthReply { status_code: 400, status_text: "No access".into(), user_id: Bytes::new() },
///     metadata: vec![("X-Role".into(), Bytes::from_static(b"none"))],
/// };
/// let frames = reply.encode().unwrap();
/// assert_eq!(&frames[2][..], b"400");
/// assert_eq!(ZapReply::decode(&frames, b"1"), Ok(reply));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZapReply {
    /// The request this answers.
    pub request_id: Bytes,
    /// The answer, for [`Connection::handle_auth`](crate::Connection::handle_auth).
    pub reply: AuthReply,
    /// Properties for the peer's messages, in the order sent.
    pub metadata: Vec<(String, Bytes)>,
}

impl ZapReply {
    /// The reply in `frames` (without the delimiter) to the request whose
    /// id is `request_id`, checked as libzmq checks it: exactly six frames,
    /// version `"1.0"`, the same request id, one of the four status codes,
    /// well-formed metadata.
    pub fn decode(frames: &[Bytes], request_id: &[u8]) -> Result<ZapReply, ZapError> {
        let [version, id, code, text, user_id, metadata] = frames else {
            return Err(ZapError::FrameCount {
                expected: REPLY_FRAMES,
                got: frames.len(),
            });
        };
        if version[..] != *VERSION {
            return Err(ZapError::BadVersion);
        }
        if id[..] != *request_id {
            return Err(ZapError::RequestIdMismatch);
        }
        let status_code = match &code[..] {
            b"200" => 200,
            b"300" => 300,
            b"400" => 400,
            b"500" => 500,
            _ => return Err(ZapError::InvalidStatusCode),
        };
        let metadata = Properties::new(metadata)
            .map(|property| {
                let (name, value) = property.map_err(|e| match e {
                    crate::ProtocolError::MalformedMetadata(why) => {
                        ZapError::MalformedMetadata(why)
                    }
                    _ => ZapError::MalformedMetadata("malformed property"),
                })?;
                let name = std::str::from_utf8(name)
                    .map_err(|_| ZapError::MalformedMetadata("property name is not UTF-8"))?;
                Ok((name.to_owned(), metadata.slice_ref(value)))
            })
            .collect::<Result<Vec<_>, ZapError>>()?;
        Ok(ZapReply {
            request_id: id.clone(),
            reply: AuthReply {
                status_code,
                // Only for logs: a handler's odd bytes are not a reason to fail.
                status_text: String::from_utf8_lossy(text).into_owned(),
                user_id: user_id.clone(),
            },
            metadata,
        })
    }

    /// The reply's frames, in order, without the delimiter. Refuses what a
    /// ZAP client would refuse on receipt: a status code other than the
    /// four, a metadata name not 1 to 255 octets.
    pub fn encode(&self) -> Result<Vec<Bytes>, ZapError> {
        let code: &'static [u8] = match self.reply.status_code {
            200 => b"200",
            300 => b"300",
            400 => b"400",
            500 => b"500",
            _ => return Err(ZapError::InvalidStatusCode),
        };
        if self.metadata.iter().any(|(name, value)| {
            !(1..=255).contains(&name.len()) || value.len() > i32::MAX as usize
        }) {
            return Err(ZapError::MalformedMetadata(
                "property name not 1 to 255 octets, or value too long",
            ));
        }
        let properties: Vec<(&str, &[u8])> = self
            .metadata
            .iter()
            .map(|(name, value)| (name.as_str(), &value[..]))
            .collect();
        Ok(vec![
            Bytes::from_static(VERSION),
            self.request_id.clone(),
            Bytes::from_static(code),
            Bytes::from(self.reply.status_text.clone()),
            self.reply.user_id.clone(),
            Bytes::from(metadata::encode(&properties)),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn b(s: &'static [u8]) -> Bytes {
        Bytes::from_static(s)
    }

    fn reply_frames(code: &'static [u8], metadata: &'static [u8]) -> Vec<Bytes> {
        vec![
            b(b"1.0"),
            b(b"1"),
            b(code),
            b(b"text"),
            b(b"user"),
            b(metadata),
        ]
    }

    #[test]
    fn request_frames_are_in_rfc_27_order_as_byte_literals() {
        let request = ZapRequest {
            request_id: b(b"1"),
            domain: b(b"dom"),
            address: b(b"127.0.0.1"),
            routing_id: b(b"srv"),
            mechanism: b(b"PLAIN"),
            credentials: vec![b(b"admin"), b(b"pw")],
        };
        let want: Vec<&[u8]> = vec![
            b"1.0",
            b"1",
            b"dom",
            b"127.0.0.1",
            b"srv",
            b"PLAIN",
            b"admin",
            b"pw",
        ];
        let got = request.encode();
        assert_eq!(got.iter().map(|f| &f[..]).collect::<Vec<_>>(), want);
    }

    #[test]
    fn a_null_request_has_no_credential_frames() {
        let frames = vec![b(b"1.0"), b(b"9"), b(b""), b(b"::1"), b(b""), b(b"NULL")];
        let request = ZapRequest::decode(&frames).unwrap();
        assert!(request.credentials.is_empty());
        assert_eq!(request.encode(), frames);
    }

    #[test]
    fn a_request_needs_six_frames_and_version_1_0() {
        let frames = vec![b(b"1.0"), b(b"1"), b(b""), b(b""), b(b"")];
        assert_eq!(
            ZapRequest::decode(&frames),
            Err(ZapError::FrameCount {
                expected: 6,
                got: 5
            })
        );
        let frames = vec![b(b"1.1"), b(b"1"), b(b""), b(b""), b(b""), b(b"NULL")];
        assert_eq!(ZapRequest::decode(&frames), Err(ZapError::BadVersion));
    }

    #[test]
    fn a_reply_has_exactly_six_frames() {
        let mut frames = reply_frames(b"200", b"");
        assert!(ZapReply::decode(&frames, b"1").is_ok());
        frames.push(b(b"extra"));
        assert_eq!(
            ZapReply::decode(&frames, b"1"),
            Err(ZapError::FrameCount {
                expected: 6,
                got: 7
            })
        );
        frames.truncate(5);
        assert_eq!(
            ZapReply::decode(&frames, b"1"),
            Err(ZapError::FrameCount {
                expected: 6,
                got: 5
            })
        );
        assert!(matches!(
            ZapReply::decode(&[], b"1"),
            Err(ZapError::FrameCount { got: 0, .. })
        ));
    }

    #[test]
    fn a_reply_with_another_version_is_refused() {
        let mut frames = reply_frames(b"200", b"");
        frames[0] = b(b"1.00");
        assert_eq!(ZapReply::decode(&frames, b"1"), Err(ZapError::BadVersion));
    }

    #[test]
    fn a_reply_to_another_request_is_refused() {
        let frames = reply_frames(b"200", b"");
        assert_eq!(
            ZapReply::decode(&frames, b"2"),
            Err(ZapError::RequestIdMismatch)
        );
    }

    #[test]
    fn only_the_four_status_codes_are_taken() {
        for (code, want) in [(b"200", 200), (b"300", 300), (b"400", 400), (b"500", 500)] {
            let reply = ZapReply::decode(&reply_frames(code, b""), b"1").unwrap();
            assert_eq!(reply.reply.status_code, want);
            assert_eq!(reply.reply.is_accepted(), want == 200);
        }
        for code in [&b"201"[..], b"600", b"100", b"20", b"2000", b"", b"abc"] {
            let mut frames = reply_frames(b"200", b"");
            frames[2] = Bytes::copy_from_slice(code);
            assert_eq!(
                ZapReply::decode(&frames, b"1"),
                Err(ZapError::InvalidStatusCode),
                "{code:?}"
            );
        }
    }

    #[test]
    fn reply_fields_and_metadata_are_decoded() {
        let frames = reply_frames(b"200", b"\x06X-Role\x00\x00\x00\x05admin");
        let reply = ZapReply::decode(&frames, b"1").unwrap();
        assert_eq!(reply.reply.status_text, "text");
        assert_eq!(&reply.reply.user_id[..], b"user");
        assert_eq!(reply.metadata, vec![("X-Role".into(), b(b"admin"))]);
    }

    #[test]
    fn malformed_reply_metadata_is_refused() {
        for metadata in [
            &b"\x06X-Role\x00\x00\x00\x09admin"[..],
            b"\x00\x00\x00\x00\x00",
            b"\x06X-Ro",
            b"\x01a\x00\x00\x00\x00\x01",
            b"\x02\xff\xfe\x00\x00\x00\x00",
        ] {
            let mut frames = reply_frames(b"200", b"");
            frames[5] = Bytes::copy_from_slice(metadata);
            assert!(
                matches!(
                    ZapReply::decode(&frames, b"1"),
                    Err(ZapError::MalformedMetadata(_))
                ),
                "{metadata:?}"
            );
        }
    }

    #[test]
    fn encode_refuses_what_a_zap_client_would_refuse() {
        let mut reply = ZapReply {
            request_id: b(b"1"),
            reply: AuthReply {
                status_code: 201,
                status_text: String::new(),
                user_id: Bytes::new(),
            },
            metadata: vec![],
        };
        assert_eq!(reply.encode(), Err(ZapError::InvalidStatusCode));
        reply.reply.status_code = 200;
        reply.metadata = vec![(String::new(), Bytes::new())];
        assert!(matches!(
            reply.encode(),
            Err(ZapError::MalformedMetadata(_))
        ));
        reply.metadata = vec![("x".repeat(256), Bytes::new())];
        assert!(matches!(
            reply.encode(),
            Err(ZapError::MalformedMetadata(_))
        ));
    }

    #[test]
    fn request_debug_hides_the_credentials() {
        let request = ZapRequest {
            request_id: b(b"1"),
            domain: Bytes::new(),
            address: Bytes::new(),
            routing_id: Bytes::new(),
            mechanism: b(b"PLAIN"),
            credentials: vec![b(b"admin"), b(b"hunter2")],
        };
        let shown = format!("{request:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("admin"),
            "{shown}"
        );
    }

    fn bytes() -> impl Strategy<Value = Bytes> {
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Bytes::from)
    }

    proptest! {
        #[test]
        fn any_request_round_trips(
            request_id in bytes(), domain in bytes(), address in bytes(),
            routing_id in bytes(), mechanism in bytes(),
            credentials in proptest::collection::vec(bytes(), 0..4),
        ) {
            let request = ZapRequest { request_id, domain, address, routing_id, mechanism, credentials };
            prop_assert_eq!(ZapRequest::decode(&request.encode()), Ok(request));
        }

        #[test]
        fn any_valid_reply_round_trips(
            request_id in bytes(),
            code in prop::sample::select(vec![200u16, 300, 400, 500]),
            status_text in ".{0,40}",
            user_id in bytes(),
            metadata in proptest::collection::vec(("[A-Za-z-]{1,20}", bytes()), 0..5),
        ) {
            let reply = ZapReply {
                request_id: request_id.clone(),
                reply: AuthReply { status_code: code, status_text, user_id },
                metadata,
            };
            let frames = reply.encode().unwrap();
            prop_assert_eq!(ZapReply::decode(&frames, &request_id), Ok(reply));
        }

        #[test]
        fn no_frames_make_the_decoders_panic(
            frames in proptest::collection::vec(bytes(), 0..9),
            id in bytes(),
        ) {
            let _ = ZapRequest::decode(&frames);
            let _ = ZapReply::decode(&frames, &id);
        }
    }
}
