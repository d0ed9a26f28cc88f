//! The emulator's clock: the system time plus an offset that the admin API
//! can move forward, so tests can cover hours of expiry in a few requests.
//!
//! Every expiry, guest-lifetime, signature-window and reset-link decision
//! reads [`Clock::now`]; nothing else in the crate asks the OS for the time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

/// Where the clock's base time comes from, in whole unix seconds.
///
/// The default is the system clock; tests may inject their own source
/// through [`crate::EmulatorConfig::time_source`].
pub trait TimeSource: Send + Sync + 'static {
    /// The current base time in unix seconds (before the admin offset).
    fn now_unix(&self) -> i64;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemTimeSource;

impl TimeSource for SystemTimeSource {
    fn now_unix(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(_) => 0,
        }
    }
}

/// System time plus an adjustable offset (seconds).
pub(crate) struct Clock {
    source: Arc<dyn TimeSource>,
    offset: AtomicI64,
}

impl Clock {
    pub(crate) fn new(source: Arc<dyn TimeSource>, offset: i64) -> Self {
        Self {
            source,
            offset: AtomicI64::new(offset),
        }
    }

    /// Now, in unix seconds, on the emulator's clock.
    pub(crate) fn now(&self) -> i64 {
        self.source
            .now_unix()
            .saturating_add(self.offset.load(Ordering::Relaxed))
    }

    pub(crate) fn offset(&self) -> i64 {
        self.offset.load(Ordering::Relaxed)
    }

    pub(crate) fn set_offset(&self, offset: i64) {
        self.offset.store(offset, Ordering::Relaxed);
    }
}

const ISO: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
const HEADER: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
const DATE_ONLY: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");
const HTTP_DATE: &[BorrowedFormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

fn datetime(ts: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(ts).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2026-11-24T16:47:57Z`, the form of every timestamp in a JSON body.
pub(crate) fn format_iso(ts: i64) -> String {
    let t = datetime(ts);
    let year = t.year();
    if !(0..=9999).contains(&year) {
        return t.format(ISO).unwrap_or_default();
    }
    // Written directly: a page of users formats hundreds of these.
    format!(
        "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `2026-11-24 16:47:57 UTC`, the form of `CB-Token-ExpirationDate`.
pub(crate) fn format_header(ts: i64) -> String {
    datetime(ts).format(HEADER).unwrap_or_default()
}

/// `Tue, 24 Nov 2026 16:47:57 GMT`, the form of the `Date` header
/// (IMF-fixdate, RFC 9110). A year outside 0–9999 is written as its
/// nearest end, so the header always keeps its fixed shape.
pub(crate) fn format_http_date(ts: i64) -> String {
    const YEAR_0: i64 = -62_167_219_200;
    const YEAR_10000: i64 = 253_402_300_800;
    datetime(ts.clamp(YEAR_0, YEAR_10000 - 1))
        .format(HTTP_DATE)
        .unwrap_or_default()
}

/// Parses a date given to a filter: unix seconds, an RFC 3339 date-time,
/// `YYYY-MM-DD HH:MM:SS UTC`, or a plain `YYYY-MM-DD` (midnight UTC).
pub(crate) fn parse_date(text: &str) -> Option<i64> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    if let Ok(t) = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
        return Some(t.unix_timestamp());
    }
    if let Ok(t) = time::PrimitiveDateTime::parse(text, HEADER) {
        return Some(t.assume_utc().unix_timestamp());
    }
    if let Ok(d) = time::Date::parse(text, DATE_ONLY) {
        return Some(d.midnight().assume_utc().unix_timestamp());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(i64);
    impl TimeSource for Fixed {
        fn now_unix(&self) -> i64 {
            self.0
        }
    }

    #[test]
    fn offset_moves_the_clock() {
        let clock = Clock::new(Arc::new(Fixed(1_000)), 0);
        assert_eq!(clock.now(), 1_000);
        clock.set_offset(clock.offset() + 7_200);
        assert_eq!(clock.now(), 8_200);
    }

    #[test]
    fn formats_and_parses() {
        assert_eq!(format_iso(1_544_010_993), "2018-12-05T11:56:33Z");
        assert_eq!(format_header(1_544_010_993), "2018-12-05 11:56:33 UTC");
        assert_eq!(
            format_http_date(1_544_010_993),
            "Wed, 05 Dec 2018 11:56:33 GMT"
        );
        assert_eq!(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(format_http_date(i64::MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(format_http_date(i64::MIN), "Sat, 01 Jan 0000 00:00:00 GMT");
        assert_eq!(parse_date("2018-12-05T11:56:33Z"), Some(1_544_010_993));
        assert_eq!(parse_date("2018-12-05 11:56:33 UTC"), Some(1_544_010_993));
        assert_eq!(parse_date("1544010993"), Some(1_544_010_993));
        assert_eq!(parse_date("2018-12-05"), Some(1_543_968_000));
        assert_eq!(parse_date("yesterday"), None);
    }
}
