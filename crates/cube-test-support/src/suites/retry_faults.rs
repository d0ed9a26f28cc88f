//! [`retry_faults_suite!`](crate::retry_faults_suite): the retry policy
//! against the emulator's faults.

/// Calls through one adapter's client against the emulator, made to fail on
/// purpose by its fault rules (`docs/EMULATOR.md`, "Faults"): a read
/// answered `503` twice then served; a read answered `429` with
/// `Retry-After: 1`; a read whose connection is cut before the answer; a
/// sign-up answered `503`, which surfaces with one request in the
/// emulator's request log. Each test reads its calls' `cube_call` span on
/// a subscriber of its own thread. Expanded for each adapter:
/// `retry_faults_suite!(cube_blocking, #[test]);` or
/// `retry_faults_suite!(cube_async, #[tokio::test] async await);`.
#[macro_export]
macro_rules! retry_faults_suite {
    ($adapter:ident, #[$attr:meta] $($async:ident $await:ident)?) => {
        use $adapter::{Client, NewUser};
        use $crate::capture::{last_call, on_this_thread as capture, waited_ms};
        use $crate::cube_emulator::testing::{FaultRule, LoggedRequest, SeedUser, TestEmulator};

        /// An emulator with one user; its id.
        fn emulator() -> (TestEmulator, u64) {
            let emulator = TestEmulator::start().unwrap();
            let id = emulator
                .seed_user(SeedUser::with_login("retry-e2e", "password-e2e"))
                .unwrap();
            (emulator, u64::try_from(id).unwrap())
        }

        fn client_of(emulator: &TestEmulator) -> Client {
            Client::builder(u64::try_from(emulator.app_id()).unwrap(), emulator.auth_key())
                .auth_secret(emulator.auth_secret())
                .base_url(emulator.base_url())
                .build()
                .unwrap()
        }

        /// The logged requests of `method` on paths starting with `path`,
        /// oldest first: their status and what a fault did.
        fn logged(emulator: &TestEmulator, method: &str, path: &str) -> Vec<(u16, Option<String>)> {
            let mut log = emulator.requests().unwrap();
            log.sort_by_key(|r| r.seq);
            log.into_iter()
                .filter(|r: &LoggedRequest| r.method == method && r.path.starts_with(path))
                .map(|r| (r.status, r.fault.map(|f| f.effect)))
                .collect()
        }

        fn some(effect: &str) -> Option<String> {
            Some(effect.to_owned())
        }

        #[$attr]
        $($async)? fn a_read_the_emulator_answers_503_twice_succeeds_on_its_third_try() {
            let (capture, _guard) = capture();
            let (emulator, id) = emulator();
            let client = client_of(&emulator);
            client.create_application_session()$(.$await)?.unwrap();
            emulator.add_fault(FaultRule::new("GET", "/users/**").status(503).times(2)).unwrap();
            let user = client.get_user(id)$(.$await)?.unwrap();
            assert_eq!(user.map(|u| u.id), Some(id));
            assert_eq!(
                logged(&emulator, "GET", "/users"),
                [(503, some("status=503")), (503, some("status=503")), (200, None)]
            );
            let span = last_call(&capture);
            assert_eq!(span.field("attempts"), Some("3"), "{span:?}");
            assert_eq!(span.field("status"), Some("200"), "{span:?}");
            let waited = waited_ms(&span);
            assert!(waited > 0.0 && waited < 1500.0, "{span:?}");
        }

        #[$attr]
        $($async)? fn a_read_the_emulator_answers_429_retry_after_1_waits_a_second() {
            let (capture, _guard) = capture();
            let (emulator, id) = emulator();
            let client = client_of(&emulator);
            client.create_application_session()$(.$await)?.unwrap();
            let throttle = FaultRule::new("GET", "/users/**").status(429).header("Retry-After", "1");
            emulator.add_fault(throttle).unwrap();
            let user = client.get_user(id)$(.$await)?.unwrap();
            assert_eq!(user.map(|u| u.id), Some(id));
            assert_eq!(logged(&emulator, "GET", "/users").len(), 2);
            let span = last_call(&capture);
            assert_eq!(span.field("attempts"), Some("2"), "{span:?}");
            assert_eq!(waited_ms(&span), 1000.0, "{span:?}");
        }

        #[$attr]
        $($async)? fn a_read_whose_connection_the_emulator_cuts_goes_again() {
            let (capture, _guard) = capture();
            let (emulator, id) = emulator();
            let client = client_of(&emulator);
            client.create_application_session()$(.$await)?.unwrap();
            emulator.add_fault(FaultRule::new("GET", "/users/**").cut_before_headers()).unwrap();
            let user = client.get_user(id)$(.$await)?.unwrap();
            assert_eq!(user.map(|u| u.id), Some(id));
            assert_eq!(
                logged(&emulator, "GET", "/users"),
                [(0, some("cut=before-headers")), (200, None)]
            );
            let span = last_call(&capture);
            assert_eq!(span.field("attempts"), Some("2"), "{span:?}");
            assert_eq!(span.field("failure"), Some("reset_after_sent"), "{span:?}");
        }

        #[$attr]
        $($async)? fn a_sign_up_the_emulator_answers_503_surfaces_with_one_request() {
            let (capture, _guard) = capture();
            let (emulator, _) = emulator();
            let client = client_of(&emulator);
            emulator.add_fault(FaultRule::new("POST", "/users").status(503).always()).unwrap();
            let error = client
                .sign_up(NewUser::with_login("retry-e2e-new", "password-new"))$(.$await)?
                .unwrap_err();
            assert_eq!(error.status().map(|s| s.as_u16()), Some(503), "{error}");
            assert_eq!(
                logged(&emulator, "POST", "/users"),
                [(503, some("status=503"))],
                "one sign-up in the request log"
            );
            assert_eq!(last_call(&capture).field("attempts"), Some("1"));
        }
    };
}
