//! Every mission call through the async client, against the in-process
//! emulator. The suite itself is shared with cube-blocking.

#[path = "../../cube-blocking/tests/support/mod.rs"]
mod support;

use cube_async::{Client, ClientBuilder, Credentials, Error, SessionStatus, proto};

async fn restore_with(credentials: Credentials) -> Option<Credentials> {
    Some(credentials)
}

crate::e2e_suite!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async await);
