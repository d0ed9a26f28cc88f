//! The custom identity provider (`docs/PROTOCOL.md`, "Identity providers"): the application's
//! `cidp` setting names a URL, request parameters (`#{login}` is the login
//! sent) and a response mapping (`uid` → a dot path in the JSON answer).
//! A 2xx answer whose mapped uid is present signs the user in, linked by
//! `external_id`; anything else — another status, a non-JSON body, no
//! uid, a timeout, an unreachable URL — is `401 Unauthorized`.

use serde_json::{Map, Value};

use super::outbound::Outbound;
use super::{Verified, id_text, profile_name};
use crate::error::ApiError;
use crate::wire::encode_component;

/// The path inside `#{...}`, or the whole text.
fn placeholder_path(template: &str) -> &str {
    template
        .trim()
        .strip_prefix("#{")
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(template)
        .trim()
}

/// `user.id` in `{"user": {"id": 7}}`; numeric segments index arrays.
fn at_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |node, key| match node {
        Value::Object(map) => map.get(key),
        Value::Array(items) => items.get(key.parse::<usize>().ok()?),
        _ => None,
    })
}

/// The text of a request parameter's value, with `#{login}` filled in.
fn fill(template: &Value, login: &str) -> String {
    let text = match template {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    text.replace("#{login}", login)
}

/// Asks the provider configured by `cidp` whom `login` (a token) belongs to.
pub(crate) async fn verify(
    http: &Outbound,
    cidp: &Value,
    login: &str,
) -> Result<Verified, ApiError> {
    let url = cidp["url"].as_str().ok_or_else(ApiError::unauthorized)?;
    let request = match cidp.get("request_params").and_then(Value::as_object) {
        Some(params) => params.clone(),
        None => {
            let mut params = Map::new();
            params.insert("token".into(), Value::from("#{login}"));
            params
        }
    };
    let query: Vec<String> = request
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                encode_component(k),
                encode_component(&fill(v, login))
            )
        })
        .collect();
    let separator = if url.contains('?') { '&' } else { '?' };
    let full = if query.is_empty() {
        url.to_owned()
    } else {
        format!("{url}{separator}{}", query.join("&"))
    };
    let answer = http.get(&full, &[]).await.map_err(|err| {
        tracing::info!(?err, "custom identity provider check failed");
        ApiError::unauthorized()
    })?;
    if !answer.status.is_success() {
        tracing::info!(
            status = answer.status.as_u16(),
            "custom identity provider refused"
        );
        return Err(ApiError::unauthorized());
    }
    let json = answer.json_if_ok().ok_or_else(ApiError::unauthorized)?;
    let mapping = cidp.get("response_params").and_then(Value::as_object);
    let path = |field: &str, default: &str| -> String {
        mapping
            .and_then(|m| m.get(field))
            .and_then(Value::as_str)
            .map_or_else(|| default.to_owned(), |t| placeholder_path(t).to_owned())
    };
    let uid = at_path(&json, &path("uid", "uid"))
        .and_then(id_text)
        .ok_or_else(ApiError::unauthorized)?;
    let full_name = if mapping.is_some_and(|m| m.contains_key("full_name")) {
        profile_name(at_path(&json, &path("full_name", "")))
    } else {
        None
    };
    Ok(Verified {
        uid,
        full_name,
        ..Verified::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_and_templates() {
        let answer = json!({"user": {"id": 7, "tags": ["a", "b"]}, "uid": "x"});
        assert_eq!(
            at_path(&answer, placeholder_path("#{user.id}")),
            Some(&json!(7))
        );
        assert_eq!(at_path(&answer, "user.tags.1"), Some(&json!("b")));
        assert_eq!(at_path(&answer, "user.nope"), None);
        assert_eq!(at_path(&answer, placeholder_path("uid")), Some(&json!("x")));
        assert_eq!(fill(&json!("Bearer #{login}"), "t k"), "Bearer t k");
    }
}
