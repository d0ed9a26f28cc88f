//! The route table, and the decoding every request shares: `.json`
//! stripping, the session token, the query string and the body.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value};

use crate::clock::format_header;
use crate::error::ApiError;
use crate::operations::{Body, Ctx, Expiry, Outcome, Reply, admin, reset, search, session, users};
use crate::state::State;
use crate::store::users::Key;
use crate::wire;

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

        (_, ["_emulator", rest @ ..]) => {
            admin::authorize(ctx)?;
            match (method, rest) {
                (&M::GET, ["health"]) => admin::health(ctx).await,
                (&M::POST, ["apps"]) => admin::create_app(ctx).await,
                (&M::GET, ["apps", id, "settings"]) => admin::show_settings(ctx, id).await,
                (&M::PUT, ["apps", id, "settings"]) => admin::update_settings(ctx, id).await,
                (&M::GET, ["clock"]) => admin::clock(ctx).await,
                (&M::POST, ["clock", "advance"]) => admin::advance_clock(ctx).await,
                (&M::GET, ["outbox"]) => admin::outbox(ctx).await,
                (&M::DELETE, ["outbox"]) => admin::clear_outbox(ctx).await,
                (&M::DELETE, ["data"]) => admin::reset_data(ctx).await,
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
) -> Response<Full<Bytes>>
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

/// Past this much, an oversized body is no longer read to its end: the
/// connection is simply closed after the `413`.
const DRAIN_LIMIT: usize = 16 << 20;

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
fn respond(outcome: Outcome, deadline: Option<i64>) -> Response<Full<Bytes>> {
    let reply = outcome.unwrap_or_else(|err| Reply::json(err.status, err.body()));
    let expires = match reply.expiry {
        Expiry::FromRequest => deadline,
        Expiry::At(at) => Some(at),
        Expiry::Ended => None,
    };
    let (content_type, bytes) = match reply.body {
        Body::Empty => (None, Bytes::new()),
        Body::Json(value) => (
            Some("application/json; charset=utf-8"),
            Bytes::from(serde_json::to_vec(&value).unwrap_or_default()),
        ),
        Body::Html(page) => (Some("text/html; charset=utf-8"), Bytes::from(page)),
    };
    let mut response = Response::new(Full::new(bytes));
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    allow_any_origin(headers);
    if let Some(ct) = content_type {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    if let Some(at) = expires
        && let Ok(value) = HeaderValue::from_str(&format_header(at))
    {
        headers.insert(EXPIRATION_HEADER, value);
    }
    response
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
fn preflight(request: &http::HeaderMap) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
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
