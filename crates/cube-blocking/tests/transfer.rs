//! Streamed uploads and downloads and the paged look-ups through the
//! blocking client. The suite itself is shared with cube-async.

cube_test_support::transfer_suite!(cube_blocking, #[test]);
