//! The admin API's view of the data (what the web UI drives): the list of
//! applications, the user search, a user shown, edited and deleted with
//! the public rules, a user's live sessions expired and destroyed, and
//! stored files' bytes.

mod common;

use common::{Emu, NO_SESSION, Resp};
use serde_json::{Value, json};

fn users_of(emu: &Emu, query: &str) -> Resp {
    emu.get(&format!("/_emulator/apps/1/users?{query}"), None)
}

/// The logins on a search page, in order.
fn logins(resp: &Resp) -> Vec<String> {
    resp.assert(200);
    resp.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["login"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn applications_are_listed_by_id_without_their_secrets() {
    let emu = Emu::start();
    emu.post(
        "/_emulator/apps",
        None,
        json!({"id": 9, "auth_key": "k9", "auth_secret": "s9"}),
    )
    .assert(201);
    emu.post(
        "/_emulator/apps",
        None,
        json!({"id": 4, "auth_key": "k4", "auth_secret": "s4"}),
    )
    .assert(201);
    let resp = emu.get("/_emulator/apps", None);
    resp.assert(200);
    let items = resp.body["items"].as_array().unwrap();
    let ids: Vec<i64> = items.iter().map(|a| a["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [1, 4, 9]);
    assert_eq!(items[1]["auth_key"], "k4");
    assert_eq!(items[0]["settings"]["require_signature"], false);
    assert!(!resp.text.contains("s4") && !resp.text.contains("emulator-auth-secret"));
}

#[test]
fn users_are_searched_by_login_email_full_name_and_tag() {
    let emu = Emu::start();
    emu.sign_up(
        json!({"login": "ann.smith", "email": "Ann@Example.com", "password": "password123",
        "full_name": "Ann Smith", "tag_list": "vip,early"}),
    );
    emu.sign_up(
        json!({"login": "bob", "email": "bob@example.org", "password": "password123",
        "full_name": "Bob Annear", "tag_list": "vipper"}),
    );
    emu.sign_up(json!({"login": "carl", "password": "password123", "full_name": "Émile Carl"}));
    // Another application's users never show.
    emu.post(
        "/_emulator/apps",
        None,
        json!({"id": 2, "auth_key": "k2", "auth_secret": "s2"}),
    )
    .assert(201);
    emu.send(
        "POST",
        "/users",
        &[("CB-AuthKey", "k2")],
        Some(json!({"user": {"login": "ann.other", "password": "password123"}}).to_string()),
        "application/json",
    )
    .assert(201);

    let all = users_of(&emu, "");
    assert_eq!(logins(&all), ["ann.smith", "bob", "carl"]);
    assert_eq!(all.body["total_entries"], 3);
    assert_eq!(all.body["skip"], 0);
    assert_eq!(all.body["limit"], 100);
    assert!(all.body["items"][0].get("password").is_none());
    assert_eq!(all.body["items"][0]["full_name"], "Ann Smith");

    // A part of the login, e-mail or name, in any case.
    assert_eq!(logins(&users_of(&emu, "login=ANN")), ["ann.smith"]);
    assert_eq!(
        logins(&users_of(&emu, "email=example.")),
        ["ann.smith", "bob"]
    );
    assert_eq!(
        logins(&users_of(&emu, "email=ann%40EXAMPLE")),
        ["ann.smith"]
    );
    assert_eq!(
        logins(&users_of(&emu, "full_name=ann")),
        ["ann.smith", "bob"]
    );
    assert_eq!(logins(&users_of(&emu, "full_name=%C3%89mile")), ["carl"]);
    // A whole tag, not a part of one.
    assert_eq!(logins(&users_of(&emu, "tag=vip")), ["ann.smith"]);
    assert_eq!(logins(&users_of(&emu, "tag=vipper")), ["bob"]);
    assert!(logins(&users_of(&emu, "tag=vi")).is_empty());
    // Every filter given must match; empty ones are ignored.
    assert_eq!(logins(&users_of(&emu, "full_name=ann&email=.org")), ["bob"]);
    assert_eq!(
        logins(&users_of(&emu, "login=&email=&full_name=&tag=")).len(),
        3
    );
    // SQL wildcards are plain characters.
    assert!(logins(&users_of(&emu, "login=%25")).is_empty());
    assert!(logins(&users_of(&emu, "login=_")).is_empty());

    // Pages: the total counts every match.
    let page = users_of(&emu, "offset=1&limit=1");
    assert_eq!(logins(&page), ["bob"]);
    assert_eq!(page.body["total_entries"], 3);
    assert_eq!(page.body["skip"], 1);
    assert_eq!(page.body["limit"], 1);
    assert!(logins(&users_of(&emu, "offset=3")).is_empty());
    assert_eq!(users_of(&emu, "limit=100").body["limit"], 100);
    assert_eq!(users_of(&emu, "limit=101").body["limit"], 100);
    // The v2 rules for pages; an unknown filter is 422 too.
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=x", "limit"),
        ("offset=-1", "offset"),
        ("offset=1.5", "offset"),
        ("password=x", "password"),
    ] {
        let resp = users_of(&emu, query);
        resp.assert(422);
        assert!(
            resp.body["errors"][field].is_array(),
            "{query}: {}",
            resp.text
        );
    }
    emu.get("/_emulator/apps/99/users", None).assert(404);
    emu.get("/_emulator/apps/x/users", None).assert(404);
}

#[test]
fn the_search_answers_even_when_the_application_disables_lists() {
    let emu = Emu::start();
    emu.sign_up(json!({"login": "hidden", "password": "password123"}));
    emu.put(
        "/_emulator/apps/1/settings",
        None,
        json!({"list_users": false}),
    )
    .assert(200);
    assert_eq!(logins(&users_of(&emu, "")), ["hidden"]);
}

#[test]
fn a_user_is_shown_edited_and_deleted_with_the_public_rules() {
    let emu = Emu::start();
    let (token, id) = emu.user("editme");
    emu.sign_up(json!({"login": "taken", "password": "password123"}));
    let path = format!("/_emulator/apps/1/users/{id}");

    let shown = emu.get(&path, None);
    shown.assert(200);
    assert_eq!(shown.body["user"]["login"], "editme");
    assert!(shown.body["user"].get("password_hash").is_none());

    // An edit is seen by the user's own session.
    let resp = emu.put(
        &path,
        None,
        json!({"user": {"full_name": "Edited By Admin", "tag_list": "a, b", "phone": null}}),
    );
    resp.assert(200);
    assert_eq!(resp.body["user"]["full_name"], "Edited By Admin");
    assert_eq!(resp.body["user"]["user_tags"], "a,b");
    let me = emu.get(&format!("/users/{id}"), Some(&token));
    assert_eq!(me.body["user"]["full_name"], "Edited By Admin");

    // The public validation, the same messages; nothing changes.
    let bad = emu.put(
        &path,
        None,
        json!({"user": {"email": "nope", "login": "ab"}}),
    );
    bad.assert(422);
    let public = emu.put(
        &format!("/users/{id}"),
        Some(&token),
        json!({"user": {"email": "nope", "login": "ab"}}),
    );
    public.assert(422);
    assert_eq!(bad.body, public.body);
    let taken = emu.put(&path, None, json!({"user": {"login": "taken"}}));
    taken.assert(422);
    assert_eq!(taken.error("login"), "has already been taken");
    emu.put(&path, None, json!({"full_name": "no user object"}))
        .assert(422);
    emu.put(&path, None, json!([1])).assert(400);
    // A new password needs the old one, as for the user.
    let resp = emu.put(&path, None, json!({"user": {"password": "newpassword1"}}));
    resp.assert(422);
    assert_eq!(resp.error("old_password"), "is incorrect");
    assert_eq!(
        emu.get(&path, None).body["user"]["full_name"],
        "Edited By Admin"
    );

    // Unknown users, other applications' users, nonsense ids: 404.
    emu.post(
        "/_emulator/apps",
        None,
        json!({"id": 2, "auth_key": "k2", "auth_secret": "s2"}),
    )
    .assert(201);
    for other in [
        format!("/_emulator/apps/2/users/{id}"),
        "/_emulator/apps/1/users/999999".to_owned(),
        "/_emulator/apps/1/users/x".to_owned(),
        format!("/_emulator/apps/77/users/{id}"),
    ] {
        emu.get(&other, None).assert(404);
        emu.put(&other, None, json!({"user": {"full_name": "x"}}))
            .assert(404);
        emu.delete(&other, None).assert(404);
    }
    assert_eq!(emu.get(&format!("/users/{id}"), Some(&token)).status, 200);

    // Deleted: the user and their sessions.
    emu.delete(&path, None).assert(200);
    assert_eq!(emu.get("/session", Some(&token)).text, NO_SESSION);
    emu.get(&path, None).assert(404);
    emu.delete(&path, None).assert(404);
    // The login is free again.
    emu.sign_up(json!({"login": "editme", "password": "password123"}));
}

fn sessions_of(emu: &Emu, user: i64) -> Vec<Value> {
    let resp = emu.get(&format!("/_emulator/apps/1/users/{user}/sessions"), None);
    resp.assert(200);
    resp.body["items"].as_array().unwrap().clone()
}

#[test]
fn a_user_s_live_sessions_are_listed_expired_and_destroyed() {
    let emu = Emu::frozen();
    let (first, id) = emu.user("sessions");
    let (second, _) = emu.login("sessions", "password123");
    let (other, other_id) = emu.user("someone_else");
    emu.app_session();

    let listed = sessions_of(&emu, id);
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0]["kind"], "user");
    assert_eq!(listed[0]["signed"], false);
    assert_eq!(listed[0]["user_id"], id);
    assert_eq!(listed[0]["created_at"], "2027-01-15T08:00:00Z");
    assert_eq!(listed[0]["deadline"], "2027-01-15T10:00:00Z");
    assert!(listed[0].get("token").is_none());
    let (first_id, second_id) = (
        listed[0]["id"].as_i64().unwrap(),
        listed[1]["id"].as_i64().unwrap(),
    );

    // The deadline a request pushes forward shows at once.
    emu.advance(600);
    emu.get("/session", Some(&first)).assert(200);
    assert_eq!(sessions_of(&emu, id)[0]["deadline"], "2027-01-15T10:10:00Z");
    // That push waits to be written when the session is expired.
    emu.get("/session", Some(&first)).assert(200);

    // Expired: its token is dead (it was in the session cache), the other
    // lives; a request just before cannot bring it back.
    emu.post(
        &format!("/_emulator/sessions/{first_id}/expire"),
        None,
        json!({}),
    )
    .assert(200);
    assert_eq!(emu.get("/session", Some(&first)).text, NO_SESSION);
    emu.get("/session", Some(&second)).assert(200);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(emu.get("/session", Some(&first)).text, NO_SESSION);
    let listed = sessions_of(&emu, id);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], second_id);
    emu.post(
        &format!("/_emulator/sessions/{first_id}/expire"),
        None,
        json!({}),
    )
    .assert(404);

    // Destroyed.
    emu.delete(&format!("/_emulator/sessions/{second_id}"), None)
        .assert(200);
    assert_eq!(emu.get("/session", Some(&second)).text, NO_SESSION);
    assert!(sessions_of(&emu, id).is_empty());
    emu.delete(&format!("/_emulator/sessions/{second_id}"), None)
        .assert(404);
    emu.delete("/_emulator/sessions/x", None).assert(404);
    emu.post("/_emulator/sessions/x/expire", None, json!({}))
        .assert(404);
    // Nobody else's session was touched.
    emu.get("/session", Some(&other)).assert(200);
    assert_eq!(sessions_of(&emu, other_id).len(), 1);

    // Sessions that timed out are not listed.
    emu.advance(2 * 3600);
    assert!(sessions_of(&emu, other_id).is_empty());
    emu.get("/_emulator/apps/1/users/999999/sessions", None)
        .assert(404);
}

#[test]
fn a_guest_session_is_listed_as_a_guest() {
    let emu = Emu::frozen();
    let resp = emu.create_session(json!({"user": {"guest": true, "full_name": "Visitor"}}));
    resp.assert(201);
    let user = resp.body["session"]["user_id"].as_i64().unwrap();
    let listed = sessions_of(&emu, user);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["kind"], "guest");
    assert_eq!(listed[0]["deadline"], "2027-01-16T08:00:00Z");
    let found = users_of(&emu, "full_name=visitor");
    assert_eq!(found.body["items"][0]["is_guest"], true);
}

/// GET of raw bytes: status, content type, bytes.
fn bytes_of(emu: &Emu, path: &str) -> (u16, String, Vec<u8>) {
    let mut response = emu
        .agent
        .get(&emu.url(path))
        .call()
        .expect("request completes");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let status = response.status().as_u16();
    (
        status,
        content_type,
        response.body_mut().read_to_vec().unwrap(),
    )
}

#[test]
fn stored_files_are_read_as_images_or_plain_bytes() {
    let emu = Emu::start();
    let (token, _) = emu.user("uploader");
    let png = b"\x89PNG\r\n\x1a\n not really pixels".to_vec();
    let (_, uid) = emu.stored_file(&token, "image/png", "f", &png);
    let (status, content_type, bytes) = bytes_of(&emu, &format!("/_emulator/blobs/{uid}"));
    assert_eq!(status, 200);
    assert_eq!(content_type, "image/png");
    assert_eq!(bytes, png);

    // Anything that is not a plain image is never served as itself.
    for stored_as in ["text/html", "image/svg+xml", "application/javascript"] {
        let page = b"<script>alert(1)</script>".to_vec();
        let (_, uid) = emu.stored_file(&token, stored_as, "f", &page);
        let (status, content_type, bytes) = bytes_of(&emu, &format!("/_emulator/blobs/{uid}"));
        assert_eq!(status, 200);
        assert_eq!(content_type, "application/octet-stream", "{stored_as}");
        assert_eq!(bytes, page);
    }

    // A record without bytes, an unknown uid: 404.
    let resp = emu.post(
        "/blobs",
        Some(&token),
        json!({"blob": {"content_type": "image/png", "name": "never-sent"}}),
    );
    let pending = resp.body["blob"]["uid"].as_str().unwrap().to_owned();
    assert_eq!(
        bytes_of(&emu, &format!("/_emulator/blobs/{pending}")).0,
        404
    );
    assert_eq!(bytes_of(&emu, "/_emulator/blobs/no-such-uid").0, 404);
}

#[test]
fn the_new_routes_follow_the_admin_rules() {
    let emu = Emu::with(cube_emulator::EmulatorConfig {
        admin_token: Some("admin-secret".into()),
        ..cube_emulator::EmulatorConfig::default()
    });
    let bearer = [("Authorization", "Bearer admin-secret")];
    for (method, path) in [
        ("GET", "/_emulator/apps"),
        ("GET", "/_emulator/apps/1/users"),
        ("GET", "/_emulator/apps/1/users/1"),
        ("PUT", "/_emulator/apps/1/users/1"),
        ("DELETE", "/_emulator/apps/1/users/1"),
        ("GET", "/_emulator/apps/1/users/1/sessions"),
        ("POST", "/_emulator/sessions/1/expire"),
        ("DELETE", "/_emulator/sessions/1"),
        ("GET", "/_emulator/blobs/x"),
    ] {
        let body = (method == "PUT" || method == "POST").then(|| "{}".to_owned());
        let resp = emu.send(method, path, &[], body.clone(), "application/json");
        assert_eq!(resp.status, 401, "{method} {path}: {}", resp.text);
        let resp = emu.send(method, path, &bearer, body, "application/json");
        assert!(
            [200, 404, 422].contains(&resp.status),
            "{method} {path}: {} {}",
            resp.status,
            resp.text
        );
    }
}
