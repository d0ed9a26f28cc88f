//! Whole requests (method, target, headers, body) to the router of an
//! in-process emulator: never a panic, never a 5xx, errors in the object form.
#![no_main]

use std::sync::LazyLock;

use cube_emulator::fuzzing::Server;
use libfuzzer_sys::fuzz_target;

static SERVER: LazyLock<Server> = LazyLock::new(Server::new);

fuzz_target!(|data: &[u8]| {
    SERVER.request(data);
});
