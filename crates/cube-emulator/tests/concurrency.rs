//! Concurrent writers: uniqueness is the database's, so racing sign-ups
//! with one login yield exactly one account.

mod common;

use std::sync::{Arc, Barrier};

use common::{Emu, agent};
use cube_emulator::{EmulatorConfig, Storage};
use serde_json::json;

#[test]
fn two_hundred_concurrent_sign_ups_make_one_user() {
    let dir = std::env::temp_dir().join(format!(
        "cube-emulator-concurrency-{}-{}",
        std::process::id(),
        common::unix_now()
    ));
    let emu = Emu::with(EmulatorConfig {
        storage: Storage::DataDir(dir.clone()),
        ..EmulatorConfig::default()
    });
    let url = emu.url("/users");
    let key = emu.running.auth_key().to_owned();
    let barrier = Arc::new(Barrier::new(200));
    let handles: Vec<_> = (0..200)
        .map(|i| {
            let (url, key, barrier) = (url.clone(), key.clone(), barrier.clone());
            std::thread::spawn(move || {
                let body = json!({"user": {"login": "racer", "password": "password123", "full_name": format!("Racer {i}")}});
                let agent = agent();
                barrier.wait();
                let mut resp = agent
                    .post(&url)
                    .header("CB-AuthKey", &key)
                    .header("Content-Type", "application/json")
                    .send(body.to_string())
                    .unwrap();
                let status = resp.status().as_u16();
                let text = resp.body_mut().read_to_string().unwrap();
                (status, text)
            })
        })
        .collect();
    let results: Vec<(u16, String)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    let rejected: Vec<_> = results.iter().filter(|(s, _)| *s == 422).collect();
    assert_eq!(created, 1, "{results:?}");
    assert_eq!(rejected.len(), 199);
    for (_, text) in rejected {
        assert_eq!(text, r#"{"errors":{"login":["has already been taken"]}}"#);
    }
    drop(emu);

    // Exactly one row in the database.
    let conn = rusqlite::Connection::open(dir.join("emulator.sqlite3")).unwrap();
    let rows: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM users WHERE login = 'racer'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 1);
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn concurrent_auto_sign_ups_at_post_session_agree_on_one_user() {
    let emu = Emu::start();
    let url = emu.url("/session");
    let barrier = Arc::new(Barrier::new(50));
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let (url, barrier) = (url.clone(), barrier.clone());
            std::thread::spawn(move || {
                let body = json!({"application_id": 1, "auth_key": "emulator-auth-key",
                    "user": {"login": "stampede", "password": "password123"}});
                let agent = agent();
                barrier.wait();
                let mut resp = agent
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .send(body.to_string())
                    .unwrap();
                let status = resp.status().as_u16();
                let body: serde_json::Value =
                    serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
                (status, body["session"]["user_id"].as_i64())
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(results.iter().all(|(s, _)| *s == 201), "{results:?}");
    let first = results[0].1;
    assert!(results.iter().all(|(_, id)| *id == first));
}

#[test]
fn concurrent_first_provider_sign_ins_make_one_user() {
    let emu = Emu::start();
    emu.post(
        "/_emulator/providers/facebook/tokens",
        None,
        json!({"token": "racing-token", "id": "424242"}),
    )
    .assert(201);
    let url = emu.url("/session");
    let body = emu.session_body(json!({"provider": "facebook", "keys": {"token": "racing-token"}}));
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let (url, body, barrier) = (url.clone(), body.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let mut response = agent().post(&url).send_json(&body).unwrap();
                assert_eq!(response.status().as_u16(), 201);
                let value: serde_json::Value = response.body_mut().read_json().unwrap();
                value["session"]["user_id"].as_i64().unwrap()
            })
        })
        .collect();
    let ids: Vec<i64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
}
