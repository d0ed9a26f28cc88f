//! Schema migrations: a new database starts at the latest version, and a
//! database written by the last release before versioned migrations
//! (`testdata/release-0.sql`, made by `testdata/make-release-0.sh`) opens
//! with every user and session, searchable, its provider sign-ins still
//! finding their users; each later step, from the version before it.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::{Emu, FrozenTime, TestServer};
use cube_emulator::{EmulatorConfig, Storage};
use serde_json::{Value, json};

/// The schema version this emulator writes.
const LATEST: i64 = 4;
/// A minute after the release-0 data set was written: its sessions live.
const RELEASE_0_NOW: i64 = 1_796_036_861 + 60;

fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!(
        "cube-emulator-{name}-{}-{nanos}",
        std::process::id()
    ))
}

fn user_version(dir: &Path) -> i64 {
    let conn = rusqlite::Connection::open(dir.join("emulator.sqlite3")).unwrap();
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

/// Takes a database of the latest version back to version 3: its
/// `external_user_id` text again.
const BACK_TO_VERSION_3: &str = "
    DROP INDEX users_external_user_id;
    ALTER TABLE users DROP COLUMN external_user_id;
    ALTER TABLE users RENAME COLUMN legacy_external_user_id TO external_user_id;
    CREATE INDEX users_external_user_id ON users(app_id, external_user_id);
    PRAGMA user_version = 3;";

fn start(dir: &Path, now: i64) -> Emu {
    Emu::with(EmulatorConfig {
        storage: Storage::DataDir(dir.to_path_buf()),
        time_source: Arc::new(FrozenTime(now)),
        ..EmulatorConfig::default()
    })
}

#[test]
fn a_new_database_starts_at_the_latest_version() {
    let dir = temp_dir("migrate-new");
    let emu = start(&dir, common::FROZEN_AT);
    emu.sign_up(json!({"login": "fresh", "password": "password123", "tag_list": "a"}));
    drop(emu);
    assert_eq!(user_version(&dir), LATEST);
    // Opening it again runs no step and loses nothing.
    let emu = start(&dir, common::FROZEN_AT);
    let token = emu.app_session();
    let found = emu.get("/users/v2?user_tags=a", Some(&token));
    assert_eq!(found.body["items"][0]["login"], "fresh");
    drop(emu);
    assert_eq!(user_version(&dir), LATEST);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A database of version 2 (before search versions) gains them, and its
/// searches' totals follow the writes made after the upgrade.
#[test]
fn a_version_2_database_gains_search_versions() {
    let dir = temp_dir("migrate-v2");
    let emu = start(&dir, common::FROZEN_AT);
    for i in 0..3 {
        emu.sign_up(
            json!({"login": format!("old{i}"), "password": "password123", "tag_list": "a"}),
        );
    }
    drop(emu);
    let conn = rusqlite::Connection::open(dir.join("emulator.sqlite3")).unwrap();
    conn.execute_batch(BACK_TO_VERSION_3).unwrap();
    conn.execute_batch(
        "DROP TABLE search_versions; DROP INDEX users_app_guest_expiry; PRAGMA user_version = 2;",
    )
    .unwrap();
    drop(conn);
    assert_eq!(user_version(&dir), 2);

    let emu = start(&dir, common::FROZEN_AT);
    let token = emu.app_session();
    let total = |emu: &Emu| {
        let found = emu.get("/users/v2?login[start_with]=old0&user_tags=a", Some(&token));
        found.assert(200);
        let all = emu.get("/users/v2?user_tags[in][]=a&limit=1", Some(&token));
        all.assert(200);
        all.body["total_entries"].as_i64().unwrap()
    };
    assert_eq!(total(&emu), 3);
    emu.sign_up(json!({"login": "new0", "password": "password123", "tag_list": "a"}));
    assert_eq!(total(&emu), 4);
    drop(emu);
    assert_eq!(user_version(&dir), LATEST);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A database of version 3 (`external_user_id` as text): digit strings
/// become their numbers, other text is kept aside and no longer served.
#[test]
fn a_version_3_database_gains_numeric_external_user_ids() {
    let dir = temp_dir("migrate-v3");
    let emu = start(&dir, common::FROZEN_AT);
    for login in ["plain", "padded", "worded", "huge", "none"] {
        emu.sign_up(json!({"login": login, "password": "password123"}));
    }
    drop(emu);
    let conn = rusqlite::Connection::open(dir.join("emulator.sqlite3")).unwrap();
    conn.execute_batch(BACK_TO_VERSION_3).unwrap();
    conn.execute_batch(
        "UPDATE users SET external_user_id = '42' WHERE login = 'plain';
         UPDATE users SET external_user_id = '007' WHERE login = 'padded';
         UPDATE users SET external_user_id = 'ext-1' WHERE login = 'worded';
         UPDATE users SET external_user_id = '99999999999999999999' WHERE login = 'huge';",
    )
    .unwrap();
    drop(conn);
    assert_eq!(user_version(&dir), 3);

    let emu = start(&dir, common::FROZEN_AT);
    let app = emu.app_session();
    for (login, expected) in [
        ("plain", json!(42)),
        ("padded", json!(7)),
        ("worded", Value::Null),
        ("huge", Value::Null),
        ("none", Value::Null),
    ] {
        let user = emu.get(&format!("/users/by_login?login={login}"), Some(&app));
        assert_eq!(user.body["user"]["external_user_id"], expected, "{login}");
    }
    let found = emu.get("/users/external/7", Some(&app));
    assert_eq!(found.body["user"]["login"], "padded");
    drop(emu);
    assert_eq!(user_version(&dir), LATEST);
    let conn = rusqlite::Connection::open(dir.join("emulator.sqlite3")).unwrap();
    let kept: Vec<String> = conn
        .prepare("SELECT legacy_external_user_id FROM users WHERE legacy_external_user_id IS NOT NULL ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(kept, ["ext-1", "99999999999999999999"]);
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_database_from_a_newer_emulator_is_refused() {
    let dir = temp_dir("migrate-newer");
    drop(start(&dir, common::FROZEN_AT));
    let conn = rusqlite::Connection::open(dir.join("emulator.sqlite3")).unwrap();
    conn.pragma_update(None, "user_version", LATEST + 1)
        .unwrap();
    drop(conn);
    let err = cube_emulator::Emulator::start_blocking(EmulatorConfig {
        storage: Storage::DataDir(dir.clone()),
        ..EmulatorConfig::default()
    })
    .unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("schema version {}", LATEST + 1)),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `(name, token, user id)` of each session in the release-0 data set.
fn release_0_sessions() -> Vec<(String, String, Option<i64>)> {
    include_str!("../testdata/release-0-sessions.txt")
        .lines()
        .map(|line| {
            let (name, rest) = line.split_once('=').unwrap();
            let mut parts = rest.split(" user ");
            let token = parts.next().unwrap().to_owned();
            (
                name.to_owned(),
                token,
                parts.next().map(|id| id.parse().unwrap()),
            )
        })
        .collect()
}

fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

#[test]
fn a_database_of_the_previous_release_opens_with_every_user_and_session() {
    let dir = temp_dir("migrate-release-0");
    std::fs::create_dir_all(&dir).unwrap();
    let conn = rusqlite::Connection::open(dir.join("emulator.sqlite3")).unwrap();
    conn.execute_batch(include_str!("../testdata/release-0.sql"))
        .unwrap();
    drop(conn);
    assert_eq!(user_version(&dir), 0);

    let emu = start(&dir, RELEASE_0_NOW);
    let sessions = release_0_sessions();
    assert_eq!(sessions.len(), 7);
    // Every session is still valid, with its user.
    for (name, token, user_id) in &sessions {
        let resp = emu.get("/session", Some(token));
        resp.assert(200);
        assert_eq!(
            resp.body["session"]["user_id"],
            user_id.unwrap_or(0),
            "{name}"
        );
    }
    // Every user is found.
    let app = &sessions[0].1;
    for id in 1..=8 {
        emu.get(&format!("/users/{id}"), Some(app)).assert(200);
    }
    let ann = emu.get("/users/by_login?login=ann", Some(app));
    assert_eq!(ann.body["user"]["user_tags"], "vip,red");
    assert_eq!(ann.body["user"]["external_user_id"], 42);
    emu.create_session(json!({"user": {"login": "ann", "password": "password123"}}))
        .assert(201);

    // Tags and names are searchable through their new indexes.
    let logins = |resp: &common::Resp, items: &str| -> Vec<Value> {
        resp.body[items]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u.get("user").unwrap_or(u)["id"].clone())
            .collect()
    };
    let red = emu.get("/users/by_tags?tags=red", Some(app));
    assert_eq!(logins(&red, "items"), [json!(1), json!(2)]);
    let vip = emu.get(
        "/users/v2?user_tags[in][]=vip&user_tags[in][]=blue",
        Some(app),
    );
    assert_eq!(logins(&vip, "items"), [json!(1), json!(3)]);
    let name = emu.get("/users/by_full_name?full_name=%C3%BCNICODE", Some(app));
    assert_eq!(logins(&name, "items"), [json!(3)]);
    let prefix = emu.get("/users/v2?full_name[start_with]=Bert", Some(app));
    assert_eq!(logins(&prefix, "items"), [json!(2)]);

    // Provider sign-ins still find the users they created...
    let fb = emu.create_session(json!({"provider": "facebook", "keys": {"token": "fb-token"}}));
    assert_eq!(fb.body["session"]["user_id"], 5);
    let tw = emu.create_session(
        json!({"provider": "twitter", "keys": {"token": "tw-token", "secret": "tw-secret"}}),
    );
    assert_eq!(tw.body["session"]["user_id"], 6);
    let claims = json!({"aud": "proj", "iss": "https://securetoken.google.com/proj",
        "sub": "firebase-sub-1", "iat": RELEASE_0_NOW - 5, "exp": RELEASE_0_NOW + 600});
    let unsigned = format!(
        "{}.{}.",
        b64url(br#"{"alg":"none","typ":"JWT"}"#),
        b64url(claims.to_string().as_bytes())
    );
    let fire = emu.create_session(json!({"provider": "firebase_phone",
        "firebase_phone": {"project_id": "proj", "access_token": unsigned}}));
    assert_eq!(fire.body["session"]["user_id"], 7);
    let idp = TestServer::start(|_| (200, json!({"uid": "cidp-77"}).to_string(), Duration::ZERO));
    emu.put(
        "/_emulator/apps/1/settings",
        None,
        json!({"cidp": {"url": format!("{}/verify", idp.base_url)}}),
    )
    .assert(200);
    let cidp = emu.create_session(json!({"user": {"login": "any-token", "password": "x"}}));
    assert_eq!(cidp.body["session"]["user_id"], 4);
    emu.put("/_emulator/apps/1/settings", None, json!({"cidp": null}))
        .assert(200);
    // ...but an id a local user set on themselves links no one.
    emu.post(
        "/_emulator/providers/facebook/tokens",
        None,
        json!({"token": "self-set", "id": "fb-self-set"}),
    )
    .assert(201);
    let claimed =
        emu.create_session(json!({"provider": "facebook", "keys": {"token": "self-set"}}));
    claimed.assert(201);
    assert_ne!(claimed.body["session"]["user_id"], 2);

    drop(emu);
    assert_eq!(user_version(&dir), LATEST);
    let _ = std::fs::remove_dir_all(&dir);
}
