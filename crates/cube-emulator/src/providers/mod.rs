//! Identity providers (`docs/PROTOCOL.md`, "Identity providers"): Facebook, Twitter, Firebase
//! (phone, e-mail/Google) and the application's custom identity provider.
//! Each one turns what the client sent into a [`Verified`] identity, by
//! asking the provider over HTTP (the emulator's fake providers by
//! default) or, for Firebase, by checking the ID token's signature and
//! claims. Anything that does not verify is `401 Unauthorized` (array
//! form), except for the custom identity provider, whose failures are
//! `422` (see [`cidp`]).

pub(crate) mod cidp;
pub(crate) mod facebook;
pub(crate) mod firebase;
pub(crate) mod outbound;
pub(crate) mod twitter;

use std::sync::Arc;
use std::time::Duration;

use crate::limits::FULL_NAME_MAX_CHARS;

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

/// An identity a provider vouched for: its id there (`uid`) and the
/// profile it gave, for a user created on the first sign-in.
#[derive(Debug, Default)]
pub(crate) struct Verified {
    pub(crate) uid: String,
    pub(crate) full_name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) phone: Option<String>,
}

/// The emulator's provider machinery: its HTTP client and the Firebase
/// key sets fetched so far. Providers get this (and the settings they
/// need), never the whole server state.
pub(crate) struct Providers {
    pub(crate) http: Arc<outbound::Outbound>,
    pub(crate) jwks: firebase::KeyCache,
    /// OAuth nonces the fake Twitter API has seen, with their timestamps.
    pub(crate) twitter_nonces: std::sync::Mutex<std::collections::HashMap<String, i64>>,
    /// The applications that have accepted an unsigned Firebase token
    /// since the start (each is said in the log once).
    unsigned_firebase: std::sync::Mutex<std::collections::HashSet<i64>>,
}

impl Providers {
    pub(crate) fn new(timeout: Duration) -> Self {
        Self {
            http: Arc::new(outbound::Outbound::new(timeout)),
            jwks: firebase::KeyCache::default(),
            twitter_nonces: std::sync::Mutex::default(),
            unsigned_firebase: std::sync::Mutex::default(),
        }
    }

    /// Says in the log, the first time `app_id` accepts an unsigned
    /// Firebase ID token, what that means and how to refuse them: it is
    /// the emulator's one deliberately unsafe default, and only those who
    /// use Firebase need to hear of it.
    pub(crate) fn note_unsigned_firebase(&self, app_id: i64) {
        let first = self
            .unsigned_firebase
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(app_id);
        if first {
            tracing::info!(
                app_id,
                "the application accepted an unsigned Firebase ID token (as the Firebase Auth \
                 Emulator issues them): anyone can sign in to it as any Firebase user; set \
                 firebase_jwks_url or firebase_jwks, or firebase_accept_unsigned=false, to \
                 refuse them"
            );
        }
    }
}

/// `Some(text)` for a non-empty JSON string or an integer.
pub(crate) fn id_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// A profile text field, when the provider gave a non-blank one.
pub(crate) fn profile_text(value: Option<&serde_json::Value>) -> Option<String> {
    value
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
}

/// A profile name, cut to the length sign-up allows.
pub(crate) fn profile_name(value: Option<&serde_json::Value>) -> Option<String> {
    profile_text(value).map(|name| name.chars().take(FULL_NAME_MAX_CHARS).collect())
}
