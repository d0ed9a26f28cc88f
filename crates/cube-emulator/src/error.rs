//! `ApiError`: an HTTP status plus the wire error object, the only way a
//! handler fails. Its messages are the exact strings of `docs/PROTOCOL.md` ("Errors").

use std::collections::BTreeMap;

use http::StatusCode;
use serde_json::{Value, json};

use crate::store::{self, Unique};

/// `401`: token missing, unknown, destroyed or expired.
pub(crate) const NO_SESSION: &str = "Required session does not exist";
/// `401`: bad credentials.
pub(crate) const UNAUTHORIZED: &str = "Unauthorized";
/// `403`: an application session tried to write.
pub(crate) const NEED_USER: &str = "Forbidden. Need user.";
/// `404`: any missing resource.
pub(crate) const NOT_FOUND: &str = "Entity you are looking for was not found";
/// `422`: the create-session signature does not match.
pub(crate) const BAD_SIGNATURE: &str = "Unexpected signature";

/// A failed request: status and `{"errors": {field: [messages]}}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) errors: BTreeMap<String, Vec<String>>,
}

impl ApiError {
    /// An error with one general message under `base`.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self::field(status, "base", message)
    }

    /// An error with one message under `field`.
    pub(crate) fn field(status: StatusCode, field: &str, message: impl Into<String>) -> Self {
        let mut errors = BTreeMap::new();
        errors.insert(field.to_owned(), vec![message.into()]);
        Self { status, errors }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub(crate) fn no_session() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, NO_SESSION)
    }
    pub(crate) fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, UNAUTHORIZED)
    }
    pub(crate) fn need_user() -> Self {
        Self::new(StatusCode::FORBIDDEN, NEED_USER)
    }
    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }
    pub(crate) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, NOT_FOUND)
    }
    pub(crate) fn too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body is too large")
    }
    /// `422` with a general message.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }
    /// `422` with a message under `field`.
    pub(crate) fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::field(StatusCode::UNPROCESSABLE_ENTITY, field, message)
    }
    pub(crate) fn bad_signature() -> Self {
        Self::invalid(BAD_SIGNATURE)
    }
    /// `503`: the emulator itself failed (storage, randomness); never a 500.
    pub(crate) fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// The wire body: `{"errors": {...}}`.
    pub(crate) fn body(&self) -> Value {
        json!({ "errors": self.errors })
    }
}

impl From<store::Error> for ApiError {
    fn from(err: store::Error) -> Self {
        match err {
            store::Error::Taken(Unique::Application) => {
                Self::invalid("Application id or auth key is already taken")
            }
            store::Error::Taken(unique) => {
                Self::invalid_field(unique.field(), "has already been taken")
            }
            store::Error::Closed => Self::unavailable("the emulator is stopping"),
            store::Error::NotCommitted | store::Error::Sqlite(_) => {
                tracing::error!(error = %err, "storage error");
                Self::unavailable("storage error")
            }
        }
    }
}

/// Fails with `err()` unless `cond` holds, so a handler reads as a list of
/// preconditions: `ensure(me == id, ApiError::need_user)?`.
pub(crate) fn ensure(cond: bool, err: impl FnOnce() -> ApiError) -> Result<(), ApiError> {
    if cond { Ok(()) } else { Err(err()) }
}

/// Collects per-field validation messages, then fails with one `422`.
#[derive(Debug, Default)]
pub(crate) struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub(crate) fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    pub(crate) fn into_result(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                errors: self.0,
            })
        }
    }
}
