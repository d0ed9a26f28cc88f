//! Transient failures through the blocking client: resends as the retry
//! policy says, with the waits in the span, and a signed session on a clock
//! ten minutes off. The tests themselves are shared with cube-async.

cube_test_support::retry_suite!(cube_blocking, #[test]);
