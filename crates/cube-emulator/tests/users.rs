//! Users over HTTP: sign-up, validation, uniqueness, update/delete self,
//! look-ups, authorization, `last_request_at`.

mod common;

use common::{Emu, NO_SESSION, parse_iso};
use serde_json::{Value, json};

fn sign_up_with(emu: &Emu, token: Option<&str>, user: Value) -> common::Resp {
    emu.post("/users", token, json!({ "user": user }))
}

#[test]
fn sign_up_with_a_token_or_an_auth_key() {
    let emu = Emu::start();
    let app = emu.app_session();
    let resp = sign_up_with(
        &emu,
        Some(&app),
        json!({
            "login": "dacia", "email": "dacia_k@domain.com", "password": "password123",
            "full_name": "Dacia Kail", "phone": "+6110797757", "website": "https://dacia.example",
            "external_id": "ext-1", "facebook_id": 91234409, "twitter_id": "tw-1",
            "external_user_id": 42, "custom_data": "{\"a\":1}", "timezone": 180,
            "tag_list": "vip, accountant", "avatar": "uid-1", "unknown_field": "ignored"
        }),
    );
    resp.assert(201);
    let u = &resp.body["user"];
    assert_eq!(u["login"], "dacia");
    assert_eq!(u["email"], "dacia_k@domain.com");
    assert_eq!(u["full_name"], "Dacia Kail");
    assert_eq!(u["phone"], "+6110797757");
    assert_eq!(u["facebook_id"], "91234409");
    assert_eq!(u["external_user_id"], 42);
    assert_eq!(u["external_id"], "ext-1");
    assert_eq!(u["user_tags"], "vip,accountant");
    assert_eq!(u["timezone"], 180);
    assert_eq!(u["custom_data"], "{\"a\":1}");
    assert_eq!(u["is_guest"], false);
    assert!(u.get("password").is_none());
    assert!(resp.expiry().is_some());
    parse_iso(u["created_at"].as_str().unwrap());

    // With CB-AuthKey and no session; tags as an array.
    let user = emu.sign_up(
        json!({"email": "only@mail.example", "password": "password123", "tag_list": ["a", "b"]}),
    );
    assert!(user["login"].is_null());
    assert_eq!(user["user_tags"], "a,b");

    // Neither a session nor a key.
    let resp = sign_up_with(
        &emu,
        None,
        json!({"login": "nokey", "password": "password123"}),
    );
    resp.assert(401);
    assert_eq!(resp.text, r#"{"errors":["Token is required"]}"#);
    let resp = emu.send(
        "POST",
        "/users",
        &[("CB-AuthKey", "wrong")],
        Some(json!({"user": {"login": "nokey", "password": "password123"}}).to_string()),
        "application/json",
    );
    resp.assert(401);
    assert_eq!(resp.text, r#"{"errors":["Unauthorized"]}"#);
}

#[test]
fn external_user_id_is_a_number() {
    let emu = Emu::start();
    let app = emu.app_session();
    // A digit string is read as its number, and every answer writes the
    // number.
    let user = emu.sign_up(
        json!({"login": "numbered", "password": "password123", "external_user_id": "0042"}),
    );
    assert_eq!(user["external_user_id"], json!(42));
    let id = user["id"].as_i64().unwrap();
    let (token, _) = emu.login("numbered", "password123");
    for (value, expected) in [
        (json!(7), json!(7)),
        (json!("9007199254740993"), json!(9_007_199_254_740_993_i64)),
        (json!(null), json!(null)),
    ] {
        let resp = emu.put(
            &format!("/users/{id}"),
            Some(&token),
            json!({"user": {"external_user_id": value}}),
        );
        resp.assert(200);
        assert_eq!(resp.body["user"]["external_user_id"], expected, "{value}");
        let shown = emu.get(&format!("/users/{id}"), Some(&app));
        assert_eq!(shown.body["user"]["external_user_id"], expected);
    }
    // Anything else is 422 under the field, and changes nothing.
    for value in [
        json!("ext-1"),
        json!(""),
        json!(1.5),
        json!(-3),
        json!(true),
    ] {
        let resp = emu.put(
            &format!("/users/{id}"),
            Some(&token),
            json!({"user": {"external_user_id": value}}),
        );
        resp.assert(422);
        assert!(!resp.error("external_user_id").is_empty(), "{value}");
    }
    let shown = emu.get(&format!("/users/{id}"), Some(&app));
    assert_eq!(shown.body["user"]["external_user_id"], json!(null));
    // As a number it sorts as one: 9 before 10 in the v1 list.
    for (login, n) in [("ten", 10), ("nine", 9), ("hundred", 100)] {
        emu.sign_up(json!({"login": login, "password": "password123", "external_user_id": n}));
    }
    let listed = emu.get(
        "/users?filter[]=number+external_user_id+ge+9&order=asc+number+external_user_id",
        Some(&app),
    );
    listed.assert(200);
    let order: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["user"]["login"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["nine", "ten", "hundred"]);
}

#[test]
fn validation_is_422_with_field_errors() {
    let emu = Emu::start();
    let app = emu.app_session();
    let cases = [
        (json!({"login": "ab", "password": "password123"}), "login"),
        (
            json!({"login": "x".repeat(71), "password": "password123"}),
            "login",
        ),
        (
            json!({"email": "not-an-email", "password": "password123"}),
            "email",
        ),
        (json!({"login": "valid", "password": "short"}), "password"),
        (
            json!({"login": "valid", "password": "p".repeat(41)}),
            "password",
        ),
        (
            json!({"login": "valid", "password": "password123", "tag_list": "1,2,3,4,5,6"}),
            "tag_list",
        ),
        (
            json!({"login": "valid", "password": "password123", "full_name": "n".repeat(201)}),
            "full_name",
        ),
        (
            json!({"login": "valid", "password": "password123", "custom_data": "c".repeat(65 * 1024)}),
            "custom_data",
        ),
        (
            json!({"login": "valid", "password": "password123", "timezone": "east"}),
            "timezone",
        ),
        (json!({"login": "valid"}), "password"),
        (json!({"password": "password123"}), "base"),
    ];
    for (user, field) in cases {
        let resp = sign_up_with(&emu, Some(&app), user.clone());
        resp.assert(422);
        assert!(!resp.error(field).is_empty(), "{user}: {}", resp.text);
    }
    // Several problems at once are all reported.
    let resp = sign_up_with(
        &emu,
        Some(&app),
        json!({"login": "ab", "email": "bad", "password": "x"}),
    );
    resp.assert(422);
    assert_eq!(resp.body["errors"].as_object().unwrap().len(), 3);
    assert_eq!(
        resp.error("login"),
        "is too short (minimum is 3 characters)"
    );
    // Missing `user` object.
    emu.post("/users", Some(&app), json!({"login": "flat"}))
        .assert(422);
    // Nothing was created by any of these.
    let resp = emu.get("/users/v2?login[in][]=valid&login[in][]=ab", Some(&app));
    assert_eq!(resp.body["total_entries"], 0);
}

#[test]
fn uniqueness_login_case_sensitive_email_case_insensitive() {
    let emu = Emu::start();
    emu.sign_up(json!({"login": "bob", "email": "bob@example.com", "password": "password123"}));
    emu.sign_up(json!({"login": "Bob", "password": "password123"}));
    let app = emu.app_session();
    let resp = sign_up_with(
        &emu,
        Some(&app),
        json!({"login": "bob", "password": "password123"}),
    );
    resp.assert(422);
    assert_eq!(resp.error("login"), "has already been taken");
    let resp = sign_up_with(
        &emu,
        Some(&app),
        json!({"login": "bob2", "email": "BOB@Example.com", "password": "password123"}),
    );
    resp.assert(422);
    assert_eq!(resp.error("email"), "has already been taken");
    emu.sign_up(json!({"login": "fb-one", "facebook_id": "fb", "password": "password123"}));
    let resp = sign_up_with(
        &emu,
        Some(&app),
        json!({"login": "fb-two", "facebook_id": "fb", "password": "password123"}),
    );
    assert_eq!(resp.error("facebook_id"), "has already been taken");
}

#[test]
fn update_self_and_the_old_password_rule() {
    let emu = Emu::start();
    let (token, id) = emu.user("updater");
    let path = format!("/users/{id}");
    let resp = emu.put(
        &path,
        Some(&token),
        json!({"user": {"full_name": "Up Dater", "tag_list": "x,y", "email": "up@example.com"}}),
    );
    resp.assert(200);
    assert_eq!(resp.body["user"]["full_name"], "Up Dater");
    assert_eq!(resp.body["user"]["user_tags"], "x,y");
    assert!(resp.expiry().is_some());

    // Clearing a field with null.
    let resp = emu.put(&path, Some(&token), json!({"user": {"full_name": null}}));
    assert!(resp.body["user"]["full_name"].is_null());

    // A new password needs the right old one.
    let resp = emu.put(
        &path,
        Some(&token),
        json!({"user": {"password": "newpassword1"}}),
    );
    resp.assert(422);
    assert!(!resp.error("old_password").is_empty());
    emu.put(
        &path,
        Some(&token),
        json!({"user": {"password": "newpassword1", "old_password": "wrong-one"}}),
    )
    .assert(422);
    emu.put(
        &path,
        Some(&token),
        json!({"user": {"password": "newpassword1", "old_password": "password123"}}),
    )
    .assert(200);
    // The session survives a password change; the new password works.
    emu.get("/session", Some(&token)).assert(200);
    emu.login("updater", "newpassword1");
    emu.create_session(json!({"user": {"login": "updater", "password": "password123"}}))
        .assert(401);

    // A failed update changes nothing (one bad field spoils the lot).
    emu.put(
        &path,
        Some(&token),
        json!({"user": {"full_name": "Changed", "email": "broken"}}),
    )
    .assert(422);
    let resp = emu.get(&path, Some(&token));
    assert!(resp.body["user"]["full_name"].is_null());
    // Taking someone else's login is 422.
    emu.sign_up(json!({"login": "taken", "password": "password123"}));
    let resp = emu.put(&path, Some(&token), json!({"user": {"login": "taken"}}));
    resp.assert(422);
    assert_eq!(resp.error("login"), "has already been taken");
}

#[test]
fn users_act_only_on_themselves() {
    let emu = Emu::start();
    let (mine, _) = emu.user("me-myself");
    let (_, theirs) = emu.user("someone-else");
    emu.put(
        &format!("/users/{theirs}"),
        Some(&mine),
        json!({"user": {"full_name": "X"}}),
    )
    .assert(403);
    emu.delete(&format!("/users/{theirs}"), Some(&mine))
        .assert(403);
    let app = emu.app_session();
    let resp = emu.delete(&format!("/users/{theirs}"), Some(&app));
    resp.assert(403);
    assert_eq!(resp.error("base"), "Forbidden. Need user.");
    emu.get(&format!("/users/{theirs}"), Some(&app)).assert(200);
}

#[test]
fn delete_self_kills_every_session() {
    let emu = Emu::start();
    let (token, id) = emu.user("leaver");
    let (other_token, _) = emu.login("leaver", "password123");
    let resp = emu.delete(&format!("/users/{id}"), Some(&token));
    resp.assert(200);
    assert!(resp.text.is_empty());
    assert_eq!(emu.get("/session", Some(&token)).text, NO_SESSION);
    assert_eq!(emu.get("/session", Some(&other_token)).text, NO_SESSION);
    let app = emu.app_session();
    emu.get(&format!("/users/{id}"), Some(&app)).assert(404);
    // The login is free again.
    emu.sign_up(json!({"login": "leaver", "password": "password123"}));
}

#[test]
fn external_ids() {
    let emu = Emu::start();
    emu.sign_up(json!({"login": "ext-new", "external_id": "77", "password": "password123"}));
    emu.sign_up(json!({"login": "ext-old", "external_user_id": 78, "password": "password123"}));
    let app = emu.app_session();
    let resp = emu.get("/users/external/77", Some(&app));
    resp.assert(200);
    assert_eq!(resp.body["user"]["login"], "ext-new");
    let resp = emu.get("/users/external/78.json", Some(&app));
    assert_eq!(resp.body["user"]["login"], "ext-old");
    emu.get("/users/external/79", Some(&app)).assert(404);

    let (old, _) = emu.login("ext-old", "password123");
    emu.delete("/users/external/77", Some(&old)).assert(403);
    emu.delete("/users/external/79", Some(&old)).assert(404);
    emu.delete("/users/external/78", Some(&old)).assert(200);
    emu.get("/users/external/78", Some(&app)).assert(404);
    emu.delete("/users/external/77", Some(&app)).assert(403);
}

#[test]
fn look_ups_by_id_login_email_facebook_twitter() {
    let emu = Emu::start();
    let user = emu.sign_up(json!({"login": "finder", "email": "Find.Me@example.com",
        "facebook_id": "fb-9", "twitter_id": "tw-9", "password": "password123"}));
    let app = emu.app_session();
    let id = user["id"].as_i64().unwrap();
    for path in [
        format!("/users/{id}"),
        "/users/by_login?login=finder".to_owned(),
        "/users/by_email?email=find.me%40EXAMPLE.com".to_owned(),
        "/users/by_facebook_id?facebook_id=fb-9".to_owned(),
        "/users/by_twitter_id?twitter_id=tw-9".to_owned(),
        "/users/by_login.json?login=finder".to_owned(),
    ] {
        let resp = emu.get(&path, Some(&app));
        resp.assert(200);
        assert_eq!(resp.body["user"]["id"], id, "{path}");
    }
    for path in [
        "/users/999999",
        "/users/not-a-number",
        "/users/by_login?login=Finder",
        "/users/by_email?email=nobody%40example.com",
        "/users/by_facebook_id?facebook_id=fb-0",
        "/users/by_twitter_id?twitter_id=tw-0",
    ] {
        let resp = emu.get(path, Some(&app));
        resp.assert(404);
        assert_eq!(
            resp.error("base"),
            "Entity you are looking for was not found"
        );
    }
    emu.get("/users/by_login", Some(&app)).assert(422);
}

#[test]
fn last_request_at_is_kept_current_and_reaches_the_disk() {
    let dir = std::env::temp_dir().join(format!(
        "cube-emulator-last-request-{}-{}",
        std::process::id(),
        common::unix_now()
    ));
    let emu = Emu::with(cube_emulator::EmulatorConfig {
        storage: cube_emulator::Storage::DataDir(dir.clone()),
        time_source: std::sync::Arc::new(common::FrozenTime(common::FROZEN_AT)),
        ..cube_emulator::EmulatorConfig::default()
    });
    let (token, id) = emu.user("active");
    let first = emu.get(&format!("/users/{id}"), Some(&token));
    let t0 = parse_iso(first.body["user"]["last_request_at"].as_str().unwrap());
    emu.advance(600);
    let resp = emu.get(&format!("/users/{id}"), Some(&token));
    let t1 = parse_iso(resp.body["user"]["last_request_at"].as_str().unwrap());
    assert_eq!(t1 - t0, 600);

    // Reads refresh it in memory; it reaches the database within about a
    // second. Poll the file itself, bounded, so a loaded machine does not flake.
    let db = rusqlite::Connection::open_with_flags(
        dir.join("emulator.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let on_disk: (Option<i64>, Option<i64>) = db
            .query_row(
                "SELECT last_request_at, (SELECT MAX(deadline) FROM sessions WHERE user_id = ?1)
                 FROM users WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        // The sliding session deadline travels with it.
        if on_disk == (Some(t1), Some(t1 + 7200)) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never flushed: {on_disk:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    drop(db);
    drop(emu);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_admin_import_loads_many_users_at_once_or_none() {
    let emu = Emu::start();
    emu.sign_up(json!({"login": "existing", "password": "password123"}));
    let resp = emu.post(
        "/_emulator/apps/1/users",
        None,
        json!({"users": [
            {"login": "bulk-1", "email": "Bulk1@Example.com", "tag_list": "a,b", "full_name": "Bulk One"},
            {"email": "bulk2@example.com", "password": "password123"},
        ]}),
    );
    resp.assert(201);
    let ids = resp.body["ids"].as_array().unwrap().clone();
    assert_eq!(ids.len(), 2);
    let token = emu.app_session();
    let found = emu.get(
        "/users/v2?user_tags=b&email=bulk1%40example.com",
        Some(&token),
    );
    assert_eq!(found.body["items"][0]["id"], ids[0]);
    assert_eq!(found.body["items"][0]["full_name"], "Bulk One");
    emu.create_session(json!({"user": {"email": "bulk2@example.com", "password": "password123"}}))
        .assert(201);
    // Without a password, no password signs in.
    emu.create_session(json!({"user": {"login": "bulk-1", "password": "password123"}}))
        .assert(401);

    // All or nothing; errors name the item.
    for (users, field) in [
        (
            json!([{"login": "fresh-1"}, {"login": "existing"}]),
            "users[1].login",
        ),
        (
            json!([{"login": "fresh-1"}, {"login": "x"}]),
            "users[1].login",
        ),
        (json!([{"full_name": "No Login"}]), "users[0].base"),
        (
            json!([{"login": "fresh-1"}, {"login": "fresh-1"}]),
            "users[1].login",
        ),
        (json!([7]), "users[0]"),
        (json!("nope"), "users"),
    ] {
        let resp = emu.post("/_emulator/apps/1/users", None, json!({ "users": users }));
        resp.assert(422);
        assert!(!resp.error(field).is_empty(), "{field}: {}", resp.text);
    }
    emu.get("/users/by_login?login=fresh-1", Some(&token))
        .assert(404);
    emu.post("/_emulator/apps/99/users", None, json!({"users": []}))
        .assert(404);
}

#[test]
fn the_admin_import_takes_at_most_ten_thousand_users_a_request() {
    let emu = Emu::start();
    let users = |n: usize, from: usize| {
        (from..from + n)
            .map(|i| json!({"login": format!("u{i:05}")}))
            .collect::<Vec<_>>()
    };
    let resp = emu.post(
        "/_emulator/apps/1/users",
        None,
        json!({"users": users(10_000, 0)}),
    );
    resp.assert(201);
    assert_eq!(resp.body["ids"].as_array().map(Vec::len), Some(10_000));
    let resp = emu.post(
        "/_emulator/apps/1/users",
        None,
        json!({"users": users(10_001, 10_000)}),
    );
    resp.assert(422);
    assert!(!resp.error("users").is_empty(), "{}", resp.text);
    let token = emu.app_session();
    let all = emu.get("/users/v2?login[start_with]=u000", Some(&token));
    assert_eq!(all.body["total_entries"], 100);
}
