//! [`persist_suite!`](crate::persist_suite): sessions that outlive the
//! process.

/// Sessions that live as long as the app, end to end against the emulator:
/// resumed in another process, adopted from another client, every change
/// heard. Written once, expanded in a test file of each adapter:
/// `persist_suite!(cube_blocking, #[test]);` or
/// `persist_suite!(cube_async, #[tokio::test] async await);`. The file may
/// add tests of its own that use what the suite defines (`Harness`,
/// `client_for`, `recorder`, `changes`, `LOGIN`, …).
///
/// "Another process" is this very test binary, run again with the exact name
/// of an ignored test (`child_resumes_the_saved_session`) and the snapshot
/// file in its environment; the parent reads the child's verdict and what it
/// printed. The emulator numbers sessions in order, so the id of the next
/// session the parent makes says how many sessions were made meanwhile.
#[macro_export]
macro_rules! persist_suite {
    ($adapter:ident, #[$attr:meta] $($async:ident $await:ident)?) => {
        use $crate::harness::Harness;
        use $adapter::{
            Client, ClientBuilder, Credentials, Error, ExpiredBy, IssuedToken, NewUser, RestoreAnswer,
            SessionChange, SessionEvent, SessionKind, SessionSnapshot, UserUpdate, proto,
        };
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::{Arc, Mutex};

        /// What the restore callback answers, as the adapter takes it.
        $($async)? fn restore_with(answer: impl Into<RestoreAnswer>) -> RestoreAnswer {
            answer.into()
        }

        const LOGIN: &str = "paula01";
        const PASSWORD: &str = "password-paula";

        fn client_for(h: &Harness) -> ClientBuilder {
            Client::builder(h.app_id(), h.auth_key())
                .auth_secret(h.auth_secret())
                .base_url(h.base_url())
                .clock(h.clock())
        }

        /// A listener that keeps every event, and what it kept.
        fn recorder() -> (Arc<Mutex<Vec<SessionEvent>>>, impl Fn(&SessionEvent) + Send + Sync + 'static) {
            let events = Arc::new(Mutex::new(Vec::new()));
            let sink = events.clone();
            (events, move |e: &SessionEvent| sink.lock().unwrap().push(e.clone()))
        }

        fn changes(events: &Mutex<Vec<SessionEvent>>) -> Vec<SessionChange> {
            events.lock().unwrap().drain(..).map(|e| e.change).collect()
        }

        /// The id of a session made now by a new client: one more than the
        /// last session the emulator made.
        $($async)? fn next_session_id(h: &Harness) -> u64 {
            let probe = client_for(h).build().unwrap();
            probe.create_application_session()$(.$await)?.unwrap().id
        }

        /// Runs the child half in a new process; returns what it printed.
        fn run_child(h: &Harness, file: &std::path::Path, clock_offset: i64, user: u64) -> String {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["child_resumes_the_saved_session", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
                .env("CUBE_CHILD_SNAPSHOT", file)
                .env("CUBE_CHILD_API", h.base_url())
                .env("CUBE_CHILD_APP", h.app_id().to_string())
                .env("CUBE_CHILD_KEY", h.auth_key())
                .env("CUBE_CHILD_SECRET", h.auth_secret())
                .env("CUBE_CHILD_CLOCK_OFFSET", clock_offset.to_string())
                .env("CUBE_CHILD_USER", user.to_string())
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(
                out.status.success() && stdout.contains("test result: ok. 1 passed"),
                "the child failed:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            stdout
        }

        #[$attr]
        $($async)? fn a_session_resumed_in_another_process_makes_no_session_request() {
            let h = Harness::start();
            let owner = client_for(&h).build().unwrap();
            let user = owner.sign_up(NewUser::with_login(LOGIN, PASSWORD))$(.$await)?.unwrap();
            let first = owner.create_session(Credentials::login(LOGIN, PASSWORD))$(.$await)?.unwrap();
            let file = std::env::temp_dir().join(format!(
                "cube-persist-{}-{}.json",
                std::process::id(),
                env!("CARGO_CRATE_NAME")
            ));
            let snapshot = owner.export_session().unwrap();
            std::fs::write(&file, $crate::serde_json::to_string(&snapshot).unwrap()).unwrap();

            // A new process resumes the session and reads the user at once.
            let out = run_child(&h, &file, 0, user.id);
            assert!(out.contains(&format!("child: read user {} after 0 restore(s); changes []", user.id)), "{out}");
            assert_eq!(next_session_id(&h)$(.$await)?, first.id + 1, "the child made no session");

            // Past the deadline, the next launch restores, once.
            let later = 2 * 3600 + 60;
            h.advance(later);
            let out = run_child(&h, &file, later, user.id);
            assert!(
                out.contains(&format!("child: read user {} after 1 restore(s); changes [Expired(Clock), Restored]", user.id)),
                "{out}"
            );
            assert_eq!(next_session_id(&h)$(.$await)?, first.id + 3, "one restore session, then this one");
            // The listener saved the restored session, and the next launch uses it.
            let saved: SessionSnapshot = $crate::serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
            assert_eq!(saved.session_id(), Some(first.id + 2));
            let out = run_child(&h, &file, later, user.id);
            assert!(out.contains("after 0 restore(s); changes []"), "{out}");
            assert_eq!(next_session_id(&h)$(.$await)?, first.id + 4);
            std::fs::remove_file(&file).unwrap();

            // A snapshot is refused by a client of another application or server.
            let other_app = Client::builder(h.app_id() + 1, h.auth_key()).base_url(h.base_url()).resume_session(saved.clone()).build();
            assert!(matches!(other_app.unwrap_err().proto(), Some(proto::Error::ForeignSnapshot("application id"))));
            let other_url = client_for(&h).base_url(format!("{}/elsewhere", h.base_url())).resume_session(saved).build();
            assert!(matches!(other_url.unwrap_err().proto(), Some(proto::Error::ForeignSnapshot("base URL"))));
        }

        #[$attr]
        #[ignore = "the child half of a_session_resumed_in_another_process_makes_no_session_request"]
        $($async)? fn child_resumes_the_saved_session() {
            let var = |name: &str| {
                std::env::var(name).unwrap_or_else(|_| panic!("{name} is unset: this test runs as the child of a_session_resumed_in_another_process_makes_no_session_request"))
            };
            let file = var("CUBE_CHILD_SNAPSHOT");
            let snapshot: SessionSnapshot = $crate::serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
            let offset: i64 = var("CUBE_CHILD_CLOCK_OFFSET").parse().unwrap();
            let user: u64 = var("CUBE_CHILD_USER").parse().unwrap();
            let restores = Arc::new(AtomicUsize::new(0));
            let counter = restores.clone();
            let events = Arc::new(Mutex::new(Vec::new()));
            let (sink, save_to) = (events.clone(), file.clone());
            let client = Client::builder(var("CUBE_CHILD_APP").parse().unwrap(), var("CUBE_CHILD_KEY"))
                .auth_secret(var("CUBE_CHILD_SECRET"))
                .base_url(var("CUBE_CHILD_API"))
                .clock(move || $crate::time::OffsetDateTime::now_utc() + $crate::time::Duration::seconds(offset))
                .resume_session(snapshot)
                .restore(move || {
                    counter.fetch_add(1, Ordering::SeqCst);
                    restore_with(Credentials::login(LOGIN, PASSWORD))
                })
                .on_session_change(move |e: &SessionEvent| {
                    // What an app does: persist every change.
                    sink.lock().unwrap().push(e.change);
                    if let Some(snapshot) = &e.snapshot {
                        std::fs::write(&save_to, $crate::serde_json::to_string(snapshot).unwrap()).unwrap();
                    }
                })
                .build()
                .unwrap();
            let read = client.get_user(user)$(.$await)?.unwrap().unwrap();
            assert_eq!(read.login.as_deref(), Some(LOGIN));
            println!(
                "child: read user {} after {} restore(s); changes {:?}",
                read.id,
                restores.load(Ordering::SeqCst),
                events.lock().unwrap()
            );
        }

        #[$attr]
        $($async)? fn a_client_built_from_a_token_reads_without_creating_a_session() {
            let h = Harness::start();
            let owner = client_for(&h).build().unwrap();
            let user = owner.sign_up(NewUser::with_login(LOGIN, PASSWORD))$(.$await)?.unwrap();
            let first = owner.create_session(Credentials::login(LOGIN, PASSWORD))$(.$await)?.unwrap();
            let token = owner.session_token().unwrap();

            let (events, listener) = recorder();
            let adopted = Client::with_token(h.app_id(), IssuedToken::new(token.expose()).user(user.id))
                .base_url(h.base_url())
                .clock(h.clock())
                .on_session_change(listener)
                .build()
                .unwrap();
            assert_eq!(adopted.session_expires_at(), None, "nobody said the deadline yet");
            assert_eq!(adopted.get_user(user.id)$(.$await)?.unwrap().unwrap().id, user.id);
            let deadline = adopted.session_expires_at().expect("the first answer's header");
            assert!((deadline - adopted.now() - $crate::time::Duration::hours(2)).abs() < $crate::time::Duration::seconds(5));
            let updated = adopted.update_user(UserUpdate::new().full_name("Paula Adopted"))$(.$await)?.unwrap();
            assert_eq!(updated.full_name.as_deref(), Some("Paula Adopted"));
            assert_eq!(next_session_id(&h)$(.$await)?, first.id + 1, "the adopted client made no session");
            assert!(changes(&events).is_empty(), "building with a token is not a change");

            // Without an auth key a call that needs a new session fails typed.
            let bare = Client::builder_without_auth_key(h.app_id()).base_url(h.base_url()).build().unwrap();
            let no_key = |e: Error| assert!(matches!(e.proto(), Some(proto::Error::NoAuthKey)), "{e}");
            no_key(bare.get_user(user.id)$(.$await)?.unwrap_err());
            no_key(bare.sign_up(NewUser::with_login("quinn01", "password-quinn"))$(.$await)?.unwrap_err());
            no_key(bare.create_application_session()$(.$await)?.unwrap_err());
            no_key(bare.sign_in(Credentials::login(LOGIN, PASSWORD))$(.$await)?.unwrap_err());
            // A token taken as an application session cannot be replaced
            // when it dies; one taken as a user session is not replaced by
            // another kind either.
            let as_app = Client::with_token(h.app_id(), IssuedToken::new(token.expose()))
                .base_url(h.base_url()).clock(h.clock()).build().unwrap();
            owner.destroy_session()$(.$await)?.unwrap();
            no_key(as_app.get_user(user.id)$(.$await)?.unwrap_err());
            let expired = adopted.get_user(user.id)$(.$await)?.unwrap_err();
            assert!(matches!(expired.proto(), Some(proto::Error::SessionExpired)), "{expired}");
            assert_eq!(changes(&events), [SessionChange::Expired(ExpiredBy::Server)]);
            let after = next_session_id(&h)$(.$await)?;
            assert_eq!(after, first.id + 2, "still no session made by a keyless client");

            // A keyless client whose restore callback hands over a session
            // minted elsewhere (the app's backend) needs no auth key.
            let backend = client_for(&h).build().unwrap();
            let minted = backend.create_session(Credentials::login(LOGIN, PASSWORD))$(.$await)?.unwrap();
            let minted_token = minted.token.clone().unwrap();
            let (events, listener) = recorder();
            let handed = Client::builder_without_auth_key(h.app_id())
                .base_url(h.base_url())
                .clock(h.clock())
                .restore(move || restore_with(IssuedToken::new(minted_token.expose()).user(user.id)))
                .on_session_change(listener)
                .build()
                .unwrap();
            assert_eq!(handed.get_user(user.id)$(.$await)?.unwrap().unwrap().id, user.id);
            assert_eq!(handed.session_info()$(.$await)?.unwrap().id, minted.id);
            assert_eq!(changes(&events), [SessionChange::Restored]);
            assert_eq!(next_session_id(&h)$(.$await)?, after + 2, "only the backend's session");

            // A running client adopts and resumes too, and says so.
            let (events, listener) = recorder();
            let running = client_for(&h).on_session_change(listener).build().unwrap();
            running.adopt_session(IssuedToken::new(minted.token.clone().unwrap().expose()).user(user.id)).unwrap();
            let snapshot = running.export_session().unwrap();
            running.forget_session();
            running.resume_session(snapshot).unwrap();
            assert_eq!(running.get_user(user.id)$(.$await)?.unwrap().unwrap().id, user.id);
            assert_eq!(changes(&events), [SessionChange::Adopted, SessionChange::Destroyed, SessionChange::Resumed]);
        }

        #[$attr]
        $($async)? fn every_change_is_heard_once_in_order() {
            let h = Harness::start();
            client_for(&h).build().unwrap().sign_up(NewUser::with_login(LOGIN, PASSWORD))$(.$await)?.unwrap();
            let (events, listener) = recorder();
            let client = client_for(&h)
                .restore(|| restore_with(Credentials::login(LOGIN, PASSWORD)))
                .on_session_change(listener)
                .build()
                .unwrap();
            client.create_application_session()$(.$await)?.unwrap();
            let me = client.sign_in(Credentials::login(LOGIN, PASSWORD))$(.$await)?.unwrap();
            h.advance(2 * 3600 + 60);
            assert!(client.blob_private_url("0123456789abcdef").is_ok_and(|url| url.is_none()), "no URL for a dead session");
            client.get_user(me.id)$(.$await)?.unwrap();
            client.sign_out()$(.$await)?.unwrap();
            client.destroy_session()$(.$await)?.unwrap();
            let heard = events.lock().unwrap().clone();
            let changes: Vec<SessionChange> = heard.iter().map(|e| e.change).collect();
            assert_eq!(
                changes,
                [
                    SessionChange::Created(SessionKind::Application),
                    SessionChange::Upgraded,
                    SessionChange::Expired(ExpiredBy::Clock),
                    SessionChange::Restored,
                    SessionChange::Downgraded,
                    SessionChange::Destroyed,
                ]
            );
            // Each event carries the session right after the change.
            let kinds: Vec<Option<SessionKind>> = heard.iter().map(|e| e.snapshot.as_ref().map(|s| s.kind())).collect();
            assert_eq!(
                kinds,
                [
                    Some(SessionKind::Application),
                    Some(SessionKind::User),
                    Some(SessionKind::User),
                    Some(SessionKind::User),
                    Some(SessionKind::Application),
                    None,
                ]
            );
            assert!(heard[2].snapshot.as_ref().unwrap().token().is_none(), "an expired session has no token");
            assert_eq!(heard[3].snapshot.as_ref().unwrap().user_id(), Some(me.id));
            assert_ne!(heard[3].snapshot.as_ref().unwrap().token(), heard[1].snapshot.as_ref().unwrap().token(), "a new token");
        }
    };
}
