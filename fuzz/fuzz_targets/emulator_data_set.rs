//! A data set (its manifest, record files and files, one after another,
//! each ended by a NUL byte) read as an import reads it: refused with a
//! reason or accepted, never a panic or an allocation past the limits; an
//! accepted one survives its own export.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cube_emulator::fuzzing::data_set(data);
});
