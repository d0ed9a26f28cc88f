//! Error answers of every users endpoint, driven through `Call`: 401, 403,
//! 404 and 422 bodies become `Error::Api` with their messages and field
//! names kept.

use cube_proto::call::{Call, Step};
use cube_proto::error::NEED_USER;
use cube_proto::ops::{
    DeleteUser, DeleteUserByExternalId, FindUsersV1, Found, GetUser, GetUserV1, ListUsers, NewUser,
    Operation, ResetPassword, SearchUsers, SignUp, Transition, UpdateUser, UserUpdate,
};
use cube_proto::{Config, Error, Secret, Session, SessionKind, SessionStatus};
use http::StatusCode;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-11-24 10:00:00 UTC);

fn config() -> Config {
    Config::builder(1, "key")
        .base_url("http://cube.test")
        .build()
        .unwrap()
}

fn user_session() -> Session {
    let mut session = Session::default();
    session.apply(
        Transition::Established {
            token: Secret::new("tok-81"),
            kind: SessionKind::User,
            session_id: 5,
            user_id: Some(81),
        },
        T0,
        Some(T0 + Duration::hours(2)),
    );
    session
}

/// Sends `op` once through a `Call` on a live user session and answers it
/// with `status` and `body`; returns how the call ended and the session.
fn run<O: Operation>(op: O, status: u16, body: &str) -> (Result<O::Output, Error>, Session) {
    let mut session = user_session();
    let mut call = Call::new(config(), op);
    let Step::Send(request) = call.poll(&mut session, T0, 1) else {
        panic!("expected a request");
    };
    assert_eq!(request.headers()["CB-Token"], "tok-81");
    let response = http::Response::builder()
        .status(status)
        .body(body.as_bytes().to_vec())
        .unwrap();
    call.handle_response(&mut session, response).unwrap();
    match call.poll(&mut session, T0, 2) {
        Step::Done(result) => (result, session),
        _ => panic!("expected the call to end, got another step"),
    }
}

/// Every users operation, as a closure that runs it with an answer.
type Runner = Box<dyn Fn(u16, &str) -> (Result<(), Error>, Session)>;

fn every_operation() -> Vec<(&'static str, Runner)> {
    fn erase<T>(r: (Result<T, Error>, Session)) -> (Result<(), Error>, Session) {
        (r.0.map(|_| ()), r.1)
    }
    vec![
        (
            "sign up",
            Box::new(|s, b| {
                erase(run(
                    SignUp::new(NewUser::with_login("ann", "s3cret-pass")),
                    s,
                    b,
                ))
            }),
        ),
        (
            "update self",
            Box::new(|s, b| {
                erase(run(
                    UpdateUser::new(81, UserUpdate::new().full_name("Ann")),
                    s,
                    b,
                ))
            }),
        ),
        (
            "delete self",
            Box::new(|s, b| erase(run(DeleteUser::new(81), s, b))),
        ),
        (
            "delete by external id",
            Box::new(|s, b| erase(run(DeleteUserByExternalId::new("e1").unwrap(), s, b))),
        ),
        (
            "password reset",
            Box::new(|s, b| erase(run(ResetPassword::new("a@b.c").unwrap(), s, b))),
        ),
        (
            "get by id",
            Box::new(|s, b| erase(run(GetUser::by_id(1), s, b))),
        ),
        (
            "get by login",
            Box::new(|s, b| erase(run(GetUser::by_login("ann"), s, b))),
        ),
        (
            "get by email",
            Box::new(|s, b| erase(run(GetUser::by_email("a@b.c"), s, b))),
        ),
        (
            "get by external id",
            Box::new(|s, b| erase(run(GetUser::by_external_id("e1"), s, b))),
        ),
        (
            "get by facebook id",
            Box::new(|s, b| erase(run(GetUser::by_facebook_id("f1"), s, b))),
        ),
        (
            "get by twitter id",
            Box::new(|s, b| erase(run(GetUser::by_twitter_id("t1"), s, b))),
        ),
        (
            "get by ids",
            Box::new(|s, b| erase(run(SearchUsers::by_ids([1, 2]).unwrap(), s, b))),
        ),
        (
            "get by full name",
            Box::new(|s, b| erase(run(SearchUsers::by_full_name("Ann").unwrap(), s, b))),
        ),
        (
            "get by phone",
            Box::new(|s, b| erase(run(SearchUsers::by_phone("+1").unwrap(), s, b))),
        ),
        (
            "get by tags",
            Box::new(|s, b| erase(run(SearchUsers::by_tags(["vip"]).unwrap(), s, b))),
        ),
        (
            "list v1",
            Box::new(|s, b| erase(run(ListUsers::new(), s, b))),
        ),
        (
            "v1 get by id",
            Box::new(|s, b| erase(run(GetUserV1::by_id(1), s, b))),
        ),
        (
            "v1 get by login",
            Box::new(|s, b| erase(run(GetUserV1::by_login("ann"), s, b))),
        ),
        (
            "v1 get by email",
            Box::new(|s, b| erase(run(GetUserV1::by_email("a@b.c"), s, b))),
        ),
        (
            "v1 get by facebook id",
            Box::new(|s, b| erase(run(GetUserV1::by_facebook_id("f1"), s, b))),
        ),
        (
            "v1 get by twitter id",
            Box::new(|s, b| erase(run(GetUserV1::by_twitter_id("t1"), s, b))),
        ),
        (
            "v1 get by external id",
            Box::new(|s, b| erase(run(GetUserV1::by_external_id("e1"), s, b))),
        ),
        (
            "v1 by full name",
            Box::new(|s, b| erase(run(FindUsersV1::by_full_name("Ann").unwrap(), s, b))),
        ),
        (
            "v1 by tags",
            Box::new(|s, b| erase(run(FindUsersV1::by_tags(["vip"]).unwrap(), s, b))),
        ),
    ]
}

fn api_error(name: &str, result: Result<(), Error>) -> cube_proto::error::ApiError {
    match result {
        Err(Error::Api(e)) => e,
        other => panic!("{name}: expected Error::Api, got {other:?}"),
    }
}

#[test]
fn unauthorized_forbidden_and_not_found_keep_their_messages() {
    let cases = [
        (
            401,
            r#"{"errors": {"base": ["Unauthorized"]}}"#,
            "Unauthorized",
        ),
        (
            403,
            r#"{"errors": {"base": ["Forbidden. Need user."]}}"#,
            NEED_USER,
        ),
        (
            404,
            r#"{"errors": {"base": ["Entity you are looking for was not found"]}}"#,
            "Entity you are looking for was not found",
        ),
        (
            404,
            r#"{"errors": ["Entity you are looking for was not found"]}"#,
            "Entity you are looking for was not found",
        ),
    ];
    for (name, run) in every_operation() {
        for (status, body, message) in cases {
            let (result, session) = run(status, body);
            let err = api_error(name, result);
            assert_eq!(err.status.as_u16(), status, "{name}");
            assert_eq!(err.messages.base, [message], "{name}");
            assert!(!err.is_session_missing());
            // None of these touch the session.
            assert_eq!(session.status(T0), SessionStatus::User, "{name}");
            if status == 404 {
                assert!(Error::Api(err).is_not_found());
            }
        }
    }
}

#[test]
fn validation_errors_keep_every_field_name() {
    let body = r#"{"errors": {"login": ["has already been taken", "is too short (minimum is 3 characters)"],
        "password": ["is too short"], "old_password": ["is invalid"], "base": ["Validation failed"]}}"#;
    for (name, run) in every_operation() {
        let (result, _) = run(422, body);
        let err = api_error(name, result);
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err.messages.base, ["Validation failed"], "{name}");
        let fields: Vec<&str> = err.messages.fields.keys().map(String::as_str).collect();
        assert_eq!(fields, ["login", "old_password", "password"], "{name}");
        assert_eq!(
            err.messages.fields["login"],
            [
                "has already been taken",
                "is too short (minimum is 3 characters)"
            ]
        );
        assert!(err.to_string().contains("password is too short"), "{name}");
    }
}

#[test]
fn bodies_that_are_not_json_still_give_the_status() {
    for (name, run) in every_operation() {
        for body in ["", "<html>502</html>", "Not Found"] {
            let err = api_error(name, run(404, body).0);
            assert_eq!(err.status, StatusCode::NOT_FOUND);
            assert!(err.messages.is_empty());
        }
    }
}

#[test]
fn a_lost_session_on_a_users_call_is_retried_once_then_reported() {
    let missing = r#"{"errors": {"base": ["Required session does not exist"]}}"#;
    let mut session = user_session();
    let mut call = Call::new(
        config(),
        UpdateUser::new(81, UserUpdate::new().full_name("A")),
    );
    let Step::Send(_) = call.poll(&mut session, T0, 1) else {
        panic!()
    };
    call.handle_response(
        &mut session,
        http::Response::builder()
            .status(401)
            .body(missing.as_bytes().to_vec())
            .unwrap(),
    )
    .unwrap();
    // A user session cannot be replaced silently: the call ends, typed.
    let Step::Done(Err(Error::SessionExpired)) = call.poll(&mut session, T0, 2) else {
        panic!("expected SessionExpired")
    };
    assert_eq!(session.status(T0), SessionStatus::Expired);
}

#[test]
fn deleting_the_user_ends_the_session_and_sign_up_without_one_uses_the_auth_key() {
    let (result, session) = run(DeleteUser::new(81), 200, "");
    result.unwrap();
    assert_eq!(session.status(T0), SessionStatus::None);
    let (result, session) = run(DeleteUserByExternalId::new("e1").unwrap(), 200, "");
    result.unwrap();
    assert_eq!(session.status(T0), SessionStatus::None);

    let mut session = Session::default();
    let mut call = Call::new(
        config(),
        SignUp::new(NewUser::with_login("ann", "s3cret-pass")),
    );
    let Step::Send(request) = call.poll(&mut session, T0, 1) else {
        panic!()
    };
    assert_eq!(request.headers()["CB-AuthKey"], "key");
    assert!(request.headers().get("CB-Token").is_none());
    call.handle_response(
        &mut session,
        http::Response::builder()
            .status(422)
            .body(br#"{"errors": {"login": ["has already been taken"]}}"#.to_vec())
            .unwrap(),
    )
    .unwrap();
    let Step::Done(Err(Error::Api(e))) = call.poll(&mut session, T0, 2) else {
        panic!()
    };
    assert_eq!(e.messages.fields["login"], ["has already been taken"]);
    assert_eq!(session.status(T0), SessionStatus::None);
}

#[test]
fn a_client_side_refusal_sends_nothing() {
    let mut session = user_session();
    let mut call = Call::new(
        config(),
        UpdateUser::new(81, UserUpdate::new().password("n3w-passw0rd")),
    );
    match call.poll(&mut session, T0, 1) {
        Step::Done(Err(Error::InvalidInput(e))) => assert_eq!(e.field, "old_password"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_v1_look_up_that_finds_nobody_is_none() {
    let not_found = r#"{"errors": {"base": ["Entity you are looking for was not found"]}}"#;
    for op in [
        GetUserV1::by_id(9),
        GetUserV1::by_login("nobody"),
        GetUserV1::by_email("no@body.x"),
        GetUserV1::by_facebook_id("0"),
        GetUserV1::by_twitter_id("0"),
        GetUserV1::by_external_id("0"),
    ] {
        assert_eq!(run(op.clone(), 404, not_found).0.found().unwrap(), None);
        let user = run(op.clone(), 200, r#"{"user": {"id": 9}}"#)
            .0
            .found()
            .unwrap();
        assert_eq!(user.map(|u| u.id), Some(9));
        // Other errors stay errors.
        assert!(run(op, 403, "").0.found().is_err());
    }
    // Through v2, nobody is an empty page: None without any conversion.
    let (result, _) = run(GetUser::by_login("nobody"), 200, r#"{"items": []}"#);
    assert_eq!(result.unwrap(), None);
}
