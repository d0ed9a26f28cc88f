//! The route table, and the decoding every request shares: `.json`
//! stripping, the session token, the query string and the body.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Either, Full};
use serde_json::{Map, Value};

use crate::clock::format_header;
use crate::error::ApiError;
use crate::files::FileBody;
use crate::operations::{
    Body, Ctx, Expiry, Outcome, Reply, admin, admin_data, blobs, fake, reset, search, session, ui,
    users,
};
use crate::state::State;
use crate::store::users::Key;
use crate::wire;

/// A response body: bytes in memory, or a file streamed from disk.
pub(crate) type ResponseBody = Either<Full<Bytes>, FileBody>;

/// `CB-Token-ExpirationDate`.
const EXPIRATION_HEADER: &str = "cb-token-expirationdate";

/// Dispatches a decoded request. Literal segments come before `{id}`
/// patterns, so `/users/v2` is never read as a user id.
async fn route(ctx: &Ctx, method: &Method, segments: &[&str]) -> Outcome {
    use Method as M;
    match (method, segments) {
        (&M::POST, ["session"]) => session::create(ctx).await,
        (&M::GET, ["session"]) => session::show(ctx).await,
        (&M::DELETE, ["session"]) => session::destroy(ctx).await,
        (&M::DELETE, ["session", "list"]) => session::destroy_others(ctx).await,
        (&M::DELETE, ["session", id]) => session::destroy_one(ctx, id).await,
        (&M::POST, ["login"]) => session::login(ctx).await,
        (&M::DELETE, ["login"]) => session::logout(ctx).await,

        (&M::POST, ["users"]) => users::sign_up(ctx).await,
        (&M::GET, ["users"]) => search::list_v1(ctx).await,
        (&M::GET, ["users", "v2"]) => search::search_v2(ctx).await,
        (&M::GET, ["users", "by_full_name"]) => search::by_full_name(ctx).await,
        (&M::GET, ["users", "by_tags"]) => search::by_tags(ctx).await,
        (&M::GET, ["users", "by_login"]) => users::show_by(ctx, Key::Login, "login").await,
        (&M::GET, ["users", "by_email"]) => users::show_by(ctx, Key::Email, "email").await,
        (&M::GET, ["users", "by_facebook_id"]) => {
            users::show_by(ctx, Key::FacebookId, "facebook_id").await
        }
        (&M::GET, ["users", "by_twitter_id"]) => {
            users::show_by(ctx, Key::TwitterId, "twitter_id").await
        }
        (&M::GET | &M::POST, ["users", "password", "reset"]) => reset::request(ctx).await,
        (&M::GET, ["users", "password", "reset", token]) => reset::form(ctx, token).await,
        (&M::POST, ["users", "password", "reset", token]) => reset::submit(ctx, token).await,
        (&M::GET, ["users", "external", id]) => users::show_external(ctx, id).await,
        (&M::DELETE, ["users", "external", id]) => users::delete_external(ctx, id).await,
        (&M::GET, ["users", id]) => users::show(ctx, id).await,
        (&M::PUT, ["users", id]) => users::update(ctx, id).await,
        (&M::DELETE, ["users", id]) => users::delete(ctx, id).await,

        (&M::POST, ["blobs"]) => blobs::create(ctx).await,
        (&M::PUT, ["blobs", id, "complete"]) => blobs::complete(ctx, id).await,
        (&M::GET, ["blobs", uid, "download"]) => blobs::download(ctx, uid).await,
        (&M::GET, ["blobs", x]) if x.bytes().all(|b| b.is_ascii_digit()) => {
            blobs::show(ctx, x).await
        }
        (&M::GET, ["blobs", uid]) => blobs::file(ctx, uid).await,
        (&M::DELETE, ["blobs", id]) => blobs::delete(ctx, id).await,

        // The fake provider APIs answer anyone holding their tokens: no
        // admin authorization (the emulator itself calls them).
        (&M::GET, ["_emulator", "fake", "facebook", .., "me"]) => fake::facebook_me(ctx).await,
        (
            &M::GET,
            [
                "_emulator",
                "fake",
                "twitter",
                "1.1",
                "account",
                "verify_credentials",
            ],
        ) => fake::twitter_verify(ctx).await,

        // The web UI's files: the admin rules, but they load without the
        // admin token (the page asks for it).
        (&M::GET, ["_emulator", "ui", file @ ..]) => ui::asset(ctx, file),

        (_, ["_emulator", rest @ ..]) => {
            admin::authorize(ctx)?;
            match (method, rest) {
                (&M::GET, ["health"]) => admin::health(ctx).await,
                (&M::POST, ["apps"]) => admin::create_app(ctx).await,
                (&M::GET, ["apps", id, "settings"]) => admin::show_settings(ctx, id).await,
                (&M::PUT, ["apps", id, "settings"]) => admin::update_settings(ctx, id).await,
                (&M::POST, ["apps", id, "users"]) => users::import(ctx, id).await,
                (&M::GET, ["clock"]) => admin::clock(ctx).await,
                (&M::POST, ["clock", "advance"]) => admin::advance_clock(ctx).await,
                (&M::GET, ["outbox"]) => admin::outbox(ctx).await,
                (&M::DELETE, ["outbox"]) => admin::clear_outbox(ctx).await,
                (&M::DELETE, ["data"]) => admin::reset_data(ctx).await,
                (&M::POST, ["export"]) => admin::export(ctx).await,
                (&M::GET, ["apps"]) => admin_data::list_apps(ctx).await,
                (&M::GET, ["apps", id, "users"]) => admin_data::search_users(ctx, id).await,
                (&M::GET, ["apps", id, "users", user]) => {
                    admin_data::show_user(ctx, id, user).await
                }
                (&M::PUT, ["apps", id, "users", user]) => {
                    admin_data::update_user(ctx, id, user).await
                }
                (&M::DELETE, ["apps", id, "users", user]) => {
                    admin_data::delete_user(ctx, id, user).await
                }
                (&M::GET, ["apps", id, "users", user, "sessions"]) => {
                    admin_data::user_sessions(ctx, id, user).await
                }
                (&M::POST, ["sessions", id, "expire"]) => admin_data::expire_session(ctx, id).await,
                (&M::DELETE, ["sessions", id]) => admin_data::destroy_session(ctx, id).await,
                (&M::GET, ["blobs", uid]) => admin_data::blob_bytes(ctx, uid).await,
                (&M::POST, ["providers", provider @ ("facebook" | "twitter"), "tokens"]) => {
                    fake::register(ctx, provider).await
                }
                _ => Err(ApiError::not_found()),
            }
        }
        _ => Err(ApiError::not_found()),
    }
}

/// Handles one HTTP request. Never fails: every problem is an error reply.
pub(crate) async fn handle<B>(
    state: Arc<State>,
    req: Request<B>,
    peer: SocketAddr,
) -> Response<ResponseBody>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let (parts, body) = req.into_parts();
    if parts.method == Method::OPTIONS {
        return preflight(&parts.headers);
    }
    let now = state.clock.now();

    // `PATH.json` is `PATH` (the JavaScript SDK appends it to every call).
    let path = parts.uri.path();
    let path = path.strip_suffix(".json").unwrap_or(path);
    let decoded: Option<Vec<String>> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| wire::decode_component(s, false))
        .collect();
    let Some(decoded) = decoded else {
        return respond(Err(ApiError::bad_request("Malformed path")), None);
    };
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();

    // The upload streams its body to disk: it never goes through
    // `read_body`, and it ignores any `CB-Token` (the policy is its permit).
    if parts.method == Method::POST && path == blobs::UPLOAD_PATH {
        let response = respond(blobs::upload(&state, &parts.headers, body, now).await, None);
        tracing::debug!(method = %parts.method, path, status = response.status().as_u16(), "request");
        return response;
    }

    // The token, except on `POST /session`, which ignores a stale one.
    let creates_session = parts.method == Method::POST && segments == ["session"];
    let is_admin = segments.first() == Some(&"_emulator");
    let token = parts
        .headers
        .get("cb-token")
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.is_empty() && !creates_session && !is_admin)
        .map(str::to_owned);
    let session = match &token {
        Some(token) => match state.authenticate(token, now) {
            Ok(Some(session)) => Some(session),
            Ok(None) => return respond(Err(ApiError::no_session()), None),
            Err(err) => return respond(Err(err), None),
        },
        None => None,
    };
    let deadline = session.as_ref().map(|s| s.deadline);

    let query = match wire::parse_pairs(parts.uri.query().unwrap_or_default()) {
        Ok(query) => query,
        Err(err) => return respond(Err(err), deadline),
    };
    let bytes = match read_body(body).await {
        Ok(bytes) => bytes,
        Err(err) => return respond(Err(err), deadline),
    };
    let body = if matches!(parts.method, Method::POST | Method::PUT | Method::PATCH) {
        let content_type = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        match wire::parse_body(content_type, &bytes) {
            Ok(body) => body,
            Err(err) => return respond(Err(err), deadline),
        }
    } else {
        Value::Object(Map::new())
    };

    let ctx = Ctx {
        state,
        now,
        token,
        session,
        query,
        raw_path: parts.uri.path().to_owned(),
        body,
        headers: parts.headers,
        peer,
    };
    let started = std::time::Instant::now();
    let outcome = route(&ctx, &parts.method, &segments).await;
    let response = respond(outcome, deadline);
    tracing::debug!(
        method = %parts.method,
        path = loggable(path),
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros(),
        "request"
    );
    response
}

/// The path as it may appear in logs: a reset link's token is a secret.
fn loggable(path: &str) -> &str {
    match path.find(reset::LINK_PATH) {
        Some(i) => &path[..i + reset::LINK_PATH.len()],
        None => path,
    }
}

use crate::limits::DRAIN_LIMIT;

/// Reads a body of at most [`wire::MAX_BODY`] bytes. A larger one is `413`,
/// but is still read (up to [`DRAIN_LIMIT`]) so that the client, which is
/// busy sending it, gets to read the answer instead of a reset connection.
async fn read_body<B>(body: B) -> Result<Bytes, ApiError>
where
    B: hyper::body::Body<Data = Bytes>,
{
    let mut body = std::pin::pin!(body);
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| ApiError::bad_request("Unreadable body"))?;
        if let Ok(data) = frame.into_data() {
            seen = seen.saturating_add(data.len());
            if seen <= wire::MAX_BODY {
                kept.extend_from_slice(&data);
            } else if seen > DRAIN_LIMIT {
                break;
            }
        }
    }
    if seen > wire::MAX_BODY {
        return Err(ApiError::too_large());
    }
    Ok(Bytes::from(kept))
}

/// Turns an outcome into a response; `deadline` is the request's own
/// session deadline, sent as `CB-Token-ExpirationDate` unless the reply
/// says otherwise.
fn respond(outcome: Outcome, deadline: Option<i64>) -> Response<ResponseBody> {
    let reply = outcome.unwrap_or_else(|err| Reply::json(err.status, err.body()));
    let expires = match reply.expiry {
        Expiry::FromRequest => deadline,
        Expiry::At(at) => Some(at),
        Expiry::Ended => None,
    };
    let mut location = None;
    let mut asset = false;
    let (content_type, body) = match reply.body {
        Body::Empty => (None, Either::Left(Full::new(Bytes::new()))),
        Body::Json(value) => (
            Some(HeaderValue::from_static("application/json; charset=utf-8")),
            Either::Left(Full::new(Bytes::from(
                serde_json::to_vec(&value).unwrap_or_default(),
            ))),
        ),
        Body::JsonText(text) => (
            Some(HeaderValue::from_static("application/json; charset=utf-8")),
            Either::Left(Full::new(Bytes::from(text))),
        ),
        Body::Html(page) => (
            Some(HeaderValue::from_static("text/html; charset=utf-8")),
            Either::Left(Full::new(Bytes::from(page))),
        ),
        Body::Xml(text) => (
            Some(HeaderValue::from_static("application/xml")),
            Either::Left(Full::new(Bytes::from(text))),
        ),
        Body::File {
            file,
            len,
            content_type,
        } => (
            Some(
                HeaderValue::from_str(&content_type)
                    .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream")),
            ),
            Either::Right(FileBody::new(file, len)),
        ),
        Body::Redirect(url) => {
            location = HeaderValue::from_str(&url).ok();
            (None, Either::Left(Full::new(Bytes::new())))
        }
        Body::Asset {
            content_type,
            bytes,
        } => {
            asset = true;
            (
                Some(HeaderValue::from_static(content_type)),
                Either::Left(Full::new(Bytes::from_static(bytes))),
            )
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    allow_any_origin(headers);
    if let Some(ct) = content_type {
        headers.insert(CONTENT_TYPE, ct);
    }
    if let Some(location) = location {
        headers.insert(http::header::LOCATION, location);
    }
    if asset {
        ui_headers(headers);
    }
    if let Some(at) = expires
        && let Ok(value) = HeaderValue::from_str(&format_header(at))
    {
        headers.insert(EXPIRATION_HEADER, value);
    }
    response
}

/// What the web UI's files are served with: the page runs only its own
/// script, is never framed, never sniffed, and always fresh (a new binary
/// brings a new page).
fn ui_headers(headers: &mut http::HeaderMap) {
    let set = |headers: &mut http::HeaderMap, name, value| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        http::header::CONTENT_SECURITY_POLICY,
        ui::CONTENT_SECURITY_POLICY,
    );
    set(headers, http::header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, http::header::X_FRAME_OPTIONS, "DENY");
    set(headers, http::header::REFERRER_POLICY, "no-referrer");
    set(headers, http::header::CACHE_CONTROL, "no-store");
}

/// Browser apps on another origin (a dev server on another port) may call
/// the emulator: every response allows any origin and exposes the expiry
/// header to scripts.
fn allow_any_origin(headers: &mut http::HeaderMap) {
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    headers.insert(
        "access-control-expose-headers",
        HeaderValue::from_static("CB-Token-ExpirationDate"),
    );
}

/// Answers a CORS preflight: any method of the API, the headers asked for.
fn preflight(request: &http::HeaderMap) -> Response<ResponseBody> {
    let mut response = Response::new(Either::Left(Full::new(Bytes::new())));
    *response.status_mut() = http::StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    allow_any_origin(headers);
    headers.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"),
    );
    let asked = request
        .get("access-control-request-headers")
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("CB-Token, CB-AuthKey, CB-SDK, Content-Type"));
    headers.insert("access-control-allow-headers", asked);
    headers.insert("access-control-max-age", HeaderValue::from_static("86400"));
    response
}

#[cfg(test)]
mod tests {
    //! The router driven in-process with arbitrary requests: whatever
    //! arrives, the answer is never a 5xx, and errors use the object form.

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::clock::{Clock, SystemTimeSource};
    use crate::config::PasswordCost;
    use crate::crypto::{Passwords, Secret};
    use crate::settings::AppSettings;
    use crate::store::Store;
    use crate::store::apps::{self, App};

    struct Fixture {
        runtime: tokio::runtime::Runtime,
        state: Arc<State>,
        token: String,
    }

    fn call(
        f: &Fixture,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Vec<u8>,
    ) -> Response<ResponseBody> {
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json");
        if let Some(token) = token {
            builder = builder.header("cb-token", token);
        }
        let request = builder.body(Full::new(Bytes::from(body))).unwrap();
        let peer: SocketAddr = "127.0.0.1:9".parse().unwrap();
        f.runtime.block_on(handle(f.state.clone(), request, peer))
    }

    fn fixture() -> Fixture {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let app = App {
            id: 1,
            auth_key: "key".into(),
            auth_secret: Secret::new("secret"),
            settings: AppSettings::default(),
        };
        let state = runtime.block_on(async {
            let store = Store::open(None).unwrap();
            let stored = app.clone();
            store
                .write(move |c| Ok(apps::ensure_exists(c, &stored)?))
                .await
                .unwrap();
            let files = crate::files::Files::open(store.dir().join("blobs"), false).unwrap();
            Arc::new(State::new(
                store,
                Clock::new(Arc::new(SystemTimeSource), 0),
                "http://127.0.0.1:1".into(),
                None,
                files,
                Secret::new("upload-key"),
                crate::providers::Providers::new(std::time::Duration::from_secs(1)),
                Passwords::new(PasswordCost::Dev),
                vec![app],
            ))
        });
        let mut f = Fixture {
            runtime,
            state,
            token: String::new(),
        };
        let body = json!({"application_id": 1, "auth_key": "key",
            "user": {"login": "fuzzer", "password": "password123"}});
        let response = call(&f, "POST", "/session", None, body.to_string().into_bytes());
        let bytes = f
            .runtime
            .block_on(response.into_body().collect())
            .unwrap()
            .to_bytes();
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        f.token = value["session"]["token"].as_str().unwrap().to_owned();
        f
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let keys = prop::sample::select(vec![
            "user",
            "login",
            "password",
            "email",
            "application_id",
            "auth_key",
            "nonce",
            "timestamp",
            "signature",
            "guest",
            "tag_list",
            "full_name",
            "provider",
            "seconds",
            "id",
            "old_password",
            "custom_data",
            "timezone",
            "external_id",
            "keys",
            "token",
            "secret",
            "firebase_phone",
            "firebase_email",
            "project_id",
            "access_token",
            "blob",
            "size",
            "content_type",
            "name",
            "public",
        ]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            "[a-z0-9@. +%-]{0,12}".prop_map(Value::from),
            Just(Value::from("key")),
            Just(Value::from("fuzzer")),
            Just(Value::from("password123")),
            Just(Value::from("facebook")),
            Just(Value::from("twitter")),
            Just(Value::from("firebase_phone")),
            Just(Value::from("firebase_email")),
            Just(Value::from("eyJhbGciOiJub25lIn0.e30.")),
        ];
        leaf.prop_recursive(3, 24, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(keys.clone(), inner, 0..6).prop_map(|m| Value::Object(
                    m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
                )),
            ]
        })
    }

    fn path() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "/session",
                "/session/list",
                "/session/1",
                "/login",
                "/users",
                "/users/v2",
                "/users/by_login",
                "/users/by_email",
                "/users/by_full_name",
                "/users/by_tags",
                "/users/external/7",
                "/users/password/reset",
                "/users/password/reset/abc",
                "/users/1",
                "/users/1.json",
                "/_emulator/clock",
                "/_emulator/apps",
                "/_emulator/apps/1/settings",
                "/blobs",
                "/blobs/1",
                "/blobs/1/complete",
                "/blobs/a1b2/download",
                "/blobs/a1b2",
                "/_storage/upload",
            ])
            .prop_map(str::to_owned),
            "/[a-z_./%0-9]{0,24}",
        ]
    }

    #[test]
    fn no_request_yields_a_server_error() {
        // One emulator for all cases (dropped at the end, which removes its
        // temporary database).
        let f = fixture();
        let strategy = (
            prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH"]),
            path(),
            "[a-z_\\[\\]=&%0-9+]{0,40}",
            prop_oneof![
                json_value().prop_map(|v| v.to_string().into_bytes()),
                prop::collection::vec(any::<u8>(), 0..48),
            ],
            any::<bool>(),
        );
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 300,
            ..ProptestConfig::default()
        });
        let result = runner.run(&strategy, |(method, path, query, body, with_token)| {
            // Never end the fixture's own session or user, nor wipe the data.
            let ends_fixture = method == "DELETE"
                && (path.starts_with("/session")
                    || path.starts_with("/users/1")
                    || path.starts_with("/_emulator"));
            let uri = if query.is_empty() {
                path.clone()
            } else {
                format!("{path}?{query}")
            };
            if ends_fixture || uri.parse::<http::Uri>().is_err() {
                return Ok(());
            }
            let token = with_token.then_some(f.token.as_str());
            let response = call(&f, method, &uri, token, body);
            let status = response.status();
            prop_assert!(status.as_u16() < 500, "{method} {uri}: {status}");
            if status.as_u16() >= 400 {
                let bytes = f
                    .runtime
                    .block_on(response.into_body().collect())
                    .unwrap()
                    .to_bytes();
                if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
                    prop_assert!(value["errors"].is_object(), "{method} {uri}: {value}");
                }
            }
            Ok(())
        });
        if let Err(failure) = result {
            panic!("{failure}");
        }
    }
}
