//! The one error of every adapter: `cube-blocking` and `cube-async` both
//! fail with this type, its helpers decided in `cube-proto`
//! ([`CallError`]), so error-handling code moves between them unchanged.
//! A new helper is one line here, delegating to [`CallError`].

use proto::error::{ApiError, CallError, InvalidInput};
use proto::transfer::LengthMismatch;
use std::time::Duration;

/// What a call can fail with.
///
/// Branch on the helpers rather than on the variants where you can:
///
/// ```
/// fn explain(error: &cube_shell::Error) -> String {
///     if error.is_session_expired() {
///         "the session ended: sign in again".into()
///     } else if error.is_conflict() {
///         "that login or e-mail is taken".into()
///     } else if error.is_validation() {
///         let fields: Vec<String> =
///             error.field_errors().iter().map(|(f, m)| format!("{f} {m}")).collect();
///         fields.join("; ")
///     } else if error.is_not_found() {
///         "no such thing".into()
///     } else if error.is_timeout() {
///         "the server did not answer in time".into()
///     } else {
///         error.to_string()
///     }
/// }
/// let error = cube_shell::Error::from(cube_shell::proto::Error::SessionExpired);
/// assert_eq!(explain(&error), "the session ended: sign in again");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Refused before sending, or answered with an error by the server; see
    /// [`proto::Error`] for the variants.
    #[error(transparent)]
    Proto(#[from] proto::Error),
    /// The request did not get an answer: connection, TLS, a broken or
    /// oversized body.
    #[error("transport error: {0}")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// No answer within the configured timeout (the client builder's
    /// `timeout`).
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// A transfer was cancelled: its progress callback said stop, or its
    /// cancel handle was used. Nothing was completed.
    #[error("the transfer was cancelled")]
    Cancelled,
    /// A transfer moved no byte for the idle timeout.
    #[error("the transfer stalled: no byte moved for {0:?}")]
    Stalled(Duration),
    /// Reading the file to upload, or writing the downloaded one, failed.
    #[error("file I/O failed: {0}")]
    File(#[source] std::io::Error),
    /// The operating system's random source failed.
    #[error("no randomness for the nonce: {0}")]
    Random(getrandom::Error),
}

impl Error {
    /// The protocol error, if this is one.
    pub fn proto(&self) -> Option<&proto::Error> {
        match self {
            Error::Proto(e) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status of the server's answer, when there was one.
    pub fn status(&self) -> Option<http::StatusCode> {
        CallError::status(self)
    }

    /// The server's error answer: status and messages.
    pub fn api(&self) -> Option<&ApiError> {
        CallError::api(self)
    }

    /// Whether the server said the resource does not exist (`404`).
    pub fn is_not_found(&self) -> bool {
        CallError::is_not_found(self)
    }

    /// Whether the session is gone and was not replaced: sign in again.
    pub fn is_session_expired(&self) -> bool {
        CallError::is_session_expired(self)
    }

    /// Whether there is no session (none here, or the server said `401
    /// Token is required`): sign in; nothing expired.
    pub fn is_no_session(&self) -> bool {
        CallError::is_no_session(self)
    }

    /// Whether the server refused the credentials (`401 Unauthorized` or
    /// `401 Invalid password`); never an expired session.
    pub fn is_bad_credentials(&self) -> bool {
        CallError::is_bad_credentials(self)
    }

    /// Whether the server refused the call as one too many (`429`).
    pub fn is_rate_limited(&self) -> bool {
        CallError::is_rate_limited(self)
    }

    /// How long the server asked to wait before trying again
    /// (`Retry-After`), when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        CallError::retry_after(self)
    }

    /// Whether the input was refused, by the server (`422`) or before
    /// sending; [`field_errors`](Self::field_errors) says where.
    pub fn is_validation(&self) -> bool {
        CallError::is_validation(self)
    }

    /// The `(field, message)` pairs of a validation error; empty otherwise.
    pub fn field_errors(&self) -> Vec<(&str, &str)> {
        CallError::field_errors(self)
    }

    /// Whether a value is already held by another record (a taken login,
    /// e-mail or provider id).
    pub fn is_conflict(&self) -> bool {
        CallError::is_conflict(self)
    }

    /// Whether no answer came within the configured timeout, or a transfer
    /// moved no byte for its idle timeout.
    pub fn is_timeout(&self) -> bool {
        CallError::is_timeout(self)
    }
}

impl From<InvalidInput> for Error {
    fn from(e: InvalidInput) -> Self {
        Error::Proto(e.into())
    }
}

/// A file of another length than announced is a file error, as a failed
/// read of it would be.
impl From<LengthMismatch> for Error {
    fn from(e: LengthMismatch) -> Self {
        Error::File(std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
    }
}

impl CallError for Error {
    fn proto(&self) -> Option<&proto::Error> {
        Error::proto(self)
    }

    /// An API call with no answer in time, or a transfer that stalled.
    fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout(_) | Error::Stalled(_))
    }
}
