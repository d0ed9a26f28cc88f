//! Storage over real HTTP (`docs/PROTOCOL.md`, "Storage"): create, upload through
//! the signed policy URL, complete, read through private, public and
//! download URLs, delete; the policy checks, the 100 MiB limit (with the
//! emulator's memory measured), restarts and the avatar flow.

mod common;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{Emu, Resp, agent, percent_decode as decode};
use serde_json::{Value, json};

const MAX_FILE: u64 = 100 << 20;

/// The upload URL split into its path and its decoded fields, in order.
fn upload_target(emu: &Emu, url: &str) -> (String, Vec<(String, String)>) {
    let (target, query) = url.split_once('?').expect("the upload URL has a query");
    assert!(target.starts_with("http://127.0.0.1:"), "{url}");
    let _ = emu;
    // The path only: a URL issued before a restart names the old port.
    let path = target["http://".len()..]
        .split_once('/')
        .map(|(_, p)| format!("/{p}"))
        .unwrap();
    let fields = query
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (decode(k), decode(v))
        })
        .collect();
    (path, fields)
}

/// The form cube-proto's encoder writes: the fields in order, then `file`.
fn sdk_form(fields: &[(String, String)], file: &[u8], boundary: &str) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cat.jpeg\"\r\n\
             Content-Type: image/jpeg\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

fn post_form(emu: &Emu, path: &str, content_type: &str, body: Vec<u8>) -> (u16, String) {
    let request = http::Request::builder()
        .method("POST")
        .uri(emu.url(path))
        .header("Content-Type", content_type)
        .body(body)
        .unwrap();
    let mut response = emu.agent.run(request).expect("the upload completes");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, text)
}

/// Uploads `file` with the fields of the upload URL (optionally altered).
fn upload_with(
    emu: &Emu,
    url: &str,
    file: &[u8],
    alter: impl Fn(&mut Vec<(String, String)>),
) -> (u16, String) {
    let (path, mut fields) = upload_target(emu, url);
    alter(&mut fields);
    let boundary = "cube-0123456789abcdef";
    post_form(
        emu,
        &path,
        &format!("multipart/form-data; boundary={boundary}"),
        sdk_form(&fields, file, boundary),
    )
}

fn upload(emu: &Emu, blob: &Value, file: &[u8]) -> (u16, String) {
    let url = blob["blob_object_access"]["params"].as_str().unwrap();
    upload_with(emu, url, file, |_| {})
}

fn create_blob(emu: &Emu, token: &str, name: &str, public: bool) -> Value {
    let resp = emu.post(
        "/blobs",
        Some(token),
        json!({"blob": {"content_type": "image/jpeg", "name": name, "public": public}}),
    );
    resp.assert(201);
    resp.body["blob"].clone()
}

/// GET of a file: status, content type, bytes, `Location`.
struct Fetched {
    status: u16,
    content_type: String,
    bytes: Vec<u8>,
    location: Option<String>,
    headers: http::HeaderMap,
}

fn fetch(emu: &Emu, path: &str, headers: &[(&str, &str)]) -> Fetched {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .new_agent();
    let mut builder = http::Request::builder().uri(emu.url(path));
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let mut response = agent.run(builder.body(()).unwrap()).unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header("content-type").unwrap_or_default();
    let location = header("location");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response
        .body_mut()
        .with_config()
        .limit(200 << 20)
        .read_to_vec()
        .unwrap();
    Fetched {
        status,
        content_type,
        bytes,
        location,
        headers,
    }
}

fn photo() -> Vec<u8> {
    // Binary, with CR/LF and dashes that must not confuse the form parser.
    let mut bytes = b"\xFF\xD8\xFF\xE0\r\n--cube-\r\n".to_vec();
    bytes.extend((0..20_000u32).map(|i| (i * 7 % 251) as u8));
    bytes
}

/// A public blob of `content_type` holding `bytes`, uploaded; its uid.
fn stored(emu: &Emu, token: &str, content_type: &str, name: &str, bytes: &[u8]) -> String {
    let resp = emu.post(
        "/blobs",
        Some(token),
        json!({"blob": {"content_type": content_type, "name": name, "public": true}}),
    );
    resp.assert(201);
    let blob = resp.body["blob"].clone();
    assert_eq!(upload(emu, &blob, bytes).0, 201);
    blob["uid"].as_str().unwrap().to_owned()
}

#[test]
fn stored_bytes_never_run_as_active_content_on_the_emulator_origin() {
    let emu = Emu::start();
    let (token, _) = emu.user("page-writer");
    let page = b"<html><script>fetch('/_emulator/outbox')</script></html>";
    let header = |f: &Fetched, name: &str| {
        f.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    for content_type in [
        "text/html",
        "image/svg+xml",
        "application/xhtml+xml",
        "text/javascript",
        "TEXT/HTML; charset=utf-8",
    ] {
        let uid = stored(&emu, &token, content_type, "evil \"page\".html", page);
        let file = fetch(&emu, &format!("/blobs/{uid}"), &[]);
        assert_eq!(file.status, 200);
        assert_eq!(file.bytes, page);
        // The record's type is kept (`docs/PROTOCOL.md`, "Storage"), but a browser must
        // neither sniff nor render it here: a download, in a sandbox.
        assert_eq!(
            header(&file, "x-content-type-options"),
            "nosniff",
            "{content_type}"
        );
        let csp = header(&file, "content-security-policy");
        assert!(
            csp.contains("sandbox") && csp.contains("default-src 'none'"),
            "{content_type}: {csp}"
        );
        let disposition = header(&file, "content-disposition");
        assert!(
            disposition.starts_with("attachment"),
            "{content_type}: {disposition}"
        );
        assert!(
            disposition.contains("filename*=UTF-8''evil%20%22page%22.html"),
            "{disposition}"
        );
        assert!(!disposition.contains("\"page\""), "{disposition}");
    }
    // Pictures and plain text may show inline, still sandboxed.
    for content_type in ["image/jpeg", "image/png", "text/plain"] {
        let uid = stored(&emu, &token, content_type, "cat.jpeg", &photo());
        let file = fetch(&emu, &format!("/blobs/{uid}"), &[]);
        assert_eq!(file.content_type, content_type);
        assert_eq!(header(&file, "x-content-type-options"), "nosniff");
        assert!(header(&file, "content-security-policy").contains("sandbox"));
        assert!(
            header(&file, "content-disposition").starts_with("inline"),
            "{content_type}"
        );
    }
}

#[test]
fn blob_flags_of_the_wrong_type_are_422_never_coerced() {
    let emu = Emu::start();
    let (token, _) = emu.user("typist");
    let create = |public: Value| {
        emu.post(
            "/blobs",
            Some(&token),
            json!({"blob": {"content_type": "text/plain", "name": "a.txt", "public": public}}),
        )
    };
    for wrong in [
        json!("maybe"),
        json!("yes"),
        json!(2),
        json!(-1),
        json!(0.5),
        json!([]),
        json!({}),
    ] {
        let resp = create(wrong.clone());
        resp.assert(422);
        assert_eq!(resp.error("public"), "is not a boolean", "{wrong}");
    }
    for (value, public) in [
        (json!(true), true),
        (json!("true"), true),
        (json!(1), true),
        (json!("1"), true),
        (json!(false), false),
        (json!("0"), false),
        (json!(null), false),
    ] {
        let resp = create(value.clone());
        resp.assert(201);
        assert_eq!(resp.body["blob"]["public"], public, "{value}");
    }
    // A form body sends flags as text.
    let resp = emu.send(
        "POST",
        "/blobs",
        &[("CB-Token", &token)],
        Some("blob[content_type]=text/plain&blob[name]=a.txt&blob[public]=true".into()),
        "application/x-www-form-urlencoded",
    );
    resp.assert(201);
    assert_eq!(resp.body["blob"]["public"], true);
    // The guest flag of a session is held to the same rule.
    let resp = emu.create_session(json!({"user": {"guest": "maybe"}}));
    resp.assert(422);
    assert_eq!(resp.error("guest"), "is not a boolean");
    emu.create_session(json!({"user": {"guest": "1"}}))
        .assert(201);
}

#[test]
fn links_name_the_address_a_client_came_in_on_never_the_wildcard() {
    let emu = Emu::with(cube_emulator::EmulatorConfig {
        listen: "0.0.0.0:0".parse().unwrap(),
        ..cube_emulator::EmulatorConfig::default()
    });
    let port = emu.running.addr().port();
    assert_eq!(emu.running.base_url(), format!("http://127.0.0.1:{port}"));
    let (token, _) = emu.user("linked");
    let local = create_blob(&emu, &token, "a.jpeg", false);
    let url = local["blob_object_access"]["params"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("http://127.0.0.1:{port}/_storage/upload?")),
        "{url}"
    );
    // The same request through this machine's LAN address gets links a
    // phone on that LAN can use.
    let lan = non_loopback_ip().expect("this test needs a non-loopback address");
    let resp = agent()
        .post(&format!("http://{lan}:{port}/blobs"))
        .header("CB-Token", &token)
        .header("Content-Type", "application/json")
        .send(json!({"blob": {"content_type": "image/jpeg", "name": "b.jpeg"}}).to_string())
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    let blob: Value = serde_json::from_str(&resp).unwrap();
    let url = blob["blob"]["blob_object_access"]["params"]
        .as_str()
        .unwrap();
    assert!(
        url.starts_with(&format!("http://{lan}:{port}/_storage/upload?")),
        "{url}"
    );
    // Reset links too.
    emu.sign_up(json!({"login": "resetter", "email": "r@example.com", "password": "password123"}));
    let app = emu.app_session();
    emu.get("/users/password/reset?email=r%40example.com", Some(&app))
        .assert(200);
    let outbox = emu.get("/_emulator/outbox", None);
    let link = outbox.body["items"][0]["link"].as_str().unwrap();
    assert!(
        link.starts_with(&format!("http://127.0.0.1:{port}/users/password/reset/")),
        "{link}"
    );
    assert!(!outbox.text.contains("0.0.0.0"));
}

/// The address this machine would use to reach the outside, if any.
fn non_loopback_ip() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[test]
fn upload_complete_and_read_through_every_url() {
    let emu = Emu::start();
    let (alice, _) = emu.user("alice");
    let (bob, _) = emu.user("bob");
    // A name with a space and a plus: the URL keeps them encoded.
    let blob = create_blob(&emu, &alice, "my cat+dog.jpeg", false);
    let id = blob["id"].as_i64().unwrap();
    let uid = blob["uid"].as_str().unwrap().to_owned();
    assert!(uid.bytes().any(|b| b.is_ascii_alphabetic()), "{uid}");
    assert_eq!(blob["size"], Value::Null);
    assert_eq!(blob["public"], false);
    assert_eq!(blob["name"], "my cat+dog.jpeg");
    let access = &blob["blob_object_access"];
    assert_eq!(access["object_access_type"], "Write");
    assert_eq!(access["blob_id"], id);
    let url = access["params"].as_str().unwrap();
    let query = url.split_once('?').unwrap().1;
    assert!(!query.contains(' ') && !query.contains('+'), "{url}");
    assert!(query.contains("%2B") || query.contains("%2F") || query.contains("%3D"));

    let bytes = photo();
    let (status, xml) = upload(&emu, &blob, &bytes);
    assert_eq!(status, 201, "{xml}");
    assert!(
        xml.contains("<PostResponse>") && xml.contains(&format!("<Key>{uid}</Key>")),
        "{xml}"
    );

    // Complete, in both documented body forms.
    emu.put(
        &format!("/blobs/{id}/complete"),
        Some(&alice),
        json!({"blob": {"size": bytes.len()}}),
    )
    .assert(200);
    emu.put(
        &format!("/blobs/{id}/complete.json"),
        Some(&alice),
        json!({"size": bytes.len()}),
    )
    .assert(200);
    let info = emu.get(&format!("/blobs/{id}"), Some(&bob));
    info.assert(200);
    assert_eq!(info.body["blob"]["size"], bytes.len());
    assert_eq!(info.body["blob"]["uid"], uid.as_str());
    assert!(info.body["blob"].get("blob_object_access").is_none());

    // Private URL: any session of the application, through ?token=.
    for token in [&alice, &bob] {
        let got = fetch(&emu, &format!("/blobs/{uid}?token={token}"), &[]);
        assert_eq!(got.status, 200);
        assert_eq!(got.content_type, "image/jpeg");
        assert_eq!(got.bytes, bytes);
    }
    let app_token = emu.app_session();
    assert_eq!(
        fetch(&emu, &format!("/blobs/{uid}?token={app_token}"), &[]).status,
        200
    );
    // Without a token (401 Token is required), or with a bad one (401
    // Required session does not exist).
    let none = fetch(&emu, &format!("/blobs/{uid}"), &[]);
    assert_eq!(none.status, 401);
    assert_eq!(
        String::from_utf8(none.bytes).unwrap(),
        r#"{"errors":["Token is required"]}"#
    );
    let bad = fetch(&emu, &format!("/blobs/{uid}?token=deadbeef"), &[]);
    assert_eq!(String::from_utf8(bad.bytes).unwrap(), common::NO_SESSION);
    assert_eq!(
        fetch(&emu, &format!("/blobs/{uid}?token=deadbeef"), &[]).status,
        401
    );
    assert_eq!(
        fetch(&emu, &format!("/blobs/{uid}?token="), &[]).status,
        401
    );
    // Unknown uid: 404.
    assert_eq!(
        fetch(&emu, &format!("/blobs/abc123?token={bob}"), &[]).status,
        404
    );

    // Download: 301 to the private URL, with CB-Token or ?token=.
    let by_header = fetch(
        &emu,
        &format!("/blobs/{uid}/download"),
        &[("CB-Token", &bob)],
    );
    assert_eq!(by_header.status, 301);
    let location = by_header.location.unwrap();
    assert_eq!(location, emu.url(&format!("/blobs/{uid}?token={bob}")));
    let by_query = fetch(&emu, &format!("/blobs/{uid}/download?token={bob}"), &[]);
    assert_eq!(by_query.status, 301);
    assert_eq!(
        fetch(&emu, &format!("/blobs/{uid}/download"), &[]).status,
        401
    );
    // Following the redirect gives the bytes.
    let followed = emu
        .agent
        .get(&emu.url(&format!("/blobs/{uid}/download?token={bob}")))
        .call()
        .unwrap()
        .body_mut()
        .read_to_vec()
        .unwrap();
    assert_eq!(followed, bytes);
}

#[test]
fn a_public_file_needs_no_token() {
    let emu = Emu::start();
    let (alice, _) = emu.user("alice");
    let blob = create_blob(&emu, &alice, "public.jpeg", true);
    assert_eq!(blob["public"], true);
    let uid = blob["uid"].as_str().unwrap();
    // Not uploaded yet: nothing to read.
    assert_eq!(fetch(&emu, &format!("/blobs/{uid}"), &[]).status, 404);
    assert_eq!(upload(&emu, &blob, b"public bytes").0, 201);
    let got = fetch(&emu, &format!("/blobs/{uid}"), &[]);
    assert_eq!(
        (got.status, got.bytes.as_slice()),
        (200, &b"public bytes"[..])
    );
    let download = fetch(&emu, &format!("/blobs/{uid}/download"), &[]);
    assert_eq!(download.status, 301);
    assert_eq!(
        download.location.unwrap(),
        emu.url(&format!("/blobs/{uid}"))
    );
    // A token is still accepted, a bad one is not.
    assert_eq!(
        fetch(&emu, &format!("/blobs/{uid}?token={alice}"), &[]).status,
        200
    );
    assert_eq!(
        fetch(&emu, &format!("/blobs/{uid}?token=nope"), &[]).status,
        401
    );
}

#[test]
fn only_the_owner_completes_or_deletes() {
    let emu = Emu::start();
    let (alice, _) = emu.user("alice");
    let (bob, _) = emu.user("bob");
    let app_token = emu.app_session();
    let denied = emu.post(
        "/blobs",
        Some(&app_token),
        json!({"blob": {"content_type": "image/png", "name": "x.png"}}),
    );
    denied.assert(403);
    assert_eq!(denied.error("base"), "Forbidden. Need user.");
    emu.post(
        "/blobs",
        None,
        json!({"blob": {"content_type": "a/b", "name": "n"}}),
    )
    .assert(401);
    let invalid = emu.post("/blobs", Some(&alice), json!({"blob": {"name": ""}}));
    invalid.assert(422);
    assert!(!invalid.error("content_type").is_empty());
    emu.post("/blobs", Some(&alice), json!({"nope": 1}))
        .assert(422);

    let blob = create_blob(&emu, &alice, "mine.jpeg", false);
    let (id, uid) = (blob["id"].as_i64().unwrap(), blob["uid"].as_str().unwrap());
    assert_eq!(upload(&emu, &blob, b"abc").0, 201);
    emu.put(
        &format!("/blobs/{id}/complete"),
        Some(&bob),
        json!({"size": 3}),
    )
    .assert(403);
    emu.put(&format!("/blobs/{id}/complete"), Some(&alice), json!({}))
        .assert(422);
    emu.put(
        &format!("/blobs/{id}/complete"),
        Some(&alice),
        json!({"size": -1}),
    )
    .assert(422);
    emu.delete(&format!("/blobs/{id}"), Some(&bob)).assert(403);
    emu.delete(&format!("/blobs/{id}"), Some(&app_token))
        .assert(403);
    emu.get("/blobs/999999", Some(&alice)).assert(404);
    emu.get(&format!("/blobs/{id}"), None).assert(401);

    emu.delete(&format!("/blobs/{id}"), Some(&alice))
        .assert(200);
    emu.get(&format!("/blobs/{id}"), Some(&alice)).assert(404);
    assert_eq!(
        fetch(&emu, &format!("/blobs/{uid}?token={alice}"), &[]).status,
        404
    );
    emu.delete(&format!("/blobs/{id}"), Some(&alice))
        .assert(404);
    // Its upload URL is dead too.
    assert_eq!(upload(&emu, &blob, b"again").0, 404);
}

/// A change made to the upload form's fields.
type Alteration = dyn Fn(&mut Vec<(String, String)>);

#[test]
fn tampered_or_expired_policies_are_refused() {
    let emu = Emu::frozen();
    let (alice, _) = emu.user("alice");
    let blob = create_blob(&emu, &alice, "a.jpeg", false);
    let other = create_blob(&emu, &alice, "b.jpeg", false);
    let url = blob["blob_object_access"]["params"].as_str().unwrap();
    let other_url = other["blob_object_access"]["params"].as_str().unwrap();
    let (_, other_fields) = upload_target(&emu, other_url);
    let field = |fields: &[(String, String)], name: &str| {
        fields.iter().find(|(k, _)| k == name).unwrap().1.clone()
    };
    let set = |name: &'static str, value: String| {
        move |fields: &mut Vec<(String, String)>| {
            for (k, v) in fields.iter_mut() {
                if k == name {
                    *v = value.clone();
                }
            }
        }
    };
    let policy = field(&upload_target(&emu, url).1, "policy");
    let cases: Vec<Box<Alteration>> = vec![
        // Another file's key under this policy.
        Box::new(set("key", field(&other_fields, "key"))),
        // Another content type.
        Box::new(set("Content-Type", "text/html".into())),
        // A forged signature.
        Box::new(set("signature", "0".repeat(64))),
        // Another file's policy with this signature.
        Box::new(set("policy", field(&other_fields, "policy"))),
        // A policy altered by one character.
        Box::new(set("policy", format!("A{}", &policy[1..]))),
        // No policy at all.
        Box::new(|fields: &mut Vec<(String, String)>| fields.retain(|(k, _)| k != "policy")),
    ];
    for (i, alter) in cases.iter().enumerate() {
        let (status, text) = upload_with(&emu, url, b"evil", alter);
        assert_eq!(status, 403, "case {i}: {text}");
        assert!(text.contains("\"errors\""), "{text}");
    }
    // The intact policy works until it is an hour old.
    emu.advance(3599);
    assert_eq!(upload(&emu, &blob, b"in time").0, 201);
    emu.advance(1);
    let (status, text) = upload(&emu, &blob, b"too late");
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("expired"), "{text}");
    // The file stored in time is untouched.
    let got = fetch(
        &emu,
        &format!("/blobs/{}?token={alice}", blob["uid"].as_str().unwrap()),
        &[],
    );
    assert_eq!(got.bytes, b"in time");
    // Not multipart, or malformed: 400.
    let (path, _) = upload_target(&emu, url);
    assert_eq!(
        post_form(&emu, &path, "application/json", b"{}".to_vec()).0,
        400
    );
    assert_eq!(
        post_form(
            &emu,
            &path,
            "multipart/form-data; boundary=B",
            b"--B\r\nbroken".to_vec()
        )
        .0,
        400
    );
}

#[test]
fn browser_style_forms_upload_too() {
    let emu = Emu::start();
    let (alice, _) = emu.user("alice");
    let blob = create_blob(&emu, &alice, "b.jpeg", false);
    let url = blob["blob_object_access"]["params"].as_str().unwrap();
    let (path, fields) = upload_target(&emu, url);
    let boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
    let mut body = b"ignored preamble\r\n".to_vec();
    for (name, value) in &fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\
                 X-Ignored: yes\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.jpeg\"\r\n\
             Content-Type: application/octet-stream\r\n\r\nbrowser bytes\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"after\"\r\n\r\nignored\r\n\
             --{boundary}--\r\nepilogue"
        )
        .as_bytes(),
    );
    // A stale CB-Token on the upload is ignored.
    let request = http::Request::builder()
        .method("POST")
        .uri(emu.url(&path))
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary=\"{boundary}\""),
        )
        .header("CB-Token", "stale-token")
        .body(body)
        .unwrap();
    let mut response = emu.agent.run(request).unwrap();
    assert_eq!(
        response.status().as_u16(),
        201,
        "{}",
        response.body_mut().read_to_string().unwrap()
    );
    let uid = blob["uid"].as_str().unwrap();
    assert_eq!(
        fetch(&emu, &format!("/blobs/{uid}?token={alice}"), &[]).bytes,
        b"browser bytes"
    );
}

/// A body of `len` bytes made on the fly (never held in memory).
struct Generated {
    head: Vec<u8>,
    file_len: u64,
    tail: Vec<u8>,
    pos: u64,
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let head = self.head.len() as u64;
        let body_end = head + self.file_len;
        let total = body_end + self.tail.len() as u64;
        let p = self.pos;
        let n = if p < head {
            let n = buf.len().min((head - p) as usize);
            buf[..n].copy_from_slice(&self.head[p as usize..p as usize + n]);
            n
        } else if p < body_end {
            let n = buf
                .len()
                .min(usize::try_from(body_end - p).unwrap_or(usize::MAX));
            buf[..n].fill(b'x');
            n
        } else if p < total {
            let from = (p - body_end) as usize;
            let n = buf.len().min(self.tail.len() - from);
            buf[..n].copy_from_slice(&self.tail[from..from + n]);
            n
        } else {
            0
        };
        self.pos += n as u64;
        Ok(n)
    }
}

fn generated_upload(base_url: &str, upload_url: &str, file_len: u64) -> u16 {
    let (target, query) = upload_url.split_once('?').unwrap();
    assert!(target.starts_with(base_url));
    let boundary = "gen-boundary-42";
    let mut head = Vec::new();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap();
        head.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{}\r\n",
                decode(k),
                decode(v)
            )
            .as_bytes(),
        );
    }
    head.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big\"\r\n\r\n"
        )
        .as_bytes(),
    );
    let tail = format!("\r\n--{boundary}--\r\n").into_bytes();
    let body = Generated {
        head,
        file_len,
        tail,
        pos: 0,
    };
    // No Content-Length: the body goes chunked, so only the stream tells
    // its size.
    let response = agent()
        .post(target)
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .send(ureq::SendBody::from_owned_reader(body))
        .expect("the emulator answers");
    response.status().as_u16()
}

/// `VmHWM` (peak resident memory) of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn over_100_mib_is_413_and_memory_stays_flat() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cube-emulator"))
        .args(["--listen", "127.0.0.1:0", "--in-memory"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base_url = common::ready_url(&mut child);
    let client = agent();
    let post = |path: &str, token: Option<&str>, body: Value| -> Value {
        let mut request = client.post(&format!("{base_url}{path}"));
        if let Some(token) = token {
            request = request.header("CB-Token", token);
        }
        let mut response = request.send_json(body).unwrap();
        response.body_mut().read_json().unwrap()
    };
    let session = post(
        "/session",
        None,
        json!({"application_id": 1, "auth_key": "emulator-auth-key",
               "user": {"login": "big-uploader", "password": "password123"}}),
    );
    let token = session["session"]["token"].as_str().unwrap().to_owned();
    let blob = post(
        "/blobs",
        Some(&token),
        json!({"blob": {"content_type": "application/octet-stream", "name": "big.bin"}}),
    );
    let url = blob["blob"]["blob_object_access"]["params"]
        .as_str()
        .unwrap()
        .to_owned();

    let before = peak_rss_kib(child.id());
    // One byte over the limit, streamed: refused.
    let status = generated_upload(&base_url, &url, MAX_FILE + 1);
    let after = peak_rss_kib(child.id());
    assert_eq!(status, 413);
    // Exactly the limit is fine.
    assert_eq!(generated_upload(&base_url, &url, MAX_FILE), 201);
    let after_ok = peak_rss_kib(child.id());
    eprintln!(
        "emulator peak RSS: {before} KiB before, {after} KiB after the refused upload, {after_ok} KiB after the accepted one"
    );
    // 100 MiB went through; the peak grew by far less.
    assert!(
        after_ok < before + 32 * 1024,
        "peak RSS grew from {before} to {after_ok} KiB"
    );
    // SIGTERM: a clean stop removes the in-memory mode's temporary
    // directory (and the 100 MiB file in it).
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = child.id();
    let _ = child.wait();
    // Its private directory (with the 100 MiB file) is gone.
    let prefix = format!("cube-emulator-{pid}-");
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_declared_oversized_upload_is_413_without_waiting_for_it() {
    use std::io::Write;
    let emu = Emu::start();
    let (alice, _) = emu.user("alice");
    let blob = create_blob(&emu, &alice, "big.jpeg", false);
    let (path, _) = upload_target(&emu, blob["blob_object_access"]["params"].as_str().unwrap());
    let addr = emu.running.addr();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    // 200 MiB announced, 1 KiB sent, then the client stops sending.
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 209715200\r\n\r\n"
    )
    .unwrap();
    stream.write_all(&[b'x'; 1024]).unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // The file was never stored.
    let uid = blob["uid"].as_str().unwrap();
    assert_eq!(
        fetch(&emu, &format!("/blobs/{uid}?token={alice}"), &[]).status,
        404
    );
}

#[test]
fn a_client_expecting_100_continue_gets_the_413_before_sending() {
    use std::io::Write;
    let emu = Emu::start();
    let (alice, _) = emu.user("alice");
    let blob = create_blob(&emu, &alice, "big.jpeg", false);
    let (path, _) = upload_target(&emu, blob["blob_object_access"]["params"].as_str().unwrap());
    let addr = emu.running.addr();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nExpect: 100-continue\r\n\
         Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 209715200\r\n\r\n"
    )
    .unwrap();
    // Nothing of the body is sent: the answer comes anyway.
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 413");
}

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

#[test]
fn files_survive_a_restart_and_a_data_reset_removes_them() {
    let dir = temp_dir("files");
    let config = || cube_emulator::EmulatorConfig {
        storage: cube_emulator::Storage::DataDir(dir.clone()),
        ..cube_emulator::EmulatorConfig::default()
    };
    let emu = Emu::with(config());
    let (alice, _) = emu.user("alice");
    let blob = create_blob(&emu, &alice, "kept.jpeg", false);
    let url = blob["blob_object_access"]["params"]
        .as_str()
        .unwrap()
        .to_owned();
    let (id, uid) = (
        blob["id"].as_i64().unwrap(),
        blob["uid"].as_str().unwrap().to_owned(),
    );
    assert_eq!(upload(&emu, &blob, &photo()).0, 201);
    emu.put(
        &format!("/blobs/{id}/complete"),
        Some(&alice),
        json!({"size": photo().len()}),
    )
    .assert(200);
    drop(emu);

    let emu = Emu::with(config());
    let (bob, _) = emu.user("bob");
    let got = fetch(&emu, &format!("/blobs/{uid}?token={bob}"), &[]);
    assert_eq!((got.status, got.bytes), (200, photo()));
    assert_eq!(
        emu.get(&format!("/blobs/{id}"), Some(&bob)).body["blob"]["size"],
        photo().len()
    );
    // The upload URL outlives the restart too (until it expires).
    assert_eq!(upload_with(&emu, &url, b"replaced", |_| {}).0, 201);
    assert_eq!(
        fetch(&emu, &format!("/blobs/{uid}?token={bob}"), &[]).bytes,
        b"replaced"
    );

    // A file without a record (as a crash between a delete's two steps
    // would leave) is removed at the next start.
    drop(emu);
    std::fs::write(dir.join("blobs").join("abcdef0123"), b"orphan").unwrap();
    let emu = Emu::with(config());
    assert!(!dir.join("blobs").join("abcdef0123").exists());
    assert!(dir.join("blobs").join(&uid).exists());

    emu.delete("/_emulator/data", None).assert(200);
    let files: Vec<_> = std::fs::read_dir(dir.join("blobs")).unwrap().collect();
    assert!(files.is_empty(), "{files:?}");
    drop(emu);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn avatar_flow_end_to_end() {
    let emu = Emu::start();
    let (alice, alice_id) = emu.user("alice");
    let (bob, _) = emu.user("bob");
    // 1. Alice creates a private file and uploads her photo.
    let blob = create_blob(&emu, &alice, "me.jpeg", false);
    let (id, uid) = (blob["id"].as_i64().unwrap(), blob["uid"].as_str().unwrap());
    let bytes = photo();
    assert_eq!(upload(&emu, &blob, &bytes).0, 201);
    // 2. She declares it uploaded.
    emu.put(
        &format!("/blobs/{id}/complete"),
        Some(&alice),
        json!({"blob": {"size": bytes.len()}}),
    )
    .assert(200);
    // 3. It becomes her avatar.
    let updated = emu.put(
        &format!("/users/{alice_id}"),
        Some(&alice),
        json!({"user": {"avatar": uid}}),
    );
    updated.assert(200);
    assert_eq!(updated.body["user"]["avatar"], uid);
    assert_eq!(updated.body["user"]["blob_id"], Value::Null);
    // 4. Bob reads her profile and fetches the avatar with his own token.
    let profile: Resp = emu.get(&format!("/users/{alice_id}"), Some(&bob));
    let avatar = profile.body["user"]["avatar"].as_str().unwrap().to_owned();
    let got = fetch(&emu, &format!("/blobs/{avatar}?token={bob}"), &[]);
    assert_eq!(got.status, 200);
    assert_eq!(got.content_type, "image/jpeg");
    assert_eq!(got.bytes, bytes);
}
