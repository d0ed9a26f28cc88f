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

/// How much of a refusing provider's body its `422` repeats, in
/// characters: about as much as the public service was seen repeating.
pub(crate) const REFUSAL_BODY_CHARS: usize = 300;

/// `422`, array form, as the public service words it: the provider's
/// status, then `With empty response` or `Response "<its body>"` (cut
/// short, quoted with JSON escapes), or nothing when it did not answer
/// (status `0`). The token the client sent (`login`, a secret) is taken
/// out of the body wherever it appears, raw, percent-encoded or escaped.
fn refused(status: u16, body: Option<&[u8]>, login: &str) -> ApiError {
    let mut message = format!("{CIDP_REFUSED} Status: {status}.");
    match body {
        None => {}
        Some([]) => message.push_str("With empty response"),
        Some(body) => {
            let mut text = String::from_utf8_lossy(body).into_owned();
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
            let excerpt: String = text.chars().take(REFUSAL_BODY_CHARS).collect();
            message.push_str("Response ");
            message.push_str(&serde_json::to_string(&excerpt).unwrap_or_default());
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
    let url = cidp["url"]
        .as_str()
        .ok_or_else(|| refused(0, None, login))?;
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
        refused(0, None, login)
    })?;
    if !answer.status.is_success() {
        tracing::info!(
            status = answer.status.as_u16(),
            "custom identity provider refused"
        );
        return Err(refused(answer.status.as_u16(), Some(&answer.body), login));
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
        let silent = refused(0, None, "tok");
        assert_eq!(
            message(&silent),
            "Bad Authentication data. Unauthorized on remote side. Status: 0."
        );
        assert_eq!(silent.status, http::StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            message(&refused(404, Some(b""), "tok")),
            "Bad Authentication data. Unauthorized on remote side. Status: 404.With empty response"
        );
        let echoed = refused(
            403,
            Some(b"{\"error\": \"bad token t+k/\\\"x\"}\n"),
            "t+k/\"x",
        );
        assert_eq!(
            message(&echoed),
            r#"Bad Authentication data. Unauthorized on remote side. Status: 403.Response "{\"error\": \"bad token [FILTERED]\"}\n""#
        );
        let encoded = refused(400, Some(b"token=t%2Bk%2F%22x"), "t+k/\"x");
        assert!(message(&encoded).ends_with(r#"Response "token=[FILTERED]""#));
        // A long body is cut at the limit.
        let long = "a".repeat(REFUSAL_BODY_CHARS + 1);
        let cut = message(&refused(500, Some(long.as_bytes()), "tok"));
        let quoted = format!("\"{}\"", "a".repeat(REFUSAL_BODY_CHARS));
        assert!(
            cut.ends_with(&format!("Status: 500.Response {quoted}")),
            "{cut}"
        );
        let at_limit = "a".repeat(REFUSAL_BODY_CHARS);
        let whole = message(&refused(500, Some(at_limit.as_bytes()), "tok"));
        assert!(whole.ends_with(&quoted));
    }
}
