//! The emulator's fake provider APIs under `/_emulator/fake/...` and the
//! admin routes that register their tokens. The emulator checks provider
//! tokens by calling these over HTTP with the same client that would call
//! the real APIs, so the whole verification path runs in tests.
//!
//! They answer in the providers' own shapes (Graph API errors, Twitter's
//! `errors` list), not ConnectyCube's.

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::{Ctx, Outcome, Reply};
use crate::crypto::{Secret, constant_time_eq};
use crate::error::ApiError;
use crate::limits::OAUTH_WINDOW;
use crate::providers::{id_text, twitter};
use crate::store::providers::{self as tokens, FakeIdentity};

fn text(body: &Map<String, Value>, key: &str) -> Result<String, ApiError> {
    body.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| ApiError::invalid_field(key, "can't be blank"))
}

fn optional(body: &Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::invalid_field(key, "is invalid")),
    }
}

/// `POST /_emulator/providers/{facebook|twitter}/tokens`.
pub(crate) async fn register(ctx: &Ctx, provider: &str) -> Outcome {
    let body = ctx.body()?;
    let token = text(body, "token")?;
    let uid = body
        .get("id")
        .and_then(id_text)
        .ok_or_else(|| ApiError::invalid_field("id", "can't be blank"))?;
    let secret = match provider {
        "twitter" => Some(Secret::new(text(body, "secret")?)),
        _ => None,
    };
    let identity = FakeIdentity {
        secret,
        uid: uid.clone(),
        name: optional(body, "name")?,
        email: if provider == "facebook" {
            optional(body, "email")?
        } else {
            None
        },
    };
    let provider_name = provider.to_owned();
    let stored = identity.clone();
    ctx.state
        .store
        .write(move |c| tokens::register(c, &provider_name, &token, &stored))
        .await?;
    Ok(Reply::created(json!({
        "provider": provider,
        "id": uid,
        "name": identity.name,
        "email": identity.email,
    })))
}

/// `GET /_emulator/fake/facebook/[vX.Y/]me?access_token=T&fields=...`.
pub(crate) async fn facebook_me(ctx: &Ctx) -> Outcome {
    let token = ctx.query("access_token").unwrap_or_default();
    let found = if token.is_empty() {
        None
    } else {
        ctx.state
            .store
            .read(|c| tokens::find(c, "facebook", token))?
    };
    let Some(identity) = found else {
        return Ok(Reply::json(
            StatusCode::BAD_REQUEST,
            json!({"error": {"message": "Invalid OAuth access token.",
                             "type": "OAuthException", "code": 190}}),
        ));
    };
    let fields = ctx.query("fields").unwrap_or("id,name");
    let mut me = Map::new();
    for field in fields.split(',').map(str::trim) {
        let value = match field {
            "id" => Some(identity.uid.clone()),
            "name" => identity.name.clone(),
            "email" => identity.email.clone(),
            _ => None,
        };
        if let Some(value) = value {
            me.insert(field.to_owned(), Value::String(value));
        }
    }
    Ok(Reply::ok(Value::Object(me)))
}

fn could_not_authenticate() -> Outcome {
    Ok(Reply::json(
        StatusCode::UNAUTHORIZED,
        json!({"errors": [{"code": 32, "message": "Could not authenticate you."}]}),
    ))
}

/// `GET /_emulator/fake/twitter/1.1/account/verify_credentials.json`,
/// OAuth 1.0a signed: the consumer key of an application, a registered
/// token, a fresh timestamp, a nonce not used before and an HMAC-SHA1
/// signature over the request.
pub(crate) async fn twitter_verify(ctx: &Ctx) -> Outcome {
    let Some(oauth) = ctx
        .header("authorization")
        .and_then(twitter::parse_authorization)
    else {
        return could_not_authenticate();
    };
    let param = |name: &str| {
        oauth
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let (Some(consumer_key), Some(token), Some(signature), Some(timestamp)) = (
        param("oauth_consumer_key"),
        param("oauth_token"),
        param("oauth_signature"),
        param("oauth_timestamp").and_then(|t| t.parse::<i64>().ok()),
    ) else {
        return could_not_authenticate();
    };
    if param("oauth_signature_method") != Some("HMAC-SHA1")
        || param("oauth_nonce").is_none_or(str::is_empty)
        || ctx.now.abs_diff(timestamp) > OAUTH_WINDOW.unsigned_abs()
    {
        return could_not_authenticate();
    }
    let Some(identity) = ctx
        .state
        .store
        .read(|c| tokens::find(c, "twitter", token))?
    else {
        return could_not_authenticate();
    };
    let token_secret = identity
        .secret
        .as_ref()
        .map(Secret::expose)
        .unwrap_or_default();
    // The request as the client signed it: its own URL (with `.json`) and
    // every query and oauth parameter but the signature.
    let host = ctx.header("host").unwrap_or_default();
    let base_url = format!("http://{}{}", host.to_ascii_lowercase(), ctx.raw_path);
    let mut params: Vec<(String, String)> = ctx.query.clone();
    params.extend(
        oauth
            .iter()
            .filter(|(k, _)| k != "oauth_signature" && k != "realm")
            .cloned(),
    );
    let valid = ctx
        .state
        .apps
        .twitter_consumer_secrets(consumer_key)
        .iter()
        .any(|consumer_secret| {
            let expected = twitter::signature(
                "GET",
                &base_url,
                &params,
                consumer_secret.expose(),
                token_secret,
            );
            constant_time_eq(expected.as_bytes(), signature.as_bytes())
        });
    if !valid {
        return could_not_authenticate();
    }
    // A nonce is good once (within the timestamp window).
    let nonce = format!(
        "{consumer_key}&{}",
        param("oauth_nonce").unwrap_or_default()
    );
    {
        let mut seen = ctx
            .state
            .providers
            .twitter_nonces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let horizon = ctx.now - 2 * OAUTH_WINDOW;
        if seen.len() > 10_000 {
            seen.retain(|_, at| *at > horizon);
        }
        if seen.get(&nonce).is_some_and(|at| *at > horizon) {
            return could_not_authenticate();
        }
        seen.insert(nonce, timestamp);
    }
    let id = identity.uid.parse::<u64>().map_or(Value::Null, Value::from);
    Ok(Reply::ok(json!({
        "id": id,
        "id_str": identity.uid,
        "name": identity.name,
        "screen_name": identity.name,
    })))
}
