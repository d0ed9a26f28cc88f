//! Any bytes as an error body: parsing never panics, and what it finds is
//! what the JSON held.
#![no_main]

use cube_proto::error::{ApiError, ErrorMessages};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let messages = ErrorMessages::parse(data);
    if serde_json_is_not_json(data) {
        assert!(messages.is_empty());
    }
    let _ = messages.to_string();
    let error = ApiError::from_parts(http::StatusCode::UNAUTHORIZED, data);
    let _ = error.is_session_missing();
});

fn serde_json_is_not_json(data: &[u8]) -> bool {
    std::str::from_utf8(data).map_or(true, |s| s.trim_start().is_empty())
}
