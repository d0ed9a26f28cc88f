//! The error helpers, checked once for every adapter: each adapter's test
//! produces real failures (against the in-process emulator, the
//! [`scripted_server`] that answers as the public service does, and the
//! servers of [`net`](crate::net)) and hands them to [`check_error_helpers`],
//! with what its own error type's methods answer ([`own_answers!`](crate::own_answers)).

use crate::fake::{FakeServer, Reply};
use http::StatusCode;
use proto::error::{CallError, NEED_USER, SESSION_MISSING};
use std::fmt::Debug;
use std::time::Duration;

/// The login the failures are produced with.
pub const LOGIN: &str = "error_shape";
/// Its password: no error may show it.
pub const PASSWORD: &str = "error-shape-password";
/// A wrong password for [`LOGIN`]: `401 Unauthorized` from the emulator,
/// `401 Invalid password` from the [`scripted_server`]; never shown.
pub const WRONG_PASSWORD: &str = "not-the-password";
/// A login the server refuses as too short (it takes 3 to 70 characters);
/// the SDK leaves that check to the server.
pub const SHORT_LOGIN: &str = "ab";
/// A password the SDK refuses before sending (it takes 8 to 40 characters).
pub const SHORT_PASSWORD: &str = "x7-q9";
/// A blob id no test creates.
pub const MISSING_BLOB: u64 = 987_654_321;
/// A login the [`scripted_server`] knows nobody by: `404 User not found`.
pub const UNKNOWN_LOGIN: &str = "nobody_here";
/// An e-mail whose sign-in the [`scripted_server`] rate-limits without
/// saying how long to wait.
pub const THROTTLED_EMAIL: &str = "throttled@example.com";
/// The wait the [`scripted_server`] asks for on an application session.
pub const RETRY_AFTER_SECS: u64 = 7;

/// A server that answers, in the public service's forms (array form, as it
/// was seen sending them), the failures the emulator does not produce:
///
/// * `POST /session` naming [`UNKNOWN_LOGIN`]: `404 {"errors": ["User not found"]}`;
/// * `POST /session` naming [`LOGIN`]: `401 {"errors": ["Invalid password"]}`;
/// * `POST /session` naming [`THROTTLED_EMAIL`]: `429`, no `Retry-After`;
/// * `POST /session` for an application session: `429`, `Retry-After:`
///   [`RETRY_AFTER_SECS`];
/// * `POST /users`: `401 {"errors": ["Token is required"]}`;
/// * anything else: `500`.
pub fn scripted_server() -> FakeServer {
    FakeServer::start(|req| {
        let body = String::from_utf8_lossy(&req.body);
        let names = |value: &str| body.contains(&format!("\"{value}\""));
        match (req.method.as_str(), req.path.as_str()) {
            ("POST", "/session") if names(UNKNOWN_LOGIN) => {
                Reply::new(404, r#"{"errors":["User not found"]}"#)
            }
            ("POST", "/session") if names(LOGIN) => {
                Reply::new(401, r#"{"errors":["Invalid password"]}"#)
            }
            ("POST", "/session") if names(THROTTLED_EMAIL) => {
                Reply::new(429, r#"{"errors":["Too Many Requests"]}"#)
            }
            ("POST", "/session") => Reply {
                headers: vec![("Retry-After".into(), RETRY_AFTER_SECS.to_string())],
                ..Reply::new(429, r#"{"errors":["Too Many Requests"]}"#)
            },
            ("POST", "/users") => Reply::new(401, r#"{"errors":["Token is required"]}"#),
            _ => Reply::new(500, ""),
        }
    })
}

/// One failure of each kind an application branches on, as one adapter
/// reported it.
#[derive(Debug)]
pub struct Failures<E> {
    /// `GET /blobs/{MISSING_BLOB}` under a user session: `404`.
    pub not_found: E,
    /// A read on a user session that another device destroyed, with no
    /// restore callback.
    pub session_expired: E,
    /// A sign-up with [`SHORT_LOGIN`]: the server's `422` on `login`.
    pub rejected_field: E,
    /// A sign-up with [`SHORT_PASSWORD`]: refused before sending.
    pub refused_locally: E,
    /// A second sign-up of [`LOGIN`]: `422` `login has already been taken`.
    pub conflict: E,
    /// A session for [`LOGIN`] with [`WRONG_PASSWORD`] on the emulator: a
    /// `401` with a bad-credentials message.
    pub bad_credentials: E,
    /// A request to a [`SilentServer`](crate::net::SilentServer).
    pub timeout: E,
    /// A request to [`refused_url`](crate::net::refused_url).
    pub transport: E,
    /// A profile update with no session at all: refused before sending.
    pub no_session: E,
    /// A session for [`UNKNOWN_LOGIN`] on the [`scripted_server`]:
    /// `404 User not found`.
    pub no_such_user: E,
    /// A session for [`LOGIN`] with [`WRONG_PASSWORD`] on the
    /// [`scripted_server`]: `401 Invalid password`.
    pub wrong_password: E,
    /// A sign-up on the [`scripted_server`]: `401 Token is required`.
    pub token_required: E,
    /// An application session on the [`scripted_server`]: `429` with
    /// `Retry-After`.
    pub rate_limited: E,
    /// A session for [`THROTTLED_EMAIL`] on the [`scripted_server`]: `429`
    /// without `Retry-After`.
    pub rate_limited_without_wait: E,
}

/// What an adapter's `Error` answers through its own methods — the ones an
/// application calls without importing [`CallError`] — read by
/// [`own_answers!`](crate::own_answers) where the adapter's type is named.
#[derive(Debug, PartialEq, Eq)]
pub struct OwnAnswers {
    /// `is_not_found()` … `is_timeout()`, in the order of the check's
    /// predicates: not found, session expired, no session, bad credentials,
    /// validation, conflict, rate limited, timeout.
    pub predicates: [bool; 8],
    /// `retry_after()`.
    pub retry_after: Option<Duration>,
    /// `status()`.
    pub status: Option<StatusCode>,
    /// The messages of `api()`, when it is the server's answer.
    pub messages: Option<Vec<String>>,
    /// `field_errors()`, owned.
    pub field_errors: Vec<(String, String)>,
    /// Whether `proto()` is `Some`.
    pub proto: bool,
}

/// A closure reading the [`OwnAnswers`] of the error type `$error` through
/// its inherent methods, for [`check_error_helpers`]:
/// `check_error_helpers(&failures, own_answers!(cube_blocking::Error))`.
/// Inherent methods are chosen before [`CallError`]'s of the same name, so
/// each call here reaches the adapter's own delegation.
#[macro_export]
macro_rules! own_answers {
    ($error:ty) => {
        |e: &$error| $crate::errors::OwnAnswers {
            predicates: [
                e.is_not_found(),
                e.is_session_expired(),
                e.is_no_session(),
                e.is_bad_credentials(),
                e.is_validation(),
                e.is_conflict(),
                e.is_rate_limited(),
                e.is_timeout(),
            ],
            retry_after: e.retry_after(),
            status: e.status(),
            messages: e.api().map(|api| api.messages.base.clone()),
            field_errors: e
                .field_errors()
                .into_iter()
                .map(|(field, message)| (field.to_owned(), message.to_owned()))
                .collect(),
            proto: e.proto().is_some(),
        }
    };
}

/// The predicates, in a fixed order, so that each case states all of them:
/// not found, session expired, no session, bad credentials, validation,
/// conflict, rate limited, timeout.
fn predicates(e: &impl CallError) -> [bool; 8] {
    [
        e.is_not_found(),
        e.is_session_expired(),
        e.is_no_session(),
        e.is_bad_credentials(),
        e.is_validation(),
        e.is_conflict(),
        e.is_rate_limited(),
        e.is_timeout(),
    ]
}

/// The predicates with exactly these true (by position in [`predicates`]).
fn only(true_at: &[usize]) -> [bool; 8] {
    let mut out = [false; 8];
    for &i in true_at {
        out[i] = true;
    }
    out
}

const NOT_FOUND: usize = 0;
const SESSION_EXPIRED: usize = 1;
const NO_SESSION: usize = 2;
const BAD_CREDENTIALS: usize = 3;
const VALIDATION: usize = 4;
const CONFLICT: usize = 5;
const RATE_LIMITED: usize = 6;
const TIMEOUT: usize = 7;

/// Checks every helper of [`CallError`] on each failure: each answers yes
/// to its own predicate and no to the others, statuses, messages and waits
/// are the server's, and no error shows a password; and the error type's
/// own methods (`own`, from [`own_answers!`](crate::own_answers)) answer
/// the same. Written once; both adapters' tests call it with their own
/// errors.
pub fn check_error_helpers<E: CallError + Debug>(f: &Failures<E>, own: impl Fn(&E) -> OwnAnswers) {
    let cases: [(&str, &E, [bool; 8]); 14] = [
        ("not_found", &f.not_found, only(&[NOT_FOUND])),
        (
            "session_expired",
            &f.session_expired,
            only(&[SESSION_EXPIRED]),
        ),
        ("rejected_field", &f.rejected_field, only(&[VALIDATION])),
        ("refused_locally", &f.refused_locally, only(&[VALIDATION])),
        ("conflict", &f.conflict, only(&[VALIDATION, CONFLICT])),
        (
            "bad_credentials",
            &f.bad_credentials,
            only(&[BAD_CREDENTIALS]),
        ),
        ("timeout", &f.timeout, only(&[TIMEOUT])),
        ("transport", &f.transport, only(&[])),
        ("no_session", &f.no_session, only(&[NO_SESSION])),
        ("no_such_user", &f.no_such_user, only(&[NOT_FOUND])),
        (
            "wrong_password",
            &f.wrong_password,
            only(&[BAD_CREDENTIALS]),
        ),
        ("token_required", &f.token_required, only(&[NO_SESSION])),
        ("rate_limited", &f.rate_limited, only(&[RATE_LIMITED])),
        (
            "rate_limited_without_wait",
            &f.rate_limited_without_wait,
            only(&[RATE_LIMITED]),
        ),
    ];
    for (name, error, expected) in cases {
        assert_eq!(predicates(error), expected, "{name}: {error:?}");
        for shown in [error.to_string(), format!("{error:?}")] {
            for password in [PASSWORD, WRONG_PASSWORD, SHORT_PASSWORD] {
                assert!(
                    !shown.contains(password),
                    "{name} shows a password: {shown}"
                );
            }
        }
        // Only the rate-limited answer that said so has a wait.
        let wait = (name == "rate_limited").then(|| Duration::from_secs(RETRY_AFTER_SECS));
        assert_eq!(error.retry_after(), wait, "{name}: {error:?}");

        // The methods an application calls on the adapter's own type.
        let answers = own(error);
        assert_eq!(
            answers.predicates, expected,
            "{name}, own methods: {error:?}"
        );
        assert_eq!(answers.retry_after, wait, "{name}, own methods: {error:?}");
        let by_trait = OwnAnswers {
            predicates: expected,
            retry_after: wait,
            status: error.status(),
            messages: error.api().map(|api| api.messages.base.clone()),
            field_errors: error
                .field_errors()
                .into_iter()
                .map(|(field, message)| (field.to_owned(), message.to_owned()))
                .collect(),
            proto: error.proto().is_some(),
        };
        assert_eq!(answers, by_trait, "{name}, own methods: {error:?}");
    }

    // The server's answers keep their status and messages.
    let status = |e: &E| e.status().map(|s| s.as_u16());
    let first_message = |e: &E| {
        e.api()
            .and_then(|api| api.messages.base.first().cloned())
            .unwrap_or_default()
    };
    assert_eq!(status(&f.not_found), Some(404));
    let missing = f.not_found.api().expect("a 404 is the server's answer");
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(f.not_found.field_errors().is_empty());

    assert_eq!(status(&f.rejected_field), Some(422));
    let rejected = f.rejected_field.field_errors();
    assert!(
        rejected
            .iter()
            .any(|(field, message)| *field == "login" && message.starts_with("is too short")),
        "{rejected:?}"
    );

    assert_eq!(status(&f.conflict), Some(422));
    assert!(
        f.conflict
            .field_errors()
            .contains(&("login", "has already been taken")),
        "{:?}",
        f.conflict.field_errors()
    );

    // Whichever message a server gives a wrong password, it is a
    // bad-credentials 401 and never a session message.
    assert_eq!(status(&f.bad_credentials), Some(401));
    let bad = first_message(&f.bad_credentials);
    assert!(
        bad == "Unauthorized" || bad == "Invalid password",
        "{:?}",
        f.bad_credentials
    );
    for message in [SESSION_MISSING, NEED_USER] {
        assert!(
            f.bad_credentials.api().is_some_and(|api| !api
                .messages
                .base
                .iter()
                .any(|m| m == message))
        );
    }

    // The public service's answers, as the scripted server sends them.
    for (name, error, code, message) in [
        ("no_such_user", &f.no_such_user, 404, "User not found"),
        ("wrong_password", &f.wrong_password, 401, "Invalid password"),
        (
            "token_required",
            &f.token_required,
            401,
            "Token is required",
        ),
        ("rate_limited", &f.rate_limited, 429, "Too Many Requests"),
        (
            "rate_limited_without_wait",
            &f.rate_limited_without_wait,
            429,
            "Too Many Requests",
        ),
    ] {
        assert_eq!(status(error), Some(code), "{name}: {error:?}");
        assert_eq!(first_message(error), message, "{name}: {error:?}");
    }

    // What never reached the server has no status and no server error,
    // but a validation failure still names its field.
    assert_eq!(
        f.refused_locally
            .field_errors()
            .first()
            .map(|(field, _)| *field),
        Some("password")
    );
    for (name, error) in [
        ("refused_locally", &f.refused_locally),
        ("no_session", &f.no_session),
        ("timeout", &f.timeout),
        ("transport", &f.transport),
    ] {
        assert_eq!(error.status(), None, "{name}: {error:?}");
        assert!(error.api().is_none(), "{name}: {error:?}");
    }
    // "Session expired" is the client's conclusion after the server's 401,
    // so it carries that 401 or no status at all.
    assert!(
        f.session_expired
            .status()
            .is_none_or(|s| s == StatusCode::UNAUTHORIZED),
        "{:?}",
        f.session_expired
    );
    // Timeouts and refused connections are not the protocol's.
    assert!(f.timeout.proto().is_none() && f.transport.proto().is_none());
}
