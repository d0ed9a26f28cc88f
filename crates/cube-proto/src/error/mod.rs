//! The one error type of the protocol, the server's error bodies, and what
//! they mean to an application: not found, session expired, no session, bad
//! credentials, validation, conflict, rate limited (`docs/PROTOCOL.md`,
//! "Errors").
//!
//! Every answer is read by its status and message, never by the form of the
//! body (the public service sends both the object and the array form).
//!
//! The adapters' errors wrap [`Error`] and implement [`CallError`], so the
//! same error-handling code runs whichever adapter produced the error.

mod api;
mod messages;

pub use api::{
    ALREADY_TAKEN, ApiError, IDP_REFUSED_PREFIX, INVALID_PASSWORD, INVALID_TIMESTAMP, NEED_USER,
    SESSION_MISSING, TIMESTAMP_FIELD, TOKEN_REQUIRED, UNAUTHORIZED, UNEXPECTED_SIGNATURE,
    USER_NOT_FOUND, parse_retry_after,
};
pub use messages::ErrorMessages;

use http::StatusCode;
use std::fmt;
use std::time::Duration;

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
    /// `handle_failure` with no request in flight.
    #[error("handle_failure called with no request in flight")]
    FailureWithoutRequest,
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

    /// Whether the server said the resource does not exist (`404`): at
    /// sign-in (`404 User not found`, where the application does not create
    /// users on sign-in), the login or e-mail names nobody.
    ///
    /// Single-user look-ups never fail this way: they answer `Ok(None)`.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Api(e) if e.is_not_found())
    }

    /// Whether the session is gone and was not replaced: the user must sign
    /// in again. True for [`Error::SessionExpired`], for
    /// [`Error::RestoreFailed`], and for a `401 Required session does not
    /// exist` answer; never for bad credentials, a user not found or a
    /// missing token.
    pub fn is_session_expired(&self) -> bool {
        match self {
            Error::SessionExpired | Error::RestoreFailed(_) => true,
            Error::Api(e) => e.is_session_missing(),
            _ => false,
        }
    }

    /// Whether there is no session to run the call under: nothing was sent
    /// ([`Error::NoSession`]), or the server answered `401 Token is
    /// required`. Unlike an expired session, there was nothing to restore:
    /// create a session or sign in.
    pub fn is_no_session(&self) -> bool {
        match self {
            Error::NoSession => true,
            Error::Api(e) => e.is_token_required(),
            _ => false,
        }
    }

    /// Whether the server refused the credentials of a session or sign-in:
    /// `401 Unauthorized` (a provider's token that did not verify, or any
    /// credential failure without a message of its own), `401 Invalid
    /// password`, or the application's own identity provider refusing its
    /// token (a `422` whose message begins `Bad Authentication data.`).
    /// Never an expired session.
    ///
    /// ```
    /// use cube_proto::{Error, error::ApiError};
    /// let wrong: Error = ApiError::from_parts(http::StatusCode::UNAUTHORIZED,
    ///     br#"{"errors": ["Invalid password"]}"#).into();
    /// assert!(wrong.is_bad_credentials() && !wrong.is_session_expired());
    /// ```
    pub fn is_bad_credentials(&self) -> bool {
        matches!(self, Error::Api(e) if e.is_bad_credentials())
    }

    /// Whether the server refused the call as one too many (`429`); see
    /// [`retry_after`](Self::retry_after) for how long it asked to wait.
    /// The call has already sent again as far as its
    /// [`RetryPolicy`](crate::retry::RetryPolicy) allows (a request that
    /// must not go out twice never is): this is the answer to the last try.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Error::Api(e) if e.is_rate_limited())
    }

    /// How long the server asked to wait before trying again (its
    /// `Retry-After`, in seconds), when it said: a rate-limited `429` may
    /// carry it, an unavailable `503` too.
    ///
    /// ```
    /// use cube_proto::{Error, error::ApiError};
    /// use std::time::Duration;
    /// let answer = http::Response::builder().status(429).header("Retry-After", "5")
    ///     .body(Vec::new())?;
    /// let e: Error = ApiError::from_response(&answer).into();
    /// assert!(e.is_rate_limited());
    /// assert_eq!(e.retry_after(), Some(Duration::from_secs(5)));
    /// # Ok::<(), http::Error>(())
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api(e) => e.retry_after,
            _ => None,
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

    /// See [`Error::is_no_session`].
    fn is_no_session(&self) -> bool {
        self.proto().is_some_and(Error::is_no_session)
    }

    /// See [`Error::is_bad_credentials`].
    fn is_bad_credentials(&self) -> bool {
        self.proto().is_some_and(Error::is_bad_credentials)
    }

    /// See [`Error::is_rate_limited`].
    fn is_rate_limited(&self) -> bool {
        self.proto().is_some_and(Error::is_rate_limited)
    }

    /// See [`Error::retry_after`].
    fn retry_after(&self) -> Option<Duration> {
        self.proto().and_then(Error::retry_after)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, body: &[u8]) -> Error {
        ApiError::from_parts(StatusCode::from_u16(status).unwrap(), body).into()
    }

    /// Which predicates hold, in a fixed order, so each case states all:
    /// not found, session expired, no session, bad credentials, validation,
    /// conflict, rate limited.
    fn predicates(e: &Error) -> [bool; 7] {
        [
            e.is_not_found(),
            e.is_session_expired(),
            e.is_no_session(),
            e.is_bad_credentials(),
            e.is_validation(),
            e.is_conflict(),
            e.is_rate_limited(),
        ]
    }

    const NO: bool = false;
    const YES: bool = true;

    #[test]
    fn each_predicate_answers_for_its_own_failure_only() {
        let missing = br#"{"errors": {"base": ["Entity you are looking for was not found"]}}"#;
        assert_eq!(
            predicates(&api(404, missing)),
            [YES, NO, NO, NO, NO, NO, NO]
        );
        let nobody = br#"{"errors": ["User not found"]}"#;
        assert_eq!(predicates(&api(404, nobody)), [YES, NO, NO, NO, NO, NO, NO]);
        let gone = br#"{"errors": {"base": ["Required session does not exist"]}}"#;
        assert_eq!(predicates(&api(401, gone)), [NO, YES, NO, NO, NO, NO, NO]);
        assert_eq!(
            predicates(&Error::SessionExpired),
            [NO, YES, NO, NO, NO, NO, NO]
        );
        let restore = ApiError::from_parts(StatusCode::UNAUTHORIZED, gone);
        assert_eq!(
            predicates(&Error::RestoreFailed(restore)),
            [NO, YES, NO, NO, NO, NO, NO]
        );
        // No token at all is no session, not an expired one.
        let no_token = br#"{"errors": ["Token is required"]}"#;
        assert_eq!(
            predicates(&api(401, no_token)),
            [NO, NO, YES, NO, NO, NO, NO]
        );
        assert_eq!(predicates(&Error::NoSession), [NO, NO, YES, NO, NO, NO, NO]);
        // Bad credentials are a 401 too, but the session is not the problem.
        for bad in [
            &br#"{"errors": {"base": ["Unauthorized"]}}"#[..],
            br#"{"errors": ["Unauthorized"]}"#,
            br#"{"errors": ["Invalid password"]}"#,
        ] {
            assert_eq!(predicates(&api(401, bad)), [NO, NO, NO, YES, NO, NO, NO]);
        }
        // Another 401 is none of them.
        assert_eq!(predicates(&api(401, b"")), [NO; 7]);
        let short = br#"{"errors": {"login": ["is too short (minimum is 3 characters)"]}}"#;
        assert_eq!(predicates(&api(422, short)), [NO, NO, NO, NO, YES, NO, NO]);
        let taken = br#"{"errors": {"login": ["has already been taken"]}}"#;
        assert_eq!(predicates(&api(422, taken)), [NO, NO, NO, NO, YES, YES, NO]);
        // The message is a conflict only where a field carries it.
        let base_taken = br#"{"errors": {"base": ["has already been taken"]}}"#;
        assert_eq!(
            predicates(&api(422, base_taken)),
            [NO, NO, NO, NO, YES, NO, NO]
        );
        assert_eq!(predicates(&api(409, b"")), [NO, NO, NO, NO, NO, YES, NO]);
        let slow_down = br#"{"errors": ["Too Many Requests"]}"#;
        assert_eq!(
            predicates(&api(429, slow_down)),
            [NO, NO, NO, NO, NO, NO, YES]
        );
        let local = Error::InvalidInput(InvalidInput::new("password", "too short"));
        assert_eq!(predicates(&local), [NO, NO, NO, NO, YES, NO, NO]);
        for other in [Error::NeedUser, Error::NoAuthKey, Error::Config("x".into())] {
            assert_eq!(predicates(&other), [NO; 7], "{other}");
        }
    }

    #[test]
    fn only_an_answer_that_said_so_has_a_wait() {
        let answer = http::Response::builder()
            .status(429)
            .header("Retry-After", "42")
            .body(Vec::new())
            .unwrap();
        let limited: Error = ApiError::from_response(&answer).into();
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(42)));
        assert_eq!(api(429, b"").retry_after(), None);
        assert_eq!(Error::SessionExpired.retry_after(), None);
        let as_trait: &dyn CallError = &limited;
        assert!(as_trait.is_rate_limited());
        assert_eq!(as_trait.retry_after(), Some(Duration::from_secs(42)));
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
