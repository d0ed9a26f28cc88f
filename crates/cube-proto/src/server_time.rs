//! The server's clock, as its answers tell it: the `Date` header, and the
//! offset a session keeps between it and the device's clock
//! (`docs/PROTOCOL.md`, "Signature").
//!
//! A signed `POST /session` carries a `timestamp` the server checks against
//! its own clock; a device whose clock is minutes off would never sign in.
//! So every answer of the API tells the session the server's clock
//! ([`ServerClock`]). Session requests are signed on the device's clock
//! until the server refuses it: after a `422` under `timestamp`, or
//! `Unexpected signature`, whose answer's `Date` is more than
//! [`FAR_FROM_CLOCK`] away from the time the request was signed with, the
//! call signs once more on the server's time and sends again — once, never
//! in a loop — and from then on the session signs on the server's time
//! (the device's clock plus the offset last seen).
//!
//! Why not sign on the server's time from the first answer: a `Date` is not
//! always the clock the server checks signatures with (a proxy may set it,
//! and an emulator whose clock a test moved may not), and a device whose
//! clock the server accepts must never be made to sign on another. A
//! refusal with a far `Date` is the evidence that the device's clock is the
//! wrong one; it costs one request, once in a session's life.

use time::{Date, Duration, Month, OffsetDateTime, Time, Weekday};

/// How far the server's `Date` must be from the time a refused request was
/// signed with before the call signs again on the server's time. Closer
/// than this, the clocks agree (a `Date` has whole seconds, and answers take
/// time to arrive): the refusal has another cause, and signing again would
/// not help.
pub const FAR_FROM_CLOCK: Duration = Duration::seconds(60);

/// The length of an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
const IMF_FIXDATE_LEN: usize = 29;

const DAY_NAMES: [(&str, Weekday); 7] = [
    ("Mon", Weekday::Monday),
    ("Tue", Weekday::Tuesday),
    ("Wed", Weekday::Wednesday),
    ("Thu", Weekday::Thursday),
    ("Fri", Weekday::Friday),
    ("Sat", Weekday::Saturday),
    ("Sun", Weekday::Sunday),
];

const MONTHS: [(&str, Month); 12] = [
    ("Jan", Month::January),
    ("Feb", Month::February),
    ("Mar", Month::March),
    ("Apr", Month::April),
    ("May", Month::May),
    ("Jun", Month::June),
    ("Jul", Month::July),
    ("Aug", Month::August),
    ("Sep", Month::September),
    ("Oct", Month::October),
    ("Nov", Month::November),
    ("Dec", Month::December),
];

/// Parses an HTTP date in the one form servers send, the IMF-fixdate of
/// RFC 9110: `Sun, 06 Nov 1994 08:49:37 GMT`, exactly 29 characters (the
/// spaces around the header value aside), names in their exact case, and a
/// day name that is the date's. Anything else — the obsolete RFC 850 and
/// asctime forms, another zone, a date that does not exist — is `None`:
/// a client that cannot be sure of the server's time keeps its own. A leap
/// second (`:60`) reads as the second before it.
///
/// ```
/// use cube_proto::server_time::parse_http_date;
/// let t = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
/// assert_eq!(t.unix_timestamp(), 784111777);
/// assert_eq!(parse_http_date("Mon, 06 Nov 1994 08:49:37 GMT"), None); // a Sunday
/// assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
/// ```
pub fn parse_http_date(value: &str) -> Option<OffsetDateTime> {
    let b = value
        .trim_matches(|c: char| c == ' ' || c == '\t')
        .as_bytes();
    if b.len() != IMF_FIXDATE_LEN
        || &b[3..5] != b", "
        || b[7] != b' '
        || b[11] != b' '
        || b[16] != b' '
        || b[19] != b':'
        || b[22] != b':'
        || &b[25..] != b" GMT"
    {
        return None;
    }
    let weekday = named(&b[0..3], &DAY_NAMES)?;
    let month = named(&b[8..11], &MONTHS)?;
    let day = digits(&b[5..7])?;
    let year = digits(&b[12..16])?;
    let (hour, minute, second) = (
        digits(&b[17..19])?,
        digits(&b[20..22])?,
        digits(&b[23..25])?,
    );
    let date = Date::from_calendar_date(i32::from(year), month, u8::try_from(day).ok()?).ok()?;
    let second = if second == 60 { 59 } else { second };
    let time = Time::from_hms(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
    )
    .ok()?;
    (date.weekday() == weekday).then(|| date.with_time(time).assume_utc())
}

/// The value `names` gives `text`, compared byte for byte.
fn named<T: Copy>(text: &[u8], names: &[(&str, T)]) -> Option<T> {
    names
        .iter()
        .find(|(name, _)| name.as_bytes() == text)
        .map(|&(_, value)| value)
}

/// ASCII digits only, as a number; at most four of them.
fn digits(text: &[u8]) -> Option<u16> {
    text.iter().try_fold(0u16, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u16::from(b - b'0'))
    })
}

/// The server's clock at the moment it answered, when the answer carries a
/// readable `Date`.
///
/// ```
/// let answer = http::Response::builder()
///     .header("Date", "Tue, 24 Nov 2026 12:00:00 GMT").body(())?;
/// let date = cube_proto::server_time::date_of(&answer).unwrap();
/// assert_eq!(date, time::macros::datetime!(2026-11-24 12:00 UTC));
/// # Ok::<(), http::Error>(())
/// ```
pub fn date_of<B>(response: &http::Response<B>) -> Option<OffsetDateTime> {
    response
        .headers()
        .get(http::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_http_date)
}

/// What a session knows of the server's clock: how far it is from the
/// device's, as last seen in a `Date` header, and whether session requests
/// are signed on it (since the server refused the device's clock). Kept by
/// the [`Session`] for its whole life (a new token keeps it, another server
/// forgets it), and learned by every call from the answers of the API.
///
/// ```
/// use cube_proto::Session;
/// use time::macros::datetime;
/// let session = Session::default();
/// let now = datetime!(2026-11-24 12:00 UTC);
/// // Until the server refuses the device's clock, session requests are
/// // signed on it.
/// assert_eq!(session.server_clock().offset(), None);
/// assert!(!session.server_clock().is_adopted());
/// assert_eq!(session.server_clock().now(now), now);
/// ```
///
/// [`Session`]: crate::Session
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ServerClock {
    offset: Option<Duration>,
    adopted: bool,
}

impl ServerClock {
    /// The server's time minus the device's, as last seen; `None` before
    /// any answer with a readable `Date`.
    pub fn offset(&self) -> Option<Duration> {
        self.offset
    }

    /// Whether session requests are signed on the server's time: since a
    /// call signed again on it after the server refused the device's
    /// clock.
    pub fn is_adopted(&self) -> bool {
        self.adopted
    }

    /// The time a session request is signed with when the device's clock
    /// reads `local_now`: the server's time (`local_now` plus the offset)
    /// once [adopted](Self::is_adopted), else `local_now`; `local_now` too
    /// when no offset is known or the sum would leave the calendar.
    pub fn now(&self, local_now: OffsetDateTime) -> OffsetDateTime {
        self.offset
            .filter(|_| self.adopted)
            .and_then(|offset| local_now.checked_add(offset))
            .unwrap_or(local_now)
    }

    /// Takes in an answer's `Date`, received when the device's clock read
    /// `local_now`.
    pub(crate) fn learn(&mut self, date: OffsetDateTime, local_now: OffsetDateTime) {
        self.offset = Some(date - local_now);
    }

    /// Signs on the server's time from now on: the server refused the
    /// device's clock.
    pub(crate) fn adopt(&mut self) {
        self.adopted = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn reads_the_rfc_example_and_dates_across_the_calendar() {
        let cases = [
            (
                "Sun, 06 Nov 1994 08:49:37 GMT",
                datetime!(1994-11-06 08:49:37 UTC),
            ),
            (
                "Thu, 01 Jan 1970 00:00:00 GMT",
                datetime!(1970-01-01 00:00:00 UTC),
            ),
            (
                "Tue, 29 Feb 2028 23:59:59 GMT",
                datetime!(2028-02-29 23:59:59 UTC),
            ),
            (
                "Fri, 31 Dec 9999 23:59:59 GMT",
                datetime!(9999-12-31 23:59:59 UTC),
            ),
            (
                "  Tue, 24 Nov 2026 12:00:00 GMT\t",
                datetime!(2026-11-24 12:00:00 UTC),
            ),
            (
                "Wed, 31 Dec 2025 23:59:60 GMT",
                datetime!(2025-12-31 23:59:59 UTC),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_http_date(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn refuses_every_other_form() {
        for bad in [
            "",
            "garbage",
            // The obsolete forms a server must not send.
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            // Another zone, or none.
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1994 08:49:37 +0000",
            "Sun, 06 Nov 1994 08:49:37",
            // Case, padding and separators are exact.
            "sun, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 NOV 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 gmt",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun,  6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
            "Sun, 06 Nov 1994 08.49.37 GMT",
            // Each separator alone, the digits and names around it right.
            "Sun; 06 Nov 1994 08:49:37 GMT",
            "Sun,-06 Nov 1994 08:49:37 GMT",
            "Sun, 06-Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov-1994 08:49:37 GMT",
            "Sun, 06 Nov 1994-08:49:37 GMT",
            "Sun, 06 Nov 1994 08-49:37 GMT",
            "Sun, 06 Nov 1994 08:49-37 GMT",
            "Sun, 06 Nov 1994 08:49:37-GMT",
            "Sun 06 Nov 1994 08:49:37 GMT ",
            "Sun, 06 Nov 1994 08:49:37  GMT",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sun, 06 Nov +994 08:49:37 GMT",
            "Sun, 0x Nov 1994 08:49:37 GMT",
            // Dates and times that do not exist, or the wrong day name.
            "Mon, 06 Nov 1994 08:49:37 GMT",
            "Sat, 29 Feb 2025 00:00:00 GMT",
            "Sun, 00 Nov 1994 08:49:37 GMT",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:60:00 GMT",
            "Sun, 06 Nov 1994 08:49:61 GMT",
            "Sun, 06 Xyz 1994 08:49:37 GMT",
            // One character too many, at the end or inside.
            "Sun, 06 Nov 1994 08:49:37 GMTx",
            "Sun, 06 Nov 01994 08:49:37 GMT",
            // Not ASCII where a digit or a name belongs.
            "Sun, ０6 Nov 1994 08:49:37 GMT",
            "Sün, 06 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn reads_the_header_and_tolerates_its_absence() {
        let with = |value: &[u8]| {
            http::Response::builder()
                .header("date", http::HeaderValue::from_bytes(value).unwrap())
                .body(())
                .unwrap()
        };
        assert_eq!(
            date_of(&with(b"Tue, 24 Nov 2026 12:00:00 GMT")),
            Some(datetime!(2026-11-24 12:00 UTC))
        );
        assert_eq!(date_of(&with(b"yesterday")), None);
        assert_eq!(date_of(&with(b"Tue, 24 Nov 2026 12:00:00 GMT\xff")), None);
        assert_eq!(date_of(&http::Response::new(())), None);
    }

    #[test]
    fn the_clock_follows_the_last_date_once_adopted_and_never_leaves_the_calendar() {
        let local = datetime!(2026-11-24 12:00 UTC);
        let mut clock = ServerClock::default();
        assert_eq!(clock.now(local), local);
        clock.learn(local + Duration::minutes(10), local);
        assert_eq!(clock.offset(), Some(Duration::minutes(10)));
        assert_eq!(clock.now(local), local, "known, not adopted");
        clock.adopt();
        assert!(clock.is_adopted());
        assert_eq!(clock.now(local), local + Duration::minutes(10));
        assert_eq!(
            clock.now(local + Duration::hours(1)),
            local + Duration::minutes(70)
        );
        clock.learn(local - Duration::days(1), local);
        assert_eq!(clock.now(local), local - Duration::days(1));
        // A server in year 9999 and a device near the calendar's end: the
        // sum does not exist, the device's clock is used.
        clock.learn(
            datetime!(9999-12-31 23:59:59 UTC),
            datetime!(1970-01-01 0:00 UTC),
        );
        let late = datetime!(9000-01-01 0:00 UTC);
        assert_eq!(clock.now(late), late);
    }
}
