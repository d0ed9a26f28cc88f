//! Token lifetimes and the `CB-Token-ExpirationDate` header.

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

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
    PrimitiveDateTime::parse(value.trim(), HEADER_FORMAT)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// Formats a deadline the way the header carries it.
pub fn format_expiration(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    // The format has only numeric parts, so formatting cannot fail for any
    // year the header can express; fall back to RFC 3339 digits if it does.
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
    fn reads_the_header() {
        let resp = http::Response::builder()
            .header("cb-token-expirationdate", "2026-11-24 18:47:57 UTC")
            .body(())
            .unwrap();
        assert_eq!(expiration_of(&resp).unwrap().unix_timestamp(), 1795546077);
    }
}
