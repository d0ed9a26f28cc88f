//! The most of an answer the async client reads into memory, at the limit
//! and one byte past it. The tests themselves are shared with
//! cube-blocking.

cube_test_support::answer_limit_suite!(cube_async, #[tokio::test] async await);
