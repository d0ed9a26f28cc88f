//! A JSON body decoded and read as handlers read request values (user fields,
//! application settings, session credentials): limits kept, no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cube_emulator::fuzzing::json_body(data);
});
