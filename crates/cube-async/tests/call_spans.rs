//! The span of each call through the async client: a sign-in, then a call
//! that restores the session and retries. The test itself is shared with
//! cube-blocking.

cube_test_support::spans_suite!(
    cube_async,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async await
);
