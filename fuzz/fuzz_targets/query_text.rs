//! Any text through the query codec: decoding never panics, and whatever is
//! encoded decodes back to itself.
#![no_main]

use cube_proto::query::{decode, encode, pairs};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = decode(text);
    let _ = pairs(text);
    assert_eq!(decode(&encode(text)).as_deref(), Some(text));
});
