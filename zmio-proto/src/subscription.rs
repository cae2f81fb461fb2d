//! Subscription messages: the one place that builds and parses the
//! `0x01 + prefix` (subscribe) and `0x00 + prefix` (cancel) form of RFC 29.
//!
//! A ZMTP 3.0 peer sends subscriptions as these one-frame messages; a 3.1
//! peer sends SUBSCRIBE and CANCEL commands instead. The connection turns
//! either into this form for a PUB/XPUB, so the layers above see one shape.
//!
//! ```
//! use zmio_proto::subscription::{self, Subscription};
//!
//! let msg = subscription::encode(b"weather", true);
//! assert_eq!(&msg.frame(0).unwrap()[..], b"\x01weather");
//! assert_eq!(
//!     subscription::parse(&msg),
//!     Some(Subscription { subscribe: true, prefix: b"weather" })
//! );
//! ```

use bytes::{BufMut, BytesMut};

use crate::Msg;

/// First byte of a subscribe message.
pub const SUBSCRIBE: u8 = 0x01;
/// First byte of a cancel message.
pub const CANCEL: u8 = 0x00;

/// A parsed subscription message, borrowing its prefix from the message.
///
/// ```
/// use zmio_proto::{Msg, subscription};
/// let cancel = Msg::from("\u{0}old");
/// let sub = subscription::parse(&cancel).unwrap();
/// assert!(!sub.subscribe && sub.prefix == b"old");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subscription<'a> {
    /// A subscribe (`0x01`), not a cancel (`0x00`).
    pub subscribe: bool,
    /// The topic prefix.
    pub prefix: &'a [u8],
}

/// The one-frame message for a subscribe (`on`) or cancel of `prefix`.
///
/// ```
/// let cancel = zmio_proto::subscription::encode(b"a", false);
/// assert_eq!(&cancel.frame(0).unwrap()[..], b"\x00a");
/// ```
pub fn encode(prefix: &[u8], subscribe: bool) -> Msg {
    let mut frame = BytesMut::with_capacity(1 + prefix.len());
    frame.put_u8(if subscribe { SUBSCRIBE } else { CANCEL });
    frame.put_slice(prefix);
    Msg::from(frame.freeze())
}

/// Reads a message as a subscription: `None` unless it is one frame whose
/// first byte is `0x01` or `0x00`.
///
/// ```
/// use zmio_proto::{Msg, subscription};
/// assert_eq!(subscription::parse(&Msg::from("\u{2}x")), None);
/// assert!(subscription::parse(&Msg::from_frames(["\u{1}a", "b"])).is_none());
/// ```
pub fn parse(msg: &Msg) -> Option<Subscription<'_>> {
    let (&kind, prefix) = msg.single_frame()?.split_first()?;
    let subscribe = match kind {
        SUBSCRIBE => true,
        CANCEL => false,
        _ => return None,
    };
    Some(Subscription { subscribe, prefix })
}
