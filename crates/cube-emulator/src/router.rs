//! The route table, and the decoding every request shares: `.json`
//! stripping, the session token, the query string and the body.

pub(crate) mod fault_hook;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response};
use http_body_util::{Either, Full};
use serde_json::{Map, Value};

use crate::auth;
use crate::clock::{format_header, format_http_date};
use crate::conns::Activity;
use crate::error::ApiError;
use crate::files::FileBody;
use crate::inflow::{BodyError, Inflow};
use crate::operations::{
    Body, Ctx, Expiry, Outcome, Reply, admin, admin_data, blobs, fake, reset, search, session, ui,
    users,
};
use crate::operations::{admin_faults, admin_requests, admin_sessions};
use crate::requests::Trace;
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
            ctx.admin_gate()?;
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
                (&M::GET, ["sessions"]) => admin_sessions::list(ctx).await,
                (&M::POST, ["sessions", id, "expire"]) => admin_sessions::expire(ctx, id).await,
                (&M::DELETE, ["sessions", id]) => admin_sessions::destroy(ctx, id).await,
                (&M::GET, ["requests"]) => admin_requests::list(ctx).await,
                (&M::GET, ["faults"]) => admin_faults::list(ctx).await,
                (&M::POST, ["faults"]) => admin_faults::add(ctx).await,
                (&M::DELETE, ["faults"]) => admin_faults::clear(ctx).await,
                (&M::DELETE, ["faults", id]) => admin_faults::remove(ctx, id).await,
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

/// The connection a request arrived on.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    /// The client's address.
    pub(crate) remote: SocketAddr,
    /// The emulator's address the client reached.
    pub(crate) local: SocketAddr,
    /// What the connection is doing (`None` in process, without a socket).
    pub(crate) activity: Option<Arc<Activity>>,
}

/// Handles one HTTP request. Never fails: every problem is an error reply.
/// Everything under `/_emulator/` answers without CORS headers (no page of
/// another origin may read it); the ConnectyCube API allows any origin.
/// Every answer carries `Date`, read from the emulator's clock (moved by
/// the admin API), as the public service's answers carry its own.
pub(crate) async fn handle<B>(
    state: Arc<State>,
    req: Request<B>,
    conn: Connection,
) -> Response<ResponseBody>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let (parts, body) = req.into_parts();
    // `PATH.json` is `PATH` (the JavaScript SDK appends it to every call).
    let path = parts.uri.path();
    let path = path.strip_suffix(".json").unwrap_or(path);
    let decoded: Option<Vec<String>> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| wire::decode_component(s, false))
        .collect();
    let admin = decoded
        .as_ref()
        .is_none_or(|d| d.first().is_some_and(|s| s == "_emulator"));
    let mut trace = Trace::begin(
        &state.requests,
        &state.fingerprints,
        state.clock.now(),
        &parts,
        decoded.as_deref(),
    );
    let head = crate::head::check(&parts);
    // A head the emulator refuses is refused whatever the rules say.
    let fault = match &head {
        Ok(()) => fault_hook::arrive(&state.faults, &parts.method, decoded.as_deref(), admin).await,
        Err(_) => None,
    };
    let mut response = match (head, decoded) {
        (Err(err), _) => respond(Err(err), None),
        (Ok(()), None) => respond(Err(ApiError::bad_request("Malformed path")), None),
        (Ok(()), Some(_)) if parts.method == Method::OPTIONS => {
            if admin {
                admin_preflight(&state, &parts, &conn)
            } else {
                preflight(&parts.headers)
            }
        }
        (Ok(()), Some(decoded)) => match fault.as_ref().and_then(fault_hook::instead) {
            Some(instead) => fault_hook::answer_instead(instead, body, &state.intake, &conn).await,
            None => serve(state.clone(), parts, body, conn, &decoded, trace.as_mut()).await,
        },
    };
    if let Some(fault) = &fault {
        fault_hook::mark(fault, &mut response);
    }
    if let Some(mut trace) = trace {
        if let Some(fault) = &fault {
            trace.fault(fault);
        }
        trace.finish(response.status().as_u16());
    }
    let headers = response.headers_mut();
    if !admin {
        allow_any_origin(headers);
    }
    if let Ok(date) = HeaderValue::from_str(&format_http_date(state.clock.now())) {
        headers.insert(http::header::DATE, date);
    }
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The authority the client named: the request target's (absolute form),
/// else `Host`.
fn request_host(parts: &http::request::Parts) -> Option<String> {
    match parts.uri.authority() {
        Some(authority) => Some(authority.as_str().to_owned()),
        None => parts
            .headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

/// Where the links a reply carries point (upload URLs, redirects, reset
/// links): the address this client reached, so that a phone on the LAN
/// of an emulator listening on `0.0.0.0` gets links it can open. It is
/// the socket's own address, never the client's `Host`, which anyone can
/// write.
fn link_base(state: &State, local: SocketAddr) -> String {
    let ip = local.ip().to_canonical();
    match (ip, local) {
        (IpAddr::V6(_), SocketAddr::V6(v6)) if v6.scope_id() != 0 => state.base_url.clone(),
        _ if ip.is_unspecified() => state.base_url.clone(),
        _ => format!("http://{}", SocketAddr::new(ip, local.port())),
    }
}

async fn serve<B>(
    state: Arc<State>,
    parts: http::request::Parts,
    body: B,
    conn: Connection,
    decoded: &[String],
    mut trace: Option<&mut Trace>,
) -> Response<ResponseBody>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let now = state.clock.now();
    let path = parts.uri.path();
    let path = path.strip_suffix(".json").unwrap_or(path);
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let base_url = link_base(&state, conn.local);
    let mut body = Inflow::new(
        body,
        &state.intake.limits,
        state.intake.body_budget.clone(),
        conn.activity.clone(),
    );

    // The upload streams its body to disk: it never goes through
    // `read_body`, and it ignores any `CB-Token` (the policy is its permit).
    if parts.method == Method::POST && path == blobs::UPLOAD_PATH {
        let response = respond(
            blobs::upload(&state, &base_url, &parts.headers, body, now).await,
            None,
        );
        tracing::debug!(method = %parts.method, path, status = response.status().as_u16(), "request");
        return response;
    }

    // Who calls: the session of `CB-Token`, except on `POST /session`
    // (which ignores a stale one) and under `/_emulator/` (the admin API's
    // own rules apply there, in `route`).
    let creates_session = parts.method == Method::POST && segments == ["session"];
    let is_admin = segments.first() == Some(&"_emulator");
    let caller = match auth::caller(
        &state.sessions,
        &parts.headers,
        creates_session || is_admin,
        now,
    ) {
        Ok(caller) => caller,
        Err(err) => return respond(Err(err), None),
    };
    let deadline = caller.session.as_ref().map(|s| s.deadline);
    if let (Some(trace), Some(session)) = (trace.as_deref_mut(), &caller.session) {
        trace.session(session);
    }

    let query = match wire::parse_pairs(parts.uri.query().unwrap_or_default()) {
        Ok(query) => query,
        Err(err) => return respond(Err(err), deadline),
    };
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let carries_body = matches!(parts.method, Method::POST | Method::PUT | Method::PATCH);
    let value = match read_value(&mut body, carries_body.then_some(content_type)).await {
        Ok(value) => value,
        Err(err) => return respond(Err(err), deadline),
    };

    let host = request_host(&parts);
    let ctx = Ctx {
        state,
        now,
        caller,
        query,
        raw_path: parts.uri.path().to_owned(),
        body: value,
        _body_memory: Arc::new(body.memory),
        host,
        headers: parts.headers,
        remote: conn.remote,
        base_url,
    };
    let started = std::time::Instant::now();
    let outcome = route(&ctx, &parts.method, &segments).await;
    if let Some(trace) = trace {
        note_outcome(trace, &parts.method, &segments, &outcome);
    }
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

/// What an answer tells the request log: a new session (`POST /session`)
/// is noted by its own fingerprint, application and user; a sign-in
/// (`POST /login`) by its user.
fn note_outcome(trace: &mut Trace, method: &Method, segments: &[&str], outcome: &Outcome) {
    let Ok(reply) = outcome else { return };
    match (method, segments, &reply.body) {
        (&Method::POST, ["session"], Body::Json(body)) => {
            let session = &body["session"];
            trace.made_session(
                session["token"].as_str(),
                session["application_id"].as_i64(),
                session["user_id"].as_i64().filter(|id| *id != 0),
            );
        }
        (&Method::POST, ["login"], Body::JsonText(text)) => {
            if let Ok(body) = serde_json::from_slice::<Value>(text) {
                trace.signed_in(body["user"]["id"].as_i64());
            }
        }
        _ => {}
    }
}

/// The path as it may appear in logs: a reset link's token is a secret.
fn loggable(path: &str) -> &str {
    match path.find(reset::LINK_PATH) {
        Some(i) => &path[..i + reset::LINK_PATH.len()],
        None => path,
    }
}

use crate::limits::DRAIN_LIMIT;

/// Reads a body of at most [`wire::MAX_BODY`] bytes and, when
/// `content_type` is given, parses it (an empty object otherwise). A
/// larger body is `413`, but is still read (up to [`DRAIN_LIMIT`], holding
/// none of it) so that the client, which is busy sending it, gets to read
/// the answer instead of a reset connection. The body's memory — its
/// bytes, then what they parse into — is taken from the shared budget,
/// each whole at once (a body never waits for memory while holding some),
/// and stays taken while the request is handled.
async fn read_value<B>(
    inflow: &mut Inflow<B>,
    content_type: Option<Option<&str>>,
) -> Result<Value, ApiError>
where
    B: hyper::body::Body<Data = Bytes>,
{
    let mut kept: Vec<u8> = Vec::new();
    let mut seen = 0usize;
    // The share the raw bytes need: the declared length, or (chunked) the
    // most a body may be. A body declared too large is only drained.
    let declared = inflow.declared_len();
    let mut refused = declared.is_some_and(|n| n > wire::MAX_BODY as u64);
    let share = declared.map_or(wire::MAX_BODY, |n| {
        usize::try_from(n).unwrap_or(usize::MAX).min(wire::MAX_BODY)
    });
    while let Some(data) = inflow.next().await? {
        if seen == 0 && !refused {
            // Taken when the first bytes come, not with the headers, so a
            // client that never sends holds nothing. More than all bodies
            // may hold is refused, but still drained below.
            match inflow.reserve(share).await {
                Ok(()) => {}
                Err(BodyError::TooLarge) => refused = true,
                Err(err) => return Err(err.into()),
            }
        }
        seen = seen.saturating_add(data.len());
        if seen <= wire::MAX_BODY && !refused {
            if seen > kept.capacity() {
                let target = seen.max(kept.capacity() * 2).min(share.max(seen));
                kept.reserve_exact(target - kept.len());
            }
            kept.extend_from_slice(&data);
        } else {
            if kept.capacity() > 0 {
                kept = Vec::new();
                inflow.memory.release();
            }
            if seen > DRAIN_LIMIT {
                break;
            }
        }
    }
    if seen > wire::MAX_BODY || refused {
        return Err(ApiError::too_large());
    }
    let Some(content_type) = content_type else {
        inflow.memory.release();
        return Ok(Value::Object(Map::new()));
    };
    let value = wire::parse_body(content_type, &kept)?;
    // The raw bytes are gone: their share goes back before the parsed
    // value's is waited for.
    drop(kept);
    inflow.memory.release();
    inflow.reserve(wire::heap_size(&value)).await?;
    Ok(value)
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
    let mut file_headers = None;
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
            disposition,
        } => {
            file_headers = Some(
                HeaderValue::from_str(&disposition)
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            );
            (
                Some(
                    HeaderValue::from_str(&content_type)
                        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream")),
                ),
                Either::Right(FileBody::new(file, len)),
            )
        }
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
    if reply.status == http::StatusCode::REQUEST_TIMEOUT {
        // The rest of a body that came too slowly is not waited for.
        headers.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    if let Some(ct) = content_type {
        headers.insert(CONTENT_TYPE, ct);
    }
    // Stored bytes are whatever a user uploaded: on the emulator's origin
    // a browser must never run them (nor anything they would load).
    if let Some(disposition) = file_headers {
        headers.insert(http::header::CONTENT_DISPOSITION, disposition);
        headers.insert(
            http::header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; sandbox"),
        );
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
/// the emulator: every response allows any origin and exposes to scripts
/// the expiry header and `Date` (a client signs with the server's time).
fn allow_any_origin(headers: &mut http::HeaderMap) {
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    headers.insert(
        "access-control-expose-headers",
        HeaderValue::from_static(EXPOSED_HEADERS),
    );
}

/// What `Access-Control-Expose-Headers` lists, as the public service's.
pub(crate) const EXPOSED_HEADERS: &str = "CB-Token-ExpirationDate, Date";

/// Answers a CORS preflight: any method of the API, the headers asked for.
fn preflight(request: &http::HeaderMap) -> Response<ResponseBody> {
    let mut response = Response::new(Either::Left(Full::new(Bytes::new())));
    *response.status_mut() = http::StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
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

/// `OPTIONS` under `/_emulator/`: the admin rules apply, and a caller
/// they let through learns the methods, never a CORS permission.
fn admin_preflight(
    state: &State,
    parts: &http::request::Parts,
    conn: &Connection,
) -> Response<ResponseBody> {
    let host = request_host(parts);
    match auth::admin(
        state.admin_token.as_ref(),
        &parts.headers,
        host.as_deref(),
        conn.remote.ip(),
    ) {
        Err(err) => respond(Err(err), None),
        Ok(()) => {
            let mut response = Response::new(Either::Left(Full::new(Bytes::new())));
            *response.status_mut() = http::StatusCode::NO_CONTENT;
            response.headers_mut().insert(
                http::header::ALLOW,
                HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"),
            );
            response
        }
    }
}

#[cfg(test)]
mod tests {
    //! The router driven in-process with arbitrary requests: whatever
    //! arrives (JSON, forms, multipart, raw bytes; deep, huge or broken),
    //! the answer is never a 5xx, and errors use the object form but for
    //! the messages the public service sends in the array form.

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::harness::{Answer, Harness};

    fn from(
        h: &Harness,
        remote: &str,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> Answer {
        let headers: Vec<(&str, &[u8])> = headers.iter().map(|(k, v)| (*k, v.as_bytes())).collect();
        h.call(
            remote.parse().unwrap(),
            method.as_bytes(),
            uri,
            &headers,
            Vec::new(),
        )
        .unwrap()
    }

    #[test]
    fn admin_answers_loopback_peers_with_loopback_hosts_only() {
        // Peers no machine needs to have: the rule itself, in process.
        let h = Harness::new();
        for (remote, host, status) in [
            ("127.0.0.1:5", "127.0.0.1:1", 200),
            ("127.0.0.1:5", "localhost:1", 200),
            ("[::1]:5", "[::1]:1", 200),
            ("[::ffff:127.0.0.1]:5", "localhost", 200),
            ("127.0.0.1:5", "evil.example:1", 403),
            ("192.0.2.7:5", "127.0.0.1:1", 403),
            ("10.0.0.2:5", "localhost:1", 403),
            ("[fd00::7]:5", "[::1]:1", 403),
            ("[::ffff:192.0.2.7]:5", "localhost:1", 403),
        ] {
            let answer = from(&h, remote, "GET", "/_emulator/health", &[("host", host)]);
            assert_eq!(answer.status, status, "{remote} naming {host}");
        }
        // The public API answers every peer, with CORS for browser apps.
        let answer = h
            .call(
                "192.0.2.7:5".parse().unwrap(),
                b"POST",
                "/session",
                &[
                    ("content-type", b"application/json"),
                    ("origin", b"https://app.example"),
                ],
                br#"{"application_id": 1, "auth_key": "key"}"#.to_vec(),
            )
            .unwrap();
        assert_eq!(answer.status, 201);
        assert_eq!(answer.headers["access-control-allow-origin"], "*");
        // Admin answers never carry CORS headers, whatever the status.
        for remote in ["127.0.0.1:5", "192.0.2.7:5"] {
            let answer = from(&h, remote, "GET", "/_emulator/clock", &[]);
            assert!(answer.headers.get("access-control-allow-origin").is_none());
            assert_eq!(answer.headers["x-content-type-options"], "nosniff");
        }
    }

    const KEYS: &[&str] = &[
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
    ];

    fn json_value() -> impl Strategy<Value = Value> {
        let keys = prop::sample::select(KEYS);
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
            (1usize..200_000).prop_map(|n| Value::from("x".repeat(n))),
        ];
        leaf.prop_recursive(6, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(keys.clone(), inner, 0..6).prop_map(|m| Value::Object(
                    m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
                )),
            ]
        })
    }

    /// JSON nested `levels` deep around a session body.
    fn deep_json() -> impl Strategy<Value = Vec<u8>> {
        (1usize..200, any::<bool>()).prop_map(|(levels, arrays)| {
            let (open, close) = if arrays {
                ("[", "]")
            } else {
                (r#"{"user":"#, "}")
            };
            format!(
                r#"{{"application_id":1,"auth_key":"key","user":{}1{}}}"#,
                open.repeat(levels),
                close.repeat(levels)
            )
            .into_bytes()
        })
    }

    /// A bracketed form: known keys with up to 80 levels of brackets,
    /// values that may be empty, encoded, or very long.
    fn form_body() -> impl Strategy<Value = Vec<u8>> {
        let pair = (
            prop::sample::select(KEYS),
            prop::collection::vec(
                prop_oneof![
                    Just(String::new()),
                    prop::sample::select(KEYS).prop_map(str::to_owned)
                ],
                0..4,
            ),
            prop_oneof![0usize..80, 5_000usize..10_000],
            prop_oneof![
                "[a-z0-9%+=\\[\\]]{0,16}".prop_map(|v| v),
                (1usize..300_000).prop_map(|n| "v".repeat(n)),
            ],
        )
            .prop_map(|(key, path, extra, value)| {
                let mut k = key.to_owned();
                for part in path {
                    k.push_str(&format!("[{part}]"));
                }
                k.push_str(&"[a]".repeat(extra));
                format!("{k}={value}")
            });
        prop::collection::vec(pair, 0..6).prop_map(|pairs| {
            let mut body = "application_id=1&auth_key=key&".to_owned();
            body.push_str(&pairs.join("&"));
            body.into_bytes()
        })
    }

    /// A multipart form as browsers send it, possibly cut short.
    fn multipart_body() -> impl Strategy<Value = Vec<u8>> {
        (
            prop::collection::vec(
                (
                    prop::sample::select(vec!["key", "policy", "signature", "Content-Type", "file", "x"]),
                    "[ -~]{0,24}",
                ),
                0..5,
            ),
            prop::collection::vec(any::<u8>(), 0..256),
            any::<Option<usize>>(),
        )
            .prop_map(|(fields, file, cut)| {
                let mut body = Vec::new();
                for (name, value) in fields {
                    body.extend_from_slice(
                        format!("--B0undary\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                            .as_bytes(),
                    );
                }
                body.extend_from_slice(
                    b"--B0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n",
                );
                body.extend_from_slice(&file);
                body.extend_from_slice(b"\r\n--B0undary--\r\n");
                if let Some(cut) = cut {
                    body.truncate(cut % (body.len() + 1));
                }
                body
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
                "/_emulator/clock/advance",
                "/_emulator/apps",
                "/_emulator/apps/1/settings",
                "/_emulator/providers/twitter/tokens",
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
        let h = Harness::new();
        let token = h.session(Some("fuzzer"));
        let content_type = prop::sample::select(vec![
            "application/json",
            "application/json;charset=utf-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=B0undary",
            "text/plain",
            "",
        ]);
        let body = prop_oneof![
            json_value().prop_map(|v| v.to_string().into_bytes()),
            deep_json(),
            form_body(),
            multipart_body(),
            prop::collection::vec(any::<u8>(), 0..512),
            (0usize..3).prop_map(|n| vec![b'x'; (1 << 20) + n - 1]),
        ];
        let query = prop_oneof![
            "[a-z_\\[\\]=&%0-9+]{0,40}",
            (0usize..100).prop_map(|n| format!("user_tags{}=a", "[in]".repeat(n))),
        ];
        let strategy = (
            prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH"]),
            path(),
            query,
            content_type,
            body,
            any::<bool>(),
        );
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 400,
            ..ProptestConfig::default()
        });
        let routed = std::cell::Cell::new(0);
        let result = runner.run(
            &strategy,
            |(method, path, query, content_type, body, with_token)| {
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
                let mut headers: Vec<(&str, &[u8])> =
                    vec![("content-type", content_type.as_bytes())];
                if with_token {
                    headers.push(("cb-token", token.as_bytes()));
                }
                let Some(answer) = h.call(
                    "127.0.0.1:9".parse().unwrap(),
                    method.as_bytes(),
                    &uri,
                    &headers,
                    body,
                ) else {
                    return Ok(());
                };
                routed.set(routed.get() + 1);
                prop_assert!(answer.status < 500, "{method} {uri}: {}", answer.status);
                if answer.status >= 400
                    && let Ok(value) = serde_json::from_slice::<Value>(&answer.body)
                {
                    prop_assert!(
                        crate::error::well_formed_body(&value),
                        "{method} {uri}: {value}"
                    );
                }
                prop_assert!(answer.headers.contains_key(http::header::DATE));
                Ok(())
            },
        );
        if let Err(failure) = result {
            panic!("{failure}");
        }
        // Nearly every case reached the router (none were skipped to pass).
        assert!(
            routed.get() >= 300,
            "only {} requests were sent",
            routed.get()
        );
        // Whatever it was sent, the fixture's user still signs in (with
        // the settings a case may have changed put back).
        let reset =
            json!({"require_signature": false, "session_without_user": "allow", "cidp": null});
        assert_eq!(
            h.json("PUT", "/_emulator/apps/1/settings", None, &reset)
                .status,
            200
        );
        let answer = h.json(
            "POST",
            "/session",
            None,
            &json!({"application_id": 1, "auth_key": "key",
                    "user": {"login": "fuzzer", "password": "password123"}}),
        );
        assert_eq!(answer.status, 201);
    }
}
