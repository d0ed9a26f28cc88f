//! The create-session signature base of any body: bounded, and equal to a
//! plain recursive flattening.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cube_emulator::fuzzing::signature(data);
});
