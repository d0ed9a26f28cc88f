//! An OAuth 1.0a `Authorization` header: strict parsing that round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cube_emulator::fuzzing::oauth_header(data);
});
