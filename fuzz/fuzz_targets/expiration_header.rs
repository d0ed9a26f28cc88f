//! Any text as `CB-Token-ExpirationDate`: never panics, and a parsed value
//! formats back to a header that parses to the same moment.
#![no_main]

use cube_proto::expiry::{format_expiration, parse_expiration};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(at) = parse_expiration(text) {
        assert_eq!(parse_expiration(&format_expiration(at)), Some(at));
    }
});
