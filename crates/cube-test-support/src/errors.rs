//! The error helpers, checked once for every adapter: each adapter's test
//! produces real failures (against the in-process emulator and the servers
//! of [`net`](crate::net)) and hands them to [`check_error_helpers`].

use http::StatusCode;
use proto::error::{CallError, NEED_USER, SESSION_MISSING};
use std::fmt::Debug;

/// The login the failures are produced with.
pub const LOGIN: &str = "error_shape";
/// Its password: no error may show it.
pub const PASSWORD: &str = "error-shape-password";
/// A wrong password for [`LOGIN`]: `401 Unauthorized`, and never shown.
pub const WRONG_PASSWORD: &str = "not-the-password";
/// A login the server refuses as too short (it takes 3 to 70 characters);
/// the SDK leaves that check to the server.
pub const SHORT_LOGIN: &str = "ab";
/// A password the SDK refuses before sending (it takes 8 to 40 characters).
pub const SHORT_PASSWORD: &str = "x7-q9";
/// A blob id no test creates.
pub const MISSING_BLOB: u64 = 987_654_321;

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
    /// A session for [`LOGIN`] with [`WRONG_PASSWORD`]: `401 Unauthorized`.
    pub bad_credentials: E,
    /// A request to a [`SilentServer`](crate::net::SilentServer).
    pub timeout: E,
    /// A request to [`refused_url`](crate::net::refused_url).
    pub transport: E,
}

/// The predicates, in a fixed order, so that each case states all of them:
/// not found, session expired, validation, conflict, timeout.
fn predicates(e: &impl CallError) -> [bool; 5] {
    [
        e.is_not_found(),
        e.is_session_expired(),
        e.is_validation(),
        e.is_conflict(),
        e.is_timeout(),
    ]
}

/// Checks every helper of [`CallError`] on each failure: each answers yes
/// to its own predicate and no to the others, statuses and field messages
/// are the server's, and no error shows a password. Written once; both
/// adapters' tests call it with their own errors.
pub fn check_error_helpers<E: CallError + Debug>(f: &Failures<E>) {
    let cases: [(&str, &E, [bool; 5]); 8] = [
        (
            "not_found",
            &f.not_found,
            [true, false, false, false, false],
        ),
        (
            "session_expired",
            &f.session_expired,
            [false, true, false, false, false],
        ),
        (
            "rejected_field",
            &f.rejected_field,
            [false, false, true, false, false],
        ),
        (
            "refused_locally",
            &f.refused_locally,
            [false, false, true, false, false],
        ),
        ("conflict", &f.conflict, [false, false, true, true, false]),
        ("bad_credentials", &f.bad_credentials, [false; 5]),
        ("timeout", &f.timeout, [false, false, false, false, true]),
        ("transport", &f.transport, [false; 5]),
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
    }

    // The server's answers keep their status and messages.
    let status = |e: &E| e.status().map(|s| s.as_u16());
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

    assert_eq!(status(&f.bad_credentials), Some(401));
    let bad = f
        .bad_credentials
        .api()
        .expect("a 401 is the server's answer");
    assert_eq!(bad.messages.base, ["Unauthorized"]);
    assert!(
        !bad.messages
            .base
            .iter()
            .any(|m| m == SESSION_MISSING || m == NEED_USER)
    );

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
