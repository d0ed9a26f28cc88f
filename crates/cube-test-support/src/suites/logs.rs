//! [`logs_suite!`](crate::logs_suite): no secret in any log line.

/// The no-secrets-in-logs test, expanded for each adapter with the log
/// target its HTTP stack writes under: `logs_suite!(cube_blocking, #[test], "ureq");`
/// or `logs_suite!(cube_async, #[tokio::test] async await, "hyper_util::client");`.
/// It installs the process's global subscriber, so it goes in a test file
/// of its own.
#[macro_export]
macro_rules! logs_suite {
    ($adapter:ident, #[$attr:meta] $($async:ident $await:ident)?, $stack:literal) => {
        use $adapter::{Client, Credentials};
        use std::io::Write;
        use std::sync::{Arc, Mutex};

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

        #[$attr]
        $($async)? fn no_secret_in_any_log_line() {
            let captured = Captured::default();
            let writer = captured.clone();
            $crate::tracing_subscriber::fmt()
                .with_max_level($crate::tracing::Level::TRACE)
                .with_writer(move || writer.clone())
                .init();

            let server = $crate::fake::FakeServer::start(|req| {
                let mut reply = match req.path.as_str() {
                    "/session" if req.method == "POST" => $crate::fake::Reply::new(
                        201,
                        &format!(r#"{{"session":{{"id":1,"user_id":4,"token":"{TOKEN}"}}}}"#),
                    ),
                    "/login" if req.method == "POST" => {
                        $crate::fake::Reply::new(401, r#"{"errors":{"base":["Unauthorized"]}}"#)
                    }
                    _ => $crate::fake::Reply::new(200, ""),
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
                .create_session(Credentials::login("john", PASSWORD))$(.$await)?
                .unwrap();
            let err = client.sign_in(Credentials::facebook(FB_TOKEN))$(.$await)?.unwrap_err();
            client.destroy_session()$(.$await)?.unwrap();
            let debug = format!("{client:?} {err:?} {err}");

            let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
            assert!(
                logs.contains("cube request"),
                "the SDK's own lines were captured: {logs}"
            );
            assert!(
                logs.contains($stack),
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
    };
}
