//! At the most verbose log level, no provider token, secret, external
//! login, session token or upload signature shows up in the emulator's
//! logs, whatever the outcome of the call.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Emu, TestServer};
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn provider_and_storage_secrets_stay_out_of_the_logs() {
    let captured = Captured::default();
    let sink = captured.clone();
    // Everything at trace level, except the test's own HTTP client (which
    // logs the URLs it calls, tokens included).
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "trace,ureq=off,ureq_proto=off",
        ))
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .init();

    let emu = Emu::start();
    let mut secrets = vec![
        "FB-SECRET-TOKEN".to_owned(),
        "TW-SECRET-TOKEN".to_owned(),
        "TW-TOKEN-SECRET".to_owned(),
        "CIDP-SECRET-LOGIN".to_owned(),
    ];
    emu.post(
        "/_emulator/providers/facebook/tokens",
        None,
        json!({"token": "FB-SECRET-TOKEN", "id": "1"}),
    )
    .assert(201);
    emu.post(
        "/_emulator/providers/twitter/tokens",
        None,
        json!({"token": "TW-SECRET-TOKEN", "secret": "TW-TOKEN-SECRET", "id": "2"}),
    )
    .assert(201);
    let fb =
        emu.create_session(json!({"provider": "facebook", "keys": {"token": "FB-SECRET-TOKEN"}}));
    fb.assert(201);
    secrets.push(common::token_of(&fb));
    emu.create_session(json!({"provider": "facebook", "keys": {"token": "FB-SECRET-WRONG"}}))
        .assert(401);
    secrets.push("FB-SECRET-WRONG".to_owned());
    let tw = emu.create_session(json!({"provider": "twitter",
        "keys": {"token": "TW-SECRET-TOKEN", "secret": "TW-TOKEN-SECRET"}}));
    tw.assert(201);
    secrets.push(common::token_of(&tw));

    // A custom identity provider: one success, one failure whose answer
    // repeats the token it was sent (the emulator's 422 quotes the answer,
    // never the token).
    let idp = TestServer::start(|target| {
        if target.contains("CIDP-SECRET-LOGIN") {
            (200, json!({"uid": "e-1"}).to_string(), Duration::ZERO)
        } else {
            let error = json!({"error": format!("unknown token at {target}")});
            (500, error.to_string(), Duration::ZERO)
        }
    });
    emu.put(
        "/_emulator/apps/1/settings",
        None,
        json!({"cidp": {"url": format!("{}/verify", idp.base_url)}}),
    )
    .assert(200);
    emu.create_session(json!({"user": {"login": "CIDP-SECRET-LOGIN", "password": "x"}}))
        .assert(201);
    let refused =
        emu.create_session(json!({"user": {"login": "CIDP-SECRET-OTHER", "password": "x"}}));
    refused.assert(422);
    assert!(refused.text.contains("Status: 500."), "{}", refused.text);
    assert!(
        !refused.text.contains("CIDP-SECRET-OTHER"),
        "{}",
        refused.text
    );
    secrets.push("CIDP-SECRET-OTHER".to_owned());

    // An upload and its file URL.
    let user_token = common::token_of(&fb);
    let blob = emu.post(
        "/blobs",
        Some(&user_token),
        json!({"blob": {"content_type": "text/plain", "name": "a.txt"}}),
    );
    blob.assert(201);
    let url = blob.body["blob"]["blob_object_access"]["params"]
        .as_str()
        .unwrap()
        .to_owned();
    let (target, query) = url.split_once('?').unwrap();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap();
        if k == "signature" || k == "policy" {
            secrets.push(v.to_owned());
        }
    }
    let fields: Vec<String> = query
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            let v = v
                .replace("%2B", "+")
                .replace("%2F", "/")
                .replace("%3D", "=")
                .replace("%2F", "/");
            let v = v.replace("%20", " ");
            format!("--B\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
        })
        .collect();
    let body = format!(
        "{}--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello\r\n--B--\r\n",
        fields.concat()
    );
    let request = http::Request::builder()
        .method("POST")
        .uri(target)
        .header("Content-Type", "multipart/form-data; boundary=B")
        .body(body)
        .unwrap();
    assert_eq!(emu.agent.run(request).unwrap().status().as_u16(), 201);
    let uid = blob.body["blob"]["uid"].as_str().unwrap();
    emu.get(&format!("/blobs/{uid}?token={user_token}"), None)
        .assert(200);

    drop(emu);
    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(logs.contains("request"), "the debug log ran: {logs}");
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "{secret} is in the logs:\n{logs}"
        );
    }
}
