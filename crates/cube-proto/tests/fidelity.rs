//! The fidelity table, client side: one test per row of the wire contract
//! (`docs/PROTOCOL.md`, corrected against the public ConnectyCube service)
//! that concerns the client. A row is either what the SDK sends — method,
//! target and headers exactly, the body as JSON with its types (a number is
//! never a string) — or how the SDK reads one of the service's answers.
//!
//! Each test says where its row comes from on the line above it:
//! * `docs: server/users.md` (or `auth.mdx`, `storage.md`, `index.md`,
//!   `guides/custom-identity-provider.md`): the service's own documents, in
//!   the ConnectyCube/docs repository under `src/content/docs/`;
//! * `public service answer, sample-app issue thread (years)`: an answer the
//!   service was seen sending, quoted in a public issue thread of its sample
//!   apps;
//! * `official JS SDK v6`: what the service's own SDK sends or expects;
//! * `our choice`: where the service says nothing and the contract marks
//!   **[choice]**; `contract` where it states a rule with no source named.
//!
//! Every error row is answered in the form the contract gives and in the
//! other form too (`{"errors": {"base": [..]}}` and `{"errors": [..]}`): the
//! client classifies by status and message, never by form.

use cube_proto::call::{Call, Step};
use cube_proto::credentials::CUSTOM_IDP_PASSWORD;
use cube_proto::model::{Blob, User};
use cube_proto::ops::{
    Access, CompleteBlob, CreateBlob, CreateSession, DeleteBlob, DeleteUser,
    DeleteUserByExternalId, DestroyOtherSessions, DestroySession, DestroySessionById, DownloadBlob,
    FindUsersV1, Found, GetBlob, GetSession, GetUser, GetUserV1, ListUsers, NewUser, Operation,
    PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, ResetPassword, SearchUsers, SignIn, SignOut, SignUp,
    Transition, UpdateUser, Upload, UserUpdate, V1Filter, V1Operator, V1Type, blob_private_url,
    blob_public_url,
};
use cube_proto::search::{Direction, Field, Rule, UserSearch};
use cube_proto::wire::{Request, RequestContext, Response};
use cube_proto::{Config, Credentials, Error, Secret, Session, SessionKind, SessionStatus};
use serde_json::{Value, json};
use std::time::Duration as Wait;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

// ------------------------------------------------------------------ helpers

const APP: u64 = 1;
const AUTH_KEY: &str = "29WfrNWdvkhmX6V";
const SECRET: &str = "EmulatorSecret42";
const TOKEN: &str = "83153a14fb2df777c2f866178902a4bb15000001";
const T0: OffsetDateTime = datetime!(2026-11-24 10:00:00 UTC);
const BASE: &str = "http://cube.test";

fn config() -> Config {
    Config::builder(APP, AUTH_KEY)
        .base_url(BASE)
        .build()
        .unwrap()
}

fn signed_config() -> Config {
    Config::builder(APP, AUTH_KEY)
        .auth_secret(SECRET)
        .base_url(BASE)
        .build()
        .unwrap()
}

/// A request as it goes on the wire: method, target (path and query, as
/// sent), the headers that matter, and the body as JSON (`Null` if none).
#[derive(Debug, PartialEq)]
struct Sent {
    method: String,
    target: String,
    token: Option<String>,
    auth_key: Option<String>,
    content_type: Option<String>,
    body: Value,
}

fn sent_by(req: &Request) -> Sent {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let target = req.uri().path_and_query().unwrap().as_str().to_owned();
    Sent {
        method: req.method().as_str().to_owned(),
        target,
        token: header("CB-Token"),
        auth_key: header("CB-AuthKey"),
        content_type: header("Content-Type"),
        body: if req.body().is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(req.body()).unwrap()
        },
    }
}

/// What `op` sends at `T0` under `config`, with `token` if any.
fn sent_with(config: &Config, op: &impl Operation, token: Option<&str>, nonce: u32) -> Sent {
    let token = token.map(Secret::new);
    let ctx = RequestContext {
        config,
        token: token.as_ref(),
        now: T0,
        nonce,
    };
    sent_by(&op.build(&ctx).unwrap())
}

/// What `op` sends under a session token.
fn sent(op: &impl Operation) -> Sent {
    sent_with(&config(), op, Some(TOKEN), 7)
}

/// A JSON request with the session token.
fn json_call(method: &str, target: &str, body: Value) -> Sent {
    Sent {
        method: method.into(),
        target: target.into(),
        token: Some(TOKEN.into()),
        auth_key: None,
        content_type: Some("application/json".into()),
        body,
    }
}

/// A bodiless request with the session token.
fn plain_call(method: &str, target: &str) -> Sent {
    Sent {
        content_type: None,
        body: Value::Null,
        ..json_call(method, target, Value::Null)
    }
}

/// The unsigned body of `POST /session` with these credentials. It is
/// built while a token is at hand, which it must not carry.
fn session_body(credentials: Credentials) -> Value {
    let sent = sent_with(&config(), &CreateSession::new(credentials), Some(TOKEN), 7);
    assert_eq!(
        (
            sent.method.as_str(),
            sent.target.as_str(),
            sent.token,
            sent.auth_key
        ),
        ("POST", "/session", None, None),
        "a session request never carries a token"
    );
    assert_eq!(sent.content_type.as_deref(), Some("application/json"));
    sent.body
}

/// `{"application_id": 1, "auth_key": …}` plus the credential fields.
fn with_app(fields: Value) -> Value {
    let mut body = json!({"application_id": APP, "auth_key": AUTH_KEY});
    for (k, v) in fields.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// The body of `POST /login` with these credentials (under the
/// application session's token).
fn login_body(credentials: Credentials) -> Value {
    let sent = sent(&SignIn::new(credentials));
    assert_eq!(
        (sent.method.as_str(), sent.target.as_str()),
        ("POST", "/login")
    );
    assert_eq!(sent.token.as_deref(), Some(TOKEN));
    sent.body
}

fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
    let mut b = http::Response::builder().status(status);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body.as_bytes().to_vec()).unwrap()
}

/// A live user session (deadline T0 + 2 h).
fn user_session() -> Session {
    let mut session = Session::default();
    session.apply(
        Transition::Established {
            token: Secret::new(TOKEN),
            kind: SessionKind::User,
            session_id: 5,
            user_id: Some(81),
        },
        T0,
        Some(T0 + Duration::hours(2)),
    );
    while session.poll_event().is_some() {}
    session
}

/// Drives `op` through a `Call` on `session`, answering every request with
/// the next of `answers`; the call's outcome and how many requests it sent.
fn drive<O: Operation>(
    op: O,
    session: &mut Session,
    answers: Vec<Response>,
) -> (Result<O::Output, Error>, usize) {
    let mut answers = answers.into_iter();
    let mut call = Call::new(config(), op);
    let mut sent = 0;
    for nonce in 0..16 {
        match call.poll(session, T0, nonce) {
            Step::Send(_) => {
                sent += 1;
                let response = answers.next().expect("an answer for every request");
                call.handle_response(session, response).unwrap();
            }
            Step::Done(result) => return (result, sent),
            // The clock does not move: waits only count as steps.
            Step::Wait(_) => {}
            Step::TakeRestoreTurn | Step::AskRestore | Step::ReleaseRestoreTurn => {
                panic!("no restore callback is set, yet the call restores")
            }
        }
    }
    panic!("the call did not end");
}

/// The helpers, in a fixed order, so that each row states all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reading {
    not_found: bool,
    session_expired: bool,
    no_session: bool,
    bad_credentials: bool,
    validation: bool,
    conflict: bool,
    rate_limited: bool,
}

const NOTHING: Reading = Reading {
    not_found: false,
    session_expired: false,
    no_session: false,
    bad_credentials: false,
    validation: false,
    conflict: false,
    rate_limited: false,
};

fn reading(e: &Error) -> Reading {
    Reading {
        not_found: e.is_not_found(),
        session_expired: e.is_session_expired(),
        no_session: e.is_no_session(),
        bad_credentials: e.is_bad_credentials(),
        validation: e.is_validation(),
        conflict: e.is_conflict(),
        rate_limited: e.is_rate_limited(),
    }
}

/// A general message in the object form and in the array form.
fn both_forms(message: &str) -> [String; 2] {
    [
        json!({"errors": {"base": [message]}}).to_string(),
        json!({"errors": [message]}).to_string(),
    ]
}

/// A field message in the object form, and the same text as a general
/// message in the array form.
fn field_and_array(field: &str, message: &str) -> [String; 2] {
    [
        json!({"errors": {field: [message]}}).to_string(),
        json!({"errors": [message]}).to_string(),
    ]
}

/// A failed session creation (no session before it): its error.
fn session_refused(credentials: Credentials, status: u16, body: &str) -> Error {
    let mut session = Session::default();
    let (result, sent) = drive(
        CreateSession::new(credentials),
        &mut session,
        vec![answer(status, &[], body)],
    );
    assert_eq!(sent, 1, "one request, no retry");
    assert_eq!(
        session.status(T0),
        SessionStatus::None,
        "no session came of it"
    );
    result.unwrap_err()
}

/// A failed sign-in on a live application session: its error; the
/// session stays an application session.
fn sign_in_refused(credentials: Credentials, status: u16, body: &str) -> Error {
    let mut session = Session::default();
    session.apply(
        Transition::Established {
            token: Secret::new(TOKEN),
            kind: SessionKind::Application,
            session_id: 4,
            user_id: None,
        },
        T0,
        Some(T0 + Duration::hours(2)),
    );
    let (result, sent) = drive(
        SignIn::new(credentials),
        &mut session,
        vec![answer(status, &[], body)],
    );
    assert_eq!(sent, 1, "one request, no retry");
    assert_eq!(session.status(T0), SessionStatus::Application);
    result.unwrap_err()
}

/// A failed read on a live user session: its error, the session after, and
/// how many requests went out (a read answered "try again later" goes
/// again, up to three tries in all).
fn read_refused(status: u16, headers: &[(&str, &str)], body: &str) -> (Error, Session, usize) {
    let mut session = user_session();
    let (result, sent) = drive(
        GetBlob::new(7),
        &mut session,
        (0..3).map(|_| answer(status, headers, body)).collect(),
    );
    (result.unwrap_err(), session, sent)
}

// ------------------------------------------- 1. common rules: request headers

// docs: server/index.md ("the only mandatory header … CB-Token"; Content-Type for POST and PUT)
#[test]
fn headers_every_call_under_a_session_carries_cb_token_and_json_bodies_say_so() {
    assert_eq!(sent(&GetSession), plain_call("GET", "/session"));
    let update = sent(&UpdateUser::new(81, UserUpdate::new().full_name("Dacia")));
    assert_eq!(update.token.as_deref(), Some(TOKEN));
    assert_eq!(update.content_type.as_deref(), Some("application/json"));
}

// docs: server/users.md ("User Sign Up": CB-AuthKey header, no session)
#[test]
fn headers_a_sign_up_without_a_session_carries_cb_auth_key_and_no_token() {
    let op = SignUp::new(NewUser::with_login("Dacia", "petU4or!x"));
    let alone = sent_with(&config(), &op, None, 7);
    assert_eq!(
        (alone.token, alone.auth_key.as_deref()),
        (None, Some(AUTH_KEY))
    );
    let under_session = sent(&op);
    assert_eq!(
        (under_session.token.as_deref(), under_session.auth_key),
        (Some(TOKEN), None)
    );
}

// contract §1: the query is read as a form (`+` is a space), so a space is %20 and a plus %2B
#[test]
fn query_a_space_is_percent_20_and_a_plus_percent_2b() {
    let op = SearchUsers::by_phone("+61 107").unwrap();
    assert_eq!(sent(&op).target, "/users/v2?phone=%2B61%20107");
}

// contract §1 (the SDK's identity, informational): CB-SDK on every API call
#[test]
fn headers_cb_sdk_names_the_sdk() {
    let req = GetSession
        .build(&RequestContext {
            config: &config(),
            token: Some(&Secret::new(TOKEN)),
            now: T0,
            nonce: 0,
        })
        .unwrap();
    let identity = concat!("Rust ", env!("CARGO_PKG_VERSION"), " - Client");
    assert_eq!(req.headers()["CB-SDK"], identity);
}

// ---------------------------------- 1. common rules: expiry and status codes

// docs: server/auth.mdx ("session token is valid for 2 hours. Any API request prolongs the token validity for another 2 hours")
#[test]
fn expiry_every_answer_re_arms_two_hours_the_header_when_given() {
    let mut session = user_session();
    let header = [("CB-Token-ExpirationDate", "2026-11-24 12:45:00 UTC")];
    let (result, _) = drive(
        GetSession,
        &mut session,
        vec![answer(200, &header, r#"{"session":{"id":5,"user_id":81}}"#)],
    );
    result.unwrap();
    assert_eq!(
        session.expires_at(),
        Some(datetime!(2026-11-24 12:45:00 UTC))
    );
    // Without the header: from the moment the request went out.
    let (result, _) = drive(GetSession, &mut session, vec![answer(403, &[], "")]);
    assert!(result.is_err());
    assert_eq!(session.expires_at(), Some(T0 + Duration::hours(2)));
}

// docs: server/auth.mdx ("session with guest user valid for 1 day")
#[test]
fn expiry_a_guest_session_lives_one_day() {
    let mut session = Session::default();
    let (result, _) = drive(
        CreateSession::new(Credentials::guest(None)),
        &mut session,
        vec![answer(
            201,
            &[],
            r#"{"session":{"id":9,"user_id":900265,"token":"g1"}}"#,
        )],
    );
    result.unwrap();
    assert_eq!(session.status(T0), SessionStatus::Guest);
    assert_eq!(session.expires_at(), Some(T0 + Duration::days(1)));
}

// docs: server/index.md ("Available statuses": 200, 201, 202 are successes)
#[test]
fn status_every_2xx_is_a_success() {
    for status in [200, 201, 202, 204] {
        let mut session = user_session();
        let (result, _) = drive(
            DeleteBlob::new(7),
            &mut session,
            vec![answer(status, &[], "")],
        );
        assert!(result.is_ok(), "{status}");
    }
}

// ------------------------------------------ 1. the error table, row by row

// official JS SDK v6 (it reads an expired session only from this object form); docs: server/auth.mdx (tokens expire)
#[test]
fn error_401_required_session_does_not_exist_is_an_expired_session() {
    for body in both_forms("Required session does not exist") {
        let (error, session, sent) = read_refused(401, &[], &body);
        assert_eq!(
            reading(&error),
            Reading {
                session_expired: true,
                ..NOTHING
            },
            "{body}"
        );
        assert_eq!(session.status(T0), SessionStatus::Expired, "{body}");
        assert_eq!(session.token(), None, "{body}");
        assert_eq!(
            sent, 1,
            "an expired user session is not replaced without a restore callback"
        );
    }
}

// public service answer, sample-app issue threads (2020–2024; the contract names no year for this row)
#[test]
fn error_401_token_is_required_is_no_session_and_leaves_the_session_alone() {
    for body in both_forms("Token is required") {
        let (error, session, sent) = read_refused(401, &[], &body);
        assert_eq!(
            reading(&error),
            Reading {
                no_session: true,
                ..NOTHING
            },
            "{body}"
        );
        assert_eq!(sent, 1, "nothing to restore, nothing resent");
        // The server saw no token: it neither ended nor re-armed it.
        assert_eq!(session.status(T0), SessionStatus::User, "{body}");
        assert_eq!(session.token().map(Secret::expose), Some(TOKEN));
        assert_eq!(session.expires_at(), Some(T0 + Duration::hours(2)));
    }
}

// public service answer, sample-app issue threads (2020–2024; the contract names no year for this row)
#[test]
fn error_401_unauthorized_is_bad_credentials() {
    for body in both_forms("Unauthorized") {
        for error in [
            session_refused(Credentials::facebook("fb-token"), 401, &body),
            session_refused(Credentials::firebase_phone("p", "jwt"), 401, &body),
            sign_in_refused(Credentials::twitter("t", "s"), 401, &body),
        ] {
            assert_eq!(
                reading(&error),
                Reading {
                    bad_credentials: true,
                    ..NOTHING
                },
                "{body}"
            );
            assert_eq!(error.status(), Some(http::StatusCode::UNAUTHORIZED));
        }
    }
}

// public service answer, sample-app issue thread (2024)
#[test]
fn error_401_invalid_password_is_bad_credentials() {
    for body in both_forms("Invalid password") {
        for error in [
            session_refused(Credentials::login("john", "wrong-pass"), 401, &body),
            session_refused(
                Credentials::email("j@example.com", "wrong-pass"),
                401,
                &body,
            ),
            sign_in_refused(Credentials::login("john", "wrong-pass"), 401, &body),
        ] {
            assert_eq!(
                reading(&error),
                Reading {
                    bad_credentials: true,
                    ..NOTHING
                },
                "{body}"
            );
        }
    }
}

// public service answer, sample-app issue threads (2022–2023)
#[test]
fn error_404_user_not_found_at_sign_in_is_not_found() {
    for body in both_forms("User not found") {
        for error in [
            session_refused(Credentials::login("nobody", "s3cret-pass"), 404, &body),
            sign_in_refused(
                Credentials::email("no@example.com", "s3cret-pass"),
                404,
                &body,
            ),
        ] {
            assert_eq!(
                reading(&error),
                Reading {
                    not_found: true,
                    ..NOTHING
                },
                "{body}"
            );
            assert_eq!(error.api().unwrap().messages.base, ["User not found"]);
        }
    }
}

// public service answer, sample-app issue threads (2020–2024; the contract names no year for this row)
#[test]
fn error_422_unexpected_signature_is_a_validation_error() {
    for body in both_forms("Unexpected signature") {
        let error = session_refused(Credentials::login("john", "11111111"), 422, &body);
        assert_eq!(
            reading(&error),
            Reading {
                validation: true,
                ..NOTHING
            },
            "{body}"
        );
    }
}

// public service answer, sample-app issue thread (2023)
#[test]
fn error_422_invalid_timestamp_is_a_validation_error_on_timestamp() {
    let [field, array] = field_and_array("timestamp", "invalid timestamp");
    for body in [&field, &array] {
        let error = session_refused(Credentials::login("john", "11111111"), 422, body);
        assert_eq!(
            reading(&error),
            Reading {
                validation: true,
                ..NOTHING
            },
            "{body}"
        );
    }
    let error = session_refused(Credentials::login("john", "11111111"), 422, &field);
    assert_eq!(error.field_errors(), [("timestamp", "invalid timestamp")]);
}

// public service answer, sample-app issue threads (2020–2024; the contract names no year for this row)
#[test]
fn error_422_bad_authentication_data_from_the_identity_provider_is_refused_credentials() {
    let message = "Bad Authentication data. Unauthorized on remote side. Status: 401.";
    for body in both_forms(message) {
        for error in [
            session_refused(Credentials::custom_idp("ext-token"), 422, &body),
            sign_in_refused(Credentials::custom_idp("ext-token"), 422, &body),
        ] {
            assert_eq!(
                reading(&error),
                Reading {
                    validation: true,
                    bad_credentials: true,
                    ..NOTHING
                },
                "{body}"
            );
            assert_eq!(error.api().unwrap().messages.base, [message]);
        }
    }
}

// public service answer, sample-app issue threads (2020–2024; the contract names no year for this row)
#[test]
fn error_422_custom_identity_provider_uid_is_required_is_a_validation_error() {
    for body in both_forms("Custom Identity Provider uid is required") {
        let error = session_refused(Credentials::custom_idp("ext-token"), 422, &body);
        assert_eq!(
            reading(&error),
            Reading {
                validation: true,
                ..NOTHING
            },
            "{body}"
        );
    }
}

// public service answer, sample-app issue threads (2020–2024: a blank password is refused)
#[test]
fn error_422_password_cannot_be_blank_is_a_validation_error_on_password() {
    let [field, array] = field_and_array("password", "cannot be blank");
    for body in [&field, &array] {
        let error = sign_in_refused(Credentials::login("john", "11111111"), 422, body);
        assert_eq!(
            reading(&error),
            Reading {
                validation: true,
                ..NOTHING
            },
            "{body}"
        );
    }
    let error = session_refused(Credentials::login("john", "11111111"), 422, &field);
    assert_eq!(error.field_errors(), [("password", "cannot be blank")]);
    // The SDK never sends a blank password itself.
    let blank = CreateSession::new(Credentials::login("john", " "));
    let ctx = RequestContext {
        config: &config(),
        token: None,
        now: T0,
        nonce: 1,
    };
    assert!(matches!(blank.build(&ctx), Err(Error::InvalidInput(e)) if e.field == "password"));
}

// contract §1 table (no document or thread named for this row)
#[test]
fn error_403_forbidden_need_user_is_none_of_the_helpers() {
    for body in both_forms("Forbidden. Need user.") {
        let (error, session, _) = read_refused(403, &[], &body);
        assert_eq!(reading(&error), NOTHING, "{body}");
        assert_eq!(error.status(), Some(http::StatusCode::FORBIDDEN));
        // The token was used: the session lives on.
        assert_eq!(session.status(T0), SessionStatus::User);
    }
}

// our choice (the contract's [choice] message for any missing resource); docs: server/users.md ("system will return 404 error")
#[test]
fn error_404_entity_not_found_is_not_found_and_a_look_up_finds_nobody() {
    for body in both_forms("Entity you are looking for was not found") {
        let (error, _, _) = read_refused(404, &[], &body);
        assert_eq!(
            reading(&error),
            Reading {
                not_found: true,
                ..NOTHING
            },
            "{body}"
        );
        let mut session = user_session();
        let (result, _) = drive(
            GetUserV1::by_login("nobody"),
            &mut session,
            vec![answer(404, &[], &body)],
        );
        assert_eq!(result.found().unwrap(), None);
    }
}

// docs: server/index.md (429 Too Many Requests); our choice (the message text; Retry-After in seconds)
#[test]
fn error_429_is_rate_limited_with_the_wait_it_gave() {
    for body in both_forms("Too Many Requests") {
        let (error, session, sent) = read_refused(429, &[("Retry-After", "30")], &body);
        assert_eq!(
            reading(&error),
            Reading {
                rate_limited: true,
                ..NOTHING
            },
            "{body}"
        );
        assert_eq!(error.retry_after(), Some(Wait::from_secs(30)));
        assert_eq!(
            sent, 1,
            "a wait longer than the policy's cap is not waited for"
        );
        assert_eq!(session.status(T0), SessionStatus::User);
    }
}

// docs: server/index.md (429 Too Many Requests); our choice (the message text)
#[test]
fn error_429_without_retry_after_is_rate_limited_with_no_wait() {
    for body in both_forms("Too Many Requests") {
        let (error, _, sent) = read_refused(429, &[], &body);
        assert_eq!(
            reading(&error),
            Reading {
                rate_limited: true,
                ..NOTHING
            },
            "{body}"
        );
        assert_eq!(error.retry_after(), None);
        assert_eq!(
            sent, 3,
            "a read is tried three times before the 429 is the answer"
        );
    }
    // At session creation too, after the waits the server asked for.
    let mut session = Session::default();
    let (result, sent) = drive(
        CreateSession::application(),
        &mut session,
        (0..3)
            .map(|_| answer(429, &[("Retry-After", "5")], ""))
            .collect(),
    );
    assert_eq!(sent, 3);
    let error = result.unwrap_err();
    assert!(error.is_rate_limited());
    assert_eq!(error.retry_after(), Some(Wait::from_secs(5)));
}

// ------------------------------------------------ 2. POST /session, per kind

// official JS SDK v6 (the unsigned form: application_id and auth_key only)
#[test]
fn session_application_unsigned() {
    assert_eq!(session_body(Credentials::Application), with_app(json!({})));
}

// docs: server/auth.mdx ("Create session token": user[login], user[password])
#[test]
fn session_login_and_password() {
    assert_eq!(
        session_body(Credentials::login("john", "11111111")),
        with_app(json!({"user": {"login": "john", "password": "11111111"}}))
    );
}

// docs: server/auth.mdx ("Create session token": user[email], user[password])
#[test]
fn session_email_and_password() {
    assert_eq!(
        session_body(Credentials::email("johnsmith@domain.com", "11111111")),
        with_app(json!({"user": {"email": "johnsmith@domain.com", "password": "11111111"}}))
    );
}

// docs: server/auth.mdx ("Create session with Guest User": user[guest], user[full_name])
#[test]
fn session_guest() {
    assert_eq!(
        session_body(Credentials::guest(Some("Olof Shodger".into()))),
        with_app(json!({"user": {"guest": 1, "full_name": "Olof Shodger"}}))
    );
    assert_eq!(
        session_body(Credentials::guest(None)),
        with_app(json!({"user": {"guest": 1}}))
    );
}

// docs: server/auth.mdx (provider facebook, keys[token])
#[test]
fn session_facebook() {
    assert_eq!(
        session_body(Credentials::facebook("EAAB")),
        with_app(json!({"provider": "facebook", "keys": {"token": "EAAB"}}))
    );
}

// docs: server/auth.mdx (provider twitter, keys[token], keys[secret])
#[test]
fn session_twitter() {
    assert_eq!(
        session_body(Credentials::twitter("tok", "sec")),
        with_app(json!({"provider": "twitter", "keys": {"token": "tok", "secret": "sec"}}))
    );
}

// docs: server/auth.mdx (provider firebase_phone, firebase_phone[project_id], firebase_phone[access_token])
#[test]
fn session_firebase_phone() {
    assert_eq!(
        session_body(Credentials::firebase_phone("proj-1", "eyJ.phone")),
        with_app(json!({"provider": "firebase_phone",
            "firebase_phone": {"project_id": "proj-1", "access_token": "eyJ.phone"}}))
    );
}

// docs: server/auth.mdx (provider firebase_email, firebase_email[project_id], firebase_email[access_token])
#[test]
fn session_firebase_email() {
    assert_eq!(
        session_body(Credentials::firebase_email("proj-1", "eyJ.email")),
        with_app(json!({"provider": "firebase_email",
            "firebase_email": {"project_id": "proj-1", "access_token": "eyJ.email"}}))
    );
}

// docs: guides/custom-identity-provider.md (login = the token, password = "any random value to pass the validation"); our choice (a fixed value within the 8–40 password rule)
#[test]
fn session_custom_identity_provider_password_passes_the_password_rule() {
    assert_eq!(
        session_body(Credentials::custom_idp("external-token-77")),
        with_app(
            json!({"user": {"login": "external-token-77", "password": "custom-identity-provider"}})
        )
    );
    let chars = CUSTOM_IDP_PASSWORD.chars().count();
    assert!(
        (PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&chars),
        "{chars} characters"
    );
}

// contract §2 "Signed form" (its test vector, auth secret EmulatorSecret42)
#[test]
fn session_signed_form_matches_the_contract_vector() {
    let op = CreateSession::new(Credentials::login("john", "11111111"));
    let ctx = RequestContext {
        config: &signed_config(),
        token: None,
        now: OffsetDateTime::from_unix_timestamp(1_544_010_993).unwrap(),
        nonce: 4_214_611_091,
    };
    let body = sent_by(&op.build(&ctx).unwrap()).body;
    assert_eq!(
        body,
        json!({"application_id": 1, "auth_key": AUTH_KEY, "nonce": 4_214_611_091u32,
            "timestamp": 1_544_010_993, "user": {"login": "john", "password": "11111111"},
            "signature": "58c8402415442692cd3a91fe45d7cf2b97bed9ee"})
    );
}

// docs: server/auth.mdx (the response); contract §2 (user_id 0 or null is an application session)
#[test]
fn session_answer_user_id_zero_or_null_is_an_application_session() {
    for user_id in ["0", "null"] {
        let mut session = Session::default();
        let body = format!(
            r#"{{"session":{{"id":1,"user_id":{user_id},"application_id":1,"token":"a1"}}}}"#
        );
        let (result, _) = drive(
            CreateSession::application(),
            &mut session,
            vec![answer(201, &[], &body)],
        );
        assert_eq!(result.unwrap().user_id, None);
        assert_eq!(session.status(T0), SessionStatus::Application);
    }
}

// -------------------------------------------------- 3. POST /login, per kind

// docs: guides/custom-identity-provider.md (POST /login with login and password)
#[test]
fn login_login_and_password() {
    assert_eq!(
        login_body(Credentials::login("john", "11111111")),
        json!({"login": "john", "password": "11111111"})
    );
}

// contract §3 (the session body forms at the top level, as the official JS SDK v6 sends them)
#[test]
fn login_email_and_password() {
    assert_eq!(
        login_body(Credentials::email("j@example.com", "11111111")),
        json!({"email": "j@example.com", "password": "11111111"})
    );
}

// contract §3 (official JS SDK v6)
#[test]
fn login_facebook() {
    assert_eq!(
        login_body(Credentials::facebook("EAAB")),
        json!({"provider": "facebook", "keys": {"token": "EAAB"}})
    );
}

// contract §3 (official JS SDK v6)
#[test]
fn login_twitter() {
    assert_eq!(
        login_body(Credentials::twitter("tok", "sec")),
        json!({"provider": "twitter", "keys": {"token": "tok", "secret": "sec"}})
    );
}

// contract §3 (official JS SDK v6)
#[test]
fn login_firebase_phone() {
    assert_eq!(
        login_body(Credentials::firebase_phone("p", "jwt1")),
        json!({"provider": "firebase_phone", "firebase_phone": {"project_id": "p", "access_token": "jwt1"}})
    );
}

// contract §3 (official JS SDK v6)
#[test]
fn login_firebase_email() {
    assert_eq!(
        login_body(Credentials::firebase_email("p", "jwt2")),
        json!({"provider": "firebase_email", "firebase_email": {"project_id": "p", "access_token": "jwt2"}})
    );
}

// docs: guides/custom-identity-provider.md ("password=<any-random-value-to-pass-the-validation>"); our choice (the value)
#[test]
fn login_custom_identity_provider() {
    assert_eq!(
        login_body(Credentials::custom_idp("ext")),
        json!({"login": "ext", "password": CUSTOM_IDP_PASSWORD})
    );
}

// contract §3 (every kind except application and guest)
#[test]
fn login_application_and_guest_are_refused_before_sending() {
    for credentials in [Credentials::Application, Credentials::guest(None)] {
        let ctx = RequestContext {
            config: &config(),
            token: Some(&Secret::new(TOKEN)),
            now: T0,
            nonce: 0,
        };
        assert!(matches!(
            SignIn::new(credentials).build(&ctx),
            Err(Error::InvalidInput(_))
        ));
    }
}

// contract §3 (a server wraps the user; older servers sent it bare)
#[test]
fn login_answer_wrapped_or_bare() {
    let op = SignIn::new(Credentials::login("john", "11111111"));
    for body in [r#"{"user": {"id": 81}}"#, r#"{"id": 81}"#] {
        assert_eq!(op.parse(&answer(200, &[], body)).unwrap().id, 81);
    }
}

// ------------------------------------------------ 3. the other session calls

// docs: server/auth.mdx ("Get information about session")
#[test]
fn session_info() {
    assert_eq!(sent(&GetSession), plain_call("GET", "/session"));
}

// docs: server/auth.mdx ("Destroy session")
#[test]
fn session_destroy() {
    assert_eq!(sent(&DestroySession), plain_call("DELETE", "/session"));
}

// contract §3 (sign out: back to an application session; official JS SDK v6)
#[test]
fn session_sign_out() {
    assert_eq!(sent(&SignOut), plain_call("DELETE", "/login"));
}

// contract §3 (another session of the same user; official JS SDK v6)
#[test]
fn session_destroy_another() {
    assert_eq!(
        sent(&DestroySessionById::new(111)),
        plain_call("DELETE", "/session/111")
    );
}

// contract §3 (every session of the user but this one; official JS SDK v6)
#[test]
fn session_destroy_all_others() {
    assert_eq!(
        sent(&DestroyOtherSessions),
        plain_call("DELETE", "/session/list")
    );
}

// ------------------------------------------------------- 5. the user object

// docs: server/users.md (external_user_id is a number: 52691165 in every example that sets it)
#[test]
fn user_external_user_id_is_read_from_a_number_or_a_digit_string() {
    for value in ["52691165", "\"52691165\""] {
        let user: User =
            serde_json::from_str(&format!(r#"{{"id": 51941, "external_user_id": {value}}}"#))
                .unwrap();
        assert_eq!(user.external_user_id, Some(52_691_165), "{value}");
    }
}

// docs: server/users.md (user_tags "vip,accountant"; fields may be null); contract §5 (unknown fields ignored)
#[test]
fn user_tags_are_comma_separated_and_unknown_fields_ignored() {
    let user: User = serde_json::from_str(
        r#"{"id": 51946, "user_tags": "vip,accountant", "website": null, "_id": "6412fe76", "is_guest": true}"#,
    )
    .unwrap();
    assert_eq!(user.user_tags, ["vip", "accountant"]);
    assert_eq!((user.website, user.is_guest), (None, Some(true)));
}

// --------------------------------------------------------- 6. the users API

// docs: server/users.md ("User Sign Up": user[login], user[password], … user[external_user_id], user[tag_list])
#[test]
fn users_sign_up_sends_external_user_id_as_an_integer() {
    let op = SignUp::new(
        NewUser::with_login("Dacia", "petU4or!x")
            .external_user_id(52_691_165)
            .tags(["vip", "accountant"]),
    );
    assert_eq!(
        sent(&op),
        json_call(
            "POST",
            "/users",
            json!({"user": {"login": "Dacia", "password": "petU4or!x",
            "external_user_id": 52_691_165, "tag_list": "vip,accountant"}})
        )
    );
}

// docs: server/users.md ("Update User by identifier": user[external_user_id], user[old_password])
#[test]
fn users_update_sends_external_user_id_as_an_integer() {
    let op = UpdateUser::new(
        51943,
        UserUpdate::new()
            .external_user_id(7)
            .password("n3w-passw0rd")
            .old_password("petU4or!x"),
    );
    assert_eq!(
        sent(&op),
        json_call(
            "PUT",
            "/users/51943",
            json!({"user": {"external_user_id": 7,
            "password": "n3w-passw0rd", "old_password": "petU4or!x"}})
        )
    );
}

// docs: server/users.md ("Delete User by identifier")
#[test]
fn users_delete_self() {
    assert_eq!(
        sent(&DeleteUser::new(51959)),
        plain_call("DELETE", "/users/51959")
    );
}

// docs: server/users.md ("Delete User by external user ID")
#[test]
fn users_delete_self_by_external_id() {
    let op = DeleteUserByExternalId::new("52691165").unwrap();
    assert_eq!(sent(&op), plain_call("DELETE", "/users/external/52691165"));
}

// docs: server/users.md ("Reset User password by email": GET with email)
#[test]
fn users_password_reset() {
    let op = ResetPassword::new("dacia_k@domain.com").unwrap();
    assert_eq!(
        sent(&op),
        plain_call("GET", "/users/password/reset?email=dacia_k%40domain.com")
    );
}

// docs: server/users.md (the deprecated look-ups by id, login, e-mail, Facebook id, Twitter id, external id)
#[test]
fn users_get_by_the_dedicated_endpoints() {
    for (op, target) in [
        (GetUserV1::by_id(51946), "/users/51946"),
        (GetUserV1::by_login("Dacia"), "/users/by_login?login=Dacia"),
        (
            GetUserV1::by_email("dacia_k@domain.com"),
            "/users/by_email?email=dacia_k%40domain.com",
        ),
        (
            GetUserV1::by_facebook_id("95610574"),
            "/users/by_facebook_id?facebook_id=95610574",
        ),
        (
            GetUserV1::by_twitter_id("83510562734"),
            "/users/by_twitter_id?twitter_id=83510562734",
        ),
        (
            GetUserV1::by_external_id("52691165"),
            "/users/external/52691165",
        ),
    ] {
        assert_eq!(sent(&op), plain_call("GET", target));
    }
}

// docs: server/users.md ("Retrieve Users by full name", "Retrieve Users by tags": paged)
#[test]
fn users_paged_by_full_name_and_by_tags() {
    let op = FindUsersV1::by_full_name("Gabrielle Corcoran")
        .unwrap()
        .per_page(7);
    assert_eq!(
        sent(&op),
        plain_call(
            "GET",
            "/users/by_full_name?full_name=Gabrielle%20Corcoran&per_page=7"
        )
    );
    let op = FindUsersV1::by_tags(["vip", "accountant"]).unwrap().page(2);
    assert_eq!(
        sent(&op),
        plain_call("GET", "/users/by_tags?tags=vip%2Caccountant&page=2")
    );
}

// docs: server/users.md ("Retrieve Users V1": operators gt lt ge le eq ne between in)
#[test]
fn users_v1_list_filter_operators_are_the_eight_documented() {
    let filters = [
        (V1Operator::Gt, vec!["51496"], "number id gt 51496"),
        (V1Operator::Lt, vec!["51946"], "number id lt 51946"),
        (V1Operator::Ge, vec!["51946"], "number id ge 51946"),
        (V1Operator::Le, vec!["51946"], "number id le 51946"),
        (V1Operator::Eq, vec!["51946"], "number id eq 51946"),
        (V1Operator::Ne, vec!["51946"], "number id ne 51946"),
        (
            V1Operator::Between,
            vec!["51941", "51959"],
            "number id between 51941,51959",
        ),
        (
            V1Operator::In,
            vec!["51943", "51946"],
            "number id in 51943,51946",
        ),
    ];
    for (op, values, text) in filters {
        let list = ListUsers::new().filter(V1Filter::new(V1Type::Number, "id", op, values));
        let want = format!(
            "/users?filter[]={}",
            text.replace(' ', "%20").replace(',', "%2C")
        );
        assert_eq!(sent(&list), plain_call("GET", &want), "{op:?}");
    }
    // The v2 spellings are not v1 operators; nothing can send them.
    for v2 in ["gte", "lte", "nin"] {
        assert_eq!(V1Operator::from_name(v2), None, "{v2}");
    }
}

// docs: server/users.md ("Retrieve Users V1": order=asc+{data_type}+{field}, page, per_page)
#[test]
fn users_v1_list_order_and_pages() {
    let op = ListUsers::new()
        .filter(V1Filter::new(
            V1Type::Date,
            "created_at",
            V1Operator::Ge,
            ["2018-12-06"],
        ))
        .order(Direction::Ascending, V1Type::String, "login")
        .page(2)
        .per_page(7);
    assert_eq!(
        sent(&op).target,
        "/users?filter[]=date%20created_at%20ge%202018-12-06&order=asc%20string%20login&page=2&per_page=7"
    );
}

// docs: server/users.md (v1 off unless "DISABLE LIST USERS API V1" is unticked); our choice (the 403's text)
#[test]
fn users_v1_list_disabled_is_a_plain_403() {
    for body in both_forms("Forbidden. List users API v1 is disabled") {
        let mut session = user_session();
        let (result, _) = drive(
            ListUsers::new(),
            &mut session,
            vec![answer(403, &[], &body)],
        );
        let error = result.unwrap_err();
        assert_eq!(reading(&error), NOTHING, "{body}");
        assert_eq!(error.status(), Some(http::StatusCode::FORBIDDEN));
        assert_eq!(session.status(T0), SessionStatus::User);
    }
}

// docs: server/users.md ("phone=6754987345566&last_request_at=2020-11-09T08:21:41Z - valid")
#[test]
fn users_v2_a_date_eq_beside_a_stand_alone_primary_is_sent() {
    let op = UserSearch::new()
        .eq(Field::Phone, "6754987345566")
        .eq(Field::LastRequestAt, datetime!(2020-11-09 08:21:41 UTC))
        .build()
        .unwrap();
    assert_eq!(
        sent(&op),
        plain_call(
            "GET",
            "/users/v2?phone=6754987345566&last_request_at=1604910101"
        )
    );
}

// docs: server/users.md ("last_request_at=2017-07-06T11:21:41Z - invalid (additional with primary operator)")
#[test]
fn users_v2_a_date_eq_alone_is_refused_before_sending() {
    for date in [Field::LastRequestAt, Field::CreatedAt, Field::UpdatedAt] {
        let refused = UserSearch::new()
            .eq(date, datetime!(2017-07-06 11:21:41 UTC))
            .build();
        assert_eq!(
            refused.unwrap_err().rule,
            Rule::StandAlonePrimaryRequired,
            "{date}"
        );
    }
}

// docs: server/users.md ("created_at[gte]=… - invalid"; "login[nin][]=admin19 - invalid"; "user_tags[nin][]=guest - invalid")
#[test]
fn users_v2_a_stand_alone_primary_is_required() {
    for search in [
        UserSearch::new().gte(Field::CreatedAt, datetime!(2019-11-06 09:21:41 UTC)),
        UserSearch::new().none_of(Field::Login, ["admin19"]),
        UserSearch::new().none_of(Field::UserTags, ["guest"]),
    ] {
        assert_eq!(
            search.build().unwrap_err().rule,
            Rule::StandAlonePrimaryRequired
        );
    }
}

// docs: server/users.md ("stand-alone field can't be used with compare operators")
#[test]
fn users_v2_no_compare_on_a_stand_alone_field() {
    let refused = UserSearch::new()
        .eq(Field::Login, "smith1")
        .gt(Field::Id, 5u64)
        .build();
    assert_eq!(refused.unwrap_err().rule, Rule::NoCompareOnStandAlone);
}

// docs: server/users.md (start_with: minimum 4 characters, limit set to 5)
#[test]
fn users_v2_start_with_needs_four_characters_and_asks_for_five() {
    let refused = UserSearch::new().start_with(Field::Login, "vip").build();
    assert_eq!(refused.unwrap_err().rule, Rule::StartWithTooShort);
    let op = UserSearch::new()
        .start_with(Field::FullName, "hunter")
        .none_of(Field::Id, [68_647u64])
        .build()
        .unwrap();
    assert_eq!(
        sent(&op).target,
        "/users/v2?full_name[start_with]=hunter&id[nin][]=68647&limit=5"
    );
}

// docs: server/users.md (the v2 example: id[in][], last_request_at[gt], sort_desc, limit)
#[test]
fn users_v2_lists_compares_sort_and_page() {
    let op = UserSearch::new()
        .any_of(Field::Id, [52_671u64, 51_943])
        .gt(Field::LastRequestAt, datetime!(2018-12-06 09:21:41 UTC))
        .sort_desc(Field::Id)
        .offset(50)
        .limit(10)
        .build()
        .unwrap();
    assert_eq!(
        sent(&op).target,
        "/users/v2?id[in][]=52671&id[in][]=51943&last_request_at[gt]=1544088101&sort_desc=id&offset=50&limit=10"
    );
}

// contract §6 (the SDK's look-ups map onto v2; a look-up that finds nobody is None)
#[test]
fn users_v2_single_look_ups_and_nobody() {
    for (op, target) in [
        (GetUser::by_id(51946), "/users/v2?id=51946&limit=1"),
        (GetUser::by_login("Dacia"), "/users/v2?login=Dacia&limit=1"),
        (
            GetUser::by_external_id("ext 1"),
            "/users/v2?external_id=ext%201&limit=1",
        ),
    ] {
        assert_eq!(sent(&op), plain_call("GET", target));
        let nobody = answer(
            200,
            &[],
            r#"{"skip":0,"limit":1,"total_entries":0,"items":[]}"#,
        );
        assert_eq!(op.parse(&nobody).unwrap(), None);
    }
}

// ------------------------------------------------------------- 7. storage

fn created_blob() -> Blob {
    serde_json::from_str(
        r#"{"id": 46919, "uid": "763ef825ad8748239ed07def2c14555100", "content_type": "image/jpeg",
            "name": "cat.jpeg", "size": null, "public": false,
            "blob_object_access": {"id": 46919, "blob_id": 46919, "object_access_type": "Write",
              "params": "https://s3.example/cb?Content-Type=image%2Fjpeg&Expires=Mon%2C%2010%20Dec%202018&acl=public-read&key=763ef825ad8748239ed07def2c14555100&policy=eyJ%3D%3D&success_action_status=201"}}"#,
    )
    .unwrap()
}

// docs: server/storage.md ("Create a file": blob[content_type], blob[name], blob[public])
#[test]
fn storage_create_a_file() {
    let op = CreateBlob::new("image/jpeg", "cat.jpeg").unwrap();
    assert_eq!(op.access(), Access::Write);
    assert_eq!(
        sent(&op),
        json_call(
            "POST",
            "/blobs",
            json!({"blob": {"content_type": "image/jpeg", "name": "cat.jpeg", "public": false}})
        )
    );
}

// docs: server/storage.md ("Upload a file": the parameters of blob_object_access as form fields, then file)
#[test]
fn storage_upload_form_fields_from_the_upload_url_then_the_file() {
    let upload = Upload::for_blob(&created_blob(), b"JPEG".to_vec()).unwrap();
    let fields: Vec<(&str, &str)> = upload
        .fields()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("Content-Type", "image/jpeg"),
            ("Expires", "Mon, 10 Dec 2018"),
            ("acl", "public-read"),
            ("key", "763ef825ad8748239ed07def2c14555100"),
            ("policy", "eyJ=="),
            ("success_action_status", "201"),
        ]
    );
    let req = upload.boundary("b0und").into_request().unwrap();
    assert_eq!(
        (req.method().as_str(), req.uri().to_string().as_str()),
        ("POST", "https://s3.example/cb")
    );
    assert!(req.headers().get("CB-Token").is_none());
    let body = String::from_utf8(req.into_body()).unwrap();
    assert!(body.ends_with("JPEG\r\n--b0und--\r\n"), "{body}");
    assert!(
        body.contains("name=\"file\"; filename=\"cat.jpeg\""),
        "{body}"
    );
}

// docs: server/storage.md ("Declare file uploaded": blob[size])
#[test]
fn storage_declare_uploaded() {
    assert_eq!(
        sent(&CompleteBlob::new(111, 347)),
        json_call("PUT", "/blobs/111/complete", json!({"blob": {"size": 347}}))
    );
}

// docs: server/storage.md ("Get information about file by ID")
#[test]
fn storage_info() {
    assert_eq!(sent(&GetBlob::new(8049)), plain_call("GET", "/blobs/8049"));
}

// docs: server/storage.md ("Delete a file")
#[test]
fn storage_delete() {
    assert_eq!(
        sent(&DeleteBlob::new(111)),
        plain_call("DELETE", "/blobs/111")
    );
}

// docs: server/storage.md ("Download file by UID": 301 to the file; public files need no token)
#[test]
fn storage_download_and_file_urls() {
    let op = DownloadBlob::new("9ad79a5b8bb1430fbc4bbf7be6215cb744").unwrap();
    assert_eq!(
        sent(&op),
        plain_call("GET", "/blobs/9ad79a5b8bb1430fbc4bbf7be6215cb744/download")
    );
    let uid = "9ad79a5b8bb1430fbc4bbf7be6215cb700";
    assert_eq!(
        blob_private_url(&config(), uid, &Secret::new(TOKEN)).unwrap(),
        format!("{BASE}/blobs/{uid}?token={TOKEN}")
    );
    assert_eq!(
        blob_public_url(&config(), uid).unwrap(),
        format!("{BASE}/blobs/{uid}")
    );
}
