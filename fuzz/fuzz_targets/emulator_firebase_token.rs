//! A Firebase ID token against a key set (both from the input): parsing and
//! checking only, no fetch; refused with 401 or accepted, never a panic.
#![no_main]

use std::sync::LazyLock;

use cube_emulator::fuzzing::Server;
use libfuzzer_sys::fuzz_target;

static SERVER: LazyLock<Server> = LazyLock::new(Server::new);

fuzz_target!(|data: &[u8]| {
    SERVER.firebase_token(data);
});
