//! A server that rejects every token: one retry per call, then a typed error.

use cube_blocking::proto::ops::Access;
use cube_blocking::{Client, Credentials, Error, proto};
use cube_test_support::fake::{FakeServer, Probe, Reply};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const MISSING: &str = r#"{"errors":{"base":["Required session does not exist"]}}"#;

fn always_401_server() -> FakeServer {
    FakeServer::start(|req| {
        if req.method == "POST" && req.path == "/session" {
            let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
            let user_id = if body.get("user").is_some() { 5 } else { 0 };
            Reply::new(
                201,
                &format!(r#"{{"session":{{"id":1,"user_id":{user_id},"token":"tok"}}}}"#),
            )
        } else {
            Reply::new(401, MISSING)
        }
    })
}

#[test]
fn with_a_restore_callback_each_call_restores_once_and_fails_typed() {
    let server = always_401_server();
    let restores = Arc::new(AtomicUsize::new(0));
    let counter = restores.clone();
    let client = Client::builder(1, "key")
        .base_url(server.url())
        .restore(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            Some(Credentials::login("user", "password1"))
        })
        .build()
        .unwrap();
    for round in 1..=3 {
        let before = server.requests().len();
        match client.execute(Probe(Access::Read)).unwrap_err() {
            Error::Proto(proto::Error::RestoreFailed(api)) => assert!(api.is_session_missing()),
            other => panic!("{other}"),
        }
        let paths: Vec<String> = server.requests()[before..]
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert_eq!(
            paths,
            ["POST /session", "GET /probe", "POST /session", "GET /probe"],
            "round {round}"
        );
        assert_eq!(restores.load(Ordering::SeqCst), 2 * round);
    }
    let before = server.requests().len();
    let err = client
        .sign_in(Credentials::login("user", "password1"))
        .unwrap_err();
    assert!(
        matches!(err, Error::Proto(proto::Error::RestoreFailed(_))),
        "{err}"
    );
    let paths: Vec<String> = server.requests()[before..]
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    // A sign-in brings its own credentials: it makes application sessions,
    // not restores. One retry, then the typed error.
    assert_eq!(
        paths,
        [
            "POST /session",
            "POST /login",
            "POST /session",
            "POST /login"
        ]
    );
}

#[test]
fn without_a_restore_callback_a_read_gets_one_new_application_session_then_stops() {
    let server = always_401_server();
    let client = Client::builder(1, "key")
        .base_url(server.url())
        .build()
        .unwrap();
    let err = client
        .sign_in(Credentials::login("user", "password1"))
        .unwrap_err();
    assert!(
        matches!(err, Error::Proto(proto::Error::RestoreFailed(_))),
        "{err}"
    );
    assert_eq!(server.requests().len(), 4);
    // Every request identified the SDK.
    for r in server.requests() {
        assert!(r.header("CB-SDK").unwrap().starts_with("Rust "), "{r:?}");
    }
}
