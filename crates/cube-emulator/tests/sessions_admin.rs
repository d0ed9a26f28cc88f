//! `/_emulator/sessions`: every live session (per application, per user)
//! with its kind, times and fingerprint, never a token; one ended as the
//! clock would end it, or destroyed as its own `DELETE /session` would.

mod common;

use common::{Emu, NO_SESSION, Resp, token_of};
use serde_json::{Value, json};

fn sessions(emu: &Emu, query: &str) -> Resp {
    let resp = emu.get(&format!("/_emulator/sessions{query}"), None);
    resp.assert(200);
    resp
}

fn items(resp: &Resp) -> Vec<Value> {
    resp.body["items"].as_array().unwrap().clone()
}

fn ids(resp: &Resp) -> Vec<i64> {
    items(resp)
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn live_sessions_are_listed_by_application_and_user_without_tokens() {
    let emu = Emu::frozen();
    let app_token = emu.app_session();
    let (ann_token, ann) = emu.user("ann_sessions");
    let guest = emu.create_session(json!({"user": {"guest": true}}));
    guest.assert(201);
    let guest_token = token_of(&guest);
    let guest_user = guest.body["session"]["user_id"].as_i64().unwrap();
    // Another application's session is listed under it only.
    emu.post(
        "/_emulator/apps",
        None,
        json!({"id": 2, "auth_key": "k2", "auth_secret": "s2"}),
    )
    .assert(201);
    emu.post(
        "/session",
        None,
        json!({"application_id": 2, "auth_key": "k2"}),
    )
    .assert(201);

    // A minute later, Ann makes a request: her last request moves, her
    // deadline with it; the guest's deadline stays a day after its start.
    emu.advance(60);
    emu.get("/session", Some(&ann_token)).assert(200);
    emu.get("/session", Some(&guest_token)).assert(200);

    let all = sessions(&emu, "");
    assert_eq!(all.body["total_entries"], 4);
    let listed = sessions(&emu, "?app_id=1");
    assert_eq!(listed.body["total_entries"], 3);
    assert_eq!(listed.body["now"], "2027-01-15T08:01:00Z");
    let listed = items(&listed);
    // Newest first: the guest, Ann, the application.
    let kinds: Vec<&str> = listed.iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["guest", "user", "application"]);
    let (guest_item, ann_item, app_item) = (&listed[0], &listed[1], &listed[2]);
    assert_eq!(ann_item["user_id"], ann);
    assert_eq!(ann_item["app_id"], 1);
    assert_eq!(ann_item["created_at"], "2027-01-15T08:00:00Z");
    assert_eq!(ann_item["last_request_at"], "2027-01-15T08:01:00Z");
    assert_eq!(ann_item["deadline"], "2027-01-15T10:01:00Z");
    assert_eq!(ann_item["seconds_left"], 7200);
    assert_eq!(ann_item["signed"], false);
    assert_eq!(guest_item["user_id"], guest_user);
    assert_eq!(guest_item["last_request_at"], "2027-01-15T08:01:00Z");
    assert_eq!(guest_item["deadline"], "2027-01-16T08:00:00Z");
    assert_eq!(guest_item["seconds_left"], 86_400 - 60);
    assert_eq!(app_item["user_id"], Value::Null);
    assert_eq!(app_item["last_request_at"], "2027-01-15T08:00:00Z");

    // Fingerprints: 8 hex digits, one per session; never a token.
    let prints: Vec<&str> = listed
        .iter()
        .map(|s| s["fingerprint"].as_str().unwrap())
        .collect();
    for print in &prints {
        assert!(print.len() == 8 && print.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    assert!(prints[0] != prints[1] && prints[1] != prints[2]);
    for token in [&app_token, &ann_token, &guest_token] {
        assert!(!all.text.contains(token.as_str()));
        assert!(!all.text.contains(&token[..8]));
    }

    // A user's sessions; paging.
    let (second_ann, _) = emu.login("ann_sessions", "password123");
    let of_ann = sessions(&emu, &format!("?app_id=1&user_id={ann}"));
    assert_eq!(of_ann.body["total_entries"], 2);
    let first_page = sessions(&emu, "?app_id=1&limit=2");
    let second_page = sessions(&emu, "?app_id=1&limit=2&offset=2");
    assert_eq!(first_page.body["total_entries"], 4);
    assert_eq!(ids(&first_page).len(), 2);
    assert_eq!(ids(&second_page).len(), 2);
    assert!(ids(&first_page)[1] > ids(&second_page)[0]);
    emu.get("/session", Some(&second_ann)).assert(200);

    // Ended by the clock: no longer listed.
    emu.advance(2 * 3600);
    let left = sessions(&emu, "?app_id=1");
    assert_eq!(left.body["total_entries"], 1);
    assert_eq!(items(&left)[0]["kind"], "guest");
}

#[test]
fn expire_ends_a_session_as_the_clock_would_and_it_stays_ended() {
    let emu = Emu::start();
    let (ann_token, ann) = emu.user("ann_expired");
    let (other_token, _) = emu.login("ann_expired", "password123");
    let listed = sessions(&emu, &format!("?user_id={ann}"));
    let first = items(&listed)
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .min()
        .unwrap();
    // A request pushes its deadline forward just before: that refresh is
    // still waiting to be written when the session is expired.
    emu.get("/session", Some(&ann_token)).assert(200);
    emu.post(
        &format!("/_emulator/sessions/{first}/expire"),
        None,
        json!({}),
    )
    .assert(200);
    // The next call is what a client sees when the deadline passes.
    let refused = emu.get("/users/me", Some(&ann_token));
    refused.assert(401);
    assert_eq!(refused.text, NO_SESSION);
    // The refresh has been written since (once a second): still ended.
    std::thread::sleep(std::time::Duration::from_millis(2200));
    assert_eq!(emu.get("/session", Some(&ann_token)).text, NO_SESSION);
    assert!(!ids(&sessions(&emu, "")).contains(&first));
    // The user and their other session are untouched.
    emu.get("/session", Some(&other_token)).assert(200);
    emu.get(&format!("/_emulator/apps/1/users/{ann}"), None)
        .assert(200);
    // Once ended, it is no longer there to end.
    emu.post(
        &format!("/_emulator/sessions/{first}/expire"),
        None,
        json!({}),
    )
    .assert(404);
    emu.delete(&format!("/_emulator/sessions/{first}"), None)
        .assert(404);
}

#[test]
fn destroy_ends_a_session_as_delete_session_would_guests_included() {
    let emu = Emu::start();
    // A user's session: gone; the user stays.
    let (token, user) = emu.user("bo_destroyed");
    let id = ids(&sessions(&emu, &format!("?user_id={user}")))[0];
    emu.delete(&format!("/_emulator/sessions/{id}"), None)
        .assert(200);
    assert_eq!(emu.get("/session", Some(&token)).text, NO_SESSION);
    emu.get(&format!("/_emulator/apps/1/users/{user}"), None)
        .assert(200);

    // A guest's session: its user goes with it, as with DELETE /session.
    let guest = emu.create_session(json!({"user": {"guest": true}}));
    let guest_token = token_of(&guest);
    let guest_user = guest.body["session"]["user_id"].as_i64().unwrap();
    let guest_id = guest.body["session"]["id"].as_i64().unwrap();
    emu.delete(&format!("/_emulator/sessions/{guest_id}"), None)
        .assert(200);
    assert_eq!(emu.get("/session", Some(&guest_token)).text, NO_SESSION);
    emu.get(&format!("/_emulator/apps/1/users/{guest_user}"), None)
        .assert(404);

    // Expiring a guest's session leaves its user to its own day.
    let guest = emu.create_session(json!({"user": {"guest": true}}));
    let guest_user = guest.body["session"]["user_id"].as_i64().unwrap();
    let guest_id = guest.body["session"]["id"].as_i64().unwrap();
    emu.post(
        &format!("/_emulator/sessions/{guest_id}/expire"),
        None,
        json!({}),
    )
    .assert(200);
    emu.get(&format!("/_emulator/apps/1/users/{guest_user}"), None)
        .assert(200);
}

#[test]
fn sessions_routes_follow_the_admin_rules() {
    let emu = Emu::with(cube_emulator::EmulatorConfig {
        admin_token: Some("sessions-admin".into()),
        ..cube_emulator::EmulatorConfig::default()
    });
    let (token, _) = emu.user("guarded");
    for (method, path) in [
        ("GET", "/_emulator/sessions"),
        ("POST", "/_emulator/sessions/1/expire"),
        ("DELETE", "/_emulator/sessions/1"),
    ] {
        let resp = emu.send(method, path, &[], None, "application/json");
        assert_eq!(resp.status, 401, "{method} {path}");
        // A web page of another origin gets nothing, token or not.
        let resp = emu.send(
            method,
            path,
            &[
                ("Authorization", "Bearer sessions-admin"),
                ("Origin", "http://evil.example"),
            ],
            None,
            "application/json",
        );
        assert_eq!(resp.status, 403, "{method} {path}");
    }
    // The session is still alive after all that.
    emu.get("/session", Some(&token)).assert(200);
    let resp = emu.send(
        "GET",
        "/_emulator/sessions",
        &[("Authorization", "Bearer sessions-admin")],
        None,
        "application/json",
    );
    resp.assert(200);
    assert_eq!(resp.body["total_entries"], 1);
}
