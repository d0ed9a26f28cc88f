//! A server that rejects every token: one retry per call, then a typed error.

use cube_async::proto::ops::Access;
use cube_async::{Client, Credentials, Error, proto};
use cube_test_support::fake::{FakeServer, Probe, Reply};

#[tokio::test]
async fn each_call_restores_once_then_fails_typed() {
    let server = FakeServer::start(|req| {
        if req.method == "POST" && req.path == "/session" {
            Reply::new(201, r#"{"session":{"id":1,"user_id":5,"token":"tok"}}"#)
        } else {
            Reply::new(
                401,
                r#"{"errors":{"base":["Required session does not exist"]}}"#,
            )
        }
    });
    let client = Client::builder(1, "key")
        .base_url(server.url())
        .restore(|| async { Some(Credentials::login("user", "password1")) })
        .build()
        .unwrap();
    for round in 0..3 {
        let before = server.requests().len();
        match client.execute(Probe(Access::Read)).await.unwrap_err() {
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
    }
    // Every request the SDK built identified it (the probe is the test's own).
    let sdk_requests: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path != "/probe")
        .collect();
    assert_eq!(sdk_requests.len(), 6);
    for r in sdk_requests {
        assert!(r.header("CB-SDK").unwrap().starts_with("Rust "), "{r:?}");
    }
}
