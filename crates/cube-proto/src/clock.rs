//! The clock an adapter reads, as a trait: cube-proto itself never reads one.

use time::OffsetDateTime;

/// A wall clock. Session expiry and request signatures read it; once the
/// server refuses a signature on it, signatures read it plus the offset of
/// the server's clock that the answers' `Date` tells (see
/// [`crate::server_time`]). Any `Fn() -> OffsetDateTime` is a clock.
///
/// ```
/// use cube_proto::Clock;
/// let frozen = || time::macros::datetime!(2026-11-24 12:00 UTC);
/// assert_eq!(frozen.now().hour(), 12);
/// ```
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> OffsetDateTime;
}

impl<F: Fn() -> OffsetDateTime + Send + Sync + 'static> Clock for F {
    fn now(&self) -> OffsetDateTime {
        self()
    }
}
