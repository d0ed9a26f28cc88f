//! The retry policy of the blocking client against the emulator's faults:
//! `503` twice, `429` with `Retry-After`, a cut read, a sign-up answered
//! `503`. The tests themselves are shared with cube-async.

cube_test_support::retry_faults_suite!(cube_blocking, #[test]);
