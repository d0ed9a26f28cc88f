//! How much the request log (`GET /_emulator/requests`) may hold: a ring
//! of at most [`REQUEST_LOG_MAX`] entries (`--request-log`,
//! [`crate::EmulatorConfig::request_log`]), each of a bounded size, so
//! its memory has a ceiling whatever clients send and however long the
//! emulator runs.

/// Entries kept when nothing else is said: enough for a test run's story,
/// well under a megabyte.
pub(crate) const REQUEST_LOG_DEFAULT: usize = 1000;
/// The most entries the log may be asked to keep. At the largest entry
/// (a cut path, see [`LOGGED_PATH_MAX_BYTES`]) that is about 70 MiB, the
/// ceiling of what the log can ever hold.
pub(crate) const REQUEST_LOG_MAX: usize = 100_000;
/// The longest path (with its query) an entry keeps, in bytes; a longer
/// one is cut, and ends with `…`.
pub(crate) const LOGGED_PATH_MAX_BYTES: usize = 512;
/// The longest method an entry keeps (extension methods can be long).
pub(crate) const LOGGED_METHOD_MAX_BYTES: usize = 16;
/// The most entries one `GET /_emulator/requests` answers with.
pub(crate) const REQUESTS_PAGE_MAX: usize = 1000;
/// Entries one `GET /_emulator/requests` answers with when not told.
pub(crate) const REQUESTS_PAGE_DEFAULT: usize = 100;

/// Whether `entries` is a request-log size the emulator accepts (`0`
/// turns the log off).
pub(crate) fn request_log_ok(entries: usize) -> bool {
    entries <= REQUEST_LOG_MAX
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_size_at_and_past_its_limit() {
        assert!(request_log_ok(0));
        assert!(request_log_ok(REQUEST_LOG_DEFAULT));
        assert!(request_log_ok(REQUEST_LOG_MAX));
        assert!(!request_log_ok(REQUEST_LOG_MAX + 1));
        assert!(!request_log_ok(usize::MAX));
    }
}
