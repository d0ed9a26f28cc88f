//! Firebase ID tokens (JWTs), `docs/PROTOCOL.md` ("Identity providers"): RS256-signed by a key
//! of the application's key set (`firebase_jwks` inline, or fetched from
//! `firebase_jwks_url` and cached), or unsigned (`alg: none`, as the
//! Firebase Auth Emulator issues them) when the application accepts those and has
//! no key set. The claims are checked either way.
//!
//! A fetched set is used while fresh (`Cache-Control: max-age`, default
//! 1 h); a stale set, or one that lacks a token's `kid` (how a key
//! rotation is picked up), is fetched again, but each URL at most once per
//! [`KEY_SET_REFETCH_INTERVAL`]: forged tokens with made-up `kid`s cannot
//! make the emulator fetch on their behalf. The fetch runs in a task of its
//! own, outside any lock; every sign-in that needs it waits for that one
//! fetch. Between fetches, and when a fetch fails, the set held is used.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use serde_json::Value;
use tokio::sync::watch;

use super::outbound::Outbound;
use super::{Providers, Verified, profile_name, profile_text};
use crate::error::{ApiError, ensure};
use crate::limits::{
    FIREBASE_SUB_MAX_BYTES, KEY_SET_DEFAULT_MAX_AGE, KEY_SET_LONGEST_MAX_AGE,
    KEY_SET_REFETCH_INTERVAL,
};
use crate::settings::AppSettings;

/// What is known of one key-set URL. Times are emulator-clock seconds.
#[derive(Default)]
struct Entry {
    set: Option<Arc<Value>>,
    /// The set is fresh while `now < fresh_until`.
    fresh_until: i64,
    /// When the last fetch started.
    fetched_at: Option<i64>,
    /// Present while a fetch runs; ends (its sender drops) when it is done.
    fetching: Option<watch::Receiver<()>>,
}

/// Key sets fetched from URLs, by URL.
#[derive(Default)]
pub(crate) struct KeyCache {
    entries: Arc<Mutex<HashMap<String, Entry>>>,
}

fn lock(
    entries: &Mutex<HashMap<String, Entry>>,
) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
    entries.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a sign-in does next with a URL's set.
enum Next {
    Use(Option<Arc<Value>>),
    Wait(watch::Receiver<()>),
}

/// Ends a fetch: whether it finished or its task was dropped, the entry
/// stops saying "fetching", then the waiters wake (the sender drops after
/// `drop` has run).
struct FetchDone {
    entries: Arc<Mutex<HashMap<String, Entry>>>,
    url: String,
    _wake: watch::Sender<()>,
}

impl Drop for FetchDone {
    fn drop(&mut self) {
        if let Some(entry) = lock(&self.entries).get_mut(&self.url) {
            entry.fetching = None;
        }
    }
}

impl KeyCache {
    /// The key `kid` of the set at `url`, fetching the set again when it is
    /// stale or lacks `kid` and the URL's fetch interval allows.
    async fn key(
        &self,
        http: &Arc<Outbound>,
        url: &str,
        kid: &str,
        now: i64,
    ) -> Option<(Vec<u8>, Vec<u8>)> {
        let next = {
            let mut entries = lock(&self.entries);
            let entry = entries.entry(url.to_owned()).or_default();
            match &entry.fetching {
                Some(fetching) => Next::Wait(fetching.clone()),
                None => {
                    let held = entry.set.clone();
                    let usable = now < entry.fresh_until
                        && held.as_deref().and_then(|set| find_key(set, kid)).is_some();
                    // A clock moved back also allows a fetch.
                    let may_fetch = entry.fetched_at.is_none_or(|at| {
                        now < at || now.saturating_sub(at) >= KEY_SET_REFETCH_INTERVAL
                    });
                    if usable || !may_fetch {
                        Next::Use(held)
                    } else {
                        let (wake, fetching) = watch::channel(());
                        entry.fetching = Some(fetching.clone());
                        entry.fetched_at = Some(now);
                        let done = FetchDone {
                            entries: self.entries.clone(),
                            url: url.to_owned(),
                            _wake: wake,
                        };
                        tokio::spawn(fetch(http.clone(), done, now));
                        Next::Wait(fetching)
                    }
                }
            }
        };
        let set = match next {
            Next::Use(set) => set,
            Next::Wait(mut fetching) => {
                // Err once the fetch is over: that is the signal.
                let _ = fetching.changed().await;
                lock(&self.entries).get(url).and_then(|e| e.set.clone())
            }
        };
        set.as_deref().and_then(|set| find_key(set, kid))
    }
}

/// Fetches the set at `done.url` and stores it; a failure keeps the set
/// held.
async fn fetch(http: Arc<Outbound>, done: FetchDone, now: i64) {
    let answer = match http.get(&done.url, &[]).await {
        Ok(answer) => answer,
        Err(err) => {
            tracing::info!(?err, "cannot fetch the Firebase key set");
            return;
        }
    };
    let Some(set) = answer.json_if_ok().filter(|s| s["keys"].is_array()) else {
        tracing::info!(
            status = answer.status.as_u16(),
            "the Firebase key set answer is unusable"
        );
        return;
    };
    let max_age = answer
        .max_age
        .map_or(KEY_SET_DEFAULT_MAX_AGE, |age| {
            i64::try_from(age.as_secs()).unwrap_or(i64::MAX)
        })
        .min(KEY_SET_LONGEST_MAX_AGE);
    if let Some(entry) = lock(&done.entries).get_mut(&done.url) {
        entry.set = Some(Arc::new(set));
        entry.fresh_until = now.saturating_add(max_age);
    }
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

/// The key `kid`: from the inline set, else from the URL's set.
async fn key_for(
    providers: &Providers,
    settings: &AppSettings,
    kid: &str,
    now: i64,
) -> Option<(Vec<u8>, Vec<u8>)> {
    if let Some(key) = find_key(&settings.firebase_jwks, kid) {
        return Some(key);
    }
    let url = settings.firebase_jwks_url.as_deref()?;
    providers.jwks.key(&providers.http, url, kid, now).await
}

fn segment_json(segment: &str) -> Option<Value> {
    serde_json::from_slice(&crate::b64::decode_url(segment)?).ok()
}

/// Verifies `id_token` for `project_id` and the application `app_id`;
/// `phone` picks the phone provider (`phone_number` → `phone`) over the
/// e-mail one (`email` → `email`).
pub(crate) async fn verify(
    providers: &Providers,
    app_id: i64,
    settings: &AppSettings,
    phone: bool,
    project_id: &str,
    id_token: &str,
    now: i64,
) -> Result<Verified, ApiError> {
    let unauthorized = ApiError::unauthorized;
    let mut parts = id_token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(unauthorized());
    };
    let header = segment_json(header).ok_or_else(unauthorized)?;
    let claims = segment_json(payload).ok_or_else(unauthorized)?;
    let unsigned = header["alg"].as_str() == Some("none");
    match header["alg"].as_str() {
        Some("none") => ensure(
            settings.accepts_unsigned_firebase() && signature.is_empty(),
            unauthorized,
        )?,
        Some("RS256") => {
            let kid = header["kid"].as_str().ok_or_else(unauthorized)?;
            let signature = crate::b64::decode_url(signature).ok_or_else(unauthorized)?;
            let (n, e) = key_for(providers, settings, kid, now)
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
        .filter(|s| !s.is_empty() && s.len() <= FIREBASE_SUB_MAX_BYTES)
        .ok_or_else(unauthorized)?;
    if unsigned {
        providers.note_unsigned_firebase(app_id);
    }
    Ok(Verified {
        uid: sub.to_owned(),
        full_name: profile_name(claims.get("name")),
        email: if phone {
            None
        } else {
            profile_text(claims.get("email"))
        },
        phone: if phone {
            profile_text(claims.get("phone_number"))
        } else {
            None
        },
    })
}
