//! Every log line, at every level, from the SDK and its HTTP client, while
//! secrets go over the wire: none of them may show a secret. The test itself
//! is shared with cube-blocking.

cube_test_support::logs_suite!(cube_async, #[tokio::test] async await, "hyper_util::client");
