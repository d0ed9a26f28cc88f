//! Every mission call through the blocking client, against the in-process
//! emulator. The suite itself is shared with cube-async.

mod support;

use cube_blocking::{Client, ClientBuilder, Credentials, Error, SessionStatus, proto};

fn restore_with(credentials: Credentials) -> Option<Credentials> {
    Some(credentials)
}

crate::e2e_suite!(#[test]);
