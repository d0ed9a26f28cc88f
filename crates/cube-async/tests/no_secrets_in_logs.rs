//! Every log line, at every level, from the SDK and its HTTP client, while
//! secrets go over the wire: none of them may show a secret. The test itself
//! is shared with cube-blocking.

#[path = "../../cube-blocking/tests/support/mod.rs"]
mod support;

use cube_async::{Client, Credentials, proto};

crate::logs_suite!(#[tokio::test] async await, "hyper_util::client");
