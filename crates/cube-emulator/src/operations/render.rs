//! The wire form of stored records (PROTOCOL.md sections 5 and 7).

use serde_json::{Map, Value, json};

use crate::clock::format_iso;
use crate::store::blobs::BlobRow;
use crate::store::users::User;

/// A user object; never the password.
pub(crate) fn user(user: &User) -> Value {
    // A digit-only deprecated external id goes back out as a number.
    let external_user_id = match &user.external_user_id {
        Some(s) => s
            .parse::<i64>()
            .map_or_else(|_| Value::String(s.clone()), Value::from),
        None => Value::Null,
    };
    let tags = if user.tags.is_empty() {
        Value::Null
    } else {
        Value::String(user.tags.join(","))
    };
    json!({
        "id": user.id,
        "login": user.login,
        "email": user.email,
        "full_name": user.full_name,
        "phone": user.phone,
        "website": user.website,
        "created_at": format_iso(user.created_at),
        "updated_at": format_iso(user.updated_at),
        "last_request_at": user.last_request_at.map(format_iso),
        "external_user_id": external_user_id,
        "external_id": user.external_id,
        "facebook_id": user.facebook_id,
        "twitter_id": user.twitter_id,
        "blob_id": user.blob_id,
        "custom_data": user.custom_data,
        "avatar": user.avatar,
        "user_tags": tags,
        "timezone": user.timezone,
        "is_guest": user.is_guest,
    })
}

/// `{"user": {...}}`.
pub(crate) fn wrapped_user(u: &User) -> Value {
    let mut map = Map::new();
    map.insert("user".into(), user(u));
    Value::Object(map)
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
