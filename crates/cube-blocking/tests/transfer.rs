//! Streamed uploads and downloads and the paged look-ups through the
//! blocking client. The suite itself is shared with cube-async.

mod support;

use cube_blocking::{Client, Credentials, DownloadOptions, Error, UploadOptions, proto};

crate::transfer_suite!(#[test]);
