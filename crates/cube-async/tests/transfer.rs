//! Streamed uploads and downloads and the paged look-ups through the async
//! client. The suite itself is shared with cube-blocking.

cube_test_support::transfer_suite!(
    cube_async,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async await
);
