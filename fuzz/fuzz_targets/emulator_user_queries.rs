//! User lists and searches (v1 filters and order, v2 filters and sort, tags)
//! with any query string, through the router of an in-process emulator:
//! never a panic, never a 5xx.
#![no_main]

use std::sync::LazyLock;

use cube_emulator::fuzzing::Server;
use libfuzzer_sys::fuzz_target;

static SERVER: LazyLock<Server> = LazyLock::new(Server::new);

fuzz_target!(|data: &[u8]| {
    SERVER.user_queries(data);
});
