//! Per-application settings (`docs/EMULATOR.md`): stored as JSON, read typed.

use serde_json::{Map, Value, json};

use crate::validation::FieldErrors;

const DEFAULT_TWITTER_KEY: &str = "emulator-twitter-consumer-key";
const DEFAULT_TWITTER_SECRET: &str = "emulator-twitter-consumer-secret";

/// The settings of one application. URL settings left `None` point at the
/// emulator's own fake provider APIs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AppSettings {
    pub(crate) session_without_user: bool,
    pub(crate) list_users: bool,
    pub(crate) list_users_v1: bool,
    pub(crate) require_signature: bool,
    pub(crate) signature_window_seconds: i64,
    pub(crate) cidp: Value,
    pub(crate) facebook_graph_url: Option<String>,
    pub(crate) twitter_api_url: Option<String>,
    pub(crate) twitter_consumer_key: String,
    pub(crate) twitter_consumer_secret: String,
    pub(crate) firebase_jwks: Value,
    pub(crate) firebase_jwks_url: Option<String>,
    pub(crate) firebase_accept_unsigned: bool,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            session_without_user: true,
            list_users: true,
            list_users_v1: true,
            require_signature: false,
            signature_window_seconds: 3600,
            cidp: Value::Null,
            facebook_graph_url: None,
            twitter_api_url: None,
            twitter_consumer_key: DEFAULT_TWITTER_KEY.to_owned(),
            twitter_consumer_secret: DEFAULT_TWITTER_SECRET.to_owned(),
            firebase_jwks: Value::Null,
            firebase_jwks_url: None,
            firebase_accept_unsigned: true,
        }
    }
}

impl AppSettings {
    /// Where Facebook tokens are checked.
    pub(crate) fn facebook_graph_url(&self, base_url: &str) -> String {
        self.facebook_graph_url
            .clone()
            .unwrap_or_else(|| format!("{base_url}/_emulator/fake/facebook"))
    }

    /// Where Twitter token pairs are checked.
    pub(crate) fn twitter_api_url(&self, base_url: &str) -> String {
        self.twitter_api_url
            .clone()
            .unwrap_or_else(|| format!("{base_url}/_emulator/fake/twitter"))
    }

    /// Whether unsigned (`alg: none`) Firebase ID tokens sign in: only
    /// while the application asks for them and has no key set at all
    /// (inline or by URL). With a key set, only signed tokens do.
    pub(crate) fn accepts_unsigned_firebase(&self) -> bool {
        self.firebase_accept_unsigned
            && self.firebase_jwks.is_null()
            && self.firebase_jwks_url.is_none()
    }

    /// Reads stored settings; anything unreadable keeps its default.
    pub(crate) fn from_stored(text: &str) -> Self {
        let mut settings = Self::default();
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) {
            // Stored settings were validated when written.
            let _ = settings.apply(&map);
        }
        settings
    }

    /// The stored form: URL defaults stay `null`, so they follow the port.
    pub(crate) fn to_stored(&self) -> String {
        self.to_json(None).to_string()
    }

    /// The admin API form; `base_url` fills the fake-provider defaults.
    pub(crate) fn to_json(&self, base_url: Option<&str>) -> Value {
        let url = |value: &Option<String>, fake: &str| match (value, base_url) {
            (Some(v), _) => Value::String(v.clone()),
            (None, Some(base)) => Value::String(format!("{base}/_emulator/fake/{fake}")),
            (None, None) => Value::Null,
        };
        json!({
            "session_without_user": if self.session_without_user { "allow" } else { "deny" },
            "list_users": self.list_users,
            "list_users_v1": self.list_users_v1,
            "require_signature": self.require_signature,
            "signature_window_seconds": self.signature_window_seconds,
            "cidp": self.cidp,
            "facebook_graph_url": url(&self.facebook_graph_url, "facebook"),
            "twitter_api_url": url(&self.twitter_api_url, "twitter"),
            "twitter_consumer_key": self.twitter_consumer_key,
            "twitter_consumer_secret": self.twitter_consumer_secret,
            "firebase_jwks": self.firebase_jwks,
            "firebase_jwks_url": self.firebase_jwks_url,
            "firebase_accept_unsigned": self.firebase_accept_unsigned,
        })
    }

    /// Applies a subset of settings; on any invalid value nothing changes.
    pub(crate) fn apply(&mut self, patch: &Map<String, Value>) -> Result<(), FieldErrors> {
        let mut next = self.clone();
        let mut errors = FieldErrors::default();
        for (key, value) in patch {
            let ok = match key.as_str() {
                "session_without_user" => match value.as_str() {
                    Some("allow") => set(&mut next.session_without_user, true),
                    Some("deny") => set(&mut next.session_without_user, false),
                    _ => false,
                },
                "list_users" => bool_into(value, &mut next.list_users),
                "list_users_v1" => bool_into(value, &mut next.list_users_v1),
                "require_signature" => bool_into(value, &mut next.require_signature),
                "firebase_accept_unsigned" => bool_into(value, &mut next.firebase_accept_unsigned),
                "signature_window_seconds" => match value.as_i64() {
                    Some(n) if n >= 0 => set(&mut next.signature_window_seconds, n),
                    _ => false,
                },
                "cidp" => match value {
                    Value::Null => set(&mut next.cidp, Value::Null),
                    Value::Object(m) if valid_cidp(m) => set(&mut next.cidp, value.clone()),
                    _ => false,
                },
                "firebase_jwks" => match value {
                    Value::Null | Value::Object(_) => set(&mut next.firebase_jwks, value.clone()),
                    _ => false,
                },
                "facebook_graph_url" => opt_string_into(value, &mut next.facebook_graph_url),
                "twitter_api_url" => opt_string_into(value, &mut next.twitter_api_url),
                "firebase_jwks_url" => opt_string_into(value, &mut next.firebase_jwks_url),
                "twitter_consumer_key" => match value.as_str() {
                    Some(s) => set(&mut next.twitter_consumer_key, s.to_owned()),
                    None => false,
                },
                "twitter_consumer_secret" => match value.as_str() {
                    Some(s) => set(&mut next.twitter_consumer_secret, s.to_owned()),
                    None => false,
                },
                _ => {
                    errors.add(key, "is not a known setting");
                    continue;
                }
            };
            if !ok {
                errors.add(key, "is invalid");
            }
        }
        errors.into_result()?;
        *self = next;
        Ok(())
    }
}

/// `{"url": "http://...", "request_params"?: {k: text}, "response_params"?:
/// {"uid": "#{path}", ...}}`.
fn valid_cidp(m: &Map<String, Value>) -> bool {
    let url_ok = m
        .get("url")
        .and_then(Value::as_str)
        .is_some_and(|u| u.starts_with("http://") || u.starts_with("https://"));
    let request_ok = match m.get("request_params") {
        None | Some(Value::Null) => true,
        Some(Value::Object(p)) => p.values().all(|v| v.is_string() || v.is_number()),
        Some(_) => false,
    };
    let response_ok = match m.get("response_params") {
        None | Some(Value::Null) => true,
        Some(Value::Object(p)) => p.values().all(Value::is_string),
        Some(_) => false,
    };
    url_ok && request_ok && response_ok
}

fn set<T>(slot: &mut T, value: T) -> bool {
    *slot = value;
    true
}

fn bool_into(value: &Value, slot: &mut bool) -> bool {
    value.as_bool().is_some_and(|b| set(slot, b))
}

fn opt_string_into(value: &Value, slot: &mut Option<String>) -> bool {
    match value {
        Value::Null => set(slot, None),
        Value::String(s) => set(slot, Some(s.clone())),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_is_all_or_nothing() {
        let mut s = AppSettings::default();
        let patch = json!({"list_users": false, "signature_window_seconds": "x"});
        assert!(s.apply(patch.as_object().unwrap()).is_err());
        assert!(s.list_users);
        let patch = json!({"list_users": false, "session_without_user": "deny"});
        s.apply(patch.as_object().unwrap()).unwrap();
        assert!(!s.list_users && !s.session_without_user);
        assert_eq!(AppSettings::from_stored(&s.to_stored()), s);
    }
}
