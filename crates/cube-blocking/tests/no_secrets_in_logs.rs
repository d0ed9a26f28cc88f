//! Every log line, at every level, from the SDK and its HTTP client, while
//! secrets go over the wire: none of them may show a secret. The test itself
//! is shared with cube-async.

cube_test_support::logs_suite!(cube_blocking, #[test], "ureq");
