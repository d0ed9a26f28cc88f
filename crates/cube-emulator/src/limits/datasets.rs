//! Data sets (`crate::dataset`): how much an import reads, and the ranges
//! that keep an imported emulator working. The rules of each field are
//! the API's own (`crate::user_fields`, the parent module's predicates);
//! these bound what the API bounds only by the size of a request.

use std::ops::RangeInclusive;

use super::MAX_BODY;

/// The largest `manifest.json` an import reads (it holds a few numbers).
pub(crate) const MANIFEST_MAX_BYTES: u64 = 64 * 1024;
/// The longest line of a record file, its newline included. A longer one
/// is refused after reading this much of it, never read whole. The
/// largest record the API can make fits, so an export never writes a line
/// an import refuses (`tests::the_largest_user_fits_a_line`).
pub(crate) const LINE_MAX_BYTES: usize = 64 << 20;
/// The most bytes the record files of one data set hold together: an
/// import keeps its records in memory until they are all checked, and an
/// export that would write more is refused.
pub(crate) const RECORDS_MAX_BYTES: u64 = 512 << 20;
/// A text field without a length rule of its own (`phone`, `website`,
/// `avatar`, the user's ids, a link's identity) holds at most what the
/// one request that set it carried; so do a user's tags together.
pub(crate) const FREE_TEXT_MAX_BYTES: usize = MAX_BODY;
/// The longest stored password hash: the emulator writes about 100
/// bytes, its costs at their limits with a 64-byte salt take 225.
pub(crate) const PASSWORD_HASH_MAX_BYTES: usize = 256;
/// The times a record may carry, in Unix seconds: 0000-01-01 to
/// 9999-12-31, every date an answer can write as four-digit years.
pub(crate) const TIMES: RangeInclusive<i64> = -62_167_219_200..=253_402_300_799;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{CUSTOM_DATA_MAX_BYTES, EMAIL_MAX_BYTES, FULL_NAME_MAX_CHARS, TAGS_MAX};

    #[test]
    fn the_times_are_the_four_digit_years() {
        use crate::clock::format_iso;
        assert_eq!(format_iso(*TIMES.start()), "0000-01-01T00:00:00Z");
        assert_eq!(format_iso(*TIMES.end()), "9999-12-31T23:59:59Z");
    }

    /// The largest user record: every field at its limit, each character
    /// one that JSON writes as six bytes (`\u0001`).
    #[test]
    fn the_largest_user_fits_a_line() {
        let worst = |bytes: usize| "\u{1}".repeat(bytes);
        let free = worst(FREE_TEXT_MAX_BYTES);
        let tag = worst(FREE_TEXT_MAX_BYTES / TAGS_MAX);
        let record = serde_json::json!({
            "id": i64::MIN, "app_id": i64::MIN,
            "login": worst(70), "email": worst(EMAIL_MAX_BYTES),
            "password_hash": worst(PASSWORD_HASH_MAX_BYTES),
            "full_name": worst(FULL_NAME_MAX_CHARS),
            "phone": free, "website": free, "avatar": free,
            "external_user_id": free, "external_id": free,
            "facebook_id": free, "twitter_id": free,
            "blob_id": i64::MIN,
            "custom_data": worst(CUSTOM_DATA_MAX_BYTES),
            "tags": vec![tag; TAGS_MAX],
            "timezone": i64::MIN, "guest_expires_at": i64::MIN,
            "created_at": i64::MIN, "updated_at": i64::MIN, "last_request_at": i64::MIN,
        });
        let line = record.to_string().len() + 1;
        assert!(line <= LINE_MAX_BYTES, "{line}");
        assert!(
            line > LINE_MAX_BYTES / 2,
            "the limit is far from the records: {line}"
        );
    }
}
