//! A battery of hostile requests (each refused) against an emulator that
//! holds a user: afterwards the user still signs in, with every field and
//! file as before.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{Emu, token_of};
use cube_emulator::{EmulatorConfig, Limits};
use serde_json::{Value, json};

#[test]
fn a_user_created_before_a_hostile_battery_still_signs_in_after_it() {
    let mut limits = Limits::default();
    limits.body_grace = Duration::from_millis(300);
    limits.max_body_pause = Duration::from_millis(300);
    let emu = Emu::with(EmulatorConfig {
        limits,
        ..EmulatorConfig::default()
    });
    let form = "application/x-www-form-urlencoded";
    // The victim: a profile and a file record.
    emu.sign_up(json!({"login": "victim", "email": "victim@example.com",
        "password": "password123", "full_name": "Vic Tim", "tag_list": "a,b"}));
    let (token, id) = emu.login("victim", "password123");
    let blob = emu.post(
        "/blobs",
        Some(&token),
        json!({"blob": {"content_type": "image/png", "name": "me.png", "public": true}}),
    );
    blob.assert(201);
    let uid = blob.body["blob"]["uid"].as_str().unwrap().to_owned();
    let user_before = emu.get(&format!("/users/{id}"), Some(&token)).body["user"].clone();
    let (attacker, _) = emu.user("attacker");

    let mut refused = 0;
    let mut expect = |resp: common::Resp, status: u16| {
        resp.assert(status);
        refused += 1;
    };
    // Bodies too deep, too large, not UTF-8, amplifying when signed.
    let deep = format!("user{}=1", "[a]".repeat(7_000));
    expect(
        emu.send_raw("POST", "/session", &[], deep.clone().into_bytes(), form),
        400,
    );
    expect(
        emu.send_raw(
            "POST",
            "/users",
            &[("CB-Token", &attacker)],
            deep.into_bytes(),
            form,
        ),
        400,
    );
    let big = json!({"user": {"login": "x", "custom_data": "y".repeat(2 << 20)}});
    expect(emu.post("/users", Some(&attacker), big), 413);
    expect(
        emu.send_raw(
            "POST",
            "/users",
            &[("CB-Token", &attacker)],
            b"{\"\xff\": 1}".to_vec(),
            "application/json",
        ),
        400,
    );
    let leaves: serde_json::Map<String, Value> =
        (0..40).map(|i| (i.to_string(), json!(1))).collect();
    let mut amplified = emu.session_body(json!({ "k".repeat(100_000): leaves }));
    amplified["nonce"] = json!(1);
    amplified["timestamp"] = json!(common::unix_now());
    amplified["signature"] = json!("0".repeat(40));
    expect(emu.post("/session", None, amplified), 400);
    // Another user's account.
    let path = format!("/users/{id}");
    expect(
        emu.put(
            &path,
            Some(&attacker),
            json!({"user": {"password": "hijacked1", "email": "a@evil.example"}}),
        ),
        403,
    );
    expect(emu.delete(&path, Some(&attacker)), 403);
    expect(emu.delete(&format!("/blobs/{uid}"), Some(&attacker)), 403);
    for _ in 0..5 {
        expect(
            emu.create_session(json!({"user": {"login": "victim", "password": "guess-guess"}})),
            401,
        );
    }
    expect(
        emu.send(
            "POST",
            "/users/password/reset/0000",
            &[],
            Some("password=hijacked1".into()),
            form,
        ),
        404,
    );
    // The admin API from a web page, and through DNS rebinding.
    for headers in [
        vec![("Origin", "https://evil.example")],
        vec![("Host", "evil.example")],
    ] {
        expect(
            emu.send("DELETE", "/_emulator/data", &headers, None, ""),
            403,
        );
        expect(
            emu.send(
                "PUT",
                "/_emulator/apps/1/settings",
                &headers,
                Some(json!({"session_without_user": "deny"}).to_string()),
                "application/json",
            ),
            403,
        );
    }
    expect(
        emu.post(
            "/_emulator/clock/advance",
            None,
            json!({"seconds": i64::MIN}),
        ),
        422,
    );
    // Uploads without a valid form or policy.
    for body in [
        &b""[..],
        b"--B\r\nbroken",
        b"--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--B--\r\n",
    ] {
        let resp = emu.send_raw(
            "POST",
            "/_storage/upload",
            &[],
            body.to_vec(),
            "multipart/form-data; boundary=B",
        );
        assert!(resp.status == 400 || resp.status == 403, "{}", resp.text);
        refused += 1;
    }
    // A body that stalls.
    let mut socket = TcpStream::connect(emu.running.addr()).unwrap();
    socket
        .write_all(b"POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        .unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = String::new();
    let _ = socket.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    refused += 1;
    assert_eq!(refused, 23);

    // The victim is intact: signs in, same profile, same file.
    let resp = emu.create_session(json!({"user": {"login": "victim", "password": "password123"}}));
    resp.assert(201);
    let fresh = token_of(&resp);
    let mut user_after = emu.get(&format!("/users/{id}"), Some(&fresh)).body["user"].clone();
    for field in ["last_request_at", "updated_at"] {
        user_after[field] = Value::Null;
    }
    let mut expected = user_before;
    for field in ["last_request_at", "updated_at"] {
        expected[field] = Value::Null;
    }
    assert_eq!(user_after, expected);
    let record = emu.get(&format!("/blobs/{}", blob.body["blob"]["id"]), Some(&fresh));
    record.assert(200);
    assert_eq!(record.body["blob"]["uid"], uid.as_str());
    assert_eq!(record.body["blob"]["name"], "me.png");
    emu.get("/_emulator/health", None).assert(200);
}
