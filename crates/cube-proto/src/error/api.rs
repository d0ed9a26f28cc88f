//! The server's answer to a failed call and what it means
//! (`docs/PROTOCOL.md`, "Errors"). Every question reads the status and the
//! message, never the body's form: the public service sends some messages
//! in the object form (`{"errors": {"base": [..]}}`) and others in the
//! array form (`{"errors": [..]}`), and [`ErrorMessages`] reads both alike.

use super::messages::ErrorMessages;
use crate::wire::Response;
use http::StatusCode;
use std::fmt;
use std::time::Duration;

/// The message a server sends when a token is unknown, destroyed or
/// expired: the session is gone.
pub const SESSION_MISSING: &str = "Required session does not exist";
/// The message a server sends when a call that needs a token came without
/// one: there is no session (which is not an expired one).
pub const TOKEN_REQUIRED: &str = "Token is required";
/// The message of a credential that did not verify (a provider's token, or
/// any credential failure without a message of its own).
pub const UNAUTHORIZED: &str = "Unauthorized";
/// The message of a wrong password for a login or e-mail that exists.
pub const INVALID_PASSWORD: &str = "Invalid password";
/// The message of a sign-in naming a login or e-mail that does not exist,
/// where the application does not create users on sign-in.
pub const USER_NOT_FOUND: &str = "User not found";
/// How the message of a `422` begins when the application's own identity
/// provider refused the token (or did not answer): `Bad Authentication
/// data. Unauthorized on remote side. Status: N.…`.
pub const IDP_REFUSED_PREFIX: &str = "Bad Authentication data.";
/// The message for an application session that tried to write.
pub const NEED_USER: &str = "Forbidden. Need user.";
/// The message of a field whose value another record already holds (a
/// login, an e-mail, a provider id): what makes a `422` a conflict.
pub const ALREADY_TAKEN: &str = "has already been taken";

/// The message of a signed session request whose signature does not match
/// (the public service also sends it for some clocks it refuses).
pub const UNEXPECTED_SIGNATURE: &str = "Unexpected signature";
/// The message, under the `timestamp` field, of a signed session request
/// whose timestamp is too far from the server's clock.
pub const INVALID_TIMESTAMP: &str = "invalid timestamp";
/// The field that carries [`INVALID_TIMESTAMP`].
pub const TIMESTAMP_FIELD: &str = "timestamp";

/// The longest `Retry-After` value read, in characters: every `u64` fits.
const RETRY_AFTER_MAX_DIGITS: usize = 20;

/// The server's answer to a failed call: status, parsed messages, and the
/// wait it asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("server answered {status}: {messages}{}", RetryNote(*.retry_after))]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The messages of the error body (empty when the body had none).
    pub messages: ErrorMessages,
    /// How long the server asked the client to wait before trying again:
    /// its `Retry-After` header, in seconds (a rate-limited `429` may carry
    /// it, an unavailable `503` too). `None` when the answer had none, or
    /// gave an HTTP date or anything else than a number of seconds.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// Parses an error answer from its status and body; never fails,
    /// whatever the body. There are no headers, so no
    /// [`retry_after`](Self::retry_after).
    pub fn from_parts(status: StatusCode, body: &[u8]) -> Self {
        Self {
            status,
            messages: ErrorMessages::parse(body),
            retry_after: None,
        }
    }

    /// Parses a whole error answer: status, body and `Retry-After`.
    ///
    /// ```
    /// use cube_proto::error::ApiError;
    /// use std::time::Duration;
    /// let answer = http::Response::builder().status(429).header("Retry-After", "30")
    ///     .body(br#"{"errors": ["Too Many Requests"]}"#.to_vec())?;
    /// let e = ApiError::from_response(&answer);
    /// assert!(e.is_rate_limited());
    /// assert_eq!(e.retry_after, Some(Duration::from_secs(30)));
    /// assert_eq!(e.to_string(),
    ///     "server answered 429 Too Many Requests: Too Many Requests; retry after 30 s");
    /// # Ok::<(), http::Error>(())
    /// ```
    pub fn from_response(response: &Response) -> Self {
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        Self {
            retry_after,
            ..Self::from_parts(response.status(), response.body())
        }
    }

    /// The first general message, the one each classification reads (as the
    /// official JavaScript SDK reads an expired session's).
    fn first_message(&self) -> Option<&str> {
        self.messages.base.first().map(String::as_str)
    }

    /// `401 Required session does not exist`: the session is gone.
    pub fn is_session_missing(&self) -> bool {
        self.status == StatusCode::UNAUTHORIZED && self.first_message() == Some(SESSION_MISSING)
    }

    /// `401 Token is required`: the request reached the server without a
    /// token. There is no session as far as the server knows; the token, if
    /// one was sent, was not seen, so it is neither used nor gone.
    pub fn is_token_required(&self) -> bool {
        self.status == StatusCode::UNAUTHORIZED && self.first_message() == Some(TOKEN_REQUIRED)
    }

    /// `401 Unauthorized`, `401 Invalid password`, or the `422` of the
    /// application's own identity provider refusing its token (`Bad
    /// Authentication data. Unauthorized on remote side. Status: N.…`): the
    /// credentials of a session or sign-in were refused. Never an expired
    /// session.
    ///
    /// ```
    /// use cube_proto::error::ApiError;
    /// use http::StatusCode;
    /// for body in [&br#"{"errors": ["Invalid password"]}"#[..],
    ///              br#"{"errors": {"base": ["Unauthorized"]}}"#] {
    ///     let e = ApiError::from_parts(StatusCode::UNAUTHORIZED, body);
    ///     assert!(e.is_bad_credentials() && !e.is_session_missing());
    /// }
    /// let idp = ApiError::from_parts(StatusCode::UNPROCESSABLE_ENTITY,
    ///     br#"{"errors": ["Bad Authentication data. Unauthorized on remote side. Status: 401."]}"#);
    /// assert!(idp.is_bad_credentials() && idp.is_validation());
    /// ```
    pub fn is_bad_credentials(&self) -> bool {
        match self.status {
            StatusCode::UNAUTHORIZED => {
                matches!(self.first_message(), Some(UNAUTHORIZED | INVALID_PASSWORD))
            }
            StatusCode::UNPROCESSABLE_ENTITY => self
                .first_message()
                .is_some_and(|m| m.starts_with(IDP_REFUSED_PREFIX)),
            _ => false,
        }
    }

    /// `404`: the resource does not exist; at sign-in (`404 User not
    /// found`), the login or e-mail names nobody.
    pub fn is_not_found(&self) -> bool {
        self.status == StatusCode::NOT_FOUND
    }

    /// `422`: the server refused the input; the messages say why, per field.
    pub fn is_validation(&self) -> bool {
        self.status == StatusCode::UNPROCESSABLE_ENTITY
    }

    /// `429`: too many requests; [`retry_after`](Self::retry_after) says how
    /// long to wait when the server said it.
    pub fn is_rate_limited(&self) -> bool {
        self.status == StatusCode::TOO_MANY_REQUESTS
    }

    /// `422` refusing a session request's signature or its time: a message
    /// under `timestamp` ([`INVALID_TIMESTAMP`] is the public service's), or
    /// [`UNEXPECTED_SIGNATURE`] or [`INVALID_TIMESTAMP`] as the general
    /// message. After one with a server `Date` far from the time it signed
    /// with, a call signs once more on the server's clock
    /// ([`crate::server_time`]).
    ///
    /// ```
    /// use cube_proto::error::ApiError;
    /// use http::StatusCode;
    /// let late = br#"{"errors": {"timestamp": ["invalid timestamp"]}}"#;
    /// assert!(ApiError::from_parts(StatusCode::UNPROCESSABLE_ENTITY, late).is_signature_rejected());
    /// let nonce = br#"{"errors": {"nonce": ["has already been used"]}}"#;
    /// assert!(!ApiError::from_parts(StatusCode::UNPROCESSABLE_ENTITY, nonce).is_signature_rejected());
    /// ```
    pub fn is_signature_rejected(&self) -> bool {
        self.is_validation()
            && (self.messages.fields.contains_key(TIMESTAMP_FIELD)
                || matches!(
                    self.first_message(),
                    Some(UNEXPECTED_SIGNATURE | INVALID_TIMESTAMP)
                ))
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

/// A `Retry-After` value as a wait: a whole number of seconds, up to
/// `u64::MAX`. An HTTP date (the header's other form), a negative or
/// fractional number, or anything longer than 20 characters is `None`:
/// reading a date would need the server's clock, and the service documents
/// seconds.
///
/// ```
/// use cube_proto::error::parse_retry_after;
/// use std::time::Duration;
/// assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
/// assert_eq!(parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT"), None);
/// ```
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let digits = value.trim();
    if digits.is_empty()
        || digits.len() > RETRY_AFTER_MAX_DIGITS
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    digits.parse().ok().map(Duration::from_secs)
}

/// `; retry after N s` when the server asked for a wait.
struct RetryNote(Option<Duration>);

impl fmt::Display for RetryNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(wait) => write!(f, "; retry after {} s", wait.as_secs()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, body: &str) -> ApiError {
        ApiError::from_parts(StatusCode::from_u16(status).unwrap(), body.as_bytes())
    }

    #[test]
    fn session_missing_needs_401_and_the_message_first() {
        let body = r#"{"errors": {"base": ["Required session does not exist"]}}"#;
        assert!(api(401, body).is_session_missing());
        assert!(!api(403, body).is_session_missing());
        assert!(!api(401, r#"{"errors": {"base": ["Unauthorized"]}}"#).is_session_missing());
        let later = r#"{"errors": ["Unauthorized", "Required session does not exist"]}"#;
        assert!(!api(401, later).is_session_missing());
    }

    /// session missing, token required, bad credentials: at most one holds.
    fn the_401s(e: &ApiError) -> [bool; 3] {
        [
            e.is_session_missing(),
            e.is_token_required(),
            e.is_bad_credentials(),
        ]
    }

    #[test]
    fn each_401_message_is_one_thing_in_either_form() {
        let cases = [
            (SESSION_MISSING, [true, false, false]),
            (TOKEN_REQUIRED, [false, true, false]),
            (UNAUTHORIZED, [false, false, true]),
            (INVALID_PASSWORD, [false, false, true]),
            ("Something else", [false, false, false]),
        ];
        for (message, expected) in cases {
            for body in [
                format!(r#"{{"errors": {{"base": ["{message}"]}}}}"#),
                format!(r#"{{"errors": ["{message}"]}}"#),
            ] {
                assert_eq!(the_401s(&api(401, &body)), expected, "{body}");
                // The message alone is not enough: the status must be 401.
                assert_eq!(the_401s(&api(403, &body)), [false; 3], "{body}");
            }
        }
        // A field message is not a general one.
        let field = r#"{"errors": {"password": ["Invalid password"]}}"#;
        assert_eq!(the_401s(&api(401, field)), [false; 3]);
        assert_eq!(the_401s(&api(401, "")), [false; 3]);
    }

    #[test]
    fn a_rejected_signature_is_a_422_about_the_time_or_the_signature() {
        let rejected = [
            r#"{"errors": {"timestamp": ["invalid timestamp"]}}"#,
            r#"{"errors": {"timestamp": ["is too old"]}}"#,
            r#"{"errors": {"base": ["Unexpected signature"]}}"#,
            r#"{"errors": ["Unexpected signature"]}"#,
            r#"{"errors": ["invalid timestamp"]}"#,
        ];
        for body in rejected {
            assert!(api(422, body).is_signature_rejected(), "{body}");
            assert!(!api(401, body).is_signature_rejected(), "{body}");
        }
        for body in [
            r#"{"errors": {"nonce": ["has already been used"]}}"#,
            r#"{"errors": {"base": ["Something else", "Unexpected signature"]}}"#,
            r#"{"errors": {"password": ["invalid timestamp"]}}"#,
            "",
        ] {
            assert!(!api(422, body).is_signature_rejected(), "{body}");
        }
    }

    #[test]
    fn retry_after_is_whole_seconds_up_to_u64_max() {
        let secs = |s: &str| parse_retry_after(s).map(|d| d.as_secs());
        assert_eq!(secs("0"), Some(0));
        assert_eq!(secs("30"), Some(30));
        assert_eq!(secs("\t7 "), Some(7));
        // The limit: u64::MAX seconds (20 digits), and one past it.
        assert_eq!(secs("18446744073709551615"), Some(u64::MAX));
        assert_eq!(secs("18446744073709551616"), None);
        assert_eq!(secs("000000000000000000001"), None, "21 characters");
        for bad in [
            "",
            " ",
            "-1",
            "+5",
            "1.5",
            "1e3",
            "soon",
            "Fri, 31 Dec 1999 23:59:59 GMT",
        ] {
            assert_eq!(secs(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn from_response_reads_the_status_the_body_and_retry_after() {
        let answer = |retry: Option<&str>| {
            let mut b = http::Response::builder().status(429);
            if let Some(v) = retry {
                b = b.header("Retry-After", v);
            }
            b.body(br#"{"errors": ["Too Many Requests"]}"#.to_vec())
                .unwrap()
        };
        let with = ApiError::from_response(&answer(Some("12")));
        assert!(with.is_rate_limited());
        assert_eq!(with.retry_after, Some(Duration::from_secs(12)));
        assert_eq!(with.messages.base, ["Too Many Requests"]);
        let without = ApiError::from_response(&answer(None));
        assert!(without.is_rate_limited());
        assert_eq!(without.retry_after, None);
        assert_eq!(
            without.to_string(),
            "server answered 429 Too Many Requests: Too Many Requests"
        );
        assert!(!api(503, "").is_rate_limited());
    }
}
