//! Every mission call through the async client, against the in-process
//! emulator. The suite itself is shared with cube-blocking.

cube_test_support::e2e_suite!(
    cube_async,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async await
);
