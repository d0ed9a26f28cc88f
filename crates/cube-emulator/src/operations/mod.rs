//! Every API operation. The route table is [`crate::router::route`]; each
//! handler takes the request context and returns a typed reply or an
//! [`ApiError`], and reads as a list of preconditions followed by one
//! storage call.

pub(crate) mod admin;
pub(crate) mod admin_data;
pub(crate) mod admin_faults;
pub(crate) mod admin_requests;
pub(crate) mod admin_sessions;
pub(crate) mod blobs;
pub(crate) mod fake;
pub(crate) mod render;
pub(crate) mod reset;
pub(crate) mod search;
pub(crate) mod session;
pub(crate) mod ui;
pub(crate) mod users;

use std::net::SocketAddr;
use std::sync::Arc;

use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value};

use crate::auth::{self, Caller};
use crate::error::{ApiError, ensure};
use crate::state::State;
use crate::store::sessions::SessionRow;
use crate::wire;

/// One request, decoded.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub(crate) state: Arc<State>,
    /// The emulator clock when the request arrived.
    pub(crate) now: i64,
    /// Who sent it (`auth::caller`).
    pub(crate) caller: Caller,
    pub(crate) query: Vec<(String, String)>,
    /// The request path as sent (still percent-encoded, `.json` kept).
    pub(crate) raw_path: String,
    pub(crate) body: Value,
    /// The share of body memory `body` holds until the request (and any
    /// copy of its context) ends.
    pub(crate) _body_memory: Arc<crate::inflow::BodyMemory>,
    /// The authority the client named (`Host`).
    pub(crate) host: Option<String>,
    pub(crate) headers: HeaderMap,
    /// The client's address.
    pub(crate) remote: SocketAddr,
    /// `http://IP:PORT` of the address the client reached: the base of
    /// every link a reply carries.
    pub(crate) base_url: String,
}

impl Ctx {
    /// The caller's session, or `401 Token is required` ([`Caller::session`]).
    pub(crate) fn session(&self) -> Result<&SessionRow, ApiError> {
        self.caller.session()
    }

    /// The caller's user, or `403 Forbidden. Need user.` ([`Caller::user_id`]).
    pub(crate) fn user_id(&self) -> Result<i64, ApiError> {
        self.caller.user_id()
    }

    /// The admin API's rules ([`auth::admin`]) for this request.
    pub(crate) fn admin_gate(&self) -> Result<(), ApiError> {
        auth::admin(
            self.state.admin_token.as_ref(),
            &self.headers,
            self.host.as_deref(),
            self.remote.ip(),
        )
    }

    /// The body as a JSON object; anything else is `400`.
    pub(crate) fn body(&self) -> Result<&Map<String, Value>, ApiError> {
        self.body
            .as_object()
            .ok_or_else(|| ApiError::bad_request("The body must be a JSON object"))
    }

    pub(crate) fn query(&self, key: &str) -> Option<&str> {
        wire::query_value(&self.query, key)
    }

    /// A required, non-empty query parameter (`422` when missing).
    pub(crate) fn required_query(&self, key: &str) -> Result<&str, ApiError> {
        let value = self.query(key).unwrap_or_default();
        ensure(!value.is_empty(), || {
            ApiError::invalid_field(key, "can't be blank")
        })?;
        Ok(value)
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What a reply body is.
pub(crate) enum Body {
    Empty,
    Json(Value),
    /// JSON already written as text.
    JsonText(Vec<u8>),
    Html(String),
    /// XML (the S3-style upload answer).
    Xml(String),
    /// A stored file, streamed, with its content type and its
    /// `Content-Disposition`; it is served in a sandbox.
    File {
        file: tokio::fs::File,
        len: u64,
        content_type: String,
        disposition: String,
    },
    /// No body; `Location` is this URL.
    Redirect(String),
    /// A file of the web UI, built into the binary: served with a strict
    /// content security policy.
    Asset {
        content_type: &'static str,
        bytes: &'static [u8],
    },
}

/// Which `CB-Token-ExpirationDate` a reply carries.
pub(crate) enum Expiry {
    /// The deadline of the request's own session, if it had one.
    FromRequest,
    /// A new session's deadline.
    At(i64),
    /// None: the request ended its own session.
    Ended,
}

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Body,
    pub(crate) expiry: Expiry,
}

impl Reply {
    pub(crate) fn ok(body: Value) -> Self {
        Self::json(StatusCode::OK, body)
    }
    pub(crate) fn created(body: Value) -> Self {
        Self::json(StatusCode::CREATED, body)
    }
    /// `200` with JSON text.
    pub(crate) fn ok_text(text: Vec<u8>) -> Self {
        Self::json_text(StatusCode::OK, text)
    }
    /// JSON text with `status`.
    pub(crate) fn json_text(status: StatusCode, text: Vec<u8>) -> Self {
        Self {
            status,
            body: Body::JsonText(text),
            expiry: Expiry::FromRequest,
        }
    }
    pub(crate) fn json(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body: Body::Json(body),
            expiry: Expiry::FromRequest,
        }
    }
    pub(crate) fn empty() -> Self {
        Self {
            status: StatusCode::OK,
            body: Body::Empty,
            expiry: Expiry::FromRequest,
        }
    }
    pub(crate) fn html(status: StatusCode, page: String) -> Self {
        Self {
            status,
            body: Body::Html(page),
            expiry: Expiry::FromRequest,
        }
    }
    pub(crate) fn xml(status: StatusCode, text: String) -> Self {
        Self {
            status,
            body: Body::Xml(text),
            expiry: Expiry::FromRequest,
        }
    }
    pub(crate) fn file(
        file: tokio::fs::File,
        len: u64,
        content_type: String,
        disposition: String,
    ) -> Self {
        Self {
            status: StatusCode::OK,
            body: Body::File {
                file,
                len,
                content_type,
                disposition,
            },
            expiry: Expiry::FromRequest,
        }
    }
    pub(crate) fn asset(content_type: &'static str, bytes: &'static [u8]) -> Self {
        Self {
            status: StatusCode::OK,
            body: Body::Asset {
                content_type,
                bytes,
            },
            expiry: Expiry::FromRequest,
        }
    }
    /// `301 Moved Permanently` to `location`.
    pub(crate) fn redirect(location: String) -> Self {
        Self {
            status: StatusCode::MOVED_PERMANENTLY,
            body: Body::Redirect(location),
            expiry: Expiry::FromRequest,
        }
    }
    pub(crate) fn with_expiry(mut self, expiry: Expiry) -> Self {
        self.expiry = expiry;
        self
    }
}

/// The result of every handler.
pub(crate) type Outcome = Result<Reply, ApiError>;
