//! Firebase ID tokens (JWTs), PROTOCOL.md section 4: RS256-signed by a key
//! of the application's key set (`firebase_jwks` inline, or fetched from
//! `firebase_jwks_url`, cached, and fetched again when a token names an
//! unknown `kid` — how key rotation is picked up), or unsigned (`alg:
//! none`, as the Firebase Auth Emulator issues them) when the application
//! accepts those and has no key set. The claims are checked either way. A fetched set is
//! also fetched again once stale (`Cache-Control: max-age`, default 1 h).

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use rusqlite::types::Value as Sql;
use serde_json::Value;

use super::{Identity, profile_text};
use crate::error::{ApiError, ensure};
use crate::settings::AppSettings;
use crate::state::State;
use crate::store::users::Key;

/// How long a fetched key set is used when its answer does not say.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3600);
/// The longest a key set is used without fetching it again.
const LONGEST_MAX_AGE: Duration = Duration::from_secs(86_400);

/// A fetched key set and until when it is fresh.
struct Fetched {
    set: Value,
    fresh_until: Instant,
}

/// Key sets fetched from URLs, by URL.
#[derive(Default)]
pub(crate) struct KeyCache {
    /// Held across a fetch, so concurrent misses fetch once.
    sets: tokio::sync::Mutex<HashMap<String, Fetched>>,
}

/// The RSA key `kid` of a JWK set (`{"keys": [...]}`), as `(n, e)`.
fn find_key(set: &Value, kid: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let key = set["keys"]
        .as_array()?
        .iter()
        .find(|k| k["kid"].as_str() == Some(kid))?;
    if key["kty"].as_str() != Some("RSA") {
        return None;
    }
    if let Some(alg) = key["alg"].as_str()
        && alg != "RS256"
    {
        return None;
    }
    let n = crate::b64::decode_url(key["n"].as_str()?)?;
    let e = crate::b64::decode_url(key["e"].as_str()?)?;
    Some((n, e))
}

/// The key `kid`: from the inline set, else from the URL's set — fetched
/// again when it is stale (its `Cache-Control` max-age, default 1 h) or
/// does not hold `kid`. If that fetch fails, the set held is used.
async fn key_for(state: &State, settings: &AppSettings, kid: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    if let Some(key) = find_key(&settings.firebase_jwks, kid) {
        return Some(key);
    }
    let url = settings.firebase_jwks_url.as_deref()?;
    let mut sets = state.providers.jwks.sets.lock().await;
    if let Some(fetched) = sets.get(url)
        && Instant::now() < fetched.fresh_until
        && let Some(key) = find_key(&fetched.set, kid)
    {
        return Some(key);
    }
    let answer = match state.providers.http.get(url, &[]).await {
        Ok(answer) => answer,
        Err(err) => {
            tracing::info!(?err, "cannot fetch the Firebase key set");
            return sets.get(url).and_then(|f| find_key(&f.set, kid));
        }
    };
    let Some(set) = answer.json_if_ok().filter(|s| s["keys"].is_array()) else {
        return sets.get(url).and_then(|f| find_key(&f.set, kid));
    };
    let key = find_key(&set, kid);
    let max_age = answer
        .max_age
        .unwrap_or(DEFAULT_MAX_AGE)
        .min(LONGEST_MAX_AGE);
    sets.insert(
        url.to_owned(),
        Fetched {
            set,
            fresh_until: Instant::now() + max_age,
        },
    );
    key
}

fn segment_json(segment: &str) -> Option<Value> {
    serde_json::from_slice(&crate::b64::decode_url(segment)?).ok()
}

/// Verifies `id_token` for `project_id`; `phone` picks the phone provider
/// (`phone_number` → `phone`) over the e-mail one (`email` → `email`).
pub(crate) async fn verify(
    state: &State,
    settings: &AppSettings,
    phone: bool,
    project_id: &str,
    id_token: &str,
    now: i64,
) -> Result<Identity, ApiError> {
    let unauthorized = ApiError::unauthorized;
    let mut parts = id_token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(unauthorized());
    };
    let header = segment_json(header).ok_or_else(unauthorized)?;
    let claims = segment_json(payload).ok_or_else(unauthorized)?;
    match header["alg"].as_str() {
        Some("none") => ensure(
            settings.accepts_unsigned_firebase() && signature.is_empty(),
            unauthorized,
        )?,
        Some("RS256") => {
            let kid = header["kid"].as_str().ok_or_else(unauthorized)?;
            let signature = crate::b64::decode_url(signature).ok_or_else(unauthorized)?;
            let (n, e) = key_for(state, settings, kid)
                .await
                .ok_or_else(unauthorized)?;
            let signed = &id_token[..id_token.rfind('.').unwrap_or(0)];
            RsaPublicKeyComponents { n: &n, e: &e }
                .verify(&RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &signature)
                .map_err(|_| unauthorized())?;
        }
        _ => return Err(unauthorized()),
    }
    ensure(!project_id.is_empty(), unauthorized)?;
    ensure(claims["aud"].as_str() == Some(project_id), unauthorized)?;
    let issuer = format!("https://securetoken.google.com/{project_id}");
    ensure(
        claims["iss"].as_str() == Some(issuer.as_str()),
        unauthorized,
    )?;
    ensure(
        claims["exp"].as_i64().is_some_and(|exp| exp > now),
        unauthorized,
    )?;
    ensure(
        claims["iat"].as_i64().is_some_and(|iat| iat <= now),
        unauthorized,
    )?;
    let sub = claims["sub"]
        .as_str()
        .filter(|s| !s.is_empty() && s.len() <= 128)
        .ok_or_else(unauthorized)?;
    let mut profile: Vec<(&'static str, Sql)> = Vec::new();
    if phone {
        profile_text(&mut profile, "phone", claims.get("phone_number"));
    } else {
        profile_text(&mut profile, "email", claims.get("email"));
    }
    profile_text(&mut profile, "full_name", claims.get("name"));
    Ok(Identity {
        key: Key::FirebaseId,
        uid: sub.to_owned(),
        profile,
    })
}
