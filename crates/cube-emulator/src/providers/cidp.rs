//! The custom identity provider (`docs/PROTOCOL.md`, "Identity providers"): the application's
//! `cidp` setting names a URL, request parameters (`#{login}` is the login
//! sent) and a response mapping (`uid` → a dot path in the JSON answer).
//! A 2xx answer whose mapped uid is present signs the user in, linked by
//! `external_id`. Another status, a timeout or an unreachable URL is `422
//! Bad Authentication data. Unauthorized on remote side. Status: N.` (array
//! form; N is `0` without an answer), a 2xx answer without the uid (or not
//! JSON) `422 Custom Identity Provider uid is required` (object form), as
//! the public service answers.

use serde_json::{Map, Value};

use super::outbound::Outbound;
use super::{Verified, id_text, profile_name};
use crate::error::{ApiError, CIDP_REFUSED};
use crate::wire::encode_component;

/// How much of a refusing provider's body its `422` repeats, in characters.
pub(crate) const REFUSAL_BODY_CHARS: usize = 100;

/// `422`, array form: the provider refused (`status`) or did not answer
/// (`0`). Its body follows, on one line and cut short, with the token the
/// client sent (`login`, a secret) taken out wherever it appears.
fn refused(status: u16, body: &[u8], login: &str) -> ApiError {
    let mut message = format!("{CIDP_REFUSED} Status: {status}.");
    let mut text: String = String::from_utf8_lossy(body)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if !login.is_empty() {
        let escaped = serde_json::to_string(login).unwrap_or_default();
        let forms = [
            login.to_owned(),
            encode_component(login),
            escaped.trim_matches('"').to_owned(),
        ];
        for form in forms.iter().filter(|f| !f.is_empty()) {
            text = text.replace(form.as_str(), "[FILTERED]");
        }
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if !text.is_empty() {
        message.push(' ');
        if text.chars().count() > REFUSAL_BODY_CHARS {
            message.extend(text.chars().take(REFUSAL_BODY_CHARS));
            message.push('…');
        } else {
            message.push_str(&text);
        }
    }
    ApiError::listed(http::StatusCode::UNPROCESSABLE_ENTITY, message)
}

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
    let url = cidp["url"].as_str().ok_or_else(|| refused(0, b"", login))?;
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
        refused(0, b"", login)
    })?;
    if !answer.status.is_success() {
        tracing::info!(
            status = answer.status.as_u16(),
            "custom identity provider refused"
        );
        return Err(refused(answer.status.as_u16(), &answer.body, login));
    }
    let json = answer
        .json_if_ok()
        .ok_or_else(ApiError::cidp_uid_required)?;
    let mapping = cidp.get("response_params").and_then(Value::as_object);
    let path = |field: &str, default: &str| -> String {
        mapping
            .and_then(|m| m.get(field))
            .and_then(Value::as_str)
            .map_or_else(|| default.to_owned(), |t| placeholder_path(t).to_owned())
    };
    let uid = at_path(&json, &path("uid", "uid"))
        .and_then(id_text)
        .ok_or_else(ApiError::cidp_uid_required)?;
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

    fn message(err: &ApiError) -> String {
        err.body()["errors"][0]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn a_refusal_says_the_status_and_keeps_the_token_out() {
        let plain = refused(401, b"", "tok");
        assert_eq!(
            message(&plain),
            "Bad Authentication data. Unauthorized on remote side. Status: 401."
        );
        assert_eq!(plain.status, http::StatusCode::UNPROCESSABLE_ENTITY);
        let echoed = refused(403, b"{\"error\": \"bad token t+k/\\\"x\"}\n", "t+k/\"x");
        assert_eq!(
            message(&echoed),
            "Bad Authentication data. Unauthorized on remote side. Status: 403. {\"error\": \"bad token [FILTERED]\"}"
        );
        let encoded = refused(400, b"token=t%2Bk%2F%22x", "t+k/\"x");
        assert!(message(&encoded).ends_with("token=[FILTERED]"));
        // A long body is cut at the limit, on one line.
        let long = format!("{}\r\n{}", "a".repeat(80), "b".repeat(80));
        let cut = message(&refused(500, long.as_bytes(), "tok"));
        let tail = cut.split_once("Status: 500. ").unwrap().1;
        assert_eq!(tail.chars().count(), REFUSAL_BODY_CHARS + 1);
        assert!(tail.ends_with('…') && !tail.contains('\n'));
        let at_limit = "a".repeat(REFUSAL_BODY_CHARS);
        assert!(message(&refused(500, at_limit.as_bytes(), "tok")).ends_with(&at_limit));
    }
}
