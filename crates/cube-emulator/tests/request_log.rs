//! `GET /_emulator/requests`: the last requests of the ConnectyCube API,
//! newest first, polled with `?since=`; what each says (time, method,
//! path, status, duration, application, user, session fingerprint); no
//! secret in it, ever; the admin API's own requests left out; its size
//! set at start, within its limit.

mod common;

use common::{Emu, Resp, token_of};
use cube_emulator::{Emulator, EmulatorConfig, StartError};
use serde_json::{Value, json};

fn log(emu: &Emu, query: &str) -> Resp {
    let resp = emu.get(&format!("/_emulator/requests{query}"), None);
    resp.assert(200);
    resp
}

fn items(resp: &Resp) -> Vec<Value> {
    resp.body["items"].as_array().unwrap().clone()
}

fn paths(resp: &Resp) -> Vec<String> {
    items(resp)
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["method"].as_str().unwrap(),
                e["path"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn requests_are_logged_newest_first_with_who_made_them() {
    let emu = Emu::frozen();
    let empty = log(&emu, "");
    assert_eq!(empty.body["last"], 0);
    assert_eq!(empty.body["capacity"], 1000);
    assert!(items(&empty).is_empty());

    let (token, user) = emu.user("logged_ann");
    emu.get(&format!("/users/{user}"), Some(&token)).assert(200);
    emu.get("/users/v2?login[start_with]=logg&limit=5", Some(&token))
        .assert(200);
    // Admin calls are not logged (the web UI polls them).
    emu.advance(30);
    emu.get("/_emulator/sessions", None).assert(200);
    emu.get("/session", Some("0000000000000000000000000000000000000000"))
        .assert(401);

    let all = log(&emu, "");
    assert_eq!(
        paths(&all),
        [
            "GET /session",
            "GET /users/v2?login[start_with]=logg&limit=5",
            &format!("GET /users/{user}"),
            "POST /session",
            "POST /users",
        ]
    );
    assert_eq!(all.body["last"], 5);
    let entries = items(&all);
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [5, 4, 3, 2, 1]);
    // Who: the session's application, user and fingerprint; a new
    // session by its own fingerprint; an unknown token by its own.
    let session_print = &entries[2]["session"];
    assert_eq!(session_print.as_str().map(str::len), Some(8));
    for e in &entries[1..=3] {
        assert_eq!(e["session"], *session_print, "{e}");
        assert_eq!(
            (e["app_id"].as_i64(), e["user_id"].as_i64()),
            (Some(1), Some(user))
        );
    }
    let listed = emu.get(&format!("/_emulator/sessions?user_id={user}"), None);
    assert_eq!(listed.body["items"][0]["fingerprint"], *session_print);
    assert_eq!(entries[3]["status"], 201);
    assert_eq!(entries[4]["user_id"], Value::Null);
    assert_eq!(entries[4]["status"], 201);
    assert_eq!(entries[0]["status"], 401);
    assert_eq!(entries[0]["user_id"], Value::Null);
    assert!(entries[0]["session"].is_string());
    assert_ne!(entries[0]["session"], *session_print);
    // When: the emulator's clock; how long: microseconds.
    assert_eq!(entries[0]["at"], "2027-01-15T08:00:30Z");
    assert_eq!(entries[1]["at"], "2027-01-15T08:00:00Z");
    assert!(entries.iter().all(|e| e["duration_us"].is_u64()));

    // Polling: what came since the last answer, and nothing twice.
    let last = all.body["last"].as_u64().unwrap();
    assert!(items(&log(&emu, &format!("?since={last}"))).is_empty());
    emu.get("/session", Some(&token)).assert(200);
    let newer = log(&emu, &format!("?since={last}"));
    assert_eq!(paths(&newer), ["GET /session"]);
    assert_eq!(newer.body["last"], last + 1);
    // Older pages, and a limit.
    assert_eq!(
        paths(&log(&emu, "?before=3")),
        ["POST /session", "POST /users"]
    );
    assert_eq!(items(&log(&emu, "?limit=2")).len(), 2);
    for bad in ["?since=-1", "?since=x", "?before=0", "?limit=0", "?token=x"] {
        emu.get(&format!("/_emulator/requests{bad}"), None)
            .assert(422);
    }
}

#[test]
fn no_secret_reaches_the_log() {
    let emu = Emu::start();
    let password = "log-secret-password-1";
    emu.sign_up(json!({"login": "secret_sam", "email": "sam@example.com", "password": password}));
    let (token, _) = emu.login("secret_sam", password);
    // A private file, read through its token URL.
    let (_, uid) = emu.stored_file(&token, "image/png", "a.png", b"\x89PNG....");
    emu.get(&format!("/blobs/{uid}?token={token}"), None)
        .assert(200);
    // The upload URL's policy and signature.
    let blob = emu.post(
        "/blobs",
        Some(&token),
        json!({"blob": {"content_type": "text/plain", "name": "b.txt"}}),
    );
    let upload = blob.body["blob"]["blob_object_access"]["params"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, upload_query) = upload.split_once('?').unwrap();
    emu.send_raw(
        "POST",
        &format!("/_storage/upload?{upload_query}"),
        &[],
        b"--x--\r\n".to_vec(),
        "multipart/form-data; boundary=x",
    );
    // A reset link, opened.
    emu.post(
        "/users/password/reset",
        Some(&token),
        json!({"email": "sam@example.com"}),
    )
    .assert(200);
    let outbox = emu.get("/_emulator/outbox", None);
    let reset = outbox.body["items"][0]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    emu.get(&format!("/users/password/reset/{reset}"), None)
        .assert(200);
    // Secrets where a careless client might put them: in the query.
    let provider = "EAAB-provider-access-token";
    emu.get(
        &format!(
            "/session?auth_key={key}&auth_secret={secret}&password={password}\
             &keys%5Btoken%5D={provider}&firebase_phone[access_token]={provider}",
            key = emu.running.auth_key(),
            secret = emu.running.auth_secret(),
        ),
        Some(&token),
    )
    .assert(200);
    // And a session created by a form with its secrets in the body.
    let form = format!(
        "application_id=1&auth_key={}&user[login]=secret_sam&user[password]={password}",
        emu.running.auth_key()
    );
    emu.send(
        "POST",
        "/session",
        &[],
        Some(form),
        "application/x-www-form-urlencoded",
    )
    .assert(201);

    let logged = log(&emu, "");
    let text = &logged.text;
    let policy = common::query_param(&upload, "policy").unwrap();
    let signature = common::query_param(&upload, "signature").unwrap();
    for secret in [
        token.as_str(),
        &token[..12],
        password,
        &reset,
        &reset[..12],
        emu.running.auth_key(),
        emu.running.auth_secret(),
        provider,
        policy,
        signature,
    ] {
        assert!(!text.contains(secret), "{secret} is in the log: {text}");
    }
    let shown = paths(&logged).join("\n");
    for expected in [
        "?token=[redacted]",
        "policy=[redacted]",
        "signature=[redacted]",
        "GET /users/password/reset/[redacted]",
        "auth_key=[redacted]&auth_secret=[redacted]&password=[redacted]",
    ] {
        assert!(shown.contains(expected), "no {expected} in\n{shown}");
    }
}

#[test]
fn the_log_size_is_set_at_start_within_its_limit() {
    // Off: nothing is kept, and it says so.
    let off = Emu::with(EmulatorConfig {
        request_log: 0,
        ..EmulatorConfig::default()
    });
    off.app_session();
    let resp = log(&off, "");
    assert_eq!(
        (resp.body["capacity"].as_u64(), resp.body["last"].as_u64()),
        (Some(0), Some(0))
    );
    // Small: the newest only.
    let small = Emu::with(EmulatorConfig {
        request_log: 2,
        ..EmulatorConfig::default()
    });
    for _ in 0..5 {
        token_of(&small.create_session(json!({})));
    }
    let resp = log(&small, "");
    assert_eq!(resp.body["last"], 5);
    let seqs: Vec<u64> = items(&resp)
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [5, 4]);
    // At its limit it starts; past it, it does not.
    let at = Emulator::start_blocking(EmulatorConfig {
        request_log: 100_000,
        ..EmulatorConfig::default()
    });
    assert!(at.is_ok());
    let past = Emulator::start_blocking(EmulatorConfig {
        request_log: 100_001,
        ..EmulatorConfig::default()
    });
    match past {
        Err(StartError::Config(why)) => assert!(why.contains("100000"), "{why}"),
        other => panic!("started with a log past its limit: {other:?}"),
    }
}
