//! Every mission call through the blocking client, against the in-process
//! emulator. The suite itself is shared with cube-async.

cube_test_support::e2e_suite!(cube_blocking, #[test]);
