//! A fault rule in its text form (`--fault`) and its JSON form (`POST
//! /_emulator/faults`): refused with a reason or parsed within its
//! limits, and written back into the very same rule.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cube_emulator::fuzzing::fault_rule(data);
});
