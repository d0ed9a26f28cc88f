//! Token lifetimes and the `CB-Token-ExpirationDate` header.

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// The response header that carries a token's deadline.
pub const EXPIRATION_HEADER: &str = "CB-Token-ExpirationDate";

/// A token dies this long after the last request that used it.
pub const SESSION_IDLE_TTL: Duration = Duration::hours(2);

/// A guest session ends this long after its creation, busy or idle.
pub const GUEST_SESSION_TTL: Duration = Duration::days(1);

const HEADER_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");

/// Parses `YYYY-MM-DD HH:MM:SS UTC`; `None` for anything else.
///
/// ```
/// let t = cube_proto::expiry::parse_expiration("2026-11-24 18:47:57 UTC").unwrap();
/// assert_eq!(t.unix_timestamp(), 1795546077);
/// assert!(cube_proto::expiry::parse_expiration("tomorrow").is_none());
/// ```
pub fn parse_expiration(value: &str) -> Option<OffsetDateTime> {
    let value = value.trim();
    read_fixed(value).or_else(|| {
        PrimitiveDateTime::parse(value, HEADER_FORMAT)
            .ok()
            .map(PrimitiveDateTime::assume_utc)
    })
}

/// `YYYY-MM-DD HH:MM:SS UTC` read position by position, as every answer
/// carries it; `None` for anything else, which the format parser then
/// reads (and refuses, or not, as it always did).
fn read_fixed(value: &str) -> Option<OffsetDateTime> {
    let b = value.as_bytes();
    let shape = b.len() == 23
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b' '
        && b[13] == b':'
        && b[16] == b':'
        && &b[19..] == b" UTC";
    if !shape {
        return None;
    }
    let number = |from: usize, to: usize| {
        b[from..to].iter().try_fold(0u16, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u16::from(c - b'0'))
        })
    };
    let small = |from, to| number(from, to).and_then(|n| u8::try_from(n).ok());
    let month = Month::try_from(small(5, 7)?).ok()?;
    let date = Date::from_calendar_date(i32::from(number(0, 4)?), month, small(8, 10)?).ok()?;
    let time = Time::from_hms(small(11, 13)?, small(14, 16)?, small(17, 19)?).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

/// Formats a deadline the way the header carries it.
pub fn format_expiration(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    // The format has only numeric parts, so formatting cannot fail for any
    // year the header can express; should it ever, the deadline goes out as
    // seconds since the epoch.
    utc.format(HEADER_FORMAT)
        .unwrap_or_else(|_| utc.unix_timestamp().to_string())
}

/// The deadline a response announces, when it carries a readable header.
pub fn expiration_of<B>(response: &http::Response<B>) -> Option<OffsetDateTime> {
    response
        .headers()
        .get(EXPIRATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_expiration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = parse_expiration("2018-12-05 13:58:02 UTC").unwrap();
        assert_eq!(format_expiration(t), "2018-12-05 13:58:02 UTC");
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in [
            "",
            "2018-12-05T13:58:02Z",
            "2018-12-05 13:58:02",
            "2018-13-05 13:58:02 UTC",
        ] {
            assert!(parse_expiration(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_fixed_reading_agrees_with_the_format() {
        let by_format = |v: &str| {
            PrimitiveDateTime::parse(v, HEADER_FORMAT)
                .ok()
                .map(PrimitiveDateTime::assume_utc)
        };
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let d = |shift: u32, m: u64| (seed >> shift) % m;
            let v = format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
                d(0, 10_000),
                d(14, 14),
                d(18, 33),
                d(24, 26),
                d(30, 61),
                d(36, 62)
            );
            assert_eq!(parse_expiration(&v), by_format(&v), "{v}");
            if let Some(fixed) = read_fixed(&v) {
                assert_eq!(Some(fixed), by_format(&v), "{v}");
            }
        }
        assert!(read_fixed("2026-11-24 18:47:57 UTC").is_some());
        assert!(read_fixed("2026-11-24 18:47:57 utc").is_none());
    }

    #[test]
    fn reads_the_header() {
        let resp = http::Response::builder()
            .header("cb-token-expirationdate", "2026-11-24 18:47:57 UTC")
            .body(())
            .unwrap();
        assert_eq!(expiration_of(&resp).unwrap().unix_timestamp(), 1795546077);
    }
}
