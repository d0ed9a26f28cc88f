//! Why a command failed, as one line, and the exit status it gives:
//! 1 refused by the server or not found, 2 usage, 3 the server could not
//! be reached.

use cube_blocking::{Error, ProtoError};
use std::fmt;

/// The exit status of a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Standard output was closed by its reader (`cube … | head`): the
    /// command stops quietly, with status 0.
    OutputClosed,
    /// Refused by the server, not found, or failed otherwise.
    Refused,
    /// The command line, the settings or an argument's value is wrong.
    Usage,
    /// No answer: connection, TLS, timeout.
    Transport,
    /// The status of a command `cube` ran for the user (`cube emulator
    /// exec`): its own, passed on.
    Exit(u8),
}

impl Status {
    /// The process's exit status.
    pub(crate) fn code(self) -> u8 {
        match self {
            Status::OutputClosed => 0,
            Status::Refused => 1,
            Status::Usage => 2,
            Status::Transport => 3,
            Status::Exit(code) => code,
        }
    }
}

/// A failed command: its status and what to tell the user.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: Status,
    message: String,
}

pub(crate) type Result<T, E = Failure> = std::result::Result<T, E>;

impl Failure {
    pub(crate) fn new(status: Status, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::new(Status::Usage, message)
    }

    pub(crate) fn refused(message: impl Into<String>) -> Self {
        Self::new(Status::Refused, message)
    }

    /// Exits with `status` and says nothing: the command that gave it has
    /// said what it had to.
    pub(crate) fn exit(status: u8) -> Self {
        Self::new(Status::Exit(status), "")
    }

    /// The message on one line, made safe for a terminal: line breaks and
    /// other control characters (from a server's message, say) are shown
    /// escaped.
    pub(crate) fn line(&self) -> String {
        crate::terminal::text(self.message.trim()).into_owned()
    }

    /// Reads an SDK error, knowing the profile whose session it concerns.
    pub(crate) fn from_sdk(error: &Error, profile: &str) -> Self {
        let relogin = if profile == crate::config::DEFAULT_PROFILE {
            "cube login".to_owned()
        } else {
            format!("cube --profile {profile} login")
        };
        if error.is_session_expired() {
            return Self::refused(format!(
                "the session of profile '{profile}' has expired: sign in again with `{relogin}`"
            ));
        }
        match error {
            Error::Transport(_) | Error::Timeout(_) | Error::Stalled(_) => {
                Self::new(Status::Transport, error.to_string())
            }
            Error::Proto(ProtoError::InvalidInput(_) | ProtoError::Config(_)) => {
                Self::usage(error.to_string())
            }
            Error::Proto(ProtoError::NoSession | ProtoError::NeedUser) => Self::refused(format!(
                "this needs a signed-in user: sign in with `{relogin}`"
            )),
            Error::Proto(ProtoError::Api(api)) if api.is_validation() => {
                let fields: Vec<String> = error
                    .field_errors()
                    .iter()
                    .map(|(field, message)| format!("{field} {message}"))
                    .chain(api.messages.base.iter().cloned())
                    .collect();
                if fields.is_empty() {
                    Self::refused(error.to_string())
                } else {
                    Self::refused(format!("refused by the server: {}", fields.join("; ")))
                }
            }
            _ => Self::refused(error.to_string()),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cube_blocking::ApiError;

    fn api(status: u16, body: &str) -> Error {
        let status = http_status(status);
        Error::from(ProtoError::from(ApiError::from_parts(
            status,
            body.as_bytes(),
        )))
    }

    fn http_status(code: u16) -> http::StatusCode {
        http::StatusCode::from_u16(code).unwrap()
    }

    #[test]
    fn each_kind_of_error_has_its_status() {
        let transport = Error::Timeout(std::time::Duration::from_secs(1));
        assert_eq!(
            Failure::from_sdk(&transport, "default").status,
            Status::Transport
        );
        let invalid = Error::from(ProtoError::from(cube_blocking::InvalidInput::new(
            "login",
            "is too short",
        )));
        assert_eq!(Failure::from_sdk(&invalid, "default").status, Status::Usage);
        let taken = api(422, r#"{"errors": {"login": ["has already been taken"]}}"#);
        let failure = Failure::from_sdk(&taken, "default");
        assert_eq!(failure.status, Status::Refused);
        assert_eq!(
            failure.line(),
            "refused by the server: login has already been taken"
        );
    }

    #[test]
    fn an_expired_session_names_the_profile_and_the_way_back() {
        let expired = api(401, r#"{"errors": ["Required session does not exist"]}"#);
        let line = Failure::from_sdk(&expired, "work").line();
        assert!(line.contains("profile 'work'"), "{line}");
        assert!(line.contains("cube --profile work login"), "{line}");
    }

    #[test]
    fn messages_are_one_line_and_safe_for_a_terminal() {
        let server = api(
            403,
            r#"{"errors": ["first\nsecond \u001b]52;c;aGk=\u0007"]}"#,
        );
        let line = Failure::from_sdk(&server, "default").line();
        assert!(
            line.contains(r"first\nsecond \u{1b}]52;c;aGk=\u{7}"),
            "{line}"
        );
        assert!(!line.chars().any(crate::terminal::needs_escape), "{line}");
    }
}
