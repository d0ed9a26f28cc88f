//! Bad input: 400 for what cannot be parsed, 422 for what does not
//! validate, 413 for bodies over 1 MiB; never a 500, never a crash, and a
//! failed request changes nothing.

mod common;

use common::Emu;
use serde_json::{Value, json};

#[track_caller]
fn assert_error_body(resp: &common::Resp, status: u16) {
    resp.assert(status);
    assert!(
        common::well_formed_error(&resp.body),
        "error bodies use the object form, or the array form for the public service's \
         array-form messages: {}",
        resp.text
    );
}

#[test]
fn malformed_json_and_queries_are_400() {
    let emu = Emu::start();
    let app = emu.app_session();
    let auth = [("CB-Token", app.as_str())];
    for body in ["{", "{\"user\": ", "[1, 2]", "\"text\"", "nul"] {
        let resp = emu.send(
            "POST",
            "/users",
            &auth,
            Some(body.into()),
            "application/json",
        );
        assert_error_body(&resp, 400);
        let resp = emu.send(
            "POST",
            "/session",
            &[],
            Some(body.into()),
            "application/json",
        );
        assert_error_body(&resp, 400);
    }
    // Raw bytes that are not UTF-8, as JSON and as a form: 400 both ways.
    let invalid_utf8 =
        b"{\"user\": {\"login\": \"\xff\xfe\", \"password\": \"password123\"}}".to_vec();
    assert!(std::str::from_utf8(&invalid_utf8).is_err());
    let resp = emu.send_raw(
        "POST",
        "/users",
        &auth,
        invalid_utf8.clone(),
        "application/json",
    );
    assert_error_body(&resp, 400);
    assert_eq!(resp.error("base"), "Malformed JSON body");
    let resp = emu.send_raw("POST", "/users", &auth, invalid_utf8, "text/plain");
    assert_error_body(&resp, 400);
    let form = b"user[login]=\xff\xfe&user[password]=password123".to_vec();
    let resp = emu.send_raw(
        "POST",
        "/users",
        &auth,
        form,
        "application/x-www-form-urlencoded",
    );
    assert_error_body(&resp, 400);
    assert_eq!(resp.error("base"), "Malformed form body");
    // Percent-encoded bytes that are not UTF-8 are refused the same way.
    let resp = emu.send_raw(
        "POST",
        "/users",
        &auth,
        b"user[login]=%ff%fe&user[password]=password123".to_vec(),
        "application/x-www-form-urlencoded",
    );
    assert_error_body(&resp, 400);

    for query in [
        "/users/v2?login=%zz",
        "/users?page=%",
        "/users/by_login?login=%e9",
    ] {
        assert_error_body(&emu.get(query, Some(&app)), 400);
    }
    let form = "user[login=broken&user[password]=password123".to_owned();
    let resp = emu.send(
        "POST",
        "/users",
        &auth,
        Some(form),
        "application/x-www-form-urlencoded",
    );
    assert_error_body(&resp, 400);
    assert_error_body(&emu.get("/users/%zz", Some(&app)), 400);
}

#[test]
fn json_with_charset_and_forms_are_accepted() {
    let emu = Emu::start();
    let app = emu.app_session();
    let auth = [("CB-Token", app.as_str())];
    let body = json!({"user": {"login": "charset", "password": "password123"}}).to_string();
    emu.send(
        "POST",
        "/users",
        &auth,
        Some(body),
        "application/json;charset=utf-8",
    )
    .assert(201);
    let form =
        "user%5Blogin%5D=former&user[password]=password123&user[tag_list][]=a&user[tag_list][]=b";
    let resp = emu.send(
        "POST",
        "/users",
        &auth,
        Some(form.into()),
        "application/x-www-form-urlencoded",
    );
    resp.assert(201);
    assert_eq!(resp.body["user"]["user_tags"], "a,b");
}

/// `user` followed by `[a]` levels-1 times: a form key `levels` deep.
fn deep_form_key(levels: usize) -> String {
    format!("user{}", "[a]".repeat(levels - 1))
}

#[test]
fn deeply_nested_form_keys_are_400_and_the_emulator_lives_on() {
    let emu = Emu::start();
    let (token, id) = emu.user("still-standing");
    let form = "application/x-www-form-urlencoded";
    let session = "application_id=1&auth_key=emulator-auth-key";
    // 7,001 levels (about 21 KB), unauthenticated, before any routing:
    // once a stack overflow that aborted the whole process.
    for (path, headers) in [
        ("/session", vec![]),
        ("/users", vec![("CB-Token", token.as_str())]),
        ("/login", vec![("CB-Token", token.as_str())]),
        ("/no/such/route", vec![]),
    ] {
        let body = format!("{}=1&{session}", deep_form_key(7_001));
        let resp = emu.send_raw("POST", path, &headers, body.into_bytes(), form);
        assert_error_body(&resp, 400);
        assert_eq!(resp.error("base"), "Parameters are nested too deeply");
    }
    // The same key in a signed request (its flattening once grew with the
    // square of the depth).
    let body = format!(
        "{}=1&{session}&nonce=1&timestamp={}&signature={}",
        deep_form_key(7_001),
        common::unix_now(),
        "0".repeat(40)
    );
    assert_error_body(
        &emu.send_raw("POST", "/session", &[], body.into_bytes(), form),
        400,
    );
    // At the limit the body parses (and names no credentials: 401
    // Unauthorized); one level more is 400. JSON bodies follow the same limit.
    let at_limit = format!("{}=1&{session}", deep_form_key(32));
    assert_error_body(
        &emu.send_raw("POST", "/session", &[], at_limit.into_bytes(), form),
        401,
    );
    let past = format!("{}=1&{session}", deep_form_key(33));
    assert_error_body(
        &emu.send_raw("POST", "/session", &[], past.into_bytes(), form),
        400,
    );
    let nested_json = |levels: usize| {
        format!(
            r#"{{"application_id": 1, "auth_key": "emulator-auth-key", "user": {}1{}}}"#,
            r#"{"a": "#.repeat(levels - 1),
            "}".repeat(levels - 1)
        )
    };
    assert_error_body(
        &emu.send_raw(
            "POST",
            "/session",
            &[],
            nested_json(32).into_bytes(),
            "application/json",
        ),
        401,
    );
    assert_error_body(
        &emu.send_raw(
            "POST",
            "/session",
            &[],
            nested_json(33).into_bytes(),
            "application/json",
        ),
        400,
    );
    // Still serving, data intact.
    emu.get("/_emulator/health", None).assert(200);
    emu.get(&format!("/users/{id}"), Some(&token)).assert(200);
    emu.login("still-standing", "password123");
}

#[test]
fn a_signed_body_whose_flattening_would_explode_is_400() {
    let emu = Emu::start();
    // A 100 KB key over 40 leaves: a 100 KB body whose signature base
    // would be 4 MB (and grows with keys times leaves).
    let leaves: serde_json::Map<String, Value> =
        (0..40).map(|i| (i.to_string(), json!(1))).collect();
    let mut body = emu.session_body(json!({ "k".repeat(100_000): leaves }));
    body["nonce"] = json!(1);
    body["timestamp"] = json!(common::unix_now());
    body["signature"] = json!("0".repeat(40));
    let resp = emu.post("/session", None, body);
    assert_error_body(&resp, 400);
    assert_eq!(resp.error("base"), "The signed parameters are too long");
    emu.get("/_emulator/health", None).assert(200);
}

#[test]
fn bodies_over_one_mebibyte_are_413() {
    let emu = Emu::start();
    let app = emu.app_session();
    let big = json!({"user": {"login": "big", "password": "password123", "custom_data": "x".repeat(1 << 20)}});
    let resp = emu.post("/users", Some(&app), big);
    assert_error_body(&resp, 413);
    // Just under the limit parses (and then fails validation, not size).
    let near = json!({"user": {"login": "big", "password": "password123", "custom_data": "x".repeat(1_000_000)}});
    assert_error_body(&emu.post("/users", Some(&app), near), 422);
    emu.get("/users/by_login?login=big", Some(&app)).assert(404);
    emu.get("/_emulator/health", None).assert(200);
}

#[test]
fn unknown_routes_and_methods_are_404() {
    let emu = Emu::start();
    let app = emu.app_session();
    for (method, path) in [
        ("GET", "/nothing"),
        ("PATCH", "/users/1"),
        ("POST", "/users/1"),
        ("PUT", "/session"),
        ("GET", "/login"),
        ("GET", "/"),
    ] {
        let resp = emu.send(
            method,
            path,
            &[("CB-Token", &app)],
            Some("{}".into()),
            "application/json",
        );
        assert_error_body(&resp, 404);
        assert_eq!(
            resp.error("base"),
            "Entity you are looking for was not found"
        );
    }
}

#[test]
fn garbage_never_yields_a_500_or_changes_state() {
    let emu = Emu::start();
    let (token, id) = emu.user("steady");
    let before = emu.get(&format!("/users/{id}"), Some(&token)).body["user"].clone();
    let methods = ["GET", "POST", "PUT", "DELETE"];
    let paths = [
        "/session".to_owned(),
        "/login".to_owned(),
        "/users".to_owned(),
        format!("/users/{id}"),
        "/users/v2".to_owned(),
        "/users/external/x".to_owned(),
        "/users/password/reset".to_owned(),
        "/session/abc".to_owned(),
    ];
    let bodies = [
        "{}",
        "null",
        "{\"user\": null}",
        "{\"user\": {\"login\": 5, \"password\": []}}",
        "{\"user\": {\"password\": \"password123\", \"old_password\": 7}}",
        "{\"application_id\": {}, \"auth_key\": []}",
        "{\"application_id\": 1, \"auth_key\": \"emulator-auth-key\", \"signature\": 5}",
        "{\"application_id\": 1, \"auth_key\": \"emulator-auth-key\", \"user\": {\"guest\": \"no\", \"login\": null}}",
        "{\"user\": {\"tag_list\": {\"a\": 1}, \"timezone\": 1e400}}",
        "{\"email\": 12}",
        "\u{0}",
    ];
    let queries = [
        "",
        "?id[in]=1",
        "?login[]=x",
        "?x[y][z]=1&&&=",
        "?id=99999999999999999999",
    ];
    let mut requests = 0;
    for method in methods {
        for path in &paths {
            for (i, body) in bodies.iter().enumerate() {
                let query = queries[i % queries.len()];
                // Never DELETE ourselves or the session: keep the state to compare.
                if method == "DELETE"
                    && (path.starts_with("/users/") || path.starts_with("/session"))
                {
                    continue;
                }
                let resp = emu.send(
                    method,
                    &format!("{path}{query}"),
                    &[("CB-Token", &token)],
                    Some((*body).to_owned()),
                    "application/json",
                );
                requests += 1;
                assert!(
                    resp.status < 500,
                    "{method} {path}{query} {body}: {} {}",
                    resp.status,
                    resp.text
                );
                if resp.status >= 400 {
                    assert!(
                        common::well_formed_error(&resp.body),
                        "{method} {path} {body}: {}",
                        resp.text
                    );
                }
            }
        }
    }
    assert!(requests > 200);
    let after = emu.get(&format!("/users/{id}"), Some(&token)).body["user"].clone();
    // Timestamps may move (an update with no known field is a valid,
    // empty update); no field may.
    let strip = |mut v: Value| {
        v["last_request_at"] = Value::Null;
        v["updated_at"] = Value::Null;
        v
    };
    assert_eq!(strip(before), strip(after));
    emu.get("/_emulator/health", None).assert(200);
}

#[test]
fn errors_before_routing_still_carry_the_expiry_of_a_valid_token() {
    let emu = Emu::start();
    let (token, _) = emu.user("header-rider");
    let resp = emu.send(
        "PUT",
        "/users/1",
        &[("CB-Token", &token)],
        Some("{".into()),
        "application/json",
    );
    resp.assert(400);
    assert!(resp.expiry().is_some());
    let big = json!({"x": "y".repeat(2 << 20)}).to_string();
    let resp = emu.send(
        "PUT",
        "/users/1",
        &[("CB-Token", &token)],
        Some(big),
        "application/json",
    );
    resp.assert(413);
    assert!(resp.expiry().is_some());
    let resp = emu.get("/users/v2?%zz", Some(&token));
    resp.assert(400);
    assert!(resp.expiry().is_some());
}

#[test]
fn browsers_may_call_from_another_origin() {
    let emu = Emu::start();
    let resp = emu.send(
        "OPTIONS",
        "/session",
        &[
            ("Origin", "http://localhost:3000"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "cb-token, content-type"),
        ],
        None,
        "",
    );
    resp.assert(204);
    assert_eq!(resp.headers["access-control-allow-origin"], "*");
    assert_eq!(
        resp.headers["access-control-allow-headers"],
        "cb-token, content-type"
    );
    let resp = emu.create_session(json!({}));
    assert_eq!(resp.headers["access-control-allow-origin"], "*");
    assert_eq!(
        resp.headers["access-control-expose-headers"],
        "CB-Token-ExpirationDate, Date"
    );
    // Errors and the preflight expose them too.
    let resp = emu.get("/users/1", None);
    resp.assert(401);
    assert_eq!(
        resp.headers["access-control-expose-headers"],
        "CB-Token-ExpirationDate, Date"
    );
}
