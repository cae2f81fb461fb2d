//! The 64-octet ZMTP 3 greeting: our encoding, and an incremental check of the
//! peer's that rejects as soon as the bytes seen so far allow.
//!
//! ```text
//! greeting  = signature version mechanism as-server filler
//! signature = %xFF padding %x7F      ; padding = 8OCTET, not significant
//! version   = %x03 %x01
//! mechanism = 20mechanism-char       ; null padded
//! as-server = %x00 | %x01
//! filler    = 31%x00
//! ```

use crate::ProtocolError;

use super::wire::{
    AS_SERVER_OFFSET, GREETING_LEN, MECHANISM_LEN, MECHANISM_OFFSET, SIGNATURE_END,
    SIGNATURE_START, VERSION_MAJOR, VERSION_MAJOR_OFFSET, VERSION_MINOR, VERSION_MINOR_OFFSET,
};

/// A mechanism name as it sits in the greeting: ASCII, null padded to 20 octets.
pub type MechanismName = [u8; MECHANISM_LEN];

/// Pads `name` with nulls to the greeting's 20-octet mechanism field.
///
/// Panics at compile time (it is used in consts) if `name` is longer than 20.
pub const fn mechanism_name(name: &str) -> MechanismName {
    let bytes = name.as_bytes();
    assert!(bytes.len() <= MECHANISM_LEN, "mechanism name too long");
    let mut out = [0u8; MECHANISM_LEN];
    let mut i = 0;
    while i < bytes.len() {
        out[i] = bytes[i];
        i += 1;
    }
    out
}

/// Our greeting: signature with zero padding, version 3.1, `mechanism`,
/// `as_server`, zero filler.
///
/// ```
/// use zmio_proto::greeting::{check, encode, mechanism_name};
/// let ours = mechanism_name("NULL");
/// let greeting = encode(&ours, false);
/// assert_eq!(check(&greeting, &ours, "NULL").unwrap().unwrap().minor, 1);
/// ```
pub fn encode(mechanism: &MechanismName, as_server: bool) -> [u8; GREETING_LEN] {
    let mut g = [0u8; GREETING_LEN];
    g[SIGNATURE_START] = 0xFF;
    g[SIGNATURE_END] = 0x7F;
    g[VERSION_MAJOR_OFFSET] = VERSION_MAJOR;
    g[VERSION_MINOR_OFFSET] = VERSION_MINOR;
    g[MECHANISM_OFFSET..MECHANISM_OFFSET + MECHANISM_LEN].copy_from_slice(mechanism);
    g[AS_SERVER_OFFSET] = u8::from(as_server);
    g
}

/// What we keep of a valid peer greeting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerGreeting {
    /// The peer's minor version: 0 for ZMTP 3.0, 1 or above for 3.1 semantics.
    pub minor: u8,
    /// The peer's as-server octet (no significance for NULL).
    pub as_server: bool,
}

/// Checks the peer's greeting as far as `buf` (the received bytes, possibly
/// fewer or more than 64) allows.
///
/// Returns `Ok(None)` while every octet seen so far is acceptable but the
/// greeting is incomplete, `Ok(Some(_))` once all 64 octets are in and valid.
/// The caller consumes exactly [`GREETING_LEN`] bytes on `Some`.
pub fn check(
    buf: &[u8],
    ours: &MechanismName,
    ours_display: &'static str,
) -> Result<Option<PeerGreeting>, ProtocolError> {
    // The signature's first octet is %xFF. Checked on its own so that HTTP,
    // TLS or ZMTP 1.0 bytes fail at the very first octet.
    if let Some(&b) = buf.get(SIGNATURE_START)
        && b != 0xFF
    {
        return Err(ProtocolError::BadSignature);
    }
    // "A peer SHALL NOT assign any significance to the padding field and MUST
    // NOT validate this nor interpret it in any way whatsoever." (octets 1-8)
    //
    // The signature's last octet is %x7F; like libzmq we check only its low bit.
    if let Some(&b) = buf.get(SIGNATURE_END)
        && b & 0x01 != 0x01
    {
        return Err(ProtocolError::BadSignature);
    }
    // "A peer MUST accept higher protocol versions as valid. That is, a ZMTP
    // peer MUST accept protocol versions greater or equal to 3.0." A higher
    // major version speaks 3.1 with us (its side of the negotiation is to
    // fall back to ours), as libzmq treats it. Below 3: no downgrade to ZMTP
    // 1.0/2.0 (it would turn HTTP or TLS bytes into messages). Both octets
    // are needed to report the version, so wait for the minor.
    let (Some(&major), Some(&minor)) =
        (buf.get(VERSION_MAJOR_OFFSET), buf.get(VERSION_MINOR_OFFSET))
    else {
        return Ok(None);
    };
    if major < VERSION_MAJOR {
        return Err(ProtocolError::UnsupportedVersion { major, minor });
    }
    let minor = if major > VERSION_MAJOR {
        VERSION_MINOR
    } else {
        minor
    };
    // "If the mechanism that the peer received does not exactly match the
    // mechanism it sent, it MUST close the connection." All 20 octets count.
    let Some(theirs) = buf.get(MECHANISM_OFFSET..MECHANISM_OFFSET + MECHANISM_LEN) else {
        return Ok(None);
    };
    if theirs != ours {
        let name = theirs.split(|&b| b == 0).next().unwrap_or_default();
        return Err(ProtocolError::MechanismMismatch {
            ours: ours_display,
            theirs: String::from_utf8_lossy(name).into_owned(),
        });
    }
    if buf.len() < GREETING_LEN {
        return Ok(None);
    }
    // The as-server octet has no significance for NULL ("SHOULD be zero"), and
    // the filler is never validated.
    Ok(Some(PeerGreeting {
        minor,
        as_server: buf[AS_SERVER_OFFSET] != 0,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NULL: MechanismName = mechanism_name("NULL");

    fn valid(minor: u8) -> [u8; GREETING_LEN] {
        let mut g = encode(&NULL, false);
        g[VERSION_MINOR_OFFSET] = minor;
        g
    }

    #[test]
    fn encodes_the_rfc37_layout() {
        let g = encode(&NULL, false);
        let mut want = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, 1];
        want.extend_from_slice(b"NULL");
        want.resize(GREETING_LEN, 0);
        assert_eq!(&g[..], &want[..]);
        assert_eq!(encode(&NULL, true)[AS_SERVER_OFFSET], 1);
    }

    #[test]
    fn accepts_a_valid_greeting_split_at_every_byte() {
        let g = valid(1);
        for n in 0..GREETING_LEN {
            assert_eq!(check(&g[..n], &NULL, "NULL"), Ok(None), "prefix {n}");
        }
        let got = check(&g, &NULL, "NULL").unwrap().unwrap();
        assert_eq!(
            got,
            PeerGreeting {
                minor: 1,
                as_server: false
            }
        );
    }

    #[test]
    fn signature_first_octet_is_ff_rejected_at_byte_zero() {
        assert_eq!(check(b"G", &NULL, "NULL"), Err(ProtocolError::BadSignature));
        assert_eq!(
            check(&[0x16], &NULL, "NULL"),
            Err(ProtocolError::BadSignature)
        );
    }

    #[test]
    fn signature_last_octet_low_bit_must_be_set() {
        let mut g = valid(1);
        g[SIGNATURE_END] = 0x7E;
        assert_eq!(
            check(&g[..10], &NULL, "NULL"),
            Err(ProtocolError::BadSignature)
        );
    }

    #[test]
    fn padding_shall_not_be_validated() {
        let mut g = valid(1);
        g[1..9].copy_from_slice(&[0xAB; 8]);
        g[33..].fill(0xCD);
        assert!(check(&g, &NULL, "NULL").unwrap().is_some());
    }

    #[test]
    fn major_below_3_is_not_downgraded() {
        let mut g = valid(0);
        g[VERSION_MAJOR_OFFSET] = 1;
        assert_eq!(check(&g[..11], &NULL, "NULL"), Ok(None));
        assert_eq!(
            check(&g[..12], &NULL, "NULL"),
            Err(ProtocolError::UnsupportedVersion { major: 1, minor: 0 })
        );
    }

    #[test]
    fn peer_must_accept_higher_major_versions_and_speaks_3_1() {
        // "a ZMTP peer MUST accept protocol versions greater or equal to 3.0"
        for (major, minor) in [(4, 0), (4, 7), (255, 255)] {
            let mut g = valid(minor);
            g[VERSION_MAJOR_OFFSET] = major;
            let peer = check(&g, &NULL, "NULL").unwrap().unwrap();
            assert_eq!(peer.minor, VERSION_MINOR, "{major}.{minor}");
        }
    }

    #[test]
    fn peer_must_accept_higher_minor_versions() {
        assert_eq!(check(&valid(0), &NULL, "NULL").unwrap().unwrap().minor, 0);
        assert_eq!(check(&valid(7), &NULL, "NULL").unwrap().unwrap().minor, 7);
    }

    #[test]
    fn mechanism_must_match_exactly_over_20_octets() {
        let mut g = valid(1);
        g[MECHANISM_OFFSET..MECHANISM_OFFSET + 5].copy_from_slice(b"PLAIN");
        assert_eq!(
            check(&g[..32], &NULL, "NULL"),
            Err(ProtocolError::MechanismMismatch {
                ours: "NULL",
                theirs: "PLAIN".into()
            })
        );
        // Same prefix, trailing garbage inside the 20 octets.
        let mut g = valid(1);
        g[MECHANISM_OFFSET + 19] = b'X';
        assert!(matches!(
            check(&g, &NULL, "NULL"),
            Err(ProtocolError::MechanismMismatch { .. })
        ));
    }
}
