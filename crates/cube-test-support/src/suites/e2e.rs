//! [`e2e_suite!`](crate::e2e_suite): every mission call against the
//! emulator.

/// The end-to-end suite: every mission call through one adapter's client
/// against the in-process emulator. Written once, expanded in a test file of
/// each adapter: `e2e_suite!(cube_blocking, #[test]);` or
/// `e2e_suite!(cube_async, #[tokio::test] async await);`.
#[macro_export]
macro_rules! e2e_suite {
    ($adapter:ident, #[$attr:meta] $($async:ident $await:ident)?) => {
        use $crate::harness::Harness;
        use $crate::http;
        use $adapter::{
            Client, ClientBuilder, Credentials, Error, Field, ListUsers, NewUser, RestoreAnswer,
            SessionStatus, UserSearch, UserUpdate, proto,
        };

        /// What the restore callback answers, as the adapter takes it.
        $($async)? fn restore_with(answer: impl Into<RestoreAnswer>) -> RestoreAnswer {
            answer.into()
        }

        fn client_for(h: &Harness) -> ClientBuilder {
            Client::builder(h.app_id(), h.auth_key())
                .auth_secret(h.auth_secret())
                .base_url(h.base_url())
                .clock(h.clock())
        }

        fn expired(e: &Error) -> bool {
            matches!(e.proto(), Some(proto::Error::SessionExpired))
        }

        #[$attr]
        $($async)? fn sessions_of_every_local_kind_and_sign_in_out() {
            let h = Harness::start();
            let c = client_for(&h).build().unwrap();
            assert_eq!(c.create_application_session()$(.$await)?.unwrap().user_id, None);
            assert_eq!(c.session_status(), SessionStatus::Application);
            c.sign_up(NewUser::with_email("erin@example.com", "password-erin").login("erin001"))$(.$await)?.unwrap();

            let by_login = c.create_session(Credentials::login("erin001", "password-erin"))$(.$await)?.unwrap();
            let erin = by_login.user_id.unwrap();
            assert_eq!(c.session_status(), SessionStatus::User);
            let by_email = c.create_session(Credentials::email("ERIN@example.com", "password-erin"))$(.$await)?.unwrap();
            assert_eq!(by_email.user_id, Some(erin), "e-mail matches case-insensitively");

            let token = c.session_token().unwrap();
            c.sign_out()$(.$await)?.unwrap();
            assert_eq!(c.session_status(), SessionStatus::Application);
            assert_eq!(c.sign_in(Credentials::email("erin@example.com", "password-erin"))$(.$await)?.unwrap().id, erin);
            assert_eq!(c.session_token().unwrap(), token, "sign in and out keep the token");
            assert_eq!(c.session_info()$(.$await)?.unwrap().user_id, Some(erin));
            let wrong = c.sign_in(Credentials::login("erin001", "not-her-password"))$(.$await)?.unwrap_err();
            assert_eq!(wrong.status(), Some(http::StatusCode::UNAUTHORIZED));

            let g = client_for(&h).build().unwrap();
            let guest = g.create_session(Credentials::guest(Some("Visitor Vera".into())))$(.$await)?.unwrap();
            assert_eq!(g.session_status(), SessionStatus::Guest);
            assert_eq!(guest.user.unwrap().full_name.as_deref(), Some("Visitor Vera"));
            let lifetime = g.session_expires_at().unwrap() - g.now();
            assert!((lifetime - $crate::time::Duration::days(1)).abs() < $crate::time::Duration::seconds(5), "{lifetime}");
        }

        #[$attr]
        $($async)? fn destroy_by_id_all_others_and_current() {
            let h = Harness::start();
            let login = || Credentials::login("carol01", "password-carol");
            let (a, b, c) = (client_for(&h).build().unwrap(), client_for(&h).build().unwrap(), client_for(&h).build().unwrap());
            a.create_session(login())$(.$await)?.unwrap();
            let b_session = b.create_session(login())$(.$await)?.unwrap();
            c.create_session(login())$(.$await)?.unwrap();
            a.destroy_session_by_id(b_session.id)$(.$await)?.unwrap();
            assert!(expired(&b.session_info()$(.$await)?.unwrap_err()));
            c.session_info()$(.$await)?.unwrap();
            a.destroy_other_sessions()$(.$await)?.unwrap();
            assert!(expired(&c.session_info()$(.$await)?.unwrap_err()));
            a.session_info()$(.$await)?.unwrap();
            a.destroy_session()$(.$await)?.unwrap();
            assert_eq!(a.session_status(), SessionStatus::None);
        }

        #[$attr]
        $($async)? fn expiry_and_automatic_restore() {
            let h = Harness::start();
            let plain = client_for(&h).build().unwrap();
            plain.create_session(Credentials::login("dave001", "password-dave"))$(.$await)?.unwrap();
            let me = plain.current_user_id().unwrap();
            h.advance(119 * 60);
            assert!(plain.is_session_valid());
            assert!(plain.get_user(me)$(.$await)?.unwrap().is_some(), "a read at 1 h 59 min re-arms");
            h.advance(121 * 60);
            assert_eq!(plain.session_status(), SessionStatus::Expired);
            // No restore callback: an expired user session is never replaced silently.
            assert!(expired(&plain.get_user(me)$(.$await)?.unwrap_err()));

            let restores = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let counter = restores.clone();
            let restoring = client_for(&h)
                .restore(move || {
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    restore_with(Credentials::login("dave001", "password-dave"))
                })
                .build()
                .unwrap();
            restoring.create_session(Credentials::login("dave001", "password-dave"))$(.$await)?.unwrap();
            // Expired by the clock: restored before sending.
            h.advance(3 * 3600);
            assert!(restoring.get_user(me)$(.$await)?.unwrap().is_some());
            // Killed on the server: the 401 restores and retries once.
            let killer = client_for(&h).build().unwrap();
            killer.create_session(Credentials::login("dave001", "password-dave"))$(.$await)?.unwrap();
            killer.destroy_other_sessions()$(.$await)?.unwrap();
            assert!(restoring.is_session_valid(), "the client cannot know yet");
            assert!(restoring.get_user(me)$(.$await)?.unwrap().is_some());
            assert_eq!(restores.load(std::sync::atomic::Ordering::SeqCst), 2);
        }

        #[$attr]
        $($async)? fn sign_up_update_password_reset_delete() {
            let h = Harness::start();
            let c = client_for(&h).build().unwrap();
            // Sign-up with no session goes with the auth key.
            let frank = c.sign_up(NewUser::with_login("frank01", "password-frank").email("frank@example.com"))$(.$await)?.unwrap();
            assert_eq!(c.session_status(), SessionStatus::None);
            c.create_session(Credentials::login("frank01", "password-frank"))$(.$await)?.unwrap();
            let updated = c.update_user(UserUpdate::new().full_name("Frank Furt").phone("+4930123456").tags(["vip", "beta"]))$(.$await)?.unwrap();
            assert_eq!(updated.id, frank.id);
            assert_eq!(updated.full_name.as_deref(), Some("Frank Furt"));
            assert_eq!(updated.user_tags, ["vip", "beta"]);
            // A password change without the old one never leaves the client.
            let refused = c.update_user(UserUpdate::new().password("new-password"))$(.$await)?.unwrap_err();
            assert!(matches!(refused.proto(), Some(proto::Error::InvalidInput(e)) if e.field == "old_password"));
            let wrong_old = c.change_password("not-the-old-one", "new-password")$(.$await)?.unwrap_err();
            assert_eq!(wrong_old.status(), Some(http::StatusCode::UNPROCESSABLE_ENTITY));
            c.change_password("password-frank", "new-password")$(.$await)?.unwrap();
            assert!(c.is_session_valid(), "a password change keeps the session");
            let again = client_for(&h).build().unwrap();
            again.create_session(Credentials::login("frank01", "new-password"))$(.$await)?.unwrap();

            c.reset_password("frank@example.com")$(.$await)?.unwrap();
            let outbox = h.outbox();
            assert_eq!(outbox["items"][0]["to"], "frank@example.com");

            c.delete_current_user()$(.$await)?.unwrap();
            assert_eq!(c.session_status(), SessionStatus::None);
            assert!(expired(&again.session_info()$(.$await)?.unwrap_err()) || again.session_info()$(.$await)?.is_err());
            let reader = client_for(&h).build().unwrap();
            assert_eq!(reader.get_user(frank.id)$(.$await)?.unwrap(), None);
        }

        #[$attr]
        $($async)? fn delete_self_by_external_id() {
            let h = Harness::start();
            let c = client_for(&h).build().unwrap();
            let u = c.sign_up(NewUser::with_login("gina001", "password-gina").external_id("ext-gina"))$(.$await)?.unwrap();
            c.create_session(Credentials::login("gina001", "password-gina"))$(.$await)?.unwrap();
            c.delete_user_by_external_id("ext-gina")$(.$await)?.unwrap();
            assert_eq!(c.session_status(), SessionStatus::None);
            assert_eq!(client_for(&h).build().unwrap().get_user(u.id)$(.$await)?.unwrap(), None);
        }

        #[$attr]
        $($async)? fn every_look_up_and_paged_search() {
            let h = Harness::start();
            let admin = client_for(&h).build().unwrap();
            let mut ids = Vec::new();
            for i in 0..7u32 {
                let user = NewUser::with_login(format!("henry{i:03}"), "password-henry")
                    .email(format!("henry{i}@example.com"))
                    .full_name(if i < 3 { "Henry Hill".to_owned() } else { format!("Other {i}") })
                    .phone(format!("+100000000{i}"))
                    .external_id(format!("ext-{i}"))
                    .tags(if i % 2 == 0 { vec!["even"] } else { vec!["odd"] });
                ids.push(admin.sign_up(user)$(.$await)?.unwrap().id);
            }
            let c = client_for(&h).build().unwrap();
            assert_eq!(c.get_user(ids[0])$(.$await)?.unwrap().unwrap().login.as_deref(), Some("henry000"));
            assert_eq!(c.get_user(999_999)$(.$await)?.unwrap(), None);
            assert_eq!(c.get_user_by_login("henry001")$(.$await)?.unwrap().unwrap().id, ids[1]);
            assert_eq!(c.get_user_by_login("nobody")$(.$await)?.unwrap(), None);
            assert_eq!(c.get_user_by_email("HENRY2@example.com")$(.$await)?.unwrap().unwrap().id, ids[2]);
            assert_eq!(c.get_user_by_external_id("ext-3")$(.$await)?.unwrap().unwrap().id, ids[3]);
            let users = c.get_users_by_ids([ids[5], 999_999, ids[4], ids[5]])$(.$await)?.unwrap();
            let found: Vec<u64> = users.iter().map(|u| u.id).collect();
            assert_eq!(found, [ids[5], ids[4]], "in the order asked, once each, nobody left out");
            assert_eq!(c.find_users_by_full_name("Henry Hill")$(.$await)?.unwrap().total_entries, 3);
            assert_eq!(c.find_users_by_phone("+1000000006")$(.$await)?.unwrap().items[0].id, ids[6]);
            assert_eq!(c.find_users_by_tags(["odd"])$(.$await)?.unwrap().total_entries, 3);

            let search = UserSearch::new()
                .start_with(Field::Login, "henry")
                .none_of(Field::UserTags, ["odd"])
                .sort_desc(Field::Id)
                .build()
                .unwrap();
            let page = c.search_users(search)$(.$await)?.unwrap();
            let got: Vec<u64> = page.items.iter().map(|u| u.id).collect();
            assert_eq!(got, [ids[6], ids[4], ids[2], ids[0]]);

            // Paging through every user, two at a time.
            let everyone = UserSearch::new().any_of(Field::Id, ids.clone()).sort_asc(Field::Id).limit(2).build().unwrap();
            let mut pages = c.search_users_pages(everyone);
            let mut seen = Vec::new();
            while let Some(page) = pages.next()$(.$await)? {
                let page = page.unwrap();
                assert!(page.items.len() <= 2);
                seen.extend(page.items.iter().map(|u| u.id));
            }
            assert_eq!(seen, ids);

            let v1 = c.list_users_v1(ListUsers::new().per_page(3))$(.$await)?.unwrap();
            assert_eq!((v1.total_entries, v1.items.len()), (7, 3));
        }
        #[$attr]
        $($async)? fn avatar_upload_link_url_and_file_calls() {
            let h = Harness::start();
            let owner = client_for(&h).build().unwrap();
            owner.sign_up(NewUser::with_login("jack001", "password-jack"))$(.$await)?.unwrap();
            owner.create_session(Credentials::login("jack001", "password-jack"))$(.$await)?.unwrap();
            let image = b"\x89PNG\r\n\x1a\n fake pixels + more".to_vec();
            let (blob, user) = owner.set_avatar("image/png", "jack.png", image.clone())$(.$await)?.unwrap();
            let uid = blob.uid.clone().unwrap();
            assert_eq!(user.avatar.as_deref(), Some(uid.as_str()));
            assert_eq!(owner.get_blob(blob.id)$(.$await)?.unwrap().size, Some(image.len() as u64));

            let viewer = client_for(&h).build().unwrap();
            viewer.create_session(Credentials::login("kate001", "password-kate"))$(.$await)?.unwrap();
            let seen = viewer.get_user(user.id)$(.$await)?.unwrap().unwrap();
            let url = viewer.blob_private_url(seen.avatar.as_deref().unwrap()).unwrap().unwrap();
            assert!(url.contains(viewer.session_token().unwrap().expose()), "the viewer's own token");
            let fetched = $crate::ureq::get(&url).call().unwrap().body_mut().read_to_vec().unwrap();
            assert_eq!(fetched, image);
            // Without a token the private file is refused.
            let bare = $crate::ureq::get(&format!("{}/blobs/{uid}", h.base_url()))
                .config().http_status_as_error(false).build().call().unwrap().status();
            assert_eq!(bare, 401);
            // Only the owner deletes.
            assert_eq!(viewer.delete_blob(blob.id)$(.$await)?.unwrap_err().status(), Some(http::StatusCode::FORBIDDEN));
            owner.delete_blob(blob.id)$(.$await)?.unwrap();
            assert!(owner.get_blob(blob.id)$(.$await)?.unwrap_err().status() == Some(http::StatusCode::NOT_FOUND));
        }
        #[$attr]
        $($async)? fn every_identity_provider_creates_sessions_and_signs_in() {
            let h = Harness::start();
            let unauthorized = |e: Error| assert_eq!(e.status(), Some(http::StatusCode::UNAUTHORIZED), "{e}");

            // Facebook, through the emulator's fake Graph API.
            h.admin_post("/providers/facebook/tokens", $crate::serde_json::json!({"token": "fb-token-1", "id": "fb-1001", "name": "Faye"}));
            let c = client_for(&h).build().unwrap();
            let fb = c.create_session(Credentials::facebook("fb-token-1"))$(.$await)?.unwrap().user.unwrap();
            assert_eq!(fb.facebook_id.as_deref(), Some("fb-1001"));
            let up = client_for(&h).build().unwrap();
            up.create_application_session()$(.$await)?.unwrap();
            assert_eq!(up.sign_in(Credentials::facebook("fb-token-1"))$(.$await)?.unwrap().id, fb.id);
            assert_eq!(up.session_status(), SessionStatus::User);
            unauthorized(c.create_session(Credentials::facebook("unknown"))$(.$await)?.unwrap_err());

            // Twitter, OAuth 1.0a-checked by the fake Twitter API.
            h.admin_post("/providers/twitter/tokens", $crate::serde_json::json!({"token": "tw-token", "secret": "tw-secret", "id": "tw-2002"}));
            let tw = c.create_session(Credentials::twitter("tw-token", "tw-secret"))$(.$await)?.unwrap().user.unwrap();
            assert_eq!(tw.twitter_id.as_deref(), Some("tw-2002"));
            let up = client_for(&h).build().unwrap();
            assert_eq!(up.sign_in(Credentials::twitter("tw-token", "tw-secret"))$(.$await)?.unwrap().id, tw.id);
            unauthorized(c.create_session(Credentials::twitter("tw-token", "wrong-secret"))$(.$await)?.unwrap_err());

            // Firebase phone and e-mail, RS256 against a key set this test serves.
            let key = $crate::firebase::SigningKey::test_key();
            let jwks = key.jwks().to_string();
            let keys = $crate::fake::FakeServer::start(move |_| $crate::fake::Reply::new(200, &jwks));
            h.settings($crate::serde_json::json!({"firebase_jwks_url": format!("{}/jwks", keys.url()), "firebase_accept_unsigned": false}));
            let phone_token = key.token("cube-sdk", $crate::serde_json::json!({"sub": "fire-phone-1", "phone_number": "+15550123"}));
            let phone = c.create_session(Credentials::firebase_phone("cube-sdk", phone_token.clone()))$(.$await)?.unwrap().user.unwrap();
            assert_eq!(phone.phone.as_deref(), Some("+15550123"));
            let up = client_for(&h).build().unwrap();
            assert_eq!(up.sign_in(Credentials::firebase_phone("cube-sdk", phone_token))$(.$await)?.unwrap().id, phone.id);
            let email_token = key.token("cube-sdk", $crate::serde_json::json!({"sub": "fire-mail-1", "email": "fire@example.com"}));
            let mail = up.sign_in(Credentials::firebase_email("cube-sdk", email_token))$(.$await)?.unwrap();
            assert_eq!(mail.email.as_deref(), Some("fire@example.com"));
            let other_project = key.token("another-project", $crate::serde_json::json!({"sub": "x", "phone_number": "+1"}));
            unauthorized(c.create_session(Credentials::firebase_phone("cube-sdk", other_project))$(.$await)?.unwrap_err());
            assert!(!keys.requests().is_empty(), "the key set was fetched from the test");

            // The application's own identity provider, served by this test.
            let idp = $crate::fake::FakeServer::start(|req| match req.path.split("token=").nth(1) {
                Some("good-idp-token") => $crate::fake::Reply::new(200, r#"{"user": {"id": 7007}}"#),
                _ => $crate::fake::Reply::new(401, r#"{"error": "no"}"#),
            });
            h.settings($crate::serde_json::json!({"cidp": {"url": format!("{}/verify", idp.url()),
                "request_params": {"token": "#{login}"}, "response_params": {"uid": "#{user.id}"}}}));
            let ext = c.create_session(Credentials::custom_idp("good-idp-token"))$(.$await)?.unwrap().user.unwrap();
            assert_eq!(ext.external_id.as_deref(), Some("7007"));
            let up = client_for(&h).build().unwrap();
            up.create_application_session()$(.$await)?.unwrap();
            assert_eq!(up.sign_in(Credentials::custom_idp("good-idp-token"))$(.$await)?.unwrap().id, ext.id);
            // A token the provider refuses: `422 Bad Authentication data…`, as the
            // public service answers it, and refused credentials to the SDK.
            let refused = c.create_session(Credentials::custom_idp("bad-idp-token"))$(.$await)?.unwrap_err();
            assert_eq!(refused.status(), Some(http::StatusCode::UNPROCESSABLE_ENTITY), "{refused}");
            assert!(refused.is_bad_credentials() && !refused.is_session_expired(), "{refused}");
        }
    };
}
