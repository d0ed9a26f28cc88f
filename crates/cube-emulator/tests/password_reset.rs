//! Password reset: the outbox e-mail, the HTML form behind the link, one
//! use, one hour, and every session ended.

mod common;

use common::{Emu, NO_SESSION};
use serde_json::{Value, json};

fn outbox(emu: &Emu) -> Vec<Value> {
    let resp = emu.get("/_emulator/outbox", None);
    resp.assert(200);
    resp.body["items"].as_array().unwrap().clone()
}

/// The link's path below the base URL.
fn link_path(emu: &Emu, mail: &Value) -> String {
    let link = mail["link"].as_str().unwrap();
    link.strip_prefix(emu.running.base_url())
        .unwrap()
        .to_owned()
}

fn submit(emu: &Emu, path: &str, password: &str) -> common::Resp {
    emu.send(
        "POST",
        path,
        &[],
        Some(format!("password={password}")),
        "application/x-www-form-urlencoded",
    )
}

#[test]
fn reset_by_get_writes_an_email_and_the_link_sets_a_password() {
    let emu = Emu::start();
    emu.sign_up(
        json!({"login": "forgetful", "email": "Forget@Example.com", "password": "password123"}),
    );
    let (session_a, _) = emu.login("forgetful", "password123");
    let (session_b, _) = emu.login("forgetful", "password123");
    let app = emu.app_session();

    let resp = emu.get(
        "/users/password/reset?email=forget%40example.com",
        Some(&app),
    );
    resp.assert(200);
    let mails = outbox(&emu);
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail["to"], "Forget@Example.com");
    assert!(!mail["subject"].as_str().unwrap().is_empty());
    let link = mail["link"].as_str().unwrap();
    let token = mail["token"].as_str().unwrap();
    assert!(link.ends_with(token));
    assert!(mail["text"].as_str().unwrap().contains(link));
    common::parse_iso(mail["created_at"].as_str().unwrap());

    let path = link_path(&emu, mail);
    let page = emu.get(&path, None);
    page.assert(200);
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text.contains("<form") && page.text.contains("name=\"password\""));

    // Too short: the form again, nothing changed.
    let resp = submit(&emu, &path, "short");
    resp.assert(422);
    assert!(resp.text.contains("<form"));
    emu.get("/session", Some(&session_a)).assert(200);

    let resp = submit(&emu, &path, "brand-new-pass");
    resp.assert(200);
    assert!(resp.text.contains("changed"));
    // Every session of the user has ended.
    for token in [&session_a, &session_b] {
        let resp = emu.get("/session", Some(token));
        resp.assert(401);
        assert_eq!(resp.text, NO_SESSION);
    }
    emu.create_session(json!({"user": {"login": "forgetful", "password": "password123"}}))
        .assert(401);
    emu.login("forgetful", "brand-new-pass");

    // The link works once.
    emu.get(&path, None).assert(404);
    submit(&emu, &path, "another-new-pass").assert(404);
    emu.login("forgetful", "brand-new-pass");
}

#[test]
fn reset_by_post_and_unknown_emails() {
    let emu = Emu::start();
    emu.sign_up(
        json!({"login": "poster", "email": "poster@example.com", "password": "password123"}),
    );
    let app = emu.app_session();
    emu.post(
        "/users/password/reset",
        Some(&app),
        json!({"email": "poster@example.com"}),
    )
    .assert(200);
    // Unknown addresses answer 200 too (no account enumeration) and send nothing.
    emu.post(
        "/users/password/reset.json",
        Some(&app),
        json!({"email": "nobody@example.com"}),
    )
    .assert(200);
    emu.get(
        "/users/password/reset?email=ghost%40example.com",
        Some(&app),
    )
    .assert(200);
    assert_eq!(outbox(&emu).len(), 1);
    emu.post("/users/password/reset", Some(&app), json!({}))
        .assert(422);
    emu.get("/users/password/reset?email=poster%40example.com", None)
        .assert(401);

    // The page also takes a JSON body.
    let path = link_path(&emu, &outbox(&emu)[0]);
    emu.post(&path, None, json!({"password": "json-new-pass"}))
        .assert(200);
    emu.login("poster", "json-new-pass");

    emu.delete("/_emulator/outbox", None).assert(200);
    assert!(outbox(&emu).is_empty());
}

#[test]
fn links_expire_after_an_hour() {
    let emu = Emu::frozen();
    emu.sign_up(
        json!({"login": "slowpoke", "email": "slow@example.com", "password": "password123"}),
    );
    let app = emu.app_session();
    emu.get("/users/password/reset?email=slow%40example.com", Some(&app))
        .assert(200);
    let path = link_path(&emu, &outbox(&emu)[0]);
    emu.advance(3599);
    emu.get(&path, None).assert(200);
    emu.advance(1);
    emu.get(&path, None).assert(404);
    submit(&emu, &path, "too-late-pass").assert(404);
    emu.login("slowpoke", "password123");
    emu.get("/users/password/reset/not-a-token", None)
        .assert(404);
}
