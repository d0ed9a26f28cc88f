//! `ApiError`: an HTTP status plus the wire error body, the only way a
//! handler fails. Its messages are the exact strings of `docs/PROTOCOL.md`
//! ("Errors"), each in the form the public service sends it: the object
//! form (`{"errors": {"base": [...]}}`, or per field) or the array form
//! (`{"errors": [...]}`).

use std::collections::BTreeMap;

use http::StatusCode;
use serde_json::{Value, json};

use crate::crypto;
use crate::store::{self, Unique};
use crate::validation::FieldErrors;

/// `401`, object form: token unknown, destroyed or expired. The official
/// JS SDK recognises an expired session only by this, under `base`.
pub(crate) const NO_SESSION: &str = "Required session does not exist";
/// `401`, array form: no `CB-Token` on a call that needs one.
pub(crate) const NO_TOKEN: &str = "Token is required";
/// `401`, array form: a credential that did not verify.
pub(crate) const UNAUTHORIZED: &str = "Unauthorized";
/// `401`, array form: an existing user, a wrong password.
pub(crate) const INVALID_PASSWORD: &str = "Invalid password";
/// `404`, array form: a sign-in naming nobody, where nobody is created.
pub(crate) const USER_NOT_FOUND: &str = "User not found";
/// `403`: an application session tried to write.
pub(crate) const NEED_USER: &str = "Forbidden. Need user.";
/// `404`: any missing resource.
pub(crate) const NOT_FOUND: &str = "Entity you are looking for was not found";
/// `422`, array form: the create-session signature does not match.
pub(crate) const BAD_SIGNATURE: &str = "Unexpected signature";
/// `422` under `timestamp`: a signed request too far from the clock.
pub(crate) const INVALID_TIMESTAMP: &str = "invalid timestamp";
/// `422` under `password`: a sign-in with a login and no password.
pub(crate) const BLANK: &str = "cannot be blank";
/// `422`, object form: the custom identity provider gave no uid.
pub(crate) const CIDP_UID_REQUIRED: &str = "Custom Identity Provider uid is required";
/// `403`, object form: the application disables the v1 list.
pub(crate) const LIST_V1_DISABLED: &str = "Forbidden. List users API v1 is disabled";

/// The prefix of the custom identity provider's refusal (array form).
pub(crate) const CIDP_REFUSED: &str = "Bad Authentication data. Unauthorized on remote side.";

/// Whether `body` is an error body in a form the emulator sends: the
/// object form, or the array form holding only messages the public
/// service sends that way. For the tests that throw anything at it.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn well_formed_body(body: &Value) -> bool {
    match &body["errors"] {
        Value::Object(_) => true,
        Value::Array(messages) => messages.iter().all(|m| {
            m.as_str().is_some_and(|m| {
                [
                    NO_TOKEN,
                    UNAUTHORIZED,
                    INVALID_PASSWORD,
                    USER_NOT_FOUND,
                    BAD_SIGNATURE,
                ]
                .contains(&m)
                    || m.starts_with(CIDP_REFUSED)
            })
        }),
        _ => false,
    }
}

/// How the messages of an error are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// `{"errors": {"base": [...], "field": [...]}}`.
    Object,
    /// `{"errors": [...]}`: the general messages (under `base`) alone.
    Array,
}

/// A failed request: status, messages by field (general ones under
/// `base`), and the form they are written in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) errors: BTreeMap<String, Vec<String>>,
    pub(crate) form: Form,
}

impl ApiError {
    /// An error with one general message under `base` (object form).
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self::field(status, "base", message)
    }

    /// An error with one message under `field` (object form).
    pub(crate) fn field(status: StatusCode, field: &str, message: impl Into<String>) -> Self {
        let mut errors = BTreeMap::new();
        errors.insert(field.to_owned(), vec![message.into()]);
        Self {
            status,
            errors,
            form: Form::Object,
        }
    }

    /// An error with one general message, in the array form.
    pub(crate) fn listed(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            form: Form::Array,
            ..Self::new(status, message)
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub(crate) fn no_session() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, NO_SESSION)
    }
    pub(crate) fn no_token() -> Self {
        Self::listed(StatusCode::UNAUTHORIZED, NO_TOKEN)
    }
    pub(crate) fn unauthorized() -> Self {
        Self::listed(StatusCode::UNAUTHORIZED, UNAUTHORIZED)
    }
    pub(crate) fn invalid_password() -> Self {
        Self::listed(StatusCode::UNAUTHORIZED, INVALID_PASSWORD)
    }
    pub(crate) fn user_not_found() -> Self {
        Self::listed(StatusCode::NOT_FOUND, USER_NOT_FOUND)
    }
    /// `422 {"errors": {"password": ["cannot be blank"]}}`.
    pub(crate) fn blank_password() -> Self {
        Self::invalid_field("password", BLANK)
    }
    pub(crate) fn invalid_timestamp() -> Self {
        Self::invalid_field("timestamp", INVALID_TIMESTAMP)
    }
    /// `422`: the custom identity provider answered 2xx without the uid.
    pub(crate) fn cidp_uid_required() -> Self {
        Self::invalid(CIDP_UID_REQUIRED)
    }
    pub(crate) fn list_v1_disabled() -> Self {
        Self::forbidden(LIST_V1_DISABLED)
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
        Self::listed(StatusCode::UNPROCESSABLE_ENTITY, BAD_SIGNATURE)
    }
    /// `503`: the emulator itself failed (storage, randomness); never a 500.
    pub(crate) fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// The wire body: `{"errors": {...}}` or `{"errors": [...]}`.
    pub(crate) fn body(&self) -> Value {
        match self.form {
            Form::Object => json!({ "errors": self.errors }),
            Form::Array => {
                json!({ "errors": self.errors.get("base").cloned().unwrap_or_default() })
            }
        }
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

impl From<crypto::Error> for ApiError {
    fn from(err: crypto::Error) -> Self {
        Self::unavailable(err.to_string())
    }
}

/// Fails with `err()` unless `cond` holds, so a handler reads as a list of
/// preconditions: `ensure(me == id, ApiError::need_user)?`.
pub(crate) fn ensure(cond: bool, err: impl FnOnce() -> ApiError) -> Result<(), ApiError> {
    if cond { Ok(()) } else { Err(err()) }
}

/// What a validation found wrong: `422`, each message under its field.
impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            errors: errors.into_map(),
            form: Form::Object,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_form_writes_its_body() {
        assert_eq!(
            ApiError::no_session().body().to_string(),
            r#"{"errors":{"base":["Required session does not exist"]}}"#
        );
        assert_eq!(
            ApiError::invalid_password().body().to_string(),
            r#"{"errors":["Invalid password"]}"#
        );
        assert_eq!(
            ApiError::blank_password().body().to_string(),
            r#"{"errors":{"password":["cannot be blank"]}}"#
        );
    }
}
