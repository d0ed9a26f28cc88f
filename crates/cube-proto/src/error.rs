//! The one error type of the protocol, the server's error bodies, and what
//! they mean to an application: not found, session expired, validation,
//! conflict (`docs/PROTOCOL.md`, "Errors").
//!
//! The adapters' errors wrap [`Error`] and implement [`CallError`], so the
//! same error-handling code runs whichever adapter produced the error.

use http::StatusCode;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// The message a server sends when a token is missing, unknown or expired.
pub const SESSION_MISSING: &str = "Required session does not exist";
/// The message for an application session that tried to write.
pub const NEED_USER: &str = "Forbidden. Need user.";
/// The message of a field whose value another record already holds (a
/// login, an e-mail, a provider id): what makes a `422` a conflict.
pub const ALREADY_TAKEN: &str = "has already been taken";

/// Everything that can go wrong, from configuration to the server's answer.
///
/// Each variant says what to do: fix the input, sign in, or look at what the
/// server said. No variant ever shows a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is unusable (bad base URL, empty key, …).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An argument was refused before any request was built.
    #[error("invalid input: {0}")]
    InvalidInput(#[from] InvalidInput),
    /// The server answered with a non-2xx status.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The server's 2xx answer could not be understood.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The call needs a session and there is none (and none may be created
    /// automatically for it).
    #[error("there is no session: create one or sign in first")]
    NoSession,
    /// The user (or guest) session has expired and no restore callback is
    /// set: it is never silently replaced by a session of another kind.
    #[error("the session has expired: sign in again or set a restore callback")]
    SessionExpired,
    /// The call writes, and the current session is an application (read-only)
    /// session. Nothing was sent.
    #[error("this call needs a user session, but the session is an application session")]
    NeedUser,
    /// The server rejected the session again after the one restore-and-retry.
    #[error("the server rejected the session again after restoring it once")]
    RestoreFailed(#[source] ApiError),
    /// The call needs a new session, and the client has no auth key to
    /// create one (it was built from a token or a snapshot) and no restore
    /// callback answered with a ready session. Nothing was sent.
    #[error(
        "this call needs a new session, but the client has no auth key: build it with one, or let the restore callback answer with a ready session"
    )]
    NoAuthKey,
    /// The application changed the session (signed in or out, created,
    /// destroyed, forgot, resumed or adopted one) while this call was
    /// restoring it: the restored session was dropped, so the application's
    /// last word stands, and the call could not go on with the session the
    /// application left in place. Nothing more was sent.
    #[error(
        "the application changed the session while this call restored it; the call was not sent"
    )]
    RestoreOverruled,
    /// A session snapshot was made for another application or server.
    #[error("the session snapshot belongs to another {0}; it was not resumed")]
    ForeignSnapshot(&'static str),
    /// The caller drove a [`Call`](crate::Call) or a
    /// [`Session`](crate::Session) out of order: a bug in the caller, never
    /// the server's doing. Nothing was sent.
    #[error("misuse: {0}")]
    Misuse(#[from] Misuse),
}

/// A caller's mistake in driving the state machines; each says what to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Misuse {
    /// `poll` after the call returned `Step::Done`: a finished call never
    /// sends again. Start a new `Call`.
    #[error("poll called on a finished call: start a new call")]
    PolledAfterDone,
    /// `poll` while a request is in flight: hand its response in first.
    #[error("poll called while a request is in flight: hand its response in first")]
    PolledWhileInFlight,
    /// `handle_response` with no request in flight.
    #[error("handle_response called with no request in flight")]
    ResponseWithoutRequest,
    /// `provide_restore` when the call had not asked the restore callback.
    #[error("provide_restore called when the call had not asked for a restore")]
    RestoreNotAsked,
    /// `poll` while the restore callback's answer is due: hand it to
    /// `provide_restore` first.
    #[error("poll called while the restore callback's answer is due: provide it first")]
    PolledWhileAsked,
}

impl Error {
    /// The HTTP status, when the error is the server's answer.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(e) | Error::RestoreFailed(e) => Some(e.status),
            Error::Decode(e) => Some(e.status),
            _ => None,
        }
    }

    /// The server's error, if this is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) | Error::RestoreFailed(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the server said the resource does not exist (`404`).
    ///
    /// Single-user look-ups never fail this way: they answer `Ok(None)`.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Api(e) if e.is_not_found())
    }

    /// Whether the session is gone and was not replaced: the user must sign
    /// in again. True for [`Error::SessionExpired`], for
    /// [`Error::RestoreFailed`], and for a `401 Required session does not
    /// exist` answer.
    pub fn is_session_expired(&self) -> bool {
        match self {
            Error::SessionExpired | Error::RestoreFailed(_) => true,
            Error::Api(e) => e.is_session_missing(),
            _ => false,
        }
    }

    /// Whether the input was refused: by the server (`422`) or before
    /// anything was sent ([`Error::InvalidInput`]).
    /// [`field_errors`](Self::field_errors) says which fields and why.
    pub fn is_validation(&self) -> bool {
        match self {
            Error::InvalidInput(_) => true,
            Error::Api(e) => e.is_validation(),
            _ => false,
        }
    }

    /// The `(field, message)` pairs of a validation error, in field order;
    /// empty for any other error. A refusal before sending names the
    /// argument (or, for a search, the rule) at fault. General messages of
    /// a `422` (`base`) are in [`api`](Self::api).
    ///
    /// ```
    /// use cube_proto::{Error, error::ApiError};
    /// let e: Error = ApiError::from_parts(http::StatusCode::UNPROCESSABLE_ENTITY,
    ///     br#"{"errors": {"login": ["has already been taken"], "password": ["is too short"]}}"#).into();
    /// assert!(e.is_validation() && e.is_conflict());
    /// assert_eq!(e.field_errors(), [("login", "has already been taken"), ("password", "is too short")]);
    /// ```
    pub fn field_errors(&self) -> Vec<(&str, &str)> {
        match self {
            Error::InvalidInput(e) => vec![(e.field, e.reason.as_str())],
            Error::Api(e) if e.is_validation() => e.messages.field_messages().collect(),
            _ => Vec::new(),
        }
    }

    /// Whether the server refused a value another record already holds
    /// (see [`ApiError::is_conflict`]).
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Api(e) if e.is_conflict())
    }
}

/// What an error tells an application, asked the same way of every
/// adapter's error (and of [`Error`] itself), so that error-handling code
/// can move between adapters unchanged or be written once, generically.
///
/// An implementation gives [`proto`](CallError::proto) and
/// [`is_timeout`](CallError::is_timeout); every other answer follows from
/// the protocol's error and is decided here.
///
/// ```
/// use cube_proto::error::{ApiError, CallError};
///
/// fn advice(error: &impl CallError) -> &'static str {
///     if error.is_session_expired() {
///         "sign in again"
///     } else if error.is_conflict() {
///         "choose another login"
///     } else if error.is_validation() {
///         "correct the form"
///     } else if error.is_timeout() {
///         "try again later"
///     } else {
///         "report the error"
///     }
/// }
/// let taken: cube_proto::Error = ApiError::from_parts(http::StatusCode::UNPROCESSABLE_ENTITY,
///     br#"{"errors": {"login": ["has already been taken"]}}"#).into();
/// assert_eq!(advice(&taken), "choose another login");
/// assert_eq!(advice(&cube_proto::Error::SessionExpired), "sign in again");
/// ```
pub trait CallError: std::error::Error {
    /// The protocol's error: the call was refused before sending, or the
    /// server answered with an error, or its answer was unreadable.
    fn proto(&self) -> Option<&Error>;

    /// Whether no answer came within the configured timeout.
    fn is_timeout(&self) -> bool;

    /// The HTTP status of the server's answer, when there was one.
    fn status(&self) -> Option<StatusCode> {
        self.proto().and_then(Error::status)
    }

    /// The server's error answer: status and messages.
    fn api(&self) -> Option<&ApiError> {
        self.proto().and_then(Error::api)
    }

    /// See [`Error::is_not_found`].
    fn is_not_found(&self) -> bool {
        self.proto().is_some_and(Error::is_not_found)
    }

    /// See [`Error::is_session_expired`].
    fn is_session_expired(&self) -> bool {
        self.proto().is_some_and(Error::is_session_expired)
    }

    /// See [`Error::is_validation`].
    fn is_validation(&self) -> bool {
        self.proto().is_some_and(Error::is_validation)
    }

    /// See [`Error::field_errors`].
    fn field_errors(&self) -> Vec<(&str, &str)> {
        self.proto().map(Error::field_errors).unwrap_or_default()
    }

    /// See [`Error::is_conflict`].
    fn is_conflict(&self) -> bool {
        self.proto().is_some_and(Error::is_conflict)
    }
}

impl CallError for Error {
    fn proto(&self) -> Option<&Error> {
        Some(self)
    }

    fn is_timeout(&self) -> bool {
        false
    }
}

/// An argument refused before a request existed: which one and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidInput {
    /// The argument or field at fault.
    pub field: &'static str,
    /// Why it was refused.
    pub reason: String,
}

impl InvalidInput {
    /// Builds the error.
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// A 2xx body that did not have the expected shape.
#[derive(Clone, thiserror::Error)]
#[error("could not decode the answer (status {status}): {reason}")]
pub struct DecodeError {
    /// The response status.
    pub status: StatusCode,
    /// What did not fit.
    pub reason: String,
    body: Vec<u8>,
}

impl DecodeError {
    pub(crate) fn new(status: StatusCode, reason: impl Into<String>, body: &[u8]) -> Self {
        Self {
            status,
            reason: reason.into(),
            body: body.to_vec(),
        }
    }

    /// The raw body, kept so that nothing is lost. It may hold a session
    /// token, which is why `Debug` shows only its length.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeError")
            .field("status", &self.status)
            .field("reason", &self.reason)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// The server's answer to a failed call: status and parsed messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("server answered {status}: {messages}")]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The messages of the error body (empty when the body had none).
    pub messages: ErrorMessages,
}

impl ApiError {
    /// Parses an error response; never fails, whatever the body.
    pub fn from_parts(status: StatusCode, body: &[u8]) -> Self {
        Self {
            status,
            messages: ErrorMessages::parse(body),
        }
    }

    /// `401 Required session does not exist`: the session is gone.
    pub fn is_session_missing(&self) -> bool {
        self.status == StatusCode::UNAUTHORIZED
            && self.messages.base.first().map(String::as_str) == Some(SESSION_MISSING)
    }

    /// `404`: the resource does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status == StatusCode::NOT_FOUND
    }

    /// `422`: the server refused the input; the messages say why, per field.
    pub fn is_validation(&self) -> bool {
        self.status == StatusCode::UNPROCESSABLE_ENTITY
    }

    /// A value another record already holds: a `422` with a field message
    /// [`ALREADY_TAKEN`] (a login, an e-mail or a provider id in use), or a
    /// `409` should a server send one.
    ///
    /// ```
    /// use cube_proto::error::ApiError;
    /// use http::StatusCode;
    /// let taken = br#"{"errors": {"email": ["has already been taken"]}}"#;
    /// assert!(ApiError::from_parts(StatusCode::UNPROCESSABLE_ENTITY, taken).is_conflict());
    /// let short = br#"{"errors": {"login": ["is too short (minimum is 3 characters)"]}}"#;
    /// assert!(!ApiError::from_parts(StatusCode::UNPROCESSABLE_ENTITY, short).is_conflict());
    /// ```
    pub fn is_conflict(&self) -> bool {
        self.status == StatusCode::CONFLICT
            || (self.is_validation()
                && self
                    .messages
                    .field_messages()
                    .any(|(_, message)| message == ALREADY_TAKEN))
    }
}

/// The messages of an error body, in whichever of the three shapes it came:
/// general messages in `base`, per-field messages in `fields`.
///
/// ```
/// use cube_proto::error::ErrorMessages;
/// let m = ErrorMessages::parse(br#"{"errors": {"login": ["has already been taken"]}}"#);
/// assert_eq!(m.fields["login"], ["has already been taken"]);
/// let m = ErrorMessages::parse(br#"{"errors": ["Token is required"]}"#);
/// assert_eq!(m.base, ["Token is required"]);
/// let m = ErrorMessages::parse(b"<html>Bad gateway</html>");
/// assert!(m.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorMessages {
    /// General messages (`errors.base`, or the array form).
    pub base: Vec<String>,
    /// Messages about one field each, by field name.
    pub fields: BTreeMap<String, Vec<String>>,
}

impl ErrorMessages {
    /// Parses any body; an empty, non-JSON or unexpected body gives no messages.
    pub fn parse(body: &[u8]) -> Self {
        let mut out = Self::default();
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return out;
        };
        match value.get("errors") {
            Some(Value::Object(map)) => {
                for (field, v) in map {
                    let list = strings(v);
                    if field == "base" {
                        out.base.extend(list);
                    } else {
                        out.fields.entry(field.clone()).or_default().extend(list);
                    }
                }
            }
            Some(other @ (Value::Array(_) | Value::String(_))) => out.base = strings(other),
            _ => {
                // Some gateways answer {"message": "..."} or {"error": "..."}.
                for key in ["message", "error"] {
                    if let Some(Value::String(s)) = value.get(key) {
                        out.base.push(s.clone());
                    }
                }
            }
        }
        out
    }

    /// True when the body carried no message at all.
    pub fn is_empty(&self) -> bool {
        self.base.is_empty() && self.fields.is_empty()
    }

    /// Every per-field message as a `(field, message)` pair, fields in
    /// name order, each field's messages in the order the server sent them.
    pub fn field_messages(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().flat_map(|(field, messages)| {
            messages
                .iter()
                .map(move |message| (field.as_str(), message.as_str()))
        })
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Null => Vec::new(),
        other => vec![other.to_string()],
    }
}

impl fmt::Display for ErrorMessages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("(no message)");
        }
        let mut first = true;
        let mut sep = |f: &mut fmt::Formatter<'_>| {
            let r = if first { Ok(()) } else { f.write_str("; ") };
            first = false;
            r
        };
        for m in &self.base {
            sep(f)?;
            f.write_str(m)?;
        }
        for (field, list) in &self.fields {
            sep(f)?;
            write!(f, "{field} {}", list.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_shapes_and_garbage() {
        let m =
            ErrorMessages::parse(br#"{"errors": {"base": ["Required session does not exist"]}}"#);
        assert_eq!(m.base, [SESSION_MISSING]);
        let m = ErrorMessages::parse(
            br#"{"errors": {"login": ["has already been taken"], "password": ["is too short"]}}"#,
        );
        assert_eq!(m.fields.len(), 2);
        assert_eq!(m.fields["password"], ["is too short"]);
        assert_eq!(
            m.to_string(),
            "login has already been taken; password is too short"
        );
        let m = ErrorMessages::parse(br#"{"errors": ["Token is required"]}"#);
        assert_eq!(m.base, ["Token is required"]);
        for body in [
            &b""[..],
            b"not json",
            b"<html><body>502</body></html>",
            b"[1,2]",
            b"null",
        ] {
            assert!(ErrorMessages::parse(body).is_empty());
        }
    }

    #[test]
    fn session_missing_needs_401_and_the_message_first() {
        let body = br#"{"errors": {"base": ["Required session does not exist"]}}"#;
        assert!(ApiError::from_parts(StatusCode::UNAUTHORIZED, body).is_session_missing());
        assert!(!ApiError::from_parts(StatusCode::FORBIDDEN, body).is_session_missing());
        let other = br#"{"errors": {"base": ["Unauthorized"]}}"#;
        assert!(!ApiError::from_parts(StatusCode::UNAUTHORIZED, other).is_session_missing());
    }

    fn api(status: u16, body: &[u8]) -> Error {
        ApiError::from_parts(StatusCode::from_u16(status).unwrap(), body).into()
    }

    /// Which predicates hold, in a fixed order, so each case states all.
    fn predicates(e: &Error) -> [bool; 4] {
        [
            e.is_not_found(),
            e.is_session_expired(),
            e.is_validation(),
            e.is_conflict(),
        ]
    }

    #[test]
    fn each_predicate_answers_for_its_own_failure_only() {
        let missing = br#"{"errors": {"base": ["Entity you are looking for was not found"]}}"#;
        assert_eq!(predicates(&api(404, missing)), [true, false, false, false]);
        let gone = br#"{"errors": {"base": ["Required session does not exist"]}}"#;
        assert_eq!(predicates(&api(401, gone)), [false, true, false, false]);
        assert_eq!(
            predicates(&Error::SessionExpired),
            [false, true, false, false]
        );
        let restore = ApiError::from_parts(StatusCode::UNAUTHORIZED, gone);
        assert_eq!(
            predicates(&Error::RestoreFailed(restore)),
            [false, true, false, false]
        );
        // Bad credentials are a 401 too, but the session is not the problem.
        let bad = br#"{"errors": {"base": ["Unauthorized"]}}"#;
        assert_eq!(predicates(&api(401, bad)), [false, false, false, false]);
        let short = br#"{"errors": {"login": ["is too short (minimum is 3 characters)"]}}"#;
        assert_eq!(predicates(&api(422, short)), [false, false, true, false]);
        let taken = br#"{"errors": {"login": ["has already been taken"]}}"#;
        assert_eq!(predicates(&api(422, taken)), [false, false, true, true]);
        // The message is a conflict only where a field carries it.
        let base_taken = br#"{"errors": {"base": ["has already been taken"]}}"#;
        assert_eq!(
            predicates(&api(422, base_taken)),
            [false, false, true, false]
        );
        assert_eq!(predicates(&api(409, b"")), [false, false, false, true]);
        let local = Error::InvalidInput(InvalidInput::new("password", "too short"));
        assert_eq!(predicates(&local), [false, false, true, false]);
        for other in [Error::NoSession, Error::NeedUser, Error::Config("x".into())] {
            assert_eq!(predicates(&other), [false; 4], "{other}");
        }
    }

    #[test]
    fn field_errors_come_from_the_server_or_the_local_check() {
        let body = br#"{"errors": {"password": ["is too short", "is invalid"],
            "base": ["Login or email required"], "login": ["has already been taken"]}}"#;
        let e = api(422, body);
        assert_eq!(
            e.field_errors(),
            [
                ("login", "has already been taken"),
                ("password", "is too short"),
                ("password", "is invalid")
            ]
        );
        // A non-validation answer has no field errors, whatever its body.
        assert!(api(403, body).field_errors().is_empty());
        let local = Error::InvalidInput(InvalidInput::new("email", "cannot be empty"));
        assert_eq!(local.field_errors(), [("email", "cannot be empty")]);
        assert!(Error::SessionExpired.field_errors().is_empty());
    }

    #[test]
    fn the_trait_answers_what_the_error_answers() {
        let e = api(422, br#"{"errors": {"email": ["has already been taken"]}}"#);
        let as_trait: &dyn CallError = &e;
        assert_eq!(as_trait.status(), Some(StatusCode::UNPROCESSABLE_ENTITY));
        assert!(as_trait.is_conflict() && as_trait.is_validation());
        assert!(!as_trait.is_timeout() && !as_trait.is_not_found());
        assert_eq!(as_trait.field_errors(), e.field_errors());
        assert_eq!(as_trait.api(), e.api());
    }

    #[test]
    fn decode_error_debug_hides_the_body() {
        let e = DecodeError::new(StatusCode::OK, "missing token", b"{\"token\":\"abcdef\"}");
        assert!(!format!("{e:?}").contains("abcdef"));
        assert!(!e.to_string().contains("abcdef"));
        assert_eq!(e.body(), b"{\"token\":\"abcdef\"}");
    }
}
