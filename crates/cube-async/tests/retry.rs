//! Transient failures through the async client: resends as the retry policy
//! says, with the waits in the span, and a signed session on a clock ten
//! minutes off. The tests themselves are shared with cube-blocking.

cube_test_support::retry_suite!(cube_async, #[tokio::test] async await);
