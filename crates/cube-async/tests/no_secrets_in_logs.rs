//! Every log line, at every level, from the SDK and its HTTP client, while
//! secrets go over the wire: none of them may show a secret.

#[path = "../../cube-blocking/tests/support/mod.rs"]
mod support;

use cube_async::{Client, Credentials, proto};
use std::io::Write;
use std::sync::{Arc, Mutex};
use support::{FakeServer, Reply};

const PASSWORD: &str = "pw-5ecret-pa55word";
const AUTH_SECRET: &str = "auth-5ecret-value";
const TOKEN: &str = "t0ken-5ecret-0123456789";
const FB_TOKEN: &str = "fb-5ecret-token";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_in_any_log_line() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .init();

    let server = FakeServer::start(|req| {
        let mut reply = match req.path.as_str() {
            "/session" if req.method == "POST" => Reply::new(
                201,
                &format!(r#"{{"session":{{"id":1,"user_id":4,"token":"{TOKEN}"}}}}"#),
            ),
            "/login" if req.method == "POST" => {
                Reply::new(401, r#"{"errors":{"base":["Unauthorized"]}}"#)
            }
            _ => Reply::new(200, ""),
        };
        reply.headers.push((
            "CB-Token-ExpirationDate".into(),
            "2099-01-01 00:00:00 UTC".into(),
        ));
        reply
    });
    let client = Client::builder(1, "key")
        .auth_secret(AUTH_SECRET)
        .base_url(server.url())
        .build()
        .unwrap();
    client
        .create_session(Credentials::login("john", PASSWORD))
        .await
        .unwrap();
    let err = client
        .sign_in(Credentials::facebook(FB_TOKEN))
        .await
        .unwrap_err();
    client.destroy_session().await.unwrap();
    let debug = format!("{client:?} {err:?} {err}");

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("cube request"),
        "the SDK's own lines were captured: {logs}"
    );
    assert!(
        logs.contains("hyper_util::client"),
        "the HTTP client's lines were captured too: {logs}"
    );
    for secret in [PASSWORD, AUTH_SECRET, TOKEN, FB_TOKEN] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
        assert!(
            !debug.contains(secret),
            "{secret} leaked into Debug: {debug}"
        );
    }
    // The secrets did go over the wire (the test would prove nothing otherwise).
    let wire: Vec<String> = server
        .requests()
        .iter()
        .map(|r| format!("{:?} {}", r.headers, String::from_utf8_lossy(&r.body)))
        .collect();
    let wire = wire.join("\n");
    for secret in [PASSWORD, TOKEN, FB_TOKEN] {
        assert!(wire.contains(secret), "{secret} was never sent");
    }
}
