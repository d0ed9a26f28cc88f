//! A form body (bracketed keys) decoded as the emulator decodes it: within the
//! depth limit, or refused with 400; never a panic, never a deep recursion.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cube_emulator::fuzzing::form_body(data);
});
