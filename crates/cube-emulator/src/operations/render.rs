//! The wire form of stored records (`docs/PROTOCOL.md`, "Users" and "Storage").
//!
//! Users are written straight to JSON text: a page of a hundred users is
//! the largest answer the API gives, and building a `serde_json::Value`
//! tree for it (a map, and a key string, per field) cost more than the
//! query. [`user`] gives the same object as a value, for answers that
//! embed a user.

use std::io::Write;

use serde_json::{Value, json};

use crate::clock::format_iso;
use crate::store::blobs::BlobRow;
use crate::store::users::User;

/// A JSON string (quoted and escaped).
fn string(out: &mut Vec<u8>, text: &str) {
    // Writing a &str to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

fn opt_string(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(text) => string(out, text),
        None => out.extend_from_slice(b"null"),
    }
}

fn int(out: &mut Vec<u8>, n: i64) {
    let _ = write!(out, "{n}");
}

fn opt_int(out: &mut Vec<u8>, n: Option<i64>) {
    match n {
        Some(n) => int(out, n),
        None => out.extend_from_slice(b"null"),
    }
}

/// `"2026-11-24T16:47:57Z"`, as [`format_iso`] writes it, without
/// allocating.
fn date(out: &mut Vec<u8>, ts: i64) {
    let t =
        time::OffsetDateTime::from_unix_timestamp(ts).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let year = t.year();
    out.push(b'"');
    if (0..=9999).contains(&year) {
        let digits = |out: &mut Vec<u8>, n: u32, width: u32| {
            for place in (0..width).rev() {
                out.push(b'0' + u8::try_from(n / 10u32.pow(place) % 10).unwrap_or(0));
            }
        };
        digits(out, year.unsigned_abs(), 4);
        out.push(b'-');
        digits(out, u32::from(u8::from(t.month())), 2);
        out.push(b'-');
        digits(out, u32::from(t.day()), 2);
        out.push(b'T');
        digits(out, u32::from(t.hour()), 2);
        out.push(b':');
        digits(out, u32::from(t.minute()), 2);
        out.push(b':');
        digits(out, u32::from(t.second()), 2);
        out.push(b'Z');
    } else {
        out.extend_from_slice(format_iso(ts).as_bytes());
    }
    out.push(b'"');
}

/// Writes a user object; never the password.
pub(crate) fn write_user(out: &mut Vec<u8>, user: &User) {
    out.extend_from_slice(b"{\"id\":");
    int(out, user.id);
    out.extend_from_slice(b",\"login\":");
    opt_string(out, user.login.as_deref());
    out.extend_from_slice(b",\"email\":");
    opt_string(out, user.email.as_deref());
    out.extend_from_slice(b",\"full_name\":");
    opt_string(out, user.full_name.as_deref());
    out.extend_from_slice(b",\"phone\":");
    opt_string(out, user.phone.as_deref());
    out.extend_from_slice(b",\"website\":");
    opt_string(out, user.website.as_deref());
    out.extend_from_slice(b",\"created_at\":");
    date(out, user.created_at);
    out.extend_from_slice(b",\"updated_at\":");
    date(out, user.updated_at);
    out.extend_from_slice(b",\"last_request_at\":");
    match user.last_request_at {
        Some(at) => date(out, at),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"external_user_id\":");
    match user.external_user_id {
        Some(n) => int(out, n),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"external_id\":");
    opt_string(out, user.external_id.as_deref());
    out.extend_from_slice(b",\"facebook_id\":");
    opt_string(out, user.facebook_id.as_deref());
    out.extend_from_slice(b",\"twitter_id\":");
    opt_string(out, user.twitter_id.as_deref());
    out.extend_from_slice(b",\"blob_id\":");
    opt_int(out, user.blob_id);
    out.extend_from_slice(b",\"custom_data\":");
    opt_string(out, user.custom_data.as_deref());
    out.extend_from_slice(b",\"avatar\":");
    opt_string(out, user.avatar.as_deref());
    out.extend_from_slice(b",\"user_tags\":");
    if user.tags.is_empty() {
        out.extend_from_slice(b"null");
    } else {
        string(out, &user.tags.join(","));
    }
    out.extend_from_slice(b",\"timezone\":");
    opt_int(out, user.timezone);
    out.extend_from_slice(b",\"is_guest\":");
    out.extend_from_slice(if user.is_guest { b"true" } else { b"false" });
    out.push(b'}');
}

/// A user object as a value, for answers that embed one.
pub(crate) fn user(u: &User) -> Value {
    let mut out = Vec::with_capacity(512);
    write_user(&mut out, u);
    serde_json::from_slice(&out).unwrap_or(Value::Null)
}

/// `{"user": {...}}`, as JSON text.
pub(crate) fn wrapped_user(user: &User) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"{\"user\":");
    write_user(&mut out, user);
    out.push(b'}');
    out
}

/// A page: `{head..., "items": [item, ...]}`, where `head` holds the
/// page's numbers and `wrap` puts each user in `{"user": ...}` (v1).
pub(crate) fn page(head: &[(&str, i64)], users: &[User], wrap: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + users.len() * 512);
    out.push(b'{');
    for (name, value) in head {
        string(&mut out, name);
        out.push(b':');
        int(&mut out, *value);
        out.push(b',');
    }
    out.extend_from_slice(b"\"items\":[");
    for (i, user) in users.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if wrap {
            out.extend_from_slice(b"{\"user\":");
        }
        write_user(&mut out, user);
        if wrap {
            out.push(b'}');
        }
    }
    out.extend_from_slice(b"]}");
    out
}

/// A file record, without the upload permission.
pub(crate) fn blob(blob: &BlobRow) -> Value {
    json!({
        "id": blob.id,
        "uid": blob.uid,
        "content_type": blob.content_type,
        "name": blob.name,
        "size": blob.size,
        "public": blob.public,
        "blob_status": if blob.completed_at.is_some() { Value::from("complete") } else { Value::Null },
        "set_completed_at": blob.completed_at.map(format_iso),
        "created_at": format_iso(blob.created_at),
        "updated_at": format_iso(blob.updated_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> User {
        User {
            id: 51941,
            login: Some("Dacia".into()),
            email: Some("dacia_k@domain.com".into()),
            password_hash: Some("argon2id$secret".into()),
            full_name: Some("Dacia \"Kail\"\n".into()),
            phone: None,
            website: None,
            external_user_id: Some(42),
            external_id: None,
            facebook_id: Some("91234409".into()),
            twitter_id: None,
            blob_id: Some(7),
            custom_data: Some("{\"a\":1}".into()),
            avatar: None,
            tags: vec!["vip".into(), "accountant".into()],
            timezone: Some(180),
            is_guest: false,
            created_at: 1_544_010_993,
            updated_at: 1_544_010_993,
            last_request_at: None,
        }
    }

    #[test]
    fn dates_are_written_as_format_iso_writes_them() {
        for ts in [
            0,
            1_544_010_993,
            951_782_400,
            4_102_444_799,
            -62_167_219_200,
            253_402_300_800,
        ] {
            let mut out = Vec::new();
            date(&mut out, ts);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                format!("\"{}\"", format_iso(ts))
            );
        }
    }

    #[test]
    fn the_user_object_of_the_protocol() {
        let value = user(&sample());
        assert_eq!(
            value,
            json!({"id": 51941, "login": "Dacia", "email": "dacia_k@domain.com",
                "full_name": "Dacia \"Kail\"\n", "phone": null, "website": null,
                "created_at": "2018-12-05T11:56:33Z", "updated_at": "2018-12-05T11:56:33Z",
                "last_request_at": null, "external_user_id": 42, "external_id": null,
                "facebook_id": "91234409", "twitter_id": null, "blob_id": 7,
                "custom_data": "{\"a\":1}", "avatar": null, "user_tags": "vip,accountant",
                "timezone": 180, "is_guest": false})
        );
        let text = String::from_utf8(wrapped_user(&sample())).unwrap();
        assert!(!text.contains("argon2id"));
        let page: Value = serde_json::from_slice(&page(
            &[("skip", 0), ("limit", 5)],
            &[sample(), sample()],
            true,
        ))
        .unwrap();
        assert_eq!(page["items"][1]["user"], value);
        assert_eq!(page["limit"], 5);
    }
}
