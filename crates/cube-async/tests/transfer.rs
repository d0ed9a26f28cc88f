//! Streamed uploads and downloads and the paged look-ups through the async
//! client. The suite itself is shared with cube-blocking.

#[path = "../../cube-blocking/tests/support/mod.rs"]
mod support;

use cube_async::{Client, Credentials, DownloadOptions, Error, UploadOptions, proto};

crate::transfer_suite!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async await);
