//! The fidelity table, emulator side: one test per row of the protocol
//! (`docs/PROTOCOL.md`) that the emulator answers, with the exact status,
//! form and text. Each test names where its row comes from, in a comment
//! just above it:
//!
//! * a page of the public service's documents, `ConnectyCube/docs
//!   src/content/docs/server/…` (`auth.mdx`, `users.md`, `storage.md`,
//!   `index.md`);
//! * an answer the public service was seen sending, quoted in a public
//!   issue thread of the ConnectyCube sample apps or SDKs: "public service
//!   answer, sample-app issue thread (year)";
//! * "our choice", where the public service says nothing and the
//!   protocol page chose (its **[choice]** marks).
//!
//! A reader sees here what is checked against the public service and what
//! is the project's own. A row that changes makes its test fail.

mod common;

use common::{Emu, NO_SESSION, TestServer, parse_header, token_of};
use serde_json::{Value, json};
use std::time::Duration;

const NO_TOKEN: &str = r#"{"errors":["Token is required"]}"#;
const UNAUTHORIZED: &str = r#"{"errors":["Unauthorized"]}"#;
const INVALID_PASSWORD: &str = r#"{"errors":["Invalid password"]}"#;
const USER_NOT_FOUND: &str = r#"{"errors":["User not found"]}"#;
const BLANK_PASSWORD: &str = r#"{"errors":{"password":["cannot be blank"]}}"#;

fn settings(emu: &Emu, patch: Value) {
    emu.put("/_emulator/apps/1/settings", None, patch)
        .assert(200);
}

/// Asserts status and exact body.
#[track_caller]
fn answers(resp: &common::Resp, status: u16, body: &str) {
    resp.assert(status);
    assert_eq!(resp.text, body);
}

// ---- Error bodies (docs/PROTOCOL.md, "Errors") ----

// Public service answer, sample-app issue threads (2020–2024); the JS SDK
// v6 takes a session for expired by this exact body, under `base`.
#[test]
fn required_session_does_not_exist_is_401_object_form_under_base() {
    let emu = Emu::frozen();
    answers(
        &emu.get("/session", Some("0123456789abcdef0123456789abcdef01234567")),
        401,
        NO_SESSION,
    );
    let (token, _) = emu.user("expiring");
    emu.advance(7200);
    answers(&emu.get("/session", Some(&token)), 401, NO_SESSION);
}

// Public service answer, sample-app issue thread (2020).
#[test]
fn token_is_required_is_401_array_form() {
    let emu = Emu::start();
    answers(&emu.get("/users/1", None), 401, NO_TOKEN);
    answers(&emu.delete("/session", None), 401, NO_TOKEN);
    answers(
        &emu.post("/blobs", None, json!({"blob": {"name": "n"}})),
        401,
        NO_TOKEN,
    );
}

// Public service answer, sample-app issue threads (2020–2024).
#[test]
fn unauthorized_is_401_array_form_for_a_provider_token_that_does_not_verify() {
    let emu = Emu::start();
    answers(
        &emu.create_session(json!({"provider": "facebook", "keys": {"token": "unknown"}})),
        401,
        UNAUTHORIZED,
    );
    let app = emu.app_session();
    answers(
        &emu.post(
            "/login",
            Some(&app),
            json!({"provider": "facebook", "keys": {"token": "unknown"}}),
        ),
        401,
        UNAUTHORIZED,
    );
}

// Our choice: a credential failure the public service's answers do not
// show (a wrong application key) is its general 401, Unauthorized.
#[test]
fn a_wrong_application_key_is_401_unauthorized() {
    let emu = Emu::start();
    answers(
        &emu.post(
            "/session",
            None,
            json!({"application_id": 1, "auth_key": "wrong"}),
        ),
        401,
        UNAUTHORIZED,
    );
}

// Public service answer, sample-app issue thread (2024).
#[test]
fn invalid_password_is_401_array_form() {
    let emu = Emu::start();
    emu.sign_up(json!({"login": "owner", "email": "owner@example.com", "password": "password123"}));
    answers(
        &emu.create_session(json!({"user": {"login": "owner", "password": "wrong-password"}})),
        401,
        INVALID_PASSWORD,
    );
    let app = emu.app_session();
    answers(
        &emu.post(
            "/login",
            Some(&app),
            json!({"email": "owner@example.com", "password": "wrong-password"}),
        ),
        401,
        INVALID_PASSWORD,
    );
}

// Public service answer, sample-app issue threads (2022–2023).
#[test]
fn user_not_found_is_404_array_form_where_auto_sign_up_is_denied() {
    let emu = Emu::start();
    settings(&emu, json!({"session_without_user": "deny"}));
    answers(
        &emu.create_session(json!({"user": {"login": "nobody", "password": "password123"}})),
        404,
        USER_NOT_FOUND,
    );
    answers(
        &emu.create_session(
            json!({"user": {"email": "nobody@example.com", "password": "password123"}}),
        ),
        404,
        USER_NOT_FOUND,
    );
}

// Public service answer, sample-app issue threads (2022–2023): auto
// sign-up happens at POST /session only.
#[test]
fn an_unknown_user_at_post_login_is_404_array_form() {
    let emu = Emu::start();
    let app = emu.app_session();
    answers(
        &emu.post(
            "/login",
            Some(&app),
            json!({"login": "nobody", "password": "password123"}),
        ),
        404,
        USER_NOT_FOUND,
    );
}

// ConnectyCube/docs src/content/docs/server/auth.mdx: "the user is
// created automatically on the fly upon session creation".
#[test]
fn an_unknown_login_signs_up_at_post_session_where_allowed() {
    let emu = Emu::start();
    let created =
        emu.create_session(json!({"user": {"login": "newcomer", "password": "password123"}}));
    created.assert(201);
    assert_eq!(created.body["session"]["user"]["login"], "newcomer");
    assert_eq!(emu.login("newcomer", "password123").1, {
        created.body["session"]["user_id"].as_i64().unwrap()
    });
}

// Public service answer, sample-app issue thread (2021), at POST /login;
// POST /session answers alike.
#[test]
fn a_login_without_a_password_is_422_cannot_be_blank() {
    let emu = Emu::start();
    emu.sign_up(json!({"login": "owner", "password": "password123"}));
    let app = emu.app_session();
    answers(
        &emu.post("/login", Some(&app), json!({"login": "owner"})),
        422,
        BLANK_PASSWORD,
    );
    answers(
        &emu.create_session(json!({"user": {"login": "owner", "password": ""}})),
        422,
        BLANK_PASSWORD,
    );
}

// Public service answer, sample-app issue thread (2021).
#[test]
fn unexpected_signature_is_422_array_form() {
    let emu = Emu::start();
    let mut body = emu.sign(emu.session_body(json!({})), 1, common::unix_now());
    body["signature"] = json!("0".repeat(40));
    answers(
        &emu.post("/session", None, body),
        422,
        r#"{"errors":["Unexpected signature"]}"#,
    );
}

// Public service answer, sample-app issue thread (2023): the answer of a
// device whose clock is wrong, with `Date` and its CORS exposure.
#[test]
fn a_stale_timestamp_is_422_invalid_timestamp_with_the_servers_date() {
    let emu = Emu::frozen();
    let now = emu.now();
    let resp = emu.post(
        "/session",
        None,
        emu.sign(emu.session_body(json!({})), 2, now - 3601),
    );
    answers(
        &resp,
        422,
        r#"{"errors":{"timestamp":["invalid timestamp"]}}"#,
    );
    assert_eq!(date_of(&resp), now);
    assert_eq!(
        resp.headers["access-control-expose-headers"],
        "CB-Token-ExpirationDate, Date"
    );
}

// Public service answer, sample-app issue threads (2021, 2023).
#[test]
fn an_application_session_writing_is_403_need_user_object_form() {
    let emu = Emu::start();
    let user = emu.sign_up(json!({"login": "owner", "password": "password123"}));
    let app = emu.app_session();
    answers(
        &emu.put(
            &format!("/users/{}", user["id"]),
            Some(&app),
            json!({"user": {"full_name": "X"}}),
        ),
        403,
        r#"{"errors":{"base":["Forbidden. Need user."]}}"#,
    );
}

// Our choice: one message for any missing resource.
#[test]
fn a_missing_resource_is_404_entity_not_found_object_form() {
    let emu = Emu::start();
    let app = emu.app_session();
    for path in ["/users/999999", "/blobs/999999", "/users/external/nope"] {
        answers(
            &emu.get(path, Some(&app)),
            404,
            r#"{"errors":{"base":["Entity you are looking for was not found"]}}"#,
        );
    }
}

// ---- Custom identity provider (docs/PROTOCOL.md, "Identity providers") ----

/// An IdP: `uid-N` signs in, `gone` → 404 empty, `refused` → 401 with a
/// body, `nouid` → 200 without a uid, `slow` → no answer in time.
fn idp() -> TestServer {
    TestServer::start(|target| {
        let token = common::query_param(target, "token").unwrap_or_default();
        let now = Duration::ZERO;
        match token {
            t if t.starts_with("uid-") => (200, json!({"uid": &t[4..]}).to_string(), now),
            "gone" => (404, String::new(), now),
            "nouid" => (200, json!({"user": {}}).to_string(), now),
            "slow" => (200, "{}".into(), Duration::from_secs(2)),
            _ => (401, json!({"message": "no such token"}).to_string(), now),
        }
    })
}

fn with_idp(server: &TestServer) -> Emu {
    let emu = Emu::with(cube_emulator::EmulatorConfig {
        provider_timeout: Duration::from_millis(400),
        ..cube_emulator::EmulatorConfig::default()
    });
    settings(
        &emu,
        json!({"cidp": {"url": format!("{}/verify", server.base_url)}}),
    );
    emu
}

fn cidp_session(emu: &Emu, token: &str) -> common::Resp {
    emu.create_session(json!({"user": {"login": token, "password": "any-value"}}))
}

fn remote_refusal(rest: &str) -> String {
    json!({ "errors": [format!("Bad Authentication data. Unauthorized on remote side. {rest}")] })
        .to_string()
}

// Public service answers, sample-app issue threads (2020, 2021): the
// IdP's status, then "With empty response" or "Response" and its body.
#[test]
fn an_identity_provider_refusal_is_422_array_form_with_its_status() {
    let server = idp();
    let emu = with_idp(&server);
    answers(
        &cidp_session(&emu, "gone"),
        422,
        &remote_refusal("Status: 404.With empty response"),
    );
    answers(
        &cidp_session(&emu, "bad"),
        422,
        &remote_refusal(r#"Status: 401.Response "{\"message\":\"no such token\"}""#),
    );
    let app = emu.app_session();
    answers(
        &emu.post(
            "/login",
            Some(&app),
            json!({"login": "gone", "password": "any-value"}),
        ),
        422,
        &remote_refusal("Status: 404.With empty response"),
    );
}

// Our choice: no answer (a timeout, nobody listening) is status 0.
#[test]
fn an_identity_provider_that_does_not_answer_is_status_0() {
    let server = idp();
    let emu = with_idp(&server);
    answers(
        &cidp_session(&emu, "slow"),
        422,
        &remote_refusal("Status: 0."),
    );
}

// Public service answers, sample-app issue threads (2021).
#[test]
fn an_identity_provider_answer_without_the_uid_is_422_object_form() {
    let server = idp();
    let emu = with_idp(&server);
    answers(
        &cidp_session(&emu, "nouid"),
        422,
        r#"{"errors":{"base":["Custom Identity Provider uid is required"]}}"#,
    );
    cidp_session(&emu, "uid-7").assert(201);
}

// Public service answer, sample-app issue thread (2021): its staff's
// advice is "any random value in password, just to pass the validation".
#[test]
fn an_identity_provider_sign_in_needs_a_password_but_never_checks_it() {
    let server = idp();
    let emu = with_idp(&server);
    answers(
        &emu.create_session(json!({"user": {"login": "uid-8"}})),
        422,
        BLANK_PASSWORD,
    );
    let first = cidp_session(&emu, "uid-8");
    let again = emu.create_session(json!({"user": {"login": "uid-8", "password": "other"}}));
    assert_eq!(
        first.body["session"]["user_id"],
        again.body["session"]["user_id"]
    );
}

// ---- Sessions and their headers ----

// ConnectyCube/docs src/content/docs/server/auth.mdx: "session token is
// valid for 2 hours. Any API request prolongs the token validity for
// another 2 hours"; public service answer, sample-app issue thread (2023):
// `cb-token-expirationdate` two hours after `date`.
#[test]
fn a_token_lives_two_hours_after_its_last_request() {
    let emu = Emu::frozen();
    let (token, id) = emu.user("slider");
    emu.advance(7199);
    let resp = emu.get(&format!("/users/{id}"), Some(&token));
    resp.assert(200);
    let deadline = parse_header(resp.expiry().unwrap());
    assert_eq!(deadline, date_of(&resp) + 7200);
    emu.advance(7200);
    answers(&emu.get("/session", Some(&token)), 401, NO_SESSION);
}

// ConnectyCube/docs src/content/docs/server/auth.mdx: a session with a
// guest user is "valid for 1 day".
#[test]
fn a_guest_session_lives_one_day() {
    let emu = Emu::frozen();
    let resp = emu.create_session(json!({"user": {"guest": "1", "full_name": "Olof"}}));
    resp.assert(201);
    assert_eq!(resp.body["session"]["user"]["is_guest"], true);
    let token = token_of(&resp);
    assert_eq!(parse_header(resp.expiry().unwrap()), emu.now() + 86_400);
    emu.advance(86_399);
    emu.get("/session", Some(&token)).assert(200);
    emu.advance(1);
    answers(&emu.get("/session", Some(&token)), 401, NO_SESSION);
}

/// The `Date` header, in unix seconds.
#[track_caller]
fn date_of(resp: &common::Resp) -> i64 {
    let text = resp
        .headers
        .get("date")
        .unwrap_or_else(|| panic!("no Date on {} {}", resp.status, resp.text))
        .to_str()
        .unwrap();
    time::PrimitiveDateTime::parse(
        text,
        time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        ),
    )
    .unwrap_or_else(|e| panic!("Date {text:?} is not an IMF-fixdate: {e}"))
    .assume_utc()
    .unix_timestamp()
}

// Public service answers, sample-app issue threads (2023, 2024) carry
// `Date`; that it follows the emulator's moved clock is our choice (the
// clock is the emulator's own, docs/EMULATOR.md).
#[test]
fn every_answer_carries_date_from_the_emulators_clock() {
    let emu = Emu::frozen();
    emu.advance(86_400 + 7);
    let (token, id) = emu.user("dated");
    let now = emu.now();
    assert_eq!(now, common::FROZEN_AT + 86_400 + 7);
    let big = "x".repeat((1 << 20) + 1);
    let answers: Vec<(&str, common::Resp)> = vec![
        ("API", emu.get(&format!("/users/{id}"), Some(&token))),
        ("created", emu.create_session(json!({}))),
        ("401", emu.get("/users/1", None)),
        ("404", emu.get("/no/such/route", None)),
        ("422", emu.get("/users/v2?nickname=x", Some(&token))),
        (
            "413",
            emu.send(
                "PUT",
                &format!("/users/{id}"),
                &[("CB-Token", &token)],
                Some(big),
                "application/json",
            ),
        ),
        (
            "preflight",
            emu.send(
                "OPTIONS",
                "/session",
                &[("Origin", "http://localhost:3000")],
                None,
                "",
            ),
        ),
        ("admin", emu.get("/_emulator/health", None)),
        ("web UI", emu.get("/_emulator/ui/", None)),
        (
            "password reset",
            emu.get("/users/password/reset/nope", None),
        ),
    ];
    for (what, resp) in &answers {
        assert_eq!(date_of(resp), now, "{what}: {}", resp.status);
    }
    // A file's bytes too.
    let (_, uid) = emu.stored_file(&token, "text/plain", "a.txt", b"abc");
    let file = emu.get(&format!("/blobs/{uid}?token={token}"), None);
    file.assert(200);
    assert_eq!(date_of(&file), now);
    // And it moves with the clock, back too.
    emu.advance(-3 * 86_400);
    assert_eq!(
        date_of(&emu.get("/_emulator/clock", None)),
        now - 3 * 86_400
    );
}

// Public service answer, sample-app issue thread (2023):
// `access-control-expose-headers: CB-Token-ExpirationDate, Date`.
#[test]
fn cors_exposes_the_expiry_and_date() {
    let emu = Emu::start();
    for resp in [emu.create_session(json!({})), emu.get("/users/1", None)] {
        assert_eq!(resp.headers["access-control-allow-origin"], "*");
        assert_eq!(
            resp.headers["access-control-expose-headers"],
            "CB-Token-ExpirationDate, Date"
        );
    }
}

// ---- Users (ConnectyCube/docs src/content/docs/server/users.md) ----

/// Users `usr1`…`usr5`, ids ascending; their ids.
fn five_users(emu: &Emu) -> Vec<i64> {
    (1..=5)
        .map(|i| {
            emu.sign_up(json!({"login": format!("usr{i}"), "password": "password123"}))["id"]
                .as_i64()
                .unwrap()
        })
        .collect()
}

fn v1_logins(resp: &common::Resp) -> Vec<String> {
    resp.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {}", resp.text))
        .iter()
        .map(|i| i["user"]["login"].as_str().unwrap().to_owned())
        .collect()
}

// ConnectyCube/docs src/content/docs/server/users.md, "Retrieve Users V1":
// operators gt lt ge le eq ne between in.
#[test]
fn v1_list_takes_exactly_the_documented_operators() {
    let emu = Emu::start();
    let ids = five_users(&emu);
    let app = emu.app_session();
    let (a, b, c) = (ids[1], ids[2], ids[3]);
    for (op, value, expected) in [
        ("gt", format!("{b}"), vec!["usr4", "usr5"]),
        ("lt", format!("{b}"), vec!["usr1", "usr2"]),
        ("ge", format!("{b}"), vec!["usr3", "usr4", "usr5"]),
        ("le", format!("{b}"), vec!["usr1", "usr2", "usr3"]),
        ("eq", format!("{b}"), vec!["usr3"]),
        ("ne", format!("{b}"), vec!["usr1", "usr2", "usr4", "usr5"]),
        ("between", format!("{a},{c}"), vec!["usr2", "usr3", "usr4"]),
        ("in", format!("{a},{c}"), vec!["usr2", "usr4"]),
    ] {
        let resp = emu.get(
            &format!("/users?filter[]=number+id+{op}+{value}"),
            Some(&app),
        );
        resp.assert(200);
        assert_eq!(v1_logins(&resp), expected, "{op}");
    }
}

// ConnectyCube/docs src/content/docs/server/users.md: `gte`, `lte` and
// `nin` are v2's operators, not v1's, so v1 refuses them as unknown.
#[test]
fn v1_list_refuses_v2_operators() {
    let emu = Emu::start();
    let app = emu.app_session();
    for op in ["gte", "lte", "nin"] {
        let resp = emu.get(&format!("/users?filter[]=number+id+{op}+1"), Some(&app));
        resp.assert(422);
        assert_eq!(
            resp.error("filter"),
            format!("is invalid: number id {op} 1"),
            "{op}"
        );
    }
}

// Our choice: the public service has the v1 list off by default ("DISABLE
// LIST USERS API V1", users.md); the emulator's default application has
// it on, so apps written against v1 run before their owner changes it.
#[test]
fn v1_list_is_on_for_the_default_application() {
    let emu = Emu::start();
    let settings = emu.get("/_emulator/apps/1/settings", None);
    assert_eq!(settings.body["settings"]["list_users_v1"], true);
    emu.get("/users", Some(&emu.app_session())).assert(200);
}

// ConnectyCube/docs src/content/docs/server/users.md: the application
// setting "DISABLE LIST USERS API V1"; the 403's text is our choice.
#[test]
fn v1_list_switched_off_is_403_object_form() {
    let emu = Emu::start();
    settings(&emu, json!({"list_users_v1": false}));
    let app = emu.app_session();
    answers(
        &emu.get("/users", Some(&app)),
        403,
        r#"{"errors":{"base":["Forbidden. List users API v1 is disabled"]}}"#,
    );
    emu.get("/users/v2?login=usr1", Some(&app)).assert(200);
}

// ConnectyCube/docs src/content/docs/server/users.md: with "Allow to
// retrieve a list of users via API" un-ticked, every list answers this.
#[test]
fn lists_switched_off_are_403_with_the_documented_text() {
    let emu = Emu::start();
    settings(&emu, json!({"list_users": false}));
    let app = emu.app_session();
    let documented = r#"{"errors":{"base":["Users retrieving forbidden in admin panel, application settings. Setup it here https://admin.connectycube.com/apps/1/service/users/settings"]}}"#;
    for list in ["/users/v2?login=usr1", "/users", "/users/by_tags?tags=a"] {
        answers(&emu.get(list, Some(&app)), 403, documented);
    }
}

// ConnectyCube/docs src/content/docs/server/users.md, "Retrieve Users V2":
// every example of a valid and an invalid query it gives.
#[test]
fn v2_search_answers_every_documented_example_as_documented() {
    let emu = Emu::start();
    emu.sign_up(
        json!({"login": "smith1", "password": "password123", "phone": "6754987345566",
        "full_name": "hunter one", "tag_list": "guest"}),
    );
    let app = emu.app_session();
    for valid in [
        "id=51946",
        "id[in][]=51946&id[in][]=51943&last_request_at[gt]=2018-12-06T09:21:41Z",
        "user_tags=guest",
        "user_tags=guest&created_at[lt]=1690886495",
        "login=smith1&phone=6754987345566&user_tags[nin][]=vip&updated_at[lte]=2018-12-06T09:21:41Z",
        "phone=6754987345566&last_request_at=2020-11-09T08:21:41Z",
        "full_name[start_with]=hunter&id[nin][]=68647",
    ] {
        let resp = emu.get(&format!("/users/v2?{valid}"), Some(&app));
        assert_eq!(resp.status, 200, "{valid}: {}", resp.text);
    }
    for invalid in [
        "login[nin][]=admin19",
        "user_tags[nin][]=guest",
        "last_request_at=2017-07-06T11:21:41Z",
        "created_at[gte]=2019-11-06T09:21:41Z",
        "login[start_with]=vip",
    ] {
        let resp = emu.get(&format!("/users/v2?{invalid}"), Some(&app));
        assert_eq!(resp.status, 422, "{invalid}: {}", resp.text);
    }
}

// ConnectyCube/docs src/content/docs/server/users.md: a date with `eq`
// beside a stand-alone primary (`phone=…&last_request_at=…`) is valid,
// and matches that second.
#[test]
fn v2_date_eq_beside_a_stand_alone_primary_matches_the_second() {
    let emu = Emu::frozen();
    let user = emu.sign_up(json!({"login": "dated", "password": "password123"}));
    let created = user["created_at"].as_str().unwrap();
    let app = emu.app_session();
    let found = emu.get(
        &format!("/users/v2?login=dated&created_at={created}"),
        Some(&app),
    );
    found.assert(200);
    assert_eq!(found.body["total_entries"], 1);
    let other = emu.get(
        "/users/v2?login=dated&created_at=2020-11-09T08:21:41Z",
        Some(&app),
    );
    assert_eq!(other.body["total_entries"], 0);
}

// ConnectyCube/docs src/content/docs/server/users.md: `external_user_id`
// is a number (`"external_user_id":52691165` in its answers); taking a
// digit string too, and refusing anything else with 422, is our choice.
#[test]
fn external_user_id_is_a_number() {
    let emu = Emu::start();
    let by_number = emu
        .sign_up(json!({"login": "num1", "password": "password123", "external_user_id": 52691165}));
    assert_eq!(by_number["external_user_id"], json!(52_691_165));
    let by_text =
        emu.sign_up(json!({"login": "num2", "password": "password123", "external_user_id": "77"}));
    assert_eq!(by_text["external_user_id"], json!(77));
    let refused = emu.send(
        "POST",
        "/users",
        &[("CB-AuthKey", emu.running.auth_key())],
        Some(
            json!({"user": {"login": "num3", "password": "password123", "external_user_id": "ext-1"}})
                .to_string(),
        ),
        "application/json",
    );
    answers(
        &refused,
        422,
        r#"{"errors":{"external_user_id":["is not a number"]}}"#,
    );
}

// ConnectyCube/docs src/content/docs/server/users.md, "User Sign Up": with
// `CB-AuthKey` and no session, `201 {"user": …}`.
#[test]
fn sign_up_with_the_auth_key_is_201() {
    let emu = Emu::start();
    let resp = emu.send(
        "POST",
        "/users",
        &[("CB-AuthKey", emu.running.auth_key())],
        Some(
            json!({"user": {"login": "Dacia", "password": "petU4or!", "timezone": 180}})
                .to_string(),
        ),
        "application/json",
    );
    resp.assert(201);
    assert_eq!(resp.body["user"]["login"], "Dacia");
    assert_eq!(resp.body["user"]["timezone"], 180);
    assert!(resp.body["user"].get("password").is_none());
}

// Our choice: a password reset for an unknown e-mail is 200 too (no
// account enumeration).
#[test]
fn a_password_reset_for_an_unknown_email_is_200() {
    let emu = Emu::start();
    let app = emu.app_session();
    emu.get(
        "/users/password/reset?email=nobody%40example.com",
        Some(&app),
    )
    .assert(200);
}

// ---- Storage (ConnectyCube/docs src/content/docs/server/storage.md) ----

// ConnectyCube/docs src/content/docs/server/storage.md: create a file
// (201 with its `blob_object_access`), declare it uploaded with
// `{"blob": {"size": "347"}}` (the size as its example sends it), read it.
#[test]
fn a_file_record_follows_the_documented_steps() {
    let emu = Emu::start();
    let (token, _) = emu.user("filer");
    let created = emu.post(
        "/blobs",
        Some(&token),
        json!({"blob": {"content_type": "image/jpeg", "name": "cat.jpeg"}}),
    );
    created.assert(201);
    let blob = &created.body["blob"];
    assert_eq!(blob["size"], Value::Null);
    assert_eq!(blob["public"], false);
    assert_eq!(blob["blob_object_access"]["object_access_type"], "Write");
    let id = blob["id"].as_i64().unwrap();
    let done = emu.put(
        &format!("/blobs/{id}/complete"),
        Some(&token),
        json!({"blob": {"size": "347"}}),
    );
    done.assert(200);
    let read = emu.get(&format!("/blobs/{id}"), Some(&token));
    read.assert(200);
    assert_eq!(read.body["blob"]["size"], 347);
}
