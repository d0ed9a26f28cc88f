//! [`logs_suite!`](crate::logs_suite): no secret in any log line, span or
//! field.

/// The no-secrets-in-logs test: every log line at every level, and every
/// field of every span and event, from the SDK and its HTTP client, while
/// secrets go over the wire. Expanded for each adapter with the log
/// target its HTTP stack writes under: `logs_suite!(cube_blocking, #[test], "ureq");`
/// or `logs_suite!(cube_async, #[tokio::test] async await, "hyper_util::client");`.
/// It installs the process's global subscriber, so it goes in a test file
/// of its own.
#[macro_export]
macro_rules! logs_suite {
    ($adapter:ident, #[$attr:meta] $($async:ident $await:ident)?, $stack:literal) => {
        use $adapter::{Client, Credentials};
        const PASSWORD: &str = "pw-5ecret-pa55word";
        const AUTH_SECRET: &str = "auth-5ecret-value";
        const TOKEN: &str = "t0ken-5ecret-0123456789";
        const FB_TOKEN: &str = "fb-5ecret-token";

        #[$attr]
        $($async)? fn no_secret_in_any_log_line() {
            let (capture, text) = $crate::capture::install_global();

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

            let logs = text.contents();
            assert!(
                logs.contains("cube request"),
                "the SDK's own lines were captured: {logs}"
            );
            assert!(
                logs.contains($stack),
                "the HTTP client's lines were captured too: {logs}"
            );
            // Every field of every span and event, as recorded.
            let fields = capture.everything();
            let calls: Vec<(String, String)> = capture
                .spans_named("cube_call")
                .iter()
                .map(|s| {
                    let field = |name| s.field(name).unwrap_or("-").to_owned();
                    (field("operation"), field("status"))
                })
                .collect();
            let expected = [("create_session", "201"), ("sign_in", "401"), ("destroy_session", "200")];
            let expected: Vec<(String, String)> =
                expected.iter().map(|(o, s)| (o.to_string(), s.to_string())).collect();
            assert_eq!(calls, expected, "one span per call, with its fields:\n{fields}");
            assert!(
                logs.contains("cube_call{operation=\"sign_in\""),
                "the text log shows the spans too: {logs}"
            );
            for secret in [PASSWORD, AUTH_SECRET, TOKEN, FB_TOKEN] {
                assert!(
                    !logs.contains(secret),
                    "{secret} leaked into the logs:\n{logs}"
                );
                assert!(
                    !fields.contains(secret),
                    "{secret} leaked into a span or event field:\n{fields}"
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
