//! Sessions over HTTP: every kind without an outside provider, signed and
//! unsigned forms, the other session calls, and sliding expiry.

mod common;

use common::{Emu, NO_SESSION, parse_header, parse_iso, token_of, unix_now};
use serde_json::json;

#[test]
fn application_session_has_the_documented_shape() {
    let emu = Emu::start();
    let resp = emu.create_session(json!({}));
    resp.assert(201);
    let s = &resp.body["session"];
    assert_eq!(s["application_id"], 1);
    assert_eq!(s["user_id"], 0);
    assert!(s["user"].is_null());
    assert_eq!(s["token"].as_str().unwrap().len(), 40);
    let created = parse_iso(s["created_at"].as_str().unwrap());
    let expires = parse_header(resp.expiry().expect("expiry header"));
    assert_eq!(expires, created + 7200);
    assert!(resp.expiry().unwrap().ends_with(" UTC"));
}

#[test]
fn json_suffix_string_ids_and_stale_tokens_are_accepted() {
    let emu = Emu::start();
    let body = json!({"application_id": "1", "auth_key": emu.running.auth_key()});
    let resp = emu.post("/session.json", Some("stale-token-from-before"), body);
    resp.assert(201);
    let token = token_of(&resp);
    let resp = emu.get("/session.json", Some(&token));
    resp.assert(200);
    assert_eq!(resp.body["session"]["token"], token.as_str());
    assert!(resp.expiry().is_some());
}

#[test]
fn wrong_application_credentials_are_unauthorized() {
    let emu = Emu::start();
    let resp = emu.post(
        "/session",
        None,
        json!({"application_id": 1, "auth_key": "nope"}),
    );
    resp.assert(401);
    assert_eq!(resp.text, r#"{"errors":["Unauthorized"]}"#);
    emu.post(
        "/session",
        None,
        json!({"application_id": 99, "auth_key": emu.running.auth_key()}),
    )
    .assert(401);
    emu.post("/session", None, json!({"auth_key": "x"}))
        .assert(422);
}

#[test]
fn login_and_email_password_sessions() {
    let emu = Emu::start();
    let user = emu.sign_up(
        json!({"login": "dacia", "email": "Dacia_K@Domain.com", "password": "password123"}),
    );
    let resp = emu.create_session(json!({"user": {"login": "dacia", "password": "password123"}}));
    resp.assert(201);
    assert_eq!(resp.body["session"]["user_id"], user["id"]);
    assert_eq!(resp.body["session"]["user"]["login"], "dacia");
    assert!(resp.body["session"]["user"].get("password").is_none());
    // E-mail is matched case-insensitively.
    let resp = emu.create_session(
        json!({"user": {"email": "dacia_k@domain.COM", "password": "password123"}}),
    );
    resp.assert(201);
    assert_eq!(resp.body["session"]["user_id"], user["id"]);
    // Login is case-sensitive: "Dacia" is someone else (auto sign-up).
    let resp = emu.create_session(json!({"user": {"login": "Dacia", "password": "password123"}}));
    resp.assert(201);
    assert_ne!(resp.body["session"]["user_id"], user["id"]);
    // A wrong password is 401 Invalid password, by login or by e-mail.
    let resp =
        emu.create_session(json!({"user": {"login": "dacia", "password": "wrong-password"}}));
    resp.assert(401);
    assert_eq!(resp.text, r#"{"errors":["Invalid password"]}"#);
    let resp = emu.create_session(
        json!({"user": {"email": "dacia_k@domain.com", "password": "wrong-password"}}),
    );
    resp.assert(401);
    assert_eq!(resp.text, r#"{"errors":["Invalid password"]}"#);
    // A login or e-mail without a password is 422, blank or missing.
    for user in [
        json!({"login": "dacia"}),
        json!({"login": "dacia", "password": ""}),
        json!({"login": "dacia", "password": null}),
        json!({"email": "nobody@example.com"}),
    ] {
        let resp = emu.create_session(json!({ "user": user }));
        resp.assert(422);
        assert_eq!(
            resp.text, r#"{"errors":{"password":["cannot be blank"]}}"#,
            "{user}"
        );
    }
    // A password that is not text is invalid; no login or e-mail at all
    // names nobody.
    let resp = emu.create_session(json!({"user": {"login": "dacia", "password": 12345678}}));
    resp.assert(422);
    assert_eq!(resp.error("password"), "is invalid");
    let resp = emu.create_session(json!({"user": {"password": "password123"}}));
    resp.assert(401);
    assert_eq!(resp.text, r#"{"errors":["Unauthorized"]}"#);
}

#[test]
fn auto_sign_up_follows_the_application_setting() {
    let emu = Emu::start();
    let resp = emu.create_session(json!({"user": {"login": "newbie", "password": "password123"}}));
    resp.assert(201);
    let id = resp.body["session"]["user_id"].as_i64().unwrap();
    assert!(id > 0);
    // The auto-created user signs in again with the same password.
    assert_eq!(emu.login("newbie", "password123").1, id);
    // Credentials that could not sign up find nobody: 404, not a
    // validation error.
    let resp = emu.create_session(json!({"user": {"login": "ab", "password": "password123"}}));
    resp.assert(404);
    assert_eq!(resp.text, r#"{"errors":["User not found"]}"#);
    emu.create_session(json!({"user": {"login": "shorty", "password": "short"}}))
        .assert(404);
    emu.put(
        "/_emulator/apps/1/settings",
        None,
        json!({"session_without_user": "deny"}),
    )
    .assert(200);
    let resp = emu.create_session(json!({"user": {"login": "another", "password": "password123"}}));
    resp.assert(404);
    assert_eq!(resp.text, r#"{"errors":["User not found"]}"#);
    let resp = emu.create_session(
        json!({"user": {"email": "another@example.com", "password": "password123"}}),
    );
    resp.assert(404);
    assert_eq!(resp.text, r#"{"errors":["User not found"]}"#);
    let resp = emu.get("/users/by_login?login=another", Some(&emu.app_session()));
    resp.assert(404);
    // An existing user still signs in, and a wrong password is still 401.
    emu.login("newbie", "password123");
    emu.create_session(json!({"user": {"login": "newbie", "password": "wrong-password"}}))
        .assert(401);
}

#[test]
fn guest_sessions_live_one_day_and_take_their_user_along() {
    let emu = Emu::start();
    for guest in [json!(1), json!("1"), json!(true)] {
        emu.create_session(json!({"user": {"guest": guest}}))
            .assert(201);
    }
    let resp = emu.create_session(json!({"user": {"guest": 1, "full_name": "Visitor"}}));
    resp.assert(201);
    let token = token_of(&resp);
    let s = &resp.body["session"];
    let user_id = s["user_id"].as_i64().unwrap();
    assert_eq!(s["user"]["is_guest"], true);
    assert_eq!(s["user"]["full_name"], "Visitor");
    let created = parse_iso(s["created_at"].as_str().unwrap());
    assert_eq!(parse_header(resp.expiry().unwrap()), created + 86400);

    // Busy or idle, the header always says creation + 24 h, and the
    // 2-hour idle rule does not apply.
    emu.advance(3 * 3600);
    let resp = emu.get("/session", Some(&token));
    resp.assert(200);
    assert_eq!(parse_header(resp.expiry().unwrap()), created + 86400);
    let (other, _) = emu.user("watcher");
    emu.get(&format!("/users/{user_id}"), Some(&other))
        .assert(200);

    // From the end of its day the guest is gone, even if never used again.
    emu.advance(21 * 3600);
    let (other, _) = emu.login("watcher", "password123");
    emu.get(&format!("/users/{user_id}"), Some(&other))
        .assert(404);
    let resp = emu.get("/session", Some(&token));
    resp.assert(401);
    assert_eq!(resp.text, NO_SESSION);
}

#[test]
fn deleting_a_guest_session_deletes_the_guest() {
    let emu = Emu::start();
    let resp = emu.create_session(json!({"user": {"guest": 1}}));
    let token = token_of(&resp);
    let user_id = resp.body["session"]["user_id"].as_i64().unwrap();
    let resp = emu.delete("/session", Some(&token));
    resp.assert(200);
    assert!(resp.text.is_empty());
    let app = emu.app_session();
    emu.get(&format!("/users/{user_id}"), Some(&app))
        .assert(404);
    assert_eq!(emu.get("/session", Some(&token)).text, NO_SESSION);
}

#[test]
fn signed_sessions_sha1_and_sha256() {
    let emu = Emu::start();
    let now = unix_now();
    let body = emu.sign(emu.session_body(json!({})), 1001, now);
    let resp = emu.post("/session", None, body);
    resp.assert(201);
    assert_eq!(resp.body["session"]["nonce"], 1001);
    assert_eq!(resp.body["session"]["ts"], now);

    // SHA-256, with a nested user and digit-string numbers.
    let mut body =
        emu.session_body(json!({"user": {"login": "signer", "password": "password123"}}));
    body["application_id"] = json!("1");
    body["nonce"] = json!("1002");
    body["timestamp"] = json!(now.to_string());
    body["signature"] = json!(common::sign_sha256(
        emu.running.auth_secret(),
        &common::signature_base(&body)
    ));
    emu.post("/session", None, body).assert(201);

    // A form-encoded body is signed on its decoded values.
    let mut fields =
        emu.session_body(json!({"user": {"login": "form user", "password": "password+123"}}));
    fields["nonce"] = json!(1003);
    fields["timestamp"] = json!(now);
    let signature = common::sign_sha1(emu.running.auth_secret(), &common::signature_base(&fields));
    let form = format!(
        "application_id=1&auth_key={}&nonce=1003&timestamp={now}&user%5Blogin%5D=form+user&user[password]=password%2B123&signature={signature}",
        emu.running.auth_key()
    );
    let resp = emu.send(
        "POST",
        "/session",
        &[],
        Some(form),
        "application/x-www-form-urlencoded",
    );
    resp.assert(201);
    assert_eq!(resp.body["session"]["user"]["login"], "form user");
}

#[test]
fn bad_signatures_windows_and_replays_are_422() {
    let emu = Emu::start();
    let now = unix_now();
    let mut body = emu.sign(emu.session_body(json!({})), 5, now);
    body["signature"] = json!("0".repeat(40));
    let resp = emu.post("/session", None, body);
    resp.assert(422);
    assert_eq!(resp.text, r#"{"errors":["Unexpected signature"]}"#);

    let resp = emu.post(
        "/session",
        None,
        emu.sign(emu.session_body(json!({})), 6, now - 4000),
    );
    resp.assert(422);
    assert_eq!(
        resp.text,
        r#"{"errors":{"timestamp":["invalid timestamp"]}}"#
    );

    emu.post(
        "/session",
        None,
        emu.sign(emu.session_body(json!({})), 7, now),
    )
    .assert(201);
    // The same nonce again, whatever its timestamp, inside the window.
    let resp = emu.post(
        "/session",
        None,
        emu.sign(emu.session_body(json!({})), 7, now + 1),
    );
    resp.assert(422);
    assert!(!resp.error("nonce").is_empty());

    // A failed create (wrong password) does not use up its nonce.
    emu.sign_up(json!({"login": "nonce-user", "password": "password123"}));
    let wrong = json!({"user": {"login": "nonce-user", "password": "wrong-password"}});
    emu.post("/session", None, emu.sign(emu.session_body(wrong), 8, now))
        .assert(401);
    let right = json!({"user": {"login": "nonce-user", "password": "password123"}});
    emu.post("/session", None, emu.sign(emu.session_body(right), 8, now))
        .assert(201);

    // The window follows the emulator clock.
    emu.advance(7200);
    let resp = emu.post(
        "/session",
        None,
        emu.sign(emu.session_body(json!({})), 9, now),
    );
    resp.assert(422);
    emu.post(
        "/session",
        None,
        emu.sign(emu.session_body(json!({})), 10, now + 7200),
    )
    .assert(201);
}

#[test]
fn a_nonce_is_kept_until_its_timestamp_plus_the_window() {
    // A request stamped 3,500 s ahead, replayed once the clock has moved
    // 3,601 s: its timestamp is still inside the window, so its nonce
    // must still be remembered.
    let emu = Emu::frozen();
    let now = emu.now();
    let signed = emu.sign(emu.session_body(json!({})), 4242, now + 3500);
    emu.post("/session", None, signed.clone()).assert(201);
    emu.advance(3601);
    let resp = emu.post("/session", None, signed.clone());
    resp.assert(422);
    assert_eq!(resp.error("nonce"), "has already been used");
    // Still remembered at the very end of the window after the timestamp,
    // by the sweep too (it runs every ten seconds)...
    emu.advance(3500 + 3600 - 3601 - 1);
    std::thread::sleep(std::time::Duration::from_millis(10_500));
    emu.post("/session", None, signed.clone()).assert(422);
    // ...and forgotten just after it (the timestamp is outside the window
    // by then anyway, so the replay is refused for that).
    emu.advance(2);
    let resp = emu.post("/session", None, signed);
    resp.assert(422);
    assert!(!resp.error("timestamp").is_empty());
}

#[test]
fn require_signature_rejects_unsigned_requests() {
    let emu = Emu::start();
    emu.put(
        "/_emulator/apps/1/settings",
        None,
        json!({"require_signature": true}),
    )
    .assert(200);
    let resp = emu.create_session(json!({}));
    resp.assert(422);
    assert_eq!(resp.text, r#"{"errors":["Unexpected signature"]}"#);
    emu.post(
        "/session",
        None,
        emu.sign(emu.session_body(json!({})), 1, unix_now()),
    )
    .assert(201);
}

#[test]
fn unknown_providers_are_422_and_unknown_tokens_401() {
    let emu = Emu::start();
    let resp = emu.create_session(json!({"provider": "myspace", "keys": {"token": "t"}}));
    resp.assert(422);
    let resp = emu.create_session(json!({"provider": "facebook", "keys": {"token": "t"}}));
    resp.assert(401);
}

#[test]
fn login_and_logout_keep_the_token() {
    let emu = Emu::start();
    let user = emu.sign_up(
        json!({"login": "keeper", "email": "keeper@example.com", "password": "password123"}),
    );
    let token = emu.app_session();
    // An application session cannot write.
    let resp = emu.put(
        &format!("/users/{}", user["id"]),
        Some(&token),
        json!({"user": {"full_name": "X"}}),
    );
    resp.assert(403);
    assert_eq!(
        resp.text,
        r#"{"errors":{"base":["Forbidden. Need user."]}}"#
    );

    // No auto sign-up at /login: nobody is 404; a wrong password 401; no
    // password 422.
    let resp = emu.post(
        "/login",
        Some(&token),
        json!({"login": "nobody", "password": "password123"}),
    );
    resp.assert(404);
    assert_eq!(resp.text, r#"{"errors":["User not found"]}"#);
    let resp = emu.post(
        "/login",
        Some(&token),
        json!({"login": "keeper", "password": "wrong-pass"}),
    );
    resp.assert(401);
    assert_eq!(resp.text, r#"{"errors":["Invalid password"]}"#);
    let resp = emu.post("/login", Some(&token), json!({"login": "keeper"}));
    resp.assert(422);
    assert_eq!(resp.text, r#"{"errors":{"password":["cannot be blank"]}}"#);
    let resp = emu.post(
        "/login",
        Some(&token),
        json!({"login": "keeper", "password": "password123"}),
    );
    resp.assert(200);
    assert_eq!(resp.body["user"]["id"], user["id"]);
    assert!(resp.expiry().is_some());
    let resp = emu.get("/session", Some(&token));
    assert_eq!(resp.body["session"]["user_id"], user["id"]);
    emu.put(
        &format!("/users/{}", user["id"]),
        Some(&token),
        json!({"user": {"full_name": "X"}}),
    )
    .assert(200);

    emu.delete("/login", Some(&token)).assert(200);
    let resp = emu.get("/session", Some(&token));
    resp.assert(200);
    assert_eq!(resp.body["session"]["user_id"], 0);
    emu.put(
        &format!("/users/{}", user["id"]),
        Some(&token),
        json!({"user": {"full_name": "Y"}}),
    )
    .assert(403);

    // E-mail sign-in works at /login too.
    emu.post(
        "/login",
        Some(&token),
        json!({"email": "KEEPER@example.com", "password": "password123"}),
    )
    .assert(200);
    let resp = emu.post(
        "/login",
        None,
        json!({"login": "keeper", "password": "password123"}),
    );
    resp.assert(401);
    assert_eq!(resp.text, r#"{"errors":["Token is required"]}"#);
}

#[test]
fn destroying_sessions() {
    let emu = Emu::start();
    let (first, _) = emu.user("multi");
    let (second, _) = emu.login("multi", "password123");
    let (third, _) = emu.login("multi", "password123");
    let second_id = emu.get("/session", Some(&second)).body["session"]["id"].clone();

    // Another user's session id is not ours to delete.
    let (stranger, _) = emu.user("stranger");
    emu.delete(&format!("/session/{second_id}"), Some(&stranger))
        .assert(404);
    emu.delete("/session/999999", Some(&first)).assert(404);
    emu.delete(&format!("/session/{second_id}"), Some(&emu.app_session()))
        .assert(403);

    emu.delete(&format!("/session/{second_id}"), Some(&first))
        .assert(200);
    assert_eq!(emu.get("/session", Some(&second)).text, NO_SESSION);
    emu.get("/session", Some(&third)).assert(200);

    emu.delete("/session/list", Some(&first)).assert(200);
    assert_eq!(emu.get("/session", Some(&third)).text, NO_SESSION);
    emu.get("/session", Some(&first)).assert(200);

    let resp = emu.delete("/session", Some(&first));
    resp.assert(200);
    assert!(resp.expiry().is_none());
    let resp = emu.get("/session", Some(&first));
    resp.assert(401);
    assert_eq!(resp.text, NO_SESSION);
}

#[test]
fn sliding_expiry_follows_the_emulator_clock() {
    let emu = Emu::frozen();
    let (token, id) = emu.user("slider");
    let first = parse_header(emu.get("/session", Some(&token)).expiry().unwrap());

    // At 1 h 59 min the session is alive, and the request re-arms it.
    emu.advance(119 * 60);
    let resp = emu.get(&format!("/users/{id}"), Some(&token));
    resp.assert(200);
    let rearmed = parse_header(resp.expiry().unwrap());
    assert_eq!(rearmed, first + 119 * 60);
    assert_eq!(rearmed, emu.now() + 7200);

    // Any status re-arms it, and the header rides on errors too.
    let resp = emu.get("/users/999999", Some(&token));
    resp.assert(404);
    assert!(resp.expiry().is_some());

    // 2 h 1 min of idleness kills it, with the exact body.
    emu.advance(121 * 60);
    let resp = emu.get(&format!("/users/{id}"), Some(&token));
    resp.assert(401);
    assert_eq!(resp.text, NO_SESSION);
    assert!(resp.expiry().is_none());
}

#[test]
fn a_missing_token_is_required_and_an_unknown_one_names_no_session() {
    const NO_TOKEN: &str = r#"{"errors":["Token is required"]}"#;
    let emu = Emu::start();
    for path in ["/session", "/users/1", "/users/v2?id=1"] {
        let resp = emu.get(path, None);
        resp.assert(401);
        assert_eq!(resp.text, NO_TOKEN);
        let resp = emu.send("GET", path, &[("CB-Token", "")], None, "");
        assert_eq!(resp.text, NO_TOKEN);
        let resp = emu.get(path, Some("0123456789abcdef0123456789abcdef01234567"));
        resp.assert(401);
        assert_eq!(resp.text, NO_SESSION);
    }
    assert_eq!(emu.delete("/session", None).text, NO_TOKEN);
    assert_eq!(emu.post("/login", None, json!({})).text, NO_TOKEN);
}
