//! The streaming multipart reader over any body cut into any frames: typed
//! errors only, and the same parts however the body is cut.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cube_emulator::fuzzing::multipart(data);
});
