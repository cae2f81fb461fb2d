//! READY metadata on arbitrary bytes: no panic; properties within the
//! block, names 1..=255 octets, an error only last; READY's decoder agrees.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use zmio_proto::command::Ready;
use zmio_proto::metadata::Properties;

fuzz_target!(|data: &[u8]| {
    let properties: Vec<_> = Properties::new(data).collect();
    let mut used = 0;
    let mut failed = false;
    for property in &properties {
        assert!(!failed, "nothing after an error");
        match property {
            Ok((name, value)) => {
                assert!((1..=255).contains(&name.len()));
                used += 1 + name.len() + 4 + value.len();
            }
            Err(_) => failed = true,
        }
    }
    assert!(used <= data.len());
    if !failed {
        assert_eq!(used, data.len(), "a clean parse covers the whole block");
    }
    let block = Bytes::copy_from_slice(data);
    if let Ok(Ready {
        socket_type,
        identity,
    }) = Ready::decode(&block)
    {
        assert!(!failed, "READY accepted malformed metadata");
        assert!(socket_type.len() <= data.len());
        assert!(identity.is_none_or(|id| id.len() <= data.len()));
    }
});
