//! `cube_emulator::testing`: the helpers an application's own tests use,
//! blocking and async, each doing what its admin route does.

use std::time::Duration;

use cube_emulator::EmulatorConfig;
use cube_emulator::testing::{AsyncTestEmulator, Error, SeedUser, SessionKind, TestEmulator};
use serde_json::{Value, json};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
}

/// Signs `login` in over HTTP, as the app under test would; its token.
fn sign_in(base: &str, login: &str, password: &str) -> String {
    let mut answer = agent()
        .post(&format!("{base}/session"))
        .send_json(json!({"application_id": 1, "auth_key": "emulator-auth-key",
                          "user": {"login": login, "password": password}}))
        .unwrap();
    assert_eq!(answer.status(), 201);
    let body: Value = answer.body_mut().read_json().unwrap();
    body["session"]["token"].as_str().unwrap().to_owned()
}

fn status_with(base: &str, token: &str) -> u16 {
    agent()
        .get(&format!("{base}/session"))
        .header("CB-Token", token)
        .call()
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn the_blocking_helpers_drive_the_emulator() {
    let emulator = TestEmulator::start_with(EmulatorConfig {
        admin_token: Some("helpers-need-no-token".into()),
        ..EmulatorConfig::default()
    })
    .unwrap();
    let base = emulator.base_url().to_owned();

    // Seeding: all or nothing, refusals typed.
    let ids = emulator
        .seed_users([
            SeedUser::with_login("seed_ann", "password-1")
                .full_name("Ann Seed")
                .tags(["a", "b"]),
            SeedUser::with_email("seed_bo@example.com", "password-2").phone("+100"),
        ])
        .unwrap();
    assert_eq!(ids.len(), 2);
    let refused = emulator.seed_user(SeedUser::with_login("x", "password-3"));
    assert!(
        matches!(&refused, Err(Error::Refused { status: 422, errors }) if errors.contains("login")),
        "{refused:?}"
    );
    let user = emulator
        .admin("GET", &format!("/apps/1/users/{}", ids[0]), None)
        .unwrap();
    assert_eq!(user["user"]["full_name"], "Ann Seed");
    assert_eq!(user["user"]["user_tags"], "a,b");

    // Sessions, and their end.
    let first = sign_in(&base, "seed_ann", "password-1");
    let second = sign_in(&base, "seed_ann", "password-1");
    let listed = emulator.sessions_of_user(ids[0]).unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].kind, SessionKind::User);
    assert!(listed[0].id > listed[1].id, "newest first");
    assert_eq!(listed[0].fingerprint.len(), 8);
    let left = listed[0]
        .deadline
        .duration_since(emulator.now().unwrap())
        .unwrap();
    assert!(left <= Duration::from_secs(7200) && left > Duration::from_secs(7000));
    emulator.expire_session(listed[1].id).unwrap();
    assert_eq!(status_with(&base, &first), 401);
    assert_eq!(status_with(&base, &second), 200);
    assert!(matches!(
        emulator.expire_session(listed[1].id),
        Err(Error::Refused { status: 404, .. })
    ));
    emulator.destroy_session(listed[0].id).unwrap();
    assert_eq!(status_with(&base, &second), 401);
    // Every session of the application at once.
    let third = sign_in(&base, "seed_ann", "password-1");
    agent()
        .post(&format!("{base}/session"))
        .send_json(json!({"application_id": 1, "auth_key": "emulator-auth-key"}))
        .unwrap();
    assert_eq!(emulator.sessions().unwrap().len(), 2);
    assert_eq!(emulator.expire_all_sessions().unwrap(), 2);
    assert_eq!(status_with(&base, &third), 401);
    assert!(emulator.sessions().unwrap().is_empty());

    // The clock.
    let before = emulator.now().unwrap();
    let after = emulator.advance_clock(-3600).unwrap();
    let back = before.duration_since(after).unwrap().as_secs();
    assert!((3590..=3600).contains(&back), "{back}");

    // The outbox: a reset mail's link and token.
    let token = sign_in(&base, "seed_ann", "password-1");
    agent()
        .post(&format!("{base}/users/password/reset"))
        .header("CB-Token", &token)
        .send_json(json!({"email": "seed_bo@example.com"}))
        .unwrap();
    let outbox = emulator.outbox().unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].to, "seed_bo@example.com");
    assert!(outbox[0].link.ends_with(&outbox[0].token));
    // Debug never shows the reset token.
    assert!(!format!("{:?}", outbox[0]).contains(&outbox[0].token));
    assert!(!format!("{:?}", SeedUser::with_login("l", "hidden-pass")).contains("hidden-pass"));

    // The request log, and polling it.
    let log = emulator.requests().unwrap();
    assert_eq!(log[0].method, "POST");
    assert_eq!(log[0].path, "/users/password/reset");
    assert_eq!(log[0].status, 200);
    assert_eq!(log[0].user_id, Some(ids[0]));
    let seq = log[0].seq;
    assert!(emulator.requests_since(seq).unwrap().is_empty());
    status_with(&base, &token);
    let newer = emulator.requests_since(seq).unwrap();
    assert_eq!(newer.len(), 1);
    assert_eq!(newer[0].seq, seq + 1);

    // A clean slate.
    emulator.reset_data().unwrap();
    assert!(emulator.outbox().unwrap().is_empty());
    assert_eq!(status_with(&base, &token), 401);
}

#[test]
fn blocking_helpers_work_inside_an_async_test_too() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // The emulator runs on its own thread: blocking on it from this
        // single-threaded runtime cannot stall it.
        let emulator = TestEmulator::start().unwrap();
        emulator
            .seed_user(SeedUser::with_login("inside_async", "password-1"))
            .unwrap();
        assert!(emulator.advance_clock(60).is_ok());
    });
}

#[tokio::test]
async fn the_async_helpers_drive_the_emulator() {
    let emulator = AsyncTestEmulator::start().await.unwrap();
    let id = emulator
        .seed_user(SeedUser::with_login("async_ann", "password-1"))
        .await
        .unwrap();
    let base = emulator.base_url().to_owned();
    let token = tokio::task::spawn_blocking(move || sign_in(&base, "async_ann", "password-1"))
        .await
        .unwrap();
    let sessions = emulator.sessions_of_user(id).await.unwrap();
    assert_eq!(sessions.len(), 1);
    // Two hours on the clock end it, as they would.
    emulator.advance_clock(2 * 3600).await.unwrap();
    assert!(emulator.sessions().await.unwrap().is_empty());
    let base = emulator.base_url().to_owned();
    let status = tokio::task::spawn_blocking(move || status_with(&base, &token))
        .await
        .unwrap();
    assert_eq!(status, 401);
    let log = emulator.requests().await.unwrap();
    assert_eq!(
        (log[0].status, log[0].session.as_deref()),
        (401, Some(&*sessions[0].fingerprint))
    );
    assert_eq!(emulator.expire_all_sessions().await.unwrap(), 0);
    assert!(emulator.outbox().await.unwrap().is_empty());
    emulator.reset_data().await.unwrap();
    let health = emulator.admin("GET", "/health", None).await.unwrap();
    assert_eq!(health["status"], "ok");
    emulator.stop().await;
}

/// The fault helpers: a rule built with `FaultRule` is the emulator's, it
/// acts over HTTP, the log says what it did, and it is listed, removed and
/// cleared; a bad one is refused with the admin API's reason.
#[tokio::test]
async fn the_fault_helpers_set_list_and_clear_rules() {
    use cube_emulator::testing::FaultRule;

    let emulator = AsyncTestEmulator::start().await.unwrap();
    let slow = emulator
        .add_fault(
            FaultRule::new("POST", "/session")
                .latency(Duration::from_millis(5))
                .status(429)
                .header("Retry-After", "1")
                .body("slow down")
                .nth(2)
                .times(1),
        )
        .await
        .unwrap();
    let cut = emulator
        .add_fault(FaultRule::text("GET /session cut=before-headers").always())
        .await
        .unwrap();
    let listed = emulator.faults().await.unwrap();
    assert_eq!(
        listed.iter().map(|f| f.text.as_str()).collect::<Vec<_>>(),
        [
            "POST /session latency=5ms status=429 header=retry-after:1 body=\"slow down\" nth=2",
            "GET /session cut=before-headers times=always",
        ]
    );
    let err = emulator
        .add_fault(FaultRule::new("GET", "/x").status(99))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Refused { status: 422, errors } if errors.contains("status")),
        "{err}"
    );

    let base = emulator.base_url().to_owned();
    let (first, second, read) = tokio::task::spawn_blocking(move || {
        let post = || {
            agent()
                .post(&format!("{base}/session"))
                .send_json(json!({"application_id": 1, "auth_key": "emulator-auth-key"}))
                .map(|mut r| (r.status().as_u16(), r.body_mut().read_to_string().unwrap()))
        };
        let (first, second) = (post().unwrap(), post().unwrap());
        let read = agent().get(&format!("{base}/session")).call();
        (first, second, read.is_err())
    })
    .await
    .unwrap();
    assert_eq!(first.0, 201);
    assert_eq!(second, (429, "slow down".to_owned()));
    assert!(read, "a cut before the headers is no answer");

    let log = emulator.requests().await.unwrap();
    assert_eq!(log[0].status, 0);
    assert_eq!(log[0].fault.as_ref().map(|f| f.rule), Some(cut));
    assert_eq!(
        log[1].fault.as_ref().map(|f| (f.rule, f.effect.as_str())),
        Some((slow, "latency=5ms status=429"))
    );
    assert_eq!(log[2].fault, None);
    let listed = emulator.faults().await.unwrap();
    assert_eq!(
        (listed[0].matched, listed[0].fired, listed[0].spent),
        (2, 1, true)
    );
    assert_eq!((listed[1].fired, listed[1].spent), (1, false));

    emulator.remove_fault(slow).await.unwrap();
    assert!(matches!(
        emulator.remove_fault(slow).await,
        Err(Error::Refused { status: 404, .. })
    ));
    assert_eq!(emulator.clear_faults().await.unwrap(), 1);
    assert!(emulator.faults().await.unwrap().is_empty());
    emulator.stop().await;
}
