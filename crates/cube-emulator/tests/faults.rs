//! Faults on purpose over real HTTP (`docs/EMULATOR.md`, "Faults"): each
//! effect as a client meets it — a status with its headers and body,
//! latency, a connection cut before the answer (no answer at all) or
//! after its headers (a short body) — the nth-request and N-times
//! counting, seeded draws that repeat, the admin rules, and the request
//! log's account of it. Latency is checked loosely: a lower bound only.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use cube_emulator::EmulatorConfig;
use serde_json::{Value, json};

mod common;
use common::Emu;

/// What came back on a connection: the bytes read until the server
/// closed it, and whether the reading ended in an error (a reset).
struct Raw {
    bytes: Vec<u8>,
    reset: bool,
}

impl Raw {
    fn head_and_body(&self) -> (String, &[u8]) {
        let end = self
            .bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(&self.bytes)));
        (
            String::from_utf8_lossy(&self.bytes[..end]).to_ascii_lowercase(),
            &self.bytes[end + 4..],
        )
    }

    fn status(&self) -> u16 {
        let (head, _) = self.head_and_body();
        head.split(' ').nth(1).unwrap().parse().unwrap()
    }

    fn header(&self, name: &str) -> Option<String> {
        let (head, _) = self.head_and_body();
        head.lines()
            .find_map(|line| line.strip_prefix(&format!("{name}: ")).map(str::to_owned))
    }
}

/// Sends `request` (its head; `Connection: close` added) with `body` and
/// reads until the server closes the connection.
fn raw(emu: &Emu, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Raw {
    let addr = emu.running.addr();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut sent = head.into_bytes();
    sent.extend_from_slice(body);
    let _ = stream.write_all(&sent);
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 8192];
    let reset = loop {
        match stream.read(&mut chunk) {
            Ok(0) => break false,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                panic!("no end after 30 s: {:?}", String::from_utf8_lossy(&bytes))
            }
            Err(_) => break true,
        }
    };
    Raw { bytes, reset }
}

fn add(emu: &Emu, text: &str) -> Value {
    let resp = emu.post("/_emulator/faults", None, json!({ "text": text }));
    resp.assert(201);
    resp.body["fault"].clone()
}

fn listed(emu: &Emu) -> Vec<Value> {
    let resp = emu.get("/_emulator/faults", None);
    resp.assert(200);
    resp.body["items"].as_array().unwrap().clone()
}

fn logged(emu: &Emu) -> Vec<Value> {
    let resp = emu.get("/_emulator/requests", None);
    resp.assert(200);
    resp.body["items"].as_array().unwrap().clone()
}

#[test]
fn a_status_answers_with_its_headers_and_body_and_the_request_is_not_served() {
    let emu = Emu::start();
    let rule = add(
        &emu,
        r#"POST /users status=429 header=Retry-After:1 body={"errors":{"base":["Slow down"]}}"#,
    );
    assert_eq!(rule["id"], 1);
    assert_eq!(rule["status"], 429);
    assert_eq!(rule["headers"], json!({"retry-after": "1"}));

    let sign_up = json!({"user": {"login": "faulted_user", "password": "password-1"}}).to_string();
    let auth_key = emu.running.auth_key().to_owned();
    let headers = [
        ("Content-Type", "application/json"),
        ("CB-AuthKey", auth_key.as_str()),
    ];
    let answer = raw(&emu, "POST", "/users", &headers, sign_up.as_bytes());
    assert_eq!(answer.status(), 429);
    assert_eq!(answer.header("retry-after").as_deref(), Some("1"));
    assert_eq!(
        answer.header("content-type").as_deref(),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(
        answer.head_and_body().1,
        br#"{"errors":{"base":["Slow down"]}}"#
    );
    // The sign-up did not happen; once spent, the same request is served.
    let users = emu.get("/_emulator/apps/1/users", None);
    assert_eq!(users.body["total_entries"], 0, "{}", users.text);
    let answer = raw(&emu, "POST", "/users", &headers, sign_up.as_bytes());
    assert_eq!(answer.status(), 201);

    // Without a body, a failure reads as the service's: the error object.
    add(&emu, "GET /users/* status=503");
    let resp = emu.get("/users/1", None);
    resp.assert(503);
    assert_eq!(resp.text, r#"{"errors":{"base":["Service Unavailable"]}}"#);
    // A text body is text.
    add(
        &emu,
        r#"GET /users/* status=502 body="bad gateway, on purpose""#,
    );
    let resp = emu.get("/users/1", None);
    resp.assert(502);
    assert_eq!(resp.text, "bad gateway, on purpose");
    assert_eq!(resp.headers["content-type"], "text/plain; charset=utf-8");
    // Answers of the API keep their CORS headers.
    assert_eq!(resp.headers["access-control-allow-origin"], "*");
}

#[test]
fn a_status_on_the_upload_url_answers_a_client_busy_sending_its_file() {
    let emu = Emu::start();
    add(
        &emu,
        "POST /_storage/upload status=503 header=Retry-After:2",
    );
    // 24 MiB the client sends whole before it reads: the emulator reads
    // them and answers, instead of resetting the connection.
    let file = vec![b'x'; 24 << 20];
    let resp = emu.send_raw(
        "POST",
        "/_storage/upload?key=k",
        &[],
        file,
        "multipart/form-data; boundary=b",
    );
    resp.assert(503);
    assert_eq!(resp.headers["retry-after"], "2");
    // Spent: a real upload goes through.
    let token = common::token_of(
        emu.create_session(json!({"user": {"login": "uploader", "password": "password-1"}}))
            .assert(201),
    );
    emu.stored_file(&token, "image/png", "a.png", b"\x89PNG....");
    let faults = listed(&emu);
    assert_eq!(
        (faults[0]["matched"].clone(), faults[0]["fired"].clone()),
        (json!(2), json!(1))
    );
}

#[test]
fn latency_delays_the_answer_then_the_request_is_served() {
    let emu = Emu::start();
    add(&emu, "POST /session latency=300ms");
    let started = Instant::now();
    emu.create_session(json!({})).assert(201);
    // A lower bound only: an upper one would fail on a loaded machine.
    assert!(started.elapsed() >= Duration::from_millis(300));
    // Latency, then a status.
    add(&emu, "GET /users/* latency=200ms status=504");
    let started = Instant::now();
    emu.get("/users/1", None).assert(504);
    assert!(started.elapsed() >= Duration::from_millis(200));
    let log = logged(&emu);
    assert_eq!(
        log[0]["fault"],
        json!({"rule": 2, "effect": "latency=200ms status=504"})
    );
    assert_eq!(
        log[1]["fault"],
        json!({"rule": 1, "effect": "latency=300ms"})
    );
    assert_eq!(log[1]["status"], 201);
    assert!(
        log[1]["duration_us"].as_u64().unwrap() >= 300_000,
        "{}",
        log[1]
    );
}

#[test]
fn a_cut_before_the_headers_gives_the_client_no_answer() {
    let emu = Emu::start();
    add(&emu, "POST /session cut=before-headers times=2");
    let body = emu.session_body(json!({})).to_string();
    let headers = [("Content-Type", "application/json")];
    let answer = raw(&emu, "POST", "/session", &headers, body.as_bytes());
    assert!(
        answer.bytes.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&answer.bytes)
    );
    // An HTTP client sees a failed connection, not a status.
    let sent = common::agent()
        .post(&emu.url("/session"))
        .header("Content-Type", "application/json")
        .send(&body);
    assert!(
        matches!(
            sent,
            Err(ureq::Error::Io(_) | ureq::Error::Protocol(_) | ureq::Error::ConnectionFailed)
        ),
        "{sent:?}"
    );
    // Neither request was served: no session exists.
    let sessions = emu.get("/_emulator/sessions", None);
    assert_eq!(sessions.body["total_entries"], 0, "{}", sessions.text);
    // Spent after two: the third is served.
    emu.create_session(json!({})).assert(201);
    let log = logged(&emu);
    let statuses: Vec<&Value> = log.iter().map(|e| &e["status"]).collect();
    assert_eq!(statuses, [&json!(201), &json!(0), &json!(0)]);
    assert_eq!(log[2]["fault"]["effect"], "cut=before-headers");
    assert!(log[0]["fault"].is_null());
}

#[test]
fn a_cut_after_the_headers_gives_a_short_body_of_a_served_request() {
    let emu = Emu::start();
    add(&emu, "POST /session cut=after-headers");
    let body = emu.session_body(json!({})).to_string();
    let headers = [("Content-Type", "application/json")];
    let answer = raw(&emu, "POST", "/session", &headers, body.as_bytes());
    assert_eq!(answer.status(), 201);
    let length: usize = answer.header("content-length").unwrap().parse().unwrap();
    let received = answer.head_and_body().1.len();
    assert!(
        received < length,
        "{received} of {length} bytes: not cut (reset: {})",
        answer.reset
    );
    // The request was served: its session exists.
    let sessions = emu.get("/_emulator/sessions", None);
    assert_eq!(sessions.body["total_entries"], 1, "{}", sessions.text);

    // An answer without a body is sent chunked, and never ends.
    let token = emu.app_session();
    add(&emu, "DELETE /session cut=after-headers");
    let answer = raw(&emu, "DELETE", "/session", &[("CB-Token", &token)], b"");
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.header("transfer-encoding").as_deref(),
        Some("chunked")
    );
    assert!(!answer.head_and_body().1.ends_with(b"0\r\n\r\n"));
    // An HTTP client fails reading such a body.
    add(&emu, "POST /session cut=after-headers");
    let read = common::agent()
        .post(&emu.url("/session"))
        .header("Content-Type", "application/json")
        .send(&body)
        .and_then(|mut r| r.body_mut().read_to_string());
    assert!(read.is_err(), "{read:?}");
    let log = logged(&emu);
    assert_eq!(log[0]["fault"]["effect"], "cut=after-headers");
    assert_eq!(log[0]["status"], 201);
}

#[test]
fn nth_and_times_count_the_requests_a_rule_matches() {
    let emu = Emu::start();
    add(&emu, "GET /users/* status=503 nth=2 times=2");
    let statuses: Vec<u16> = (0..5)
        .map(|i| {
            // Requests it does not match move nothing.
            emu.get("/users", None);
            emu.get("/users/1/x", None);
            emu.get(&format!("/users/{i}"), None).status
        })
        .collect();
    assert_eq!(statuses, [401, 503, 503, 401, 401]);
    let rule = &listed(&emu)[0];
    assert_eq!(
        (&rule["matched"], &rule["fired"], &rule["spent"]),
        (&json!(5), &json!(2), &json!(true))
    );
    assert_eq!(rule["text"], "GET /users/* status=503 nth=2 times=2");
}

#[test]
fn the_same_seed_gives_the_same_faults() {
    let emu = Emu::start();
    let run = |seed: u64| -> Vec<bool> {
        emu.delete("/_emulator/faults", None).assert(200);
        add(
            &emu,
            &format!("GET /users/* status=503 probability=0.5 seed={seed}"),
        );
        (0..40)
            .map(|i| emu.get(&format!("/users/{i}"), None).status == 503)
            .collect()
    };
    let first = run(11);
    assert_eq!(first, run(11));
    assert_ne!(first, run(12));
    assert!(
        first.iter().any(|f| *f) && first.iter().any(|f| !*f),
        "{first:?}"
    );
}

#[test]
fn rules_are_listed_checked_removed_and_cleared() {
    let emu = Emu::start();
    // The JSON form, and the text form beside it.
    let resp = emu.post(
        "/_emulator/faults",
        None,
        json!({"method": "get", "path": "/users/*", "status": 503, "times": "always"}),
    );
    resp.assert(201);
    assert_eq!(
        resp.body["fault"]["text"],
        "GET /users/* status=503 times=always"
    );
    add(&emu, "* /blobs/** latency=1ms");
    // Bad rules are 422 naming their field; nothing is added.
    for (body, field) in [
        (json!({"text": "GET /x status=600"}), "status"),
        (json!({"text": "GET /_emulator/health status=503"}), "path"),
        (json!({"method": "GET", "path": "/x"}), "rule"),
        (
            json!({"method": "GET", "path": "/x", "status": 503, "colour": 1}),
            "rule",
        ),
        (
            json!({"text": format!("GET /x status=503 body={}", "b".repeat(64 * 1024 + 1))}),
            "body",
        ),
        (json!({"text": "GET /x latency=60001ms"}), "latency"),
    ] {
        let resp = emu.post("/_emulator/faults", None, body.clone());
        resp.assert(422);
        assert!(!resp.error(field).is_empty(), "{body}: {}", resp.text);
    }
    emu.send(
        "POST",
        "/_emulator/faults",
        &[],
        Some("[]".into()),
        "application/json",
    )
    .assert(400);
    assert_eq!(listed(&emu).len(), 2);
    // One removed, then an unknown one.
    emu.delete("/_emulator/faults/1", None).assert(200);
    emu.delete("/_emulator/faults/1", None).assert(404);
    emu.delete("/_emulator/faults/x", None).assert(404);
    assert_eq!(listed(&emu)[0]["id"], 2);
    // At most 100: the 101st is refused.
    for _ in 1..100 {
        add(&emu, "GET /x status=503");
    }
    let resp = emu.post(
        "/_emulator/faults",
        None,
        json!({"text": "GET /x status=503"}),
    );
    resp.assert(422);
    assert!(resp.error("base").contains("at most 100"), "{}", resp.text);
    let resp = emu.delete("/_emulator/faults", None);
    resp.assert(200);
    assert_eq!(resp.body["removed"], 100);
    assert!(listed(&emu).is_empty());
}

#[test]
fn the_admin_api_is_never_faulted_and_keeps_its_access_rules() {
    let emu = Emu::with(EmulatorConfig {
        admin_token: Some("fault-admin".into()),
        ..EmulatorConfig::default()
    });
    let bearer = [("Authorization", "Bearer fault-admin")];
    // Without the token: 401 for every faults route.
    for (method, path) in [
        ("GET", "/_emulator/faults"),
        ("POST", "/_emulator/faults"),
        ("DELETE", "/_emulator/faults"),
        ("DELETE", "/_emulator/faults/1"),
    ] {
        let body = json!({"text": "* /** status=503"}).to_string();
        emu.send(method, path, &[], Some(body), "application/json")
            .assert(401);
    }
    // A page of another origin: 403, token or not.
    emu.send(
        "GET",
        "/_emulator/faults",
        &[bearer[0], ("Origin", "http://evil.example")],
        None,
        "",
    )
    .assert(403);
    let body = json!({"text": "* /** status=503 times=always"}).to_string();
    emu.send(
        "POST",
        "/_emulator/faults",
        &bearer,
        Some(body),
        "application/json",
    )
    .assert(201);
    // Everything of the API fails; nothing of the admin API does.
    emu.create_session(json!({})).assert(503);
    emu.send("GET", "/_emulator/health", &bearer, None, "")
        .assert(200);
    emu.send("GET", "/_emulator/faults", &bearer, None, "")
        .assert(200);
    emu.send("GET", "/_emulator/ui/", &[], None, "").assert(200);
    // A CORS preflight is never faulted either.
    let preflight = emu.send(
        "OPTIONS",
        "/session",
        &[("Origin", "http://app.example")],
        None,
        "",
    );
    preflight.assert(204);
    emu.send("DELETE", "/_emulator/faults", &bearer, None, "")
        .assert(200);
    emu.create_session(json!({})).assert(201);

    // Without a token, a client naming another host is refused.
    let open = Emu::start();
    open.send(
        "GET",
        "/_emulator/faults",
        &[("Host", "evil.example")],
        None,
        "",
    )
    .assert(403);
}

#[test]
fn a_latency_ends_when_the_emulator_stops() {
    let emu = Emu::start();
    add(&emu, "GET /users/* latency=60s");
    let url = emu.url("/users/1");
    let client = std::thread::spawn(move || {
        common::agent()
            .get(&url)
            .call()
            .map(|r| r.status().as_u16())
    });
    // Wait until the request is held by its latency.
    let deadline = Instant::now() + Duration::from_secs(30);
    while listed(&emu)[0]["fired"] != 1 {
        assert!(Instant::now() < deadline, "the request never came");
        std::thread::sleep(Duration::from_millis(10));
    }
    let started = Instant::now();
    drop(emu);
    // The stop did not wait out the minute (a loose bound: it takes
    // milliseconds), and the held request was answered.
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(client.join().unwrap().ok(), Some(401));
}

#[test]
fn rules_given_at_start_are_set_before_it_serves() {
    let emu = Emu::with(EmulatorConfig {
        faults: vec![
            "get /users/* status=418".into(),
            "POST /session latency=1ms".into(),
        ],
        ..EmulatorConfig::default()
    });
    emu.get("/users/1", None).assert(418);
    let faults = listed(&emu);
    assert_eq!(faults.len(), 2);
    assert_eq!(faults[0]["text"], "GET /users/* status=418");
    // As many as the table holds, and it starts with every one.
    let full = Emu::with(EmulatorConfig {
        faults: vec!["GET /x status=503".to_owned(); 100],
        ..EmulatorConfig::default()
    });
    assert_eq!(listed(&full).len(), 100);
    // A bad one, or one too many, and it does not start.
    for faults in [
        vec!["GET /users/* status=999".to_owned()],
        vec!["GET /x status=503".to_owned(); 101],
    ] {
        let err = cube_emulator::Emulator::start_blocking(EmulatorConfig {
            faults,
            ..EmulatorConfig::default()
        })
        .unwrap_err();
        assert!(matches!(err, cube_emulator::StartError::Config(_)), "{err}");
    }
}

#[test]
fn odd_rules_answer_what_they_say_and_the_emulator_serves_on() {
    let emu = Emu::start();
    // A 2xx to CONNECT would open a tunnel: hyper closes the connection.
    add(&emu, "CONNECT /** status=200 times=always");
    let connect = raw(&emu, "CONNECT", "/users/1", &[], b"");
    assert!(
        connect.bytes.is_empty() || connect.status() == 200,
        "{:?}",
        String::from_utf8_lossy(&connect.bytes)
    );
    // A HEAD answer carries no body, whatever the rule's.
    add(&emu, "HEAD /users/* status=503 body=down");
    let head = raw(&emu, "HEAD", "/users/1", &[], b"");
    assert_eq!(head.status(), 503);
    assert!(head.head_and_body().1.is_empty(), "{:?}", head.bytes);
    // A cut after the headers of an answer with no body: its head goes out.
    let served = raw(&emu, "HEAD", "/users/1", &[], b"").status();
    add(&emu, "HEAD /users/* cut=after-headers");
    let cut = raw(&emu, "HEAD", "/users/1", &[], b"");
    assert_eq!(cut.status(), served);
    assert!(cut.head_and_body().1.is_empty(), "{:?}", cut.bytes);
    // 304 without a body; the emulator's own headers win over a rule's.
    add(
        &emu,
        "GET /users/* status=304 header=ETag:abc header=Date:yesterday header=X-Content-Type-Options:none",
    );
    let not_modified = raw(&emu, "GET", "/users/1", &[], b"");
    assert_eq!(not_modified.status(), 304);
    assert_eq!(not_modified.header("etag").as_deref(), Some("abc"));
    assert!(
        not_modified
            .header("date")
            .is_some_and(|d| d.ends_with(" gmt")),
        "{:?}",
        not_modified.header("date")
    );
    assert_eq!(
        not_modified.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    // Every rule acted, none is left due, and the emulator serves on.
    let faults = listed(&emu);
    assert!(faults.iter().all(|f| f["fired"] != 0), "{faults:?}");
    emu.get("/users/1", None).assert(401);
    emu.get("/_emulator/health", None).assert(200);
    assert!(
        logged(&emu).iter().all(|entry| entry["status"] != 500),
        "{:?}",
        logged(&emu)
    );
}
