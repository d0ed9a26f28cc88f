//! [`retry_suite!`](crate::retry_suite): transient failures sent again, as
//! the retry policy says, and signatures on the server's clock.

/// Calls through one adapter's client against servers that fail on purpose:
/// a read answered `503` twice then `200` succeeds on its third try, with
/// the waits in its span; a `429` with `Retry-After: 1` waits exactly a
/// second; a read whose connection is cut goes again; a sign-up answered
/// `503`, or whose connection is cut, fails with one request on the wire;
/// a refused connection is tried three times; `RetryPolicy::none()` sends
/// once. Then, against the emulator with `require_signature` on and a
/// window of 300 s, a client whose clock is 10 minutes behind still gets
/// its session, by signing again on the server's clock. Each test reads the
/// `cube_call` span of its own calls, on a subscriber of its own thread.
/// Expanded for each adapter: `retry_suite!(cube_blocking, #[test]);` or
/// `retry_suite!(cube_async, #[tokio::test] async await);` (a runtime on
/// the test's thread, where its subscriber is).
#[macro_export]
macro_rules! retry_suite {
    ($adapter:ident, #[$attr:meta] $($async:ident $await:ident)?) => {
        use $adapter::{Client, ClientBuilder, IssuedToken, NewUser, RetryPolicy};
        use $crate::capture::{last_call, on_this_thread as capture, waited_ms};
        use $crate::fake::{FakeServer, Reply};

        /// `GET /users/v2?id=5`, found.
        const USER_5: &str = r#"{"skip":0,"limit":10,"total_entries":1,"items":[{"id":5}]}"#;
        const UNAVAILABLE: &str = r#"{"errors":["Service Unavailable"]}"#;
        const TOO_MANY: &str = r#"{"errors":["Too Many Requests"]}"#;

        /// Answers the requests with `first`, in order, then always `then`.
        fn scripted(first: Vec<Reply>, then: Reply) -> FakeServer {
            let count = ::std::sync::atomic::AtomicUsize::new(0);
            FakeServer::start(move |_| {
                let n = count.fetch_add(1, ::std::sync::atomic::Ordering::SeqCst);
                first.get(n).cloned().unwrap_or_else(|| then.clone())
            })
        }

        /// A client of the server with a session already in place, so that a
        /// read is the only request.
        fn client_of(server: &FakeServer) -> ClientBuilder {
            Client::builder(1, "retry-auth-key")
                .base_url(server.url())
                .adopt_session(IssuedToken::new("t0ken-retry"))
        }

        /// `METHOD /path` of every request the server read.
        fn wire(server: &FakeServer) -> Vec<String> {
            server
                .requests()
                .iter()
                .map(|r| format!("{} {}", r.method, r.path.split('?').next().unwrap_or("")))
                .collect()
        }

        fn unavailable() -> Reply {
            Reply::new(503, UNAVAILABLE)
        }

        #[$attr]
        $($async)? fn a_read_answered_503_twice_then_200_succeeds_on_its_third_try() {
            let (capture, _guard) = capture();
            let server = scripted(vec![unavailable(), unavailable()], Reply::new(200, USER_5));
            let client = client_of(&server).build().unwrap();
            let user = client.get_user(5)$(.$await)?.unwrap();
            assert_eq!(user.map(|u| u.id), Some(5));
            assert_eq!(wire(&server), ["GET /users/v2"; 3]);
            let span = last_call(&capture);
            assert_eq!(span.field("operation"), Some("get_user"), "{span:?}");
            assert_eq!(span.field("attempts"), Some("3"), "{span:?}");
            assert_eq!(span.field("requests"), Some("3"), "{span:?}");
            assert_eq!(span.field("status"), Some("200"), "{span:?}");
            // Two waits of full jitter under the standard policy: below
            // 0.5 s, then below 1 s; both zero would take two draws of 0.
            let waited = waited_ms(&span);
            assert!(waited > 0.0 && waited < 1500.0, "{span:?}");
        }

        #[$attr]
        $($async)? fn a_sign_up_answered_503_fails_with_one_request_on_the_wire() {
            let (capture, _guard) = capture();
            let server = scripted(Vec::new(), unavailable());
            let client = Client::builder(1, "retry-auth-key").base_url(server.url()).build().unwrap();
            let error = client
                .sign_up(NewUser::with_login("retry-once", "password-once"))$(.$await)?
                .unwrap_err();
            assert_eq!(error.status().map(|s| s.as_u16()), Some(503), "{error}");
            assert_eq!(wire(&server), ["POST /users"], "a sign-up never goes twice");
            let span = last_call(&capture);
            assert_eq!(span.field("attempts"), Some("1"), "{span:?}");
            assert_eq!(span.field("requests"), Some("1"), "{span:?}");
            assert_eq!(waited_ms(&span), 0.0, "{span:?}");
        }

        #[$attr]
        $($async)? fn a_sign_up_whose_connection_is_cut_fails_with_one_request() {
            let (capture, _guard) = capture();
            let server = scripted(Vec::new(), Reply::cut());
            let client = Client::builder(1, "retry-auth-key").base_url(server.url()).build().unwrap();
            let error = client
                .sign_up(NewUser::with_login("retry-cut", "password-cut"))$(.$await)?
                .unwrap_err();
            assert_eq!(error.status(), None, "{error}");
            assert_eq!(wire(&server), ["POST /users"], "the server may have acted on it");
            let span = last_call(&capture);
            assert_eq!(span.field("attempts"), Some("1"), "{span:?}");
            assert_eq!(span.field("failure"), Some("reset_after_sent"), "{span:?}");
        }

        #[$attr]
        $($async)? fn a_429_with_retry_after_1_waits_a_second_then_sends_again() {
            let (capture, _guard) = capture();
            let throttled = Reply::new(429, TOO_MANY).header("Retry-After", "1");
            let server = scripted(vec![throttled], Reply::new(200, USER_5));
            let client = client_of(&server).build().unwrap();
            let user = client.get_user(5)$(.$await)?.unwrap();
            assert_eq!(user.map(|u| u.id), Some(5));
            assert_eq!(wire(&server), ["GET /users/v2"; 2]);
            let span = last_call(&capture);
            assert_eq!(span.field("attempts"), Some("2"), "{span:?}");
            assert_eq!(waited_ms(&span), 1000.0, "exactly what the server asked: {span:?}");
        }

        #[$attr]
        $($async)? fn a_read_whose_connection_is_cut_goes_again() {
            let (capture, _guard) = capture();
            let server = scripted(vec![Reply::cut()], Reply::new(200, USER_5));
            let client = client_of(&server).build().unwrap();
            let user = client.get_user(5)$(.$await)?.unwrap();
            assert_eq!(user.map(|u| u.id), Some(5));
            assert_eq!(wire(&server), ["GET /users/v2"; 2]);
            let span = last_call(&capture);
            assert_eq!(span.field("attempts"), Some("2"), "{span:?}");
            assert_eq!(span.field("failure"), Some("reset_after_sent"), "{span:?}");
            assert_eq!(span.field("status"), Some("200"), "{span:?}");
        }

        #[$attr]
        $($async)? fn a_refused_connection_is_tried_three_times_then_surfaces() {
            let (capture, _guard) = capture();
            let client = Client::builder(1, "retry-auth-key")
                .base_url($crate::net::refused_url().unwrap())
                .adopt_session(IssuedToken::new("t0ken-retry"))
                .build()
                .unwrap();
            let error = client.get_user(5)$(.$await)?.unwrap_err();
            assert!(matches!(error, $adapter::Error::Transport(_)), "{error:?}");
            let span = last_call(&capture);
            assert_eq!(span.field("attempts"), Some("3"), "{span:?}");
            assert_eq!(span.field("requests"), Some("3"), "{span:?}");
            assert_eq!(span.field("failure"), Some("refused"), "{span:?}");
        }

        #[$attr]
        $($async)? fn no_retry_policy_sends_once() {
            let (capture, _guard) = capture();
            let server = scripted(vec![unavailable()], Reply::new(200, USER_5));
            let client = client_of(&server).retry_policy(RetryPolicy::none()).build().unwrap();
            let error = client.get_user(5)$(.$await)?.unwrap_err();
            assert_eq!(error.status().map(|s| s.as_u16()), Some(503), "{error}");
            assert_eq!(wire(&server), ["GET /users/v2"]);
            assert_eq!(last_call(&capture).field("attempts"), Some("1"));
        }

        #[$attr]
        $($async)? fn a_clock_ten_minutes_behind_still_gets_a_signed_session() {
            let (capture, _guard) = capture();
            let h = $crate::harness::Harness::start();
            h.settings($crate::serde_json::json!({
                "require_signature": true,
                "signature_window_seconds": 300,
            }));
            let behind = || $crate::time::OffsetDateTime::now_utc() - $crate::time::Duration::minutes(10);
            let client = Client::builder(h.app_id(), h.auth_key())
                .auth_secret(h.auth_secret())
                .base_url(h.base_url())
                .clock(behind)
                .build()
                .unwrap();
            let first = client.create_application_session()$(.$await)?.unwrap();
            assert!(first.token.is_some());
            let span = last_call(&capture);
            assert_eq!(span.field("resigned"), Some("true"), "{span:?}");
            assert_eq!(span.field("requests"), Some("2"), "refused once, then signed on the server's time: {span:?}");
            // The client keeps signing on the server's clock: one request.
            client.create_application_session()$(.$await)?.unwrap();
            let span = last_call(&capture);
            assert_eq!(span.field("requests"), Some("1"), "{span:?}");
            assert_eq!(span.field("resigned"), None, "{span:?}");
            // A new client's read creates its session on the way, and
            // signs it again the same way.
            let reader = Client::builder(h.app_id(), h.auth_key())
                .auth_secret(h.auth_secret())
                .base_url(h.base_url())
                .clock(behind)
                .build()
                .unwrap();
            assert_eq!(reader.get_user(1_000_000)$(.$await)?.unwrap(), None);
            let span = last_call(&capture);
            assert_eq!(span.field("session"), Some("created"), "{span:?}");
            assert_eq!(span.field("resigned"), Some("true"), "{span:?}");
            assert_eq!(span.field("requests"), Some("3"), "two session requests, the read: {span:?}");
        }
    };
}
