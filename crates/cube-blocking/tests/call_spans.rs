//! The span of each call through the blocking client: a sign-in, then a
//! call that restores the session and retries. The test itself is shared
//! with cube-async.

cube_test_support::spans_suite!(cube_blocking, #[test]);
