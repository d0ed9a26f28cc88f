//! [`spans_suite!`](crate::spans_suite): the span of each call says what
//! the call did.

/// A sign-in on a client with no session, then a read whose session the
/// server no longer knows: the restore callback signs in again and the read
/// is retried. The spans captured show each operation's name, the created
/// session of the sign-in, the retry and the restore of the read, the
/// statuses, and no secret in any field. A streamed upload and a download
/// (its API call, then the storage fetch) follow, each in its span. Expanded for each adapter:
/// `spans_suite!(cube_blocking, #[test]);` or
/// `spans_suite!(cube_async, #[tokio::test] async await);`. It installs the
/// process's global subscriber, so it goes in a test file of its own.
#[macro_export]
macro_rules! spans_suite {
    ($adapter:ident, #[$attr:meta] $($async:ident $await:ident)?) => {
        use $adapter::{Client, Credentials, RestoreAnswer};

        const LOGIN: &str = "span-user";
        const PASSWORD: &str = "pw-5pan-5ecret";
        const AUTH_SECRET: &str = "auth-5pan-5ecret";
        /// The application session the sign-in starts from; the server
        /// forgets it before the read.
        const FIRST_TOKEN: &str = "t0ken-5pan-first";
        /// The session the restore creates.
        const RESTORED_TOKEN: &str = "t0ken-5pan-restored";
        const MISSING: &str = r#"{"errors":{"base":["Required session does not exist"]}}"#;

        /// What the restore callback answers, as the adapter takes it.
        $($async)? fn restore_with(answer: impl Into<RestoreAnswer>) -> RestoreAnswer {
            answer.into()
        }

        /// Sessions: the first without a user, the restore's with user 5.
        /// `/login` signs in; a read with the first token is refused as a
        /// session the server does not know, one with the restored token
        /// finds user 5. Uploads go to `/upload`; file `u9abc` redirects to
        /// `/files/u9abc`.
        fn server() -> $crate::fake::FakeServer {
            use $crate::fake::Reply;
            $crate::fake::FakeServer::start(|req| {
                let token = req.header("CB-Token");
                match (req.method.as_str(), req.path.as_str()) {
                    ("POST", "/upload") => Reply::new(201, "<PostResponse/>"),
                    ("GET", "/blobs/u9abc/download") => {
                        let mut moved = Reply::new(301, "");
                        moved.headers.push(("Location".into(), "/files/u9abc".into()));
                        moved
                    }
                    ("GET", "/files/u9abc") => Reply::new(200, "file bytes"),
                    ("POST", "/session") if String::from_utf8_lossy(&req.body).contains(LOGIN) => {
                        Reply::new(201, &format!(
                            r#"{{"session":{{"id":2,"user_id":5,"token":"{RESTORED_TOKEN}"}}}}"#
                        ))
                    }
                    ("POST", "/session") => Reply::new(201, &format!(
                        r#"{{"session":{{"id":1,"user_id":0,"token":"{FIRST_TOKEN}"}}}}"#
                    )),
                    ("POST", "/login") => Reply::new(202, r#"{"user":{"id":5}}"#),
                    ("GET", _) if token == Some(RESTORED_TOKEN) => Reply::new(
                        200,
                        r#"{"skip":0,"limit":10,"total_entries":1,"items":[{"id":5}]}"#,
                    ),
                    _ => Reply::new(401, MISSING),
                }
            })
        }

        #[$attr]
        $($async)? fn a_sign_in_then_a_restored_call_leave_spans_that_say_so() {
            let (capture, text) = $crate::capture::install_global();
            let server = server();
            let client = Client::builder(1, "key")
                .auth_secret(AUTH_SECRET)
                .base_url(server.url())
                .restore(|| restore_with(Credentials::login(LOGIN, PASSWORD)))
                .build()
                .unwrap();
            assert_eq!(client.sign_in(Credentials::login(LOGIN, PASSWORD))$(.$await)?.unwrap().id, 5);
            let user = client.get_user(5)$(.$await)?.unwrap();
            assert_eq!(user.map(|u| u.id), Some(5));
            let blob: $adapter::Blob = $crate::serde_json::from_value($crate::serde_json::json!({
                "id": 9, "uid": "u9abc", "name": "a.txt", "content_type": "text/plain",
                "blob_object_access": {"params": format!("{}/upload?key=u9abc", server.url())}
            }))
            .unwrap();
            let bytes = b"file bytes".to_vec();
            let options = $adapter::UploadOptions::new();
            client.upload_stream(&blob, std::io::Cursor::new(bytes.clone()), 10, options)$(.$await)?.unwrap();
            assert_eq!(client.download_blob("u9abc")$(.$await)?.unwrap(), bytes);
            let wire: Vec<String> = server
                .requests()
                .iter()
                .map(|r| format!("{} {} {}", r.method, r.path.split('?').next().unwrap_or(""), r.header("CB-Token").unwrap_or("-")))
                .collect();
            assert_eq!(
                wire,
                [
                    format!("POST /session -"),
                    format!("POST /login {FIRST_TOKEN}"),
                    format!("GET /users/v2 {FIRST_TOKEN}"),
                    format!("POST /session -"),
                    format!("GET /users/v2 {RESTORED_TOKEN}"),
                    format!("POST /upload -"),
                    format!("GET /blobs/u9abc/download {RESTORED_TOKEN}"),
                    format!("GET /files/u9abc {RESTORED_TOKEN}"),
                ],
                "the session was lost, restored, and the read retried; then a file went up and came back"
            );

            let fields = capture.everything();
            let spans = capture.spans_named("cube_call");
            let said: Vec<[&str; 4]> = spans
                .iter()
                .map(|s| {
                    let field = |name| s.field(name).unwrap_or("-");
                    [field("operation"), field("attempt"), field("session"), field("status")]
                })
                .collect();
            assert_eq!(
                said,
                [
                    ["sign_in", "first", "created", "202"],
                    ["get_user", "retry", "restored", "200"],
                    ["upload_stream", "first", "none", "201"],
                    ["download_blob", "first", "existing", "301"],
                    ["download_file", "first", "existing", "200"],
                ],
                "{fields}"
            );
            for span in &spans {
                let elapsed: f64 = span.field("elapsed_ms").unwrap_or("-").parse().unwrap();
                assert!(elapsed >= 0.0, "{span:?}");
            }
            // The session changes are told inside the call that made them.
            let changes: Vec<(u64, &str)> = capture
                .events()
                .iter()
                .filter(|e| e.field("message") == Some("cube session change"))
                .map(|e| (e.parent.unwrap_or(0), e.field("change").unwrap_or("-")))
                .map(|(parent, change)| (parent, if change.contains("Restored") { "restored" } else { "other" }))
                .collect();
            assert!(
                changes.contains(&(spans[1].id, "restored")),
                "the restore was told inside the get_user span: {changes:?}\n{fields}"
            );

            let logs = text.contents();
            assert!(logs.contains("attempt=\"retry\""), "{logs}");
            for secret in [PASSWORD, AUTH_SECRET, FIRST_TOKEN, RESTORED_TOKEN] {
                assert!(!fields.contains(secret), "{secret} is in a span or event field:\n{fields}");
                assert!(!logs.contains(secret), "{secret} is in the logs:\n{logs}");
            }
            println!("cube_call spans:");
            for span in &spans {
                println!("  {:?}", span.fields);
            }
        }
    };
}
