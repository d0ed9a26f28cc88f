//! Shared helpers for the integration tests: a running emulator plus a
//! small HTTP client (ureq) with ConnectyCube-shaped helpers.

#![allow(dead_code, unreachable_pub)]

use std::time::{SystemTime, UNIX_EPOCH};

use cube_emulator::{Emulator, EmulatorConfig, RunningEmulator, TimeSource};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value, json};

/// The exact body of an expired or unknown session.
pub const NO_SESSION: &str = r#"{"errors":{"base":["Required session does not exist"]}}"#;

/// The messages the public service sends in the array form
/// (`{"errors": [...]}`); the custom identity provider's refusal starts
/// with the last one.
pub const ARRAY_FORM: [&str; 6] = [
    "Token is required",
    "Unauthorized",
    "Invalid password",
    "User not found",
    "Unexpected signature",
    "Bad Authentication data. Unauthorized on remote side.",
];

/// Whether `body` is an error in the form its messages call for: the
/// object form, or the array form of [`ARRAY_FORM`] messages only.
pub fn well_formed_error(body: &Value) -> bool {
    match &body["errors"] {
        Value::Object(_) => true,
        Value::Array(messages) => messages.iter().all(|m| {
            m.as_str()
                .is_some_and(|m| ARRAY_FORM[..5].contains(&m) || m.starts_with(ARRAY_FORM[5]))
        }),
        _ => false,
    }
}

/// One response, read fully.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub text: String,
    pub body: Value,
    pub headers: http::HeaderMap,
}

impl Resp {
    /// Reads a whole answer (a body up to 64 MiB; JSON or not).
    pub fn read(mut response: http::Response<ureq::Body>) -> Resp {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            text,
            body,
            headers,
        }
    }

    /// `CB-Token-ExpirationDate`, if present.
    pub fn expiry(&self) -> Option<&str> {
        self.headers
            .get("cb-token-expirationdate")
            .and_then(|v| v.to_str().ok())
    }

    /// `errors.<field>[0]`.
    pub fn error(&self, field: &str) -> &str {
        self.body["errors"][field][0].as_str().unwrap_or_default()
    }

    /// `errors[0]`: the first message of an array-form error.
    pub fn listed(&self) -> &str {
        self.body["errors"][0].as_str().unwrap_or_default()
    }

    #[track_caller]
    pub fn assert(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }
}

pub struct Emu {
    pub running: RunningEmulator,
    pub agent: ureq::Agent,
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
}

/// A clock that stands still: only `/_emulator/clock/advance` moves it, so
/// tests that compare times across requests are exact.
pub struct FrozenTime(pub i64);

impl TimeSource for FrozenTime {
    fn now_unix(&self) -> i64 {
        self.0
    }
}

/// 2027-01-15T08:00:00Z.
pub const FROZEN_AT: i64 = 1_800_000_000;

impl Emu {
    /// Creates a private file record of `content_type` named `name`,
    /// uploads `bytes` to it as a browser form would, and completes it;
    /// its id and uid.
    pub fn stored_file(
        &self,
        token: &str,
        content_type: &str,
        name: &str,
        bytes: &[u8],
    ) -> (i64, String) {
        let resp = self.post(
            "/blobs",
            Some(token),
            json!({"blob": {"content_type": content_type, "name": name, "public": false}}),
        );
        resp.assert(201);
        let blob = &resp.body["blob"];
        let url = blob["blob_object_access"]["params"].as_str().unwrap();
        let (target, query) = url.split_once('?').unwrap();
        let path = format!("/{}", target["http://".len()..].split_once('/').unwrap().1);
        let boundary = "test-support-boundary";
        let mut body = Vec::new();
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap();
            let v = percent_decode(v);
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let request = http::Request::builder()
            .method("POST")
            .uri(self.url(&path))
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .unwrap();
        assert_eq!(self.agent.run(request).unwrap().status(), 201);
        let id = blob["id"].as_i64().unwrap();
        self.put(
            &format!("/blobs/{id}/complete"),
            Some(token),
            json!({"size": bytes.len()}),
        )
        .assert(200);
        (id, blob["uid"].as_str().unwrap().to_owned())
    }

    pub fn start() -> Self {
        Self::with(EmulatorConfig::default())
    }

    /// An emulator whose clock moves only when a test advances it.
    pub fn frozen() -> Self {
        Self::with(EmulatorConfig {
            time_source: std::sync::Arc::new(FrozenTime(FROZEN_AT)),
            ..EmulatorConfig::default()
        })
    }

    pub fn with(config: EmulatorConfig) -> Self {
        Self {
            running: Emulator::start_blocking(config).expect("emulator starts"),
            agent: agent(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base_url())
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
        content_type: &str,
    ) -> Resp {
        let mut builder = http::Request::builder().method(method).uri(self.url(path));
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let response = match body {
            Some(body) => self.agent.run(
                builder
                    .header("Content-Type", content_type)
                    .body(body)
                    .unwrap(),
            ),
            None => self.agent.run(builder.body(()).unwrap()),
        };
        Resp::read(response.expect("request completes"))
    }

    /// Sends raw bytes as the body, exactly as given.
    pub fn send_raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        content_type: &str,
    ) -> Resp {
        let mut builder = http::Request::builder()
            .method(method)
            .uri(self.url(path))
            .header("Content-Type", content_type);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        Resp::read(
            self.agent
                .run(builder.body(body).unwrap())
                .expect("request completes"),
        )
    }

    fn token_headers(token: Option<&str>) -> Vec<(&str, &str)> {
        token.map(|t| vec![("CB-Token", t)]).unwrap_or_default()
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.send("GET", path, &Self::token_headers(token), None, "")
    }

    pub fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.send("DELETE", path, &Self::token_headers(token), None, "")
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send(
            "POST",
            path,
            &Self::token_headers(token),
            Some(body.to_string()),
            "application/json",
        )
    }

    pub fn put(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send(
            "PUT",
            path,
            &Self::token_headers(token),
            Some(body.to_string()),
            "application/json",
        )
    }

    /// The base create-session body of the default application.
    pub fn session_body(&self, extra: Value) -> Value {
        let mut body = json!({
            "application_id": self.running.app_id(),
            "auth_key": self.running.auth_key(),
        });
        if let (Some(map), Value::Object(extra)) = (body.as_object_mut(), extra) {
            map.extend(extra);
        }
        body
    }

    /// Adds nonce, timestamp and an HMAC-SHA1 signature to a session body.
    pub fn sign(&self, mut body: Value, nonce: u64, timestamp: i64) -> Value {
        body["nonce"] = json!(nonce);
        body["timestamp"] = json!(timestamp);
        let signature = sign_sha1(self.running.auth_secret(), &signature_base(&body));
        body["signature"] = json!(signature);
        body
    }

    pub fn create_session(&self, extra: Value) -> Resp {
        self.post("/session", None, self.session_body(extra))
    }

    /// A new application session's token.
    pub fn app_session(&self) -> String {
        let resp = self.create_session(json!({}));
        resp.assert(201);
        token_of(&resp)
    }

    /// Signs a user up with `CB-AuthKey`; returns the user object.
    pub fn sign_up(&self, fields: Value) -> Value {
        let resp = self.send(
            "POST",
            "/users",
            &[("CB-AuthKey", self.running.auth_key())],
            Some(json!({ "user": fields }).to_string()),
            "application/json",
        );
        resp.assert(201);
        resp.body["user"].clone()
    }

    /// A user session for login + password; returns (token, user id).
    pub fn login(&self, login: &str, password: &str) -> (String, i64) {
        let resp = self.create_session(json!({"user": {"login": login, "password": password}}));
        resp.assert(201);
        (
            token_of(&resp),
            resp.body["session"]["user_id"].as_i64().unwrap(),
        )
    }

    /// Signs up `login` and opens a session for it.
    pub fn user(&self, login: &str) -> (String, i64) {
        self.sign_up(json!({"login": login, "password": "password123"}));
        self.login(login, "password123")
    }

    pub fn advance(&self, seconds: i64) {
        self.post(
            "/_emulator/clock/advance",
            None,
            json!({ "seconds": seconds }),
        )
        .assert(200);
    }

    pub fn now(&self) -> i64 {
        let resp = self.get("/_emulator/clock", None);
        let text = resp.body["now"].as_str().unwrap().to_owned();
        parse_iso(&text)
    }
}

pub fn token_of(resp: &Resp) -> String {
    resp.body["session"]["token"].as_str().unwrap().to_owned()
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `2026-11-24T16:47:57Z` → unix seconds.
pub fn parse_iso(text: &str) -> i64 {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .unix_timestamp()
}

/// `2026-11-24 16:47:57 UTC` → unix seconds.
pub fn parse_header(text: &str) -> i64 {
    let iso = text.replacen(' ', "T", 1).replace(" UTC", "Z");
    parse_iso(&iso)
}

/// The test's own implementation of the signature base (`docs/PROTOCOL.md`, "Signature").
pub fn signature_base(body: &Value) -> String {
    fn flatten(key: String, value: &Value, out: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    flatten(format!("{key}[{k}]"), v, out);
                }
            }
            Value::String(s) => out.push((key, s.clone())),
            other => out.push((key, other.to_string())),
        }
    }
    let mut pairs = Vec::new();
    let map: &Map<String, Value> = body.as_object().unwrap();
    for (k, v) in map {
        if k != "signature" {
            flatten(k.clone(), v, &mut pairs);
        }
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sign_sha1(secret: &str, base: &str) -> String {
    let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(base.as_bytes());
    hex(&mac.finalize().into_bytes())
}

pub fn sign_sha256(secret: &str, base: &str) -> String {
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(base.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// A tiny HTTP/1.1 server for provider stand-ins (a custom identity
/// provider, a JWKS endpoint): every request gets `answer(path_and_query)`
/// = (status, JSON body, delay before answering), then the connection
/// closes. Stops when dropped.
pub struct TestServer {
    pub base_url: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    addr: std::net::SocketAddr,
    thread: Option<std::thread::JoinHandle<()>>,
}

pub type Answer = (u16, String, std::time::Duration);

impl TestServer {
    pub fn start(answer: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Self {
        Self::with_headers(move |target| {
            let (status, body, delay) = answer(target);
            (status, body, delay, Vec::new())
        })
    }

    /// Like [`TestServer::start`], with extra response headers.
    pub fn with_headers(
        answer: impl Fn(&str) -> (u16, String, std::time::Duration, Vec<(String, String)>)
        + Send
        + Sync
        + 'static,
    ) -> Self {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let answer = std::sync::Arc::new(answer);
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let answer = answer.clone();
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        match stream.read(&mut byte) {
                            Ok(1) => head.push(byte[0]),
                            _ => return,
                        }
                    }
                    let head = String::from_utf8_lossy(&head);
                    let target = head.split(' ').nth(1).unwrap_or("/").to_owned();
                    let (status, body, delay, headers) = answer(&target);
                    std::thread::sleep(delay);
                    let extra: String = headers
                        .iter()
                        .map(|(k, v)| format!("{k}: {v}\r\n"))
                        .collect();
                    let response = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{extra}\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes());
                });
            }
        });
        Self {
            base_url: format!("http://{addr}"),
            stop,
            addr,
            thread: Some(thread),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The value of `name` in a query string (undecoded).
pub fn query_param<'a>(target: &'a str, name: &str) -> Option<&'a str> {
    target
        .split_once('?')?
        .1
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

/// Percent-decodes a query component the way the JS SDK does
/// (`decodeURIComponent`: `+` stays a plus).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// Reads a started emulator binary's ready line from its stdout (taken from
/// `child`) and returns the base URL it names.
pub fn ready_url(child: &mut std::process::Child) -> String {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout is piped"))
        .read_line(&mut line)
        .unwrap();
    line.trim_end()
        .strip_prefix("cube-emulator listening on ")
        .unwrap_or_else(|| panic!("unexpected ready line {line:?}"))
        .to_owned()
}

/// The address this machine would use to reach the outside, if any (a
/// peer the emulator must not take for loopback).
pub fn non_loopback_ip() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}
