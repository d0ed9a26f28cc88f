//! Parsing what the server answers to session calls, good and bad.

use cube_proto::ops::{CreateSession, GetSession, Operation, SignIn};
use cube_proto::wire::Response;
use cube_proto::{Credentials, Error};

fn response(status: u16, body: &str) -> Response {
    http::Response::builder()
        .status(status)
        .body(body.as_bytes().to_vec())
        .unwrap()
}

#[test]
fn documented_session_response() {
    let body = r#"{"session": {"id": 111, "user_id": 81, "application_id": 1,
        "token": "83153a14fb2df777c2f866178902a4bb15000001",
        "nonce": 4214611091, "ts": 1544010993,
        "created_at": "2018-12-05T11:58:02Z", "updated_at": "2018-12-05T11:58:02Z",
        "user": {"id": 81, "login": "john", "user_tags": null}}}"#;
    let op = CreateSession::new(Credentials::login("john", "11111111"));
    let info = op.parse(&response(201, body)).unwrap();
    assert_eq!(info.id, 111);
    assert_eq!(info.user_id, Some(81));
    assert_eq!(info.application_id, Some(1));
    assert_eq!(
        info.token.as_ref().unwrap().expose(),
        "83153a14fb2df777c2f866178902a4bb15000001"
    );
    assert_eq!(info.created_at.unwrap().unix_timestamp(), 1544011082);
    let user = info.user.as_ref().unwrap();
    assert_eq!((user.id, user.login.as_deref()), (81, Some("john")));
    assert!(user.user_tags.is_empty());
    assert!(
        !format!("{info:?}").contains("83153a14"),
        "Debug hides the token"
    );
}

#[test]
fn application_session_has_no_user() {
    for body in [
        r#"{"session": {"id": 5, "user_id": 0, "token": "t"}}"#,
        r#"{"session": {"id": "5", "user_id": null, "token": "t", "user": null}}"#,
        r#"{"session": {"id": 5, "token": "t"}}"#,
    ] {
        let info = CreateSession::application()
            .parse(&response(201, body))
            .unwrap();
        assert_eq!(
            (info.id, info.user_id, info.user.is_none()),
            (5, None, true),
            "{body}"
        );
    }
}

#[test]
fn a_session_without_a_token_or_a_user_session_without_a_user_is_a_decode_error() {
    let no_token = r#"{"session": {"id": 5, "user_id": 3}}"#;
    let err = CreateSession::application()
        .parse(&response(201, no_token))
        .unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err}");
    let no_user = r#"{"session": {"id": 5, "user_id": 0, "token": "t"}}"#;
    let err = CreateSession::new(Credentials::login("a", "b"))
        .parse(&response(201, no_user))
        .unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err}");
}

#[test]
fn garbage_bodies_are_decode_errors_that_keep_the_bytes() {
    for body in [
        "",
        "<html>oops</html>",
        "{\"session\": 5}",
        "[]",
        "{\"session\": {\"id\": -1}}",
    ] {
        let err = CreateSession::application()
            .parse(&response(201, body))
            .unwrap_err();
        match err {
            Error::Decode(e) => {
                assert_eq!(e.status, 201);
                assert_eq!(e.body(), body.as_bytes());
            }
            other => panic!("{body}: {other:?}"),
        }
    }
}

#[test]
fn sign_in_accepts_the_wrapped_and_the_bare_user() {
    let op = SignIn::new(Credentials::login("john", "11111111"));
    assert_eq!(
        op.parse(&response(200, r#"{"user": {"id": 81}}"#))
            .unwrap()
            .id,
        81
    );
    assert_eq!(
        op.parse(&response(200, r#"{"id": 82, "login": "x"}"#))
            .unwrap()
            .id,
        82
    );
    assert!(matches!(
        op.parse(&response(200, r#"{"user": null}"#)),
        Err(Error::Decode(_))
    ));
}

#[test]
fn session_info_reads_the_wrapped_session() {
    let info = GetSession
        .parse(&response(200, r#"{"session": {"id": 9, "user_id": 2}}"#))
        .unwrap();
    assert_eq!(
        (info.id, info.user_id, info.token.is_none()),
        (9, Some(2), true)
    );
}

#[test]
fn error_answers_become_api_errors_that_keep_status_and_messages() {
    use cube_proto::{Call, Config, Session, Step, retry::RetryPolicy};
    // One answer each: the 502 and the 429 would otherwise be tried again
    // (tests/retry_transcripts.rs).
    let config = Config::builder(1, "k")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let now = time::OffsetDateTime::UNIX_EPOCH;
    type Case<'a> = (u16, &'a str, Vec<&'a str>, Vec<(&'a str, &'a str)>);
    let cases: [Case<'_>; 6] = [
        (
            422,
            r#"{"errors": {"base": ["Unexpected signature"]}}"#,
            vec!["Unexpected signature"],
            vec![],
        ),
        (
            422,
            r#"{"errors": {"timestamp": ["is too old"]}}"#,
            vec![],
            vec![("timestamp", "is too old")],
        ),
        (
            401,
            r#"{"errors": ["Unauthorized"]}"#,
            vec!["Unauthorized"],
            vec![],
        ),
        (502, "<html><body>Bad gateway</body></html>", vec![], vec![]),
        (500, "", vec![], vec![]),
        (429, "rate limited", vec![], vec![]),
    ];
    for (status, body, base, fields) in cases {
        let mut session = Session::default();
        let mut call = Call::new(config.clone(), CreateSession::application());
        let Step::Send(_) = call.poll(&mut session, now, 1) else {
            panic!()
        };
        call.handle_response(&mut session, response(status, body))
            .unwrap();
        let Step::Done(Err(Error::Api(e))) = call.poll(&mut session, now, 2) else {
            panic!("{status}")
        };
        assert_eq!(e.status, status);
        assert_eq!(e.messages.base, base);
        for (field, message) in fields {
            assert_eq!(e.messages.fields[field], [message]);
        }
        assert_eq!(
            session,
            Session::default(),
            "a failed creation changes nothing"
        );
    }
}
