//! The most of an answer the blocking client reads into memory, at the
//! limit and one byte past it. The tests themselves are shared with
//! cube-async.

cube_test_support::answer_limit_suite!(cube_blocking, #[test]);
