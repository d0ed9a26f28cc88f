//! Identity providers (`docs/PROTOCOL.md`, "Identity providers"): Facebook, Twitter, Firebase
//! (phone, e-mail/Google) and the application's custom identity provider.
//! Each one turns what the client sent into a verified [`Identity`], by
//! asking the provider over HTTP (the emulator's fake providers by
//! default) or, for Firebase, by checking the ID token's signature and
//! claims. Anything that does not verify is `401 Unauthorized`.

pub(crate) mod cidp;
pub(crate) mod facebook;
pub(crate) mod firebase;
pub(crate) mod outbound;
pub(crate) mod twitter;

use std::time::Duration;

use rusqlite::Connection;
use rusqlite::types::Value as Sql;

use crate::error::ApiError;
use crate::store::users::{self, Key};

/// What a sign-in with a provider asks for.
pub(crate) enum ProviderLogin {
    Facebook {
        token: String,
    },
    Twitter {
        token: String,
        secret: String,
    },
    Firebase {
        phone: bool,
        project_id: String,
        id_token: String,
    },
}

/// A verified external identity: the user it links to is the one whose
/// `key` column holds `uid`; a first sign-in creates it with `columns`.
pub(crate) struct Identity {
    pub(crate) key: Key,
    pub(crate) uid: String,
    /// Profile fields for a new user (`full_name`, `email`, `phone`).
    pub(crate) profile: Vec<(&'static str, Sql)>,
}

/// The emulator's provider machinery: its HTTP client and the Firebase
/// key sets fetched so far.
pub(crate) struct Providers {
    pub(crate) http: outbound::Outbound,
    pub(crate) jwks: firebase::KeyCache,
    /// OAuth nonces the fake Twitter API has seen, with their timestamps.
    pub(crate) twitter_nonces: std::sync::Mutex<std::collections::HashMap<String, i64>>,
}

impl Providers {
    pub(crate) fn new(timeout: Duration) -> Self {
        Self {
            http: outbound::Outbound::new(timeout),
            jwks: firebase::KeyCache::default(),
            twitter_nonces: std::sync::Mutex::default(),
        }
    }
}

/// The id of the user `identity` links to, created on first sign-in (in the
/// caller's transaction, so two first sign-ins cannot both create one). A
/// profile e-mail already used by another user is left out.
pub(crate) fn link(
    conn: &Connection,
    app_id: i64,
    now: i64,
    identity: &Identity,
) -> Result<i64, ApiError> {
    let uid = Sql::Text(identity.uid.clone());
    if let Some(user) = users::find(conn, app_id, now, identity.key, uid.clone())? {
        return Ok(user.id);
    }
    let mut columns = vec![(identity.key.column(), uid)];
    for (column, value) in &identity.profile {
        if *column == "email"
            && let Sql::Text(email) = value
        {
            if !crate::operations::users::valid_email(email)
                || users::find(conn, app_id, now, Key::Email, value.clone())?.is_some()
            {
                continue;
            }
            columns.push(("email_key", Sql::Text(email.to_lowercase())));
        }
        columns.push((column, value.clone()));
    }
    users::insert(conn, app_id, now, &columns)
}

/// `Some(text)` for a non-empty JSON string or an integer.
pub(crate) fn id_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// A profile text field, when the provider gave one; a name longer than
/// sign-up allows (200 characters) is cut to that length.
pub(crate) fn profile_text(
    profile: &mut Vec<(&'static str, Sql)>,
    column: &'static str,
    value: Option<&serde_json::Value>,
) {
    if let Some(text) = value
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.trim().is_empty())
    {
        let text = if column == "full_name" {
            text.chars().take(200).collect()
        } else {
            text.to_owned()
        };
        profile.push((column, Sql::Text(text)));
    }
}
