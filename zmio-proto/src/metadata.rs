//! The metadata property list carried by READY (RFC 23/37, "The NULL Security
//! Mechanism" and "Connection Metadata").
//!
//! ```text
//! metadata  = *property
//! property  = name value
//! name      = short-size 1*255name-char
//! value     = 4OCTET *OCTET       ; Size in network byte order
//! ```

use crate::ProtocolError;

use super::wire::MAX_PROPERTIES;

/// "The value SHALL be 0 to 2,147,483,647 (2^31-1 or INT32_MAX in C/C++) octets."
const MAX_VALUE_LEN: usize = i32::MAX as usize;

/// One property: `(name, value)`.
pub type Property<'a> = (&'a [u8], &'a [u8]);

/// Iterates over the properties of a metadata block, checking each as it goes.
///
/// Yields `Err` once (then stops) on the first malformed property, and when
/// the block holds more than [`MAX_PROPERTIES`] properties.
///
/// ```
/// use zmio_proto::metadata::{Properties, encode};
/// let block = encode(&[("Socket-Type", b"PUB")]);
/// let props: Vec<_> = Properties::new(&block).collect::<Result<_, _>>().unwrap();
/// assert_eq!(props, vec![(&b"Socket-Type"[..], &b"PUB"[..])]);
/// ```
#[derive(Debug)]
pub struct Properties<'a> {
    rest: &'a [u8],
    count: usize,
}

impl<'a> Properties<'a> {
    /// The properties of `metadata`.
    pub fn new(metadata: &'a [u8]) -> Properties<'a> {
        Properties {
            rest: metadata,
            count: 0,
        }
    }

    fn fail(&mut self, why: &'static str) -> Option<Result<Property<'a>, ProtocolError>> {
        self.rest = &[];
        Some(Err(ProtocolError::MalformedMetadata(why)))
    }
}

impl<'a> Iterator for Properties<'a> {
    /// `(name, value)`.
    type Item = Result<Property<'a>, ProtocolError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (&name_len, after) = self.rest.split_first()?;
        let name_len = usize::from(name_len);
        self.count += 1;
        if self.count > MAX_PROPERTIES {
            return self.fail("too many properties");
        }
        // "The name SHALL be 1 to 255 characters. Zero-sized names are not valid."
        if name_len == 0 {
            return self.fail("empty property name");
        }
        if name_len > after.len() {
            return self.fail("property name runs past the end of the command");
        }
        let (name, after) = after.split_at(name_len);
        // "The value size field SHALL be four octets, in network byte order."
        if after.len() < 4 {
            return self.fail("property value size runs past the end of the command");
        }
        let (size, after) = after.split_at(4);
        let mut be = [0u8; 4];
        be.copy_from_slice(size);
        let value_len = u32::from_be_bytes(be) as usize;
        // "The value SHALL be 0 to 2,147,483,647 ... octets", within the command.
        if value_len > MAX_VALUE_LEN || value_len > after.len() {
            return self.fail("property value runs past the end of the command");
        }
        let (value, after) = after.split_at(value_len);
        self.rest = after;
        Some(Ok((name, value)))
    }
}

/// Encodes `(name, value)` properties. Names must be 1..=255 octets and
/// values below 2^31 octets (ours are: socket type names and routing ids).
pub fn encode(properties: &[(&str, &[u8])]) -> Vec<u8> {
    let len = properties
        .iter()
        .map(|(n, v)| 1 + n.len() + 4 + v.len())
        .sum();
    let mut out = Vec::with_capacity(len);
    for (name, value) in properties {
        debug_assert!((1..=255).contains(&name.len()));
        debug_assert!(value.len() <= MAX_VALUE_LEN);
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(value.len() as u32).to_be_bytes());
        out.extend_from_slice(value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    type Owned = Vec<(Vec<u8>, Vec<u8>)>;

    fn parse(bytes: &[u8]) -> Result<Owned, ProtocolError> {
        Properties::new(bytes)
            .map(|p| p.map(|(n, v)| (n.to_vec(), v.to_vec())))
            .collect()
    }

    #[test]
    fn encodes_byte_literal() {
        let got = encode(&[("Socket-Type", b"PUSH"), ("Identity", b"")]);
        assert_eq!(
            got,
            b"\x0bSocket-Type\x00\x00\x00\x04PUSH\x08Identity\x00\x00\x00\x00".to_vec()
        );
        assert_eq!(
            parse(&got).unwrap(),
            vec![
                (b"Socket-Type".to_vec(), b"PUSH".to_vec()),
                (b"Identity".to_vec(), vec![])
            ]
        );
    }

    #[test]
    fn empty_metadata_is_valid() {
        assert_eq!(parse(b""), Ok(vec![]));
    }

    #[test]
    fn zero_sized_names_are_not_valid() {
        assert!(matches!(
            parse(b"\x00\x00\x00\x00\x00"),
            Err(ProtocolError::MalformedMetadata(_))
        ));
    }

    #[test]
    fn name_must_fit_in_the_body() {
        assert!(matches!(
            parse(b"\x05abc"),
            Err(ProtocolError::MalformedMetadata(_))
        ));
    }

    #[test]
    fn value_size_field_shall_be_four_octets() {
        assert!(matches!(
            parse(b"\x01a\x00\x00\x00"),
            Err(ProtocolError::MalformedMetadata(_))
        ));
    }

    #[test]
    fn value_larger_than_what_remains_is_refused() {
        assert!(matches!(
            parse(b"\x01a\x00\x00\x00\x05abcd"),
            Err(ProtocolError::MalformedMetadata(_))
        ));
        assert!(matches!(
            parse(b"\x01a\xff\xff\xff\xffabcd"),
            Err(ProtocolError::MalformedMetadata(_))
        ));
    }

    #[test]
    fn trailing_bytes_are_an_incomplete_property() {
        assert!(matches!(
            parse(b"\x01a\x00\x00\x00\x00\x01"),
            Err(ProtocolError::MalformedMetadata(_))
        ));
    }

    #[test]
    fn property_count_is_capped() {
        let props: Vec<(&str, &[u8])> = vec![("X-a", b""); MAX_PROPERTIES];
        assert_eq!(parse(&encode(&props)).unwrap().len(), MAX_PROPERTIES);
        let props: Vec<(&str, &[u8])> = vec![("X-a", b""); MAX_PROPERTIES + 1];
        assert_eq!(
            parse(&encode(&props)),
            Err(ProtocolError::MalformedMetadata("too many properties"))
        );
    }
}
