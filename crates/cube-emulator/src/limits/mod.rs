//! Every limit and lifetime the emulator enforces, in one place: handlers,
//! providers and the store refer to these names, so a rule is changed
//! once. The user-field rules follow `docs/PROTOCOL.md`, "Users"; the others are
//! the emulator's own choices (README, "Choices where the protocol is
//! silent").

use std::time::Duration;

use serde_json::Value;

mod clients;
mod datasets;
mod faults;
mod requests;

pub(crate) use clients::FREE_PER_BODY;
pub use clients::Limits;
pub(crate) use datasets::{
    FREE_TEXT_MAX_BYTES, LINE_MAX_BYTES, MANIFEST_MAX_BYTES, PASSWORD_HASH_MAX_BYTES,
    RECORDS_MAX_BYTES, TIMES,
};
pub(crate) use faults::*;
pub(crate) use requests::*;

// ---- ids ----

/// The largest id the emulator gives or takes (applications, users,
/// files): 2^53 − 1, the largest integer a JavaScript client reads
/// exactly. It leaves room for new ids after any imported or chosen one
/// (an id of 2^63 − 1 would leave none, and every later sign-up would
/// fail).
pub(crate) const ID_MAX: i64 = (1 << 53) - 1;

/// Whether `id` is one the emulator can hold: 1 to [`ID_MAX`].
pub(crate) fn id_ok(id: i64) -> bool {
    (1..=ID_MAX).contains(&id)
}

// ---- user fields (`docs/PROTOCOL.md`, "Users") ----

/// A login has 3 to 70 characters.
pub(crate) const LOGIN_CHARS: std::ops::RangeInclusive<usize> = 3..=70;
/// A password has 8 to 40 characters.
pub(crate) const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 8..=40;
/// The longest e-mail address, in bytes (RFC 5321's path limit).
pub(crate) const EMAIL_MAX_BYTES: usize = 254;
/// The longest full name, in characters; a provider's longer name is cut.
pub(crate) const FULL_NAME_MAX_CHARS: usize = 200;
/// The most tags a user has.
pub(crate) const TAGS_MAX: usize = 5;
/// The largest `custom_data`, in bytes.
pub(crate) const CUSTOM_DATA_MAX_BYTES: usize = 64 * 1024;

/// Whether `login` has an allowed length.
pub(crate) fn login_ok(login: &str) -> bool {
    LOGIN_CHARS.contains(&login.chars().count())
}

/// Whether `password` has an allowed length.
pub(crate) fn password_ok(password: &str) -> bool {
    PASSWORD_CHARS.contains(&password.chars().count())
}

/// A pragmatic well-formedness check: `local@domain.tld`, no spaces, at
/// most [`EMAIL_MAX_BYTES`].
pub(crate) fn email_ok(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && email.len() <= EMAIL_MAX_BYTES
        && !domain.contains('@')
        && !email.chars().any(char::is_whitespace)
        && domain
            .split_once('.')
            .is_some_and(|(host, tld)| !host.is_empty() && !tld.is_empty() && !tld.ends_with('.'))
}

/// `external_user_id`, a number in the public service's documents: a JSON
/// integer or a digit string, 0 to `i64::MAX` (what the database holds);
/// anything else is refused with the reason.
pub(crate) fn external_user_id(value: &Value) -> Result<i64, &'static str> {
    const NEGATIVE: &str = "must be greater than or equal to 0";
    const TOO_LARGE: &str = "is too large (maximum is 9223372036854775807)";
    let whole = match value {
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(n), _) => n,
            (None, Some(_)) => return Err(NEGATIVE),
            (None, None) => return Err("must be an integer"),
        },
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse::<u64>().map_err(|_| TOO_LARGE)?
        }
        Value::String(s) if s.parse::<i64>().is_ok_and(|n| n < 0) => return Err(NEGATIVE),
        _ => return Err("is not a number"),
    };
    i64::try_from(whole).map_err(|_| TOO_LARGE)
}

// ---- lifetimes (seconds on the emulator clock) ----

/// A user session's idle lifetime (sliding).
pub(crate) const SESSION_TTL: i64 = 2 * 3600;
/// A guest session's (and guest user's) fixed lifetime.
pub(crate) const GUEST_TTL: i64 = 24 * 3600;
/// How long a password-reset link works.
pub(crate) const RESET_TTL: i64 = 3600;

// ---- lists and searches (`docs/PROTOCOL.md`, "Search") ----

/// `per_page` of a v1 page when none is asked.
pub(crate) const V1_PER_PAGE_DEFAULT: i64 = 10;
/// `limit` of a v2 page when none is asked.
pub(crate) const V2_LIMIT_DEFAULT: i64 = 100;
/// The largest page; more is clamped to this.
pub(crate) const PAGE_MAX: i64 = 100;
/// `start_with` needs at least this many characters.
pub(crate) const START_WITH_MIN_CHARS: usize = 4;
/// The page size of any search with `start_with`, whatever was asked.
pub(crate) const START_WITH_PAGE: i64 = 5;
/// The most values one list may carry: `id[in][]`, `user_tags[nin][]`,
/// `by_tags`'s tags, a v1 `in`/`nin` filter. More is `422` naming the
/// field (the list is bound as one value, so the limit is about request
/// cost, not SQL).
pub(crate) const LIST_VALUES_MAX: usize = 1000;
/// The most conditions one search may combine: v1 `filter[]` entries, or
/// v2 `field[op]` groups. More is `422` naming the field.
pub(crate) const CONDITIONS_MAX: usize = 32;
/// The most users one admin import (`POST /_emulator/apps/{id}/users`) takes.
pub(crate) const IMPORT_USERS_MAX: usize = 10_000;

// ---- identity providers ----

/// The longest Firebase user id (`sub`), in bytes.
pub(crate) const FIREBASE_SUB_MAX_BYTES: usize = 128;
/// How long a fetched Firebase key set is used when its answer does not say.
pub(crate) const KEY_SET_DEFAULT_MAX_AGE: i64 = 3600;
/// The longest a key set is used without fetching it again.
pub(crate) const KEY_SET_LONGEST_MAX_AGE: i64 = 86_400;
/// A key-set URL is fetched at most once per this many seconds, whatever
/// tokens arrive (stale set, unknown `kid`, `no-cache`): a stream of forged
/// tokens cannot turn into a stream of outbound fetches.
pub(crate) const KEY_SET_REFETCH_INTERVAL: i64 = 30;
/// The largest answer read from an identity provider.
pub(crate) const PROVIDER_ANSWER_MAX_BYTES: usize = 1 << 20;
/// How long an identity provider may take to answer, by default.
pub(crate) const PROVIDER_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5);
/// The fake Twitter API refuses OAuth timestamps further than this (s).
pub(crate) const OAUTH_WINDOW: i64 = 300;

// ---- requests and files ----

/// The largest JSON or form body accepted (`docs/PROTOCOL.md`: over 1 MiB is `413`).
pub(crate) const MAX_BODY: usize = 1 << 20;
/// Past this much, an oversized body is no longer read to its end: the
/// connection is simply closed after the `413`.
pub(crate) const DRAIN_LIMIT: usize = 16 << 20;
/// How long in-flight requests may take to finish once a stop is asked.
pub(crate) const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest file accepted: 100 MiB.
pub(crate) const MAX_FILE: u64 = 100 << 20;
/// A rejected upload is still read (and discarded) up to this many body
/// bytes, so that the client gets to read the answer; past it the
/// connection is closed.
pub(crate) const DRAIN_CAP: u64 = MAX_FILE + (64 << 20);
/// Largest text field of an upload form.
pub(crate) const MAX_FIELD: usize = 16 * 1024;
/// Most fields of an upload form.
pub(crate) const MAX_FIELDS: usize = 64;
/// Longest header block of one part of an upload form.
pub(crate) const MAX_PART_HEADERS: usize = 16 * 1024;
/// The most a connection buffers on its own (request head, body frames):
/// hyper's default is about 400 KiB, multiplied by every connection.
pub(crate) const CONNECTION_BUFFER: usize = 64 * 1024;
/// The body memory an upload takes when its first bytes come: a part's
/// headers and a frame, so that it seldom needs more later (a body never
/// waits for memory while holding some).
pub(crate) const UPLOAD_SHARE: usize = MAX_PART_HEADERS + CONNECTION_BUFFER;
/// Longest file name, in characters.
pub(crate) const BLOB_NAME_MAX_CHARS: usize = 255;
/// How long an upload policy (URL) is valid, in seconds.
pub(crate) const POLICY_TTL: i64 = 3600;
/// How far the admin API may move the clock from system time: 100 years.
pub(crate) const MAX_CLOCK_OFFSET: i64 = 100 * 366 * 86_400;

/// Whether the clock may run `offset` seconds from system time, either
/// way (without taking the absolute value of `i64::MIN`, which has none).
pub(crate) fn clock_offset_ok(offset: i64) -> bool {
    offset.unsigned_abs() <= MAX_CLOCK_OFFSET.unsigned_abs()
}

/// Whether a file's content type is one `POST /blobs` keeps: not blank,
/// without surrounding spaces or a line break (it goes into a header).
pub(crate) fn content_type_ok(content_type: &str) -> bool {
    !content_type.is_empty()
        && content_type.trim() == content_type
        && !content_type.contains(['\r', '\n'])
}

/// Whether a file's name is one `POST /blobs` keeps: not blank, without
/// surrounding spaces, at most [`BLOB_NAME_MAX_CHARS`].
pub(crate) fn blob_name_ok(name: &str) -> bool {
    !name.is_empty() && name.trim() == name && name.chars().count() <= BLOB_NAME_MAX_CHARS
}

// ---- background work ----

/// How often read refreshes (session deadlines, `last_request_at`) are
/// written; `docs/EMULATOR.md` allows them to be this late on disk.
pub(crate) const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Garbage collection runs every this many flushes.
pub(crate) const SWEEP_EVERY_TICKS: u64 = 10;

// ---- passwords ----

/// The most argon2 memory, in KiB, a stored hash may name (the
/// `production` cost uses 19 MiB): a hash that names more is malformed, so
/// an imported data set cannot make one sign-in allocate gigabytes.
pub(crate) const HASH_MEMORY_MAX_KIB: u32 = 64 * 1024;
/// The most argon2 passes a stored hash may name (`production` makes 2).
pub(crate) const HASH_PASSES_MAX: u32 = 16;
/// Hashes whose memory (KiB) times passes is at most this run on the
/// request's own worker thread: the `dev` cost (64 × 1) and that of earlier
/// releases (256 × 1) take at most a few tenths of a millisecond, less
/// than handing them to another thread and back costs under load. Dearer hashes go to the blocking pool, at most
/// one per core.
pub(crate) const INLINE_HASH_COST: u64 = 256;

// ---- storage ----

/// The most writes that share one transaction (and one fsync).
pub(crate) const WRITE_BATCH_MAX: usize = 256;
/// Prepared statements kept per database connection.
pub(crate) const STATEMENT_CACHE: usize = 256;
/// The most search totals remembered (`store::counts`); past it the oldest
/// is forgotten.
pub(crate) const COUNT_CACHE_ENTRIES: usize = 1024;
/// The most bytes the remembered search totals may take, keys included.
pub(crate) const COUNT_CACHE_BYTES: usize = 4 << 20;
/// A search whose filters take more bytes than this (a long value list)
/// has its total counted each time rather than remembered.
pub(crate) const COUNT_CACHE_KEY_MAX_BYTES: usize = 16 * 1024;

// ---- hostile input ----

/// How deeply a body may nest: a key `a[b][c]` is 3 levels, and a JSON
/// body is held to the same limit. The protocol needs 3; deeper is `400`,
/// refused before anything is built.
pub(crate) const MAX_DEPTH: usize = 32;
/// The longest signature base built: more than any body within
/// [`MAX_BODY`] signs legitimately, far less than the quadratic blow-up
/// of long keys repeated at every level or leaf.
pub(crate) const MAX_SIGNATURE_BASE: usize = 2 * MAX_BODY;
/// Most sessions kept in the memory cache (about 300 bytes each). Past
/// it, expired entries go first, then arbitrary ones: the database holds
/// every session, the cache only spares a query.
pub(crate) const MAX_CACHED_SESSIONS: usize = 50_000;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn external_user_ids_are_whole_numbers() {
        for (value, expected) in [
            (json!(42), Ok(42)),
            (json!("42"), Ok(42)),
            (json!("007"), Ok(7)),
            (json!(0), Ok(0)),
            (json!(i64::MAX), Ok(i64::MAX)),
            (json!(i64::MAX.to_string()), Ok(i64::MAX)),
            (
                json!(i64::MAX as u64 + 1),
                Err("is too large (maximum is 9223372036854775807)"),
            ),
            (
                json!("9223372036854775808"),
                Err("is too large (maximum is 9223372036854775807)"),
            ),
            (
                json!("99999999999999999999"),
                Err("is too large (maximum is 9223372036854775807)"),
            ),
            (json!(-1), Err("must be greater than or equal to 0")),
            (json!("-1"), Err("must be greater than or equal to 0")),
            (json!(1.5), Err("must be an integer")),
            (json!("1.5"), Err("is not a number")),
            (json!(""), Err("is not a number")),
            (json!(" 42"), Err("is not a number")),
            (json!("ext-1"), Err("is not a number")),
            (json!(true), Err("is not a number")),
            (json!([1]), Err("is not a number")),
        ] {
            assert_eq!(external_user_id(&value), expected, "{value}");
        }
    }

    #[test]
    fn field_rules_at_and_past_their_limits() {
        assert!(login_ok("abc") && login_ok(&"a".repeat(70)));
        assert!(!login_ok("ab") && !login_ok(&"a".repeat(71)));
        assert!(password_ok(&"p".repeat(8)) && password_ok(&"p".repeat(40)));
        assert!(!password_ok(&"p".repeat(7)) && !password_ok(&"p".repeat(41)));
        let at_limit = format!("{}@example.com", "a".repeat(EMAIL_MAX_BYTES - 12));
        assert!(email_ok(&at_limit));
        assert!(!email_ok(&format!("a{at_limit}")));
    }

    #[test]
    fn ids_and_clock_offsets_at_and_past_their_limits() {
        assert!(id_ok(1) && id_ok(ID_MAX));
        assert!(!id_ok(0) && !id_ok(ID_MAX + 1) && !id_ok(i64::MAX) && !id_ok(i64::MIN));
        assert!(clock_offset_ok(MAX_CLOCK_OFFSET) && clock_offset_ok(-MAX_CLOCK_OFFSET));
        assert!(!clock_offset_ok(MAX_CLOCK_OFFSET + 1) && !clock_offset_ok(-MAX_CLOCK_OFFSET - 1));
        assert!(!clock_offset_ok(i64::MIN) && !clock_offset_ok(i64::MAX));
    }

    #[test]
    fn file_fields_at_and_past_their_limits() {
        assert!(blob_name_ok(&"n".repeat(BLOB_NAME_MAX_CHARS)));
        assert!(!blob_name_ok(&"n".repeat(BLOB_NAME_MAX_CHARS + 1)));
        assert!(!blob_name_ok("") && !blob_name_ok(" n"));
        assert!(content_type_ok("image/png"));
        assert!(
            !content_type_ok("")
                && !content_type_ok("a\r\nSet-Cookie: x")
                && !content_type_ok(" a")
        );
    }

    #[test]
    fn emails() {
        assert!(email_ok("dacia_k@domain.com"));
        assert!(!email_ok("nope"));
        assert!(!email_ok("a@b"));
        assert!(!email_ok("a b@c.d"));
        assert!(!email_ok("@c.d"));
    }
}
