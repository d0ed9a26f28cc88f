//! A query string split into strictly decoded pairs (and bracketed into JSON).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cube_emulator::fuzzing::query_text(data);
});
