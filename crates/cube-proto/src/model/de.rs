//! Tolerant readers for fields the service sends in more than one shape.
//!
//! Each reads the value as it comes (a number, a string, a boolean, null),
//! straight from the parser with no intermediate `serde_json::Value`, and
//! skips any other shape (an object, an array) as if the field were
//! missing.

use serde::Deserializer;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// What a scalar visitor makes of each shape; the default for every shape
/// is "nothing" (`None`).
trait Scalar<'de>: Sized {
    type Value;
    const EXPECTING: &'static str;

    fn none(self) -> Self::Value;

    fn unsigned(self, _v: u64) -> Self::Value {
        self.none()
    }

    fn signed(self, v: i64) -> Self::Value {
        match u64::try_from(v) {
            Ok(v) => self.unsigned(v),
            Err(_) => self.negative(v),
        }
    }

    fn negative(self, _v: i64) -> Self::Value {
        self.none()
    }

    fn float(self, _v: f64) -> Self::Value {
        self.none()
    }

    fn boolean(self, _v: bool) -> Self::Value {
        self.none()
    }

    fn text(self, _v: &str) -> Self::Value {
        self.none()
    }

    fn owned_text(self, v: String) -> Self::Value {
        self.text(&v)
    }
}

/// Adapts a [`Scalar`] to serde's visitor.
struct Read<S>(S);

impl<'de, S: Scalar<'de>> Visitor<'de> for Read<S> {
    type Value = S::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(S::EXPECTING)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<S::Value, E> {
        Ok(self.0.unsigned(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<S::Value, E> {
        Ok(self.0.signed(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<S::Value, E> {
        Ok(self.0.float(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<S::Value, E> {
        Ok(self.0.boolean(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<S::Value, E> {
        Ok(self.0.text(v))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<S::Value, E> {
        Ok(self.0.owned_text(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<S::Value, E> {
        Ok(self.0.none())
    }

    fn visit_none<E: de::Error>(self) -> Result<S::Value, E> {
        Ok(self.0.none())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<S::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(self.0.none())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<S::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(self.0.none())
    }
}

fn read<'de, D: Deserializer<'de>, S: Scalar<'de>>(d: D, scalar: S) -> Result<S::Value, D::Error> {
    d.deserialize_any(Read(scalar))
}

/// A non-negative integer as a number or a digit string.
struct Unsigned;

impl Scalar<'_> for Unsigned {
    type Value = Option<u64>;
    const EXPECTING: &'static str = "an integer, as a number or a string";

    fn none(self) -> Option<u64> {
        None
    }

    fn unsigned(self, v: u64) -> Option<u64> {
        Some(v)
    }

    fn text(self, v: &str) -> Option<u64> {
        v.trim().parse().ok()
    }
}

/// A number, a digit string, or null/missing.
pub(crate) fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    read(d, Unsigned)
}

/// Like [`opt_u64`], but the value must be there.
pub(crate) fn u64_any<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    opt_u64(d)?.ok_or_else(|| de::Error::custom("expected an integer id"))
}

/// An integer as a number or a string.
struct Signed;

impl Scalar<'_> for Signed {
    type Value = Option<i64>;
    const EXPECTING: &'static str = "an integer, as a number or a string";

    fn none(self) -> Option<i64> {
        None
    }

    fn unsigned(self, v: u64) -> Option<i64> {
        i64::try_from(v).ok()
    }

    fn negative(self, v: i64) -> Option<i64> {
        Some(v)
    }

    fn text(self, v: &str) -> Option<i64> {
        v.trim().parse().ok()
    }
}

/// An integer that may come as a number or a string.
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    read(d, Signed)
}

/// Text, or a number or boolean written as text.
struct Text;

impl Scalar<'_> for Text {
    type Value = Option<String>;
    const EXPECTING: &'static str = "a string, a number or a boolean";

    fn none(self) -> Option<String> {
        None
    }

    fn unsigned(self, v: u64) -> Option<String> {
        Some(v.to_string())
    }

    fn negative(self, v: i64) -> Option<String> {
        Some(v.to_string())
    }

    fn float(self, v: f64) -> Option<String> {
        // As serde_json writes it (1e+21, not a string of 22 digits).
        serde_json::Number::from_f64(v).map(|n| n.to_string())
    }

    fn boolean(self, v: bool) -> Option<String> {
        Some(v.to_string())
    }

    fn text(self, v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    fn owned_text(self, v: String) -> Option<String> {
        Some(v)
    }
}

/// A string that may come as a number (ids): both become text.
pub(crate) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    read(d, Text)
}

/// A boolean as `true`, a number (0 is false) or `"1"`/`"true"`/`"0"`/`"false"`.
struct Flag;

impl Scalar<'_> for Flag {
    type Value = Option<bool>;
    const EXPECTING: &'static str = "a boolean, a number or a string";

    fn none(self) -> Option<bool> {
        None
    }

    fn unsigned(self, v: u64) -> Option<bool> {
        Some(v != 0)
    }

    fn negative(self, _v: i64) -> Option<bool> {
        Some(true)
    }

    fn float(self, _v: f64) -> Option<bool> {
        // Only an integer 0 is false.
        Some(true)
    }

    fn boolean(self, v: bool) -> Option<bool> {
        Some(v)
    }

    fn text(self, v: &str) -> Option<bool> {
        match v {
            "1" | "true" => Some(true),
            "0" | "false" => Some(false),
            _ => None,
        }
    }
}

/// A boolean that may come as `true`, `1` or `"1"`/`"true"`.
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    read(d, Flag)
}

/// An RFC 3339 timestamp, or seconds since the epoch.
struct Moment;

impl Scalar<'_> for Moment {
    type Value = Option<OffsetDateTime>;
    const EXPECTING: &'static str = "an RFC 3339 timestamp or seconds since the epoch";

    fn none(self) -> Option<OffsetDateTime> {
        None
    }

    fn unsigned(self, v: u64) -> Option<OffsetDateTime> {
        i64::try_from(v).ok().and_then(|v| self.negative(v))
    }

    fn negative(self, v: i64) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp(v).ok()
    }

    fn text(self, v: &str) -> Option<OffsetDateTime> {
        utc_seconds(v).or_else(|| OffsetDateTime::parse(v, &Rfc3339).ok())
    }
}

/// The shape the service sends, `2018-12-06T09:16:26Z`, read directly;
/// `None` for anything else (which the full RFC 3339 parser then reads:
/// other offsets, fractions, a leap second).
fn utc_seconds(v: &str) -> Option<OffsetDateTime> {
    let b = v.as_bytes();
    let shape = b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z';
    if !shape {
        return None;
    }
    let number = |from: usize, to: usize| {
        b[from..to].iter().try_fold(0u16, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u16::from(c - b'0'))
        })
    };
    let month = Month::try_from(u8::try_from(number(5, 7)?).ok()?).ok()?;
    let day = u8::try_from(number(8, 10)?).ok()?;
    let date = Date::from_calendar_date(i32::from(number(0, 4)?), month, day).ok()?;
    let [hour, minute, second] = [number(11, 13)?, number(14, 16)?, number(17, 19)?]
        .map(|n| u8::try_from(n).unwrap_or(u8::MAX));
    let time = Time::from_hms(hour, minute, second).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

/// An RFC 3339 timestamp; anything else (null, missing, unreadable) is `None`.
pub(crate) fn opt_datetime<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<OffsetDateTime>, D::Error> {
    read(d, Moment)
}

/// Tags as a comma-separated string (what the service sends) or a list of
/// such strings; anything else in a list is skipped.
struct Tags;

fn split_into(out: &mut Vec<String>, s: &str) {
    out.extend(
        s.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned),
    );
}

impl<'de> Visitor<'de> for Tags {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tags, as a comma-separated string or a list")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<String>, E> {
        let mut out = Vec::new();
        split_into(&mut out, v);
        Ok(out)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element_seed(TagItem(&mut out))? {
            let () = item;
        }
        Ok(out)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Vec::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Vec<String>, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_none<E: de::Error>(self) -> Result<Vec<String>, E> {
        Ok(Vec::new())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<String>, E> {
        Ok(Vec::new())
    }

    fn visit_bool<E: de::Error>(self, _v: bool) -> Result<Vec<String>, E> {
        Ok(Vec::new())
    }

    fn visit_u64<E: de::Error>(self, _v: u64) -> Result<Vec<String>, E> {
        Ok(Vec::new())
    }

    fn visit_i64<E: de::Error>(self, _v: i64) -> Result<Vec<String>, E> {
        Ok(Vec::new())
    }

    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<Vec<String>, E> {
        Ok(Vec::new())
    }
}

/// One item of a tag list: a string's tags go into the list, anything else
/// is skipped.
struct TagItem<'a>(&'a mut Vec<String>);

impl<'de> de::DeserializeSeed<'de> for TagItem<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TagItem<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tag string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        split_into(self.0, v);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _v: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _v: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _v: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<(), E> {
        Ok(())
    }
}

/// Tags as a comma-separated string (what the service sends) or a list.
pub(crate) fn tags<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    d.deserialize_any(Tags)
}

#[cfg(test)]
mod tests {
    use super::utc_seconds;
    use crate::User;
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    #[test]
    fn the_short_way_to_a_timestamp_agrees_with_the_full_parser() {
        let full = |v: &str| OffsetDateTime::parse(v, &Rfc3339).ok();
        for v in [
            "2018-12-06T09:16:26Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2024-02-29T12:00:00Z",
        ] {
            assert_eq!(utc_seconds(v), full(v), "{v}");
            assert!(utc_seconds(v).is_some(), "{v}");
        }
        // Anything else is left to the full parser, whatever it makes of it.
        for v in [
            "2023-02-29T12:00:00Z",
            "2018-13-06T09:16:26Z",
            "2018-12-06T24:00:00Z",
            "2016-12-31T23:59:60Z",
            "2018-12-06t09:16:26z",
            "2018-12-06T09:16:26.5Z",
            "2018-12-06T09:16:26+01:00",
            "2018-12-06T09:16:2xZ",
            "+018-12-06T09:16:26Z",
        ] {
            assert_eq!(utc_seconds(v), None, "{v}");
        }
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let d = |shift: u32, m: u64| (seed >> shift) % m;
            let v = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                d(0, 10_000),
                d(14, 14),
                d(18, 33),
                d(24, 26),
                d(30, 61),
                d(36, 62)
            );
            if let Some(short) = utc_seconds(&v) {
                assert_eq!(Some(short), full(&v), "{v}");
            }
        }
    }

    fn user(fields: &str) -> User {
        serde_json::from_str(&format!(r#"{{"id": 1{fields}}}"#)).unwrap()
    }

    #[test]
    fn text_fields_take_strings_numbers_and_booleans_and_skip_other_shapes() {
        let u = user(
            r#", "login": 5, "email": -7, "phone": 1.5, "website": true,
            "full_name": {"a": [1]}, "avatar": [1, 2], "custom_data": null, "external_id": """#,
        );
        assert_eq!(u.login.as_deref(), Some("5"));
        assert_eq!(u.email.as_deref(), Some("-7"));
        assert_eq!(u.phone.as_deref(), Some("1.5"));
        assert_eq!(u.website.as_deref(), Some("true"));
        assert_eq!((u.full_name, u.avatar, u.custom_data), (None, None, None));
        assert_eq!(u.external_id.as_deref(), Some(""));
        // A float as JSON writes it, not as a string of digits.
        assert_eq!(user(r#", "login": 1e21"#).login.as_deref(), Some("1e+21"));
    }

    #[test]
    fn numbers_come_as_numbers_or_digit_strings() {
        let u = user(r#", "blob_id": " 42 ", "timezone": "-180""#);
        assert_eq!((u.blob_id, u.timezone), (Some(42), Some(-180)));
        let u = user(r#", "blob_id": -1, "timezone": 18446744073709551615"#);
        assert_eq!((u.blob_id, u.timezone), (None, None), "out of range");
        let u = user(r#", "blob_id": 4.0, "timezone": {"x": 1}"#);
        assert_eq!((u.blob_id, u.timezone), (None, None));
        let id: User = serde_json::from_str(r#"{"id": "77"}"#).unwrap();
        assert_eq!(id.id, 77);
        assert!(serde_json::from_str::<User>(r#"{"id": -1}"#).is_err());
    }

    #[test]
    fn flags_and_moments_in_every_shape_the_service_used() {
        let flag = |v: &str| user(&format!(r#", "is_guest": {v}"#)).is_guest;
        assert_eq!(flag("true"), Some(true));
        assert_eq!(flag("0"), Some(false));
        assert_eq!(flag("2"), Some(true));
        assert_eq!(flag(r#""1""#), Some(true));
        assert_eq!(flag(r#""false""#), Some(false));
        assert_eq!(flag(r#""yes""#), None);
        assert_eq!(flag("[]"), None);
        let at = |v: &str| user(&format!(r#", "created_at": {v}"#)).created_at;
        assert_eq!(
            at(r#""2018-12-06T09:16:26Z""#).unwrap().unix_timestamp(),
            1544087786
        );
        assert_eq!(at("1544087786").unwrap().unix_timestamp(), 1544087786);
        assert_eq!(at(r#""yesterday""#), None);
        assert_eq!(at("1.5"), None);
    }

    #[test]
    fn tags_as_a_string_or_a_list_of_strings() {
        let tags = |v: &str| user(&format!(r#", "user_tags": {v}"#)).user_tags;
        assert_eq!(tags(r#"" vip, ,a""#), ["vip", "a"]);
        assert_eq!(
            tags(r#"["vip,b", 3, null, ["x"], {"y": 1}, "c"]"#),
            ["vip", "b", "c"]
        );
        assert!(tags("null").is_empty() && tags("7").is_empty() && tags("{}").is_empty());
    }
}
