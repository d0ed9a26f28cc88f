//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`; not
//! part of the API). Each takes untrusted bytes the way the server does,
//! and checks what must hold whatever they are: no panic, limits kept,
//! decoders that agree with a plain reference, and never a 5xx.
//!
//! The unit tests replay every input checked in under `fuzz/seeds/`
//! (seeds made from real requests, and every crash ever found).

#![cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub))]

use std::net::SocketAddr;
use std::sync::Mutex;

use serde_json::Value;

use crate::faults;
use crate::form::{self, MAX_DEPTH};
use crate::harness::Harness;
use crate::inflow::{BodyBudget, Inflow};
use crate::limits::{
    FAULT_BODY_MAX_BYTES, FAULT_HEADERS_MAX, FAULT_LATENCY_MAX, FAULT_TEXT_MAX_BYTES, Limits,
};
use crate::multipart::{self, Multipart};
use crate::providers::{firebase, twitter};
use crate::settings::AppSettings;
use crate::wire;

/// A form body (`application/x-www-form-urlencoded`): decoded within the
/// depth limit, or refused with `400`.
pub fn form_body(data: &[u8]) {
    body_of("application/x-www-form-urlencoded", data);
}

/// A JSON body: decoded within the depth limit (or `400`), then read the
/// way handlers read request values: user fields, application settings,
/// session credentials.
pub fn json_body(data: &[u8]) {
    let Some(Value::Object(map)) = body_of("application/json", data) else {
        return;
    };
    let _ = crate::user_fields::user_input(&map);
    let _ = AppSettings::default().apply(&map);
    let _ =
        crate::operations::session::credentials(map.get("user").and_then(Value::as_object), &map);
    for value in map.values() {
        let _ = (
            wire::int_like(value),
            wire::uint_like(value),
            wire::flag(value),
        );
    }
}

fn body_of(content_type: &str, data: &[u8]) -> Option<Value> {
    match wire::parse_body(Some(content_type), data) {
        Ok(value) => {
            assert!(
                form::depth(&value) <= MAX_DEPTH,
                "a body deeper than the limit"
            );
            let _ = wire::heap_size(&value);
            Some(value)
        }
        Err(err) => {
            assert_eq!(err.status, http::StatusCode::BAD_REQUEST);
            None
        }
    }
}

/// A data set (see `dataset::from_parts` for how `data` splits into its
/// files), read as an import reads it: refused with a reason, or accepted
/// — and then what an export writes of it is accepted too, with the same
/// records.
pub fn data_set(data: &[u8]) {
    let set = crate::dataset::from_parts(data);
    if let Err(problem) = crate::dataset::read_and_write_back(&set) {
        panic!("an accepted data set does not survive its export: {problem}");
    }
}

/// A query string: every pair decodes strictly, or the whole is `400`.
pub fn query_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(pairs) = wire::parse_pairs(text) {
        assert!(pairs.len() <= text.len());
        let _ = form::pairs_to_json(&pairs);
    }
}

/// A fault rule, from `--fault` or the admin API: the bytes as its text
/// form, and (when they are a JSON object) as its JSON form. Each is
/// refused with a reason or parsed within the rule limits; a rule that
/// parses writes itself back, as text and as JSON, into the very same
/// rule.
pub fn fault_rule(data: &[u8]) {
    let mut rules = Vec::new();
    if let Ok(text) = std::str::from_utf8(data) {
        rules.extend(faults::parse_text(text).ok());
    }
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(data) {
        rules.extend(faults::parse_json(&map).ok());
    }
    for rule in rules {
        let text = rule.to_text();
        assert!(text.len() <= FAULT_TEXT_MAX_BYTES, "{} bytes", text.len());
        assert_eq!(faults::parse_text(&text).as_ref(), Ok(&rule), "{text}");
        assert_eq!(
            faults::parse_json(&rule.to_json()).as_ref(),
            Ok(&rule),
            "{text}"
        );
        if let faults::rule::Action::Answer(answer) = &rule.action {
            assert!(
                answer
                    .body
                    .as_ref()
                    .is_none_or(|b| b.len() <= FAULT_BODY_MAX_BYTES)
            );
            assert!(answer.headers.len() <= FAULT_HEADERS_MAX);
        }
        assert!(rule.latency.is_none_or(|l| l <= FAULT_LATENCY_MAX));
    }
}

/// The signature base of a body: equal to a plain recursive flattening,
/// and refused exactly when that one builds more than the bound (counting
/// every key it writes, as the real one does).
pub fn signature(data: &[u8]) {
    let content_type = if data.first() == Some(&b'{') {
        "application/json"
    } else {
        "application/x-www-form-urlencoded"
    };
    let Ok(Value::Object(params)) = wire::parse_body(Some(content_type), data) else {
        return;
    };
    let base = wire::signature_base(&params);
    let mut pairs = Vec::new();
    let mut built = 0usize;
    for (key, value) in &params {
        if key != "signature" {
            built += key.len();
            flatten(key.clone(), value, &mut pairs, &mut built);
        }
    }
    assert_eq!(base.is_none(), built > wire::MAX_SIGNATURE_BASE, "{built}");
    if let Some(base) = base {
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let reference = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        assert_eq!(base, reference);
    }
}

/// `docs/PROTOCOL.md`'s flattening ("Signature"), written plainly (bodies are at most 32
/// levels deep, so recursion is safe here); `built` counts the bytes of
/// every key and value written, plus two per key.
fn flatten(key: String, value: &Value, out: &mut Vec<(String, String)>, built: &mut usize) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                *built += key.len() + k.len() + 2;
                flatten(format!("{key}[{k}]"), v, out, built);
            }
        }
        Value::Array(items) => {
            for v in items {
                *built += key.len() + 2;
                flatten(format!("{key}[]"), v, out, built);
            }
        }
        leaf => {
            let text = match leaf {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            *built += text.len() + 2;
            out.push((key, text));
        }
    }
}

/// A multipart body: the first byte sets how the body is cut into
/// frames, the first line is the `Content-Type`, the rest the body.
/// Reading every part ends cleanly or with a typed error, reads no more
/// than the body holds, and gives the same parts however the body is cut.
pub fn multipart(data: &[u8]) {
    let Some((&piece, rest)) = data.split_first() else {
        return;
    };
    let split = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
    let (content_type, body) = rest.split_at(split);
    let body = body.get(1..).unwrap_or_default();
    let Ok(content_type) = std::str::from_utf8(content_type) else {
        return;
    };
    let Some(boundary) = multipart::boundary(content_type) else {
        return;
    };
    let cut = read_parts(body, &boundary, usize::from(piece).max(1));
    let whole = read_parts(body, &boundary, body.len().max(1));
    assert_eq!(cut, whole);
    if let Ok(parts) = cut {
        let read: usize = parts.iter().map(|(_, content)| content.len()).sum();
        assert!(read <= body.len());
    }
}

/// Every part as (name, content), the body cut into `piece`-byte frames;
/// text parts (even name lengths) read as text of at most 64 bytes.
fn read_parts(
    body: &[u8],
    boundary: &str,
    piece: usize,
) -> Result<Vec<(String, Vec<u8>)>, multipart::FormError> {
    let frames = body
        .chunks(piece)
        .map(bytes::Bytes::copy_from_slice)
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let inflow = Inflow::new(
            Frames(frames),
            &Limits::default(),
            std::sync::Arc::new(BodyBudget::new(1 << 20)),
            None,
        );
        let mut form = Multipart::new(inflow, boundary);
        let mut parts = Vec::new();
        while let Some(part) = form.next_part().await? {
            let content = if part.name.len() % 2 == 0 {
                let text = form.text(64).await?;
                assert!(text.len() <= 64);
                text.into_bytes()
            } else {
                let mut content = Vec::new();
                while let Some(chunk) = form.chunk().await? {
                    content.extend_from_slice(&chunk);
                }
                content
            };
            parts.push((part.name, content));
        }
        Ok(parts)
    })
}

/// A body made of given frames.
struct Frames(std::collections::VecDeque<bytes::Bytes>);

impl hyper::body::Body for Frames {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

/// An `Authorization: OAuth ...` header: parsed strictly; what parses,
/// written again, parses to the same pairs; signing never fails.
pub fn oauth_header(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = twitter::normalize_url(text);
    let Some(pairs) = twitter::parse_authorization(text) else {
        return;
    };
    let written = format!(
        "OAuth {}",
        pairs
            .iter()
            .map(|(k, v)| format!(
                "{}=\"{}\"",
                wire::encode_component(k),
                wire::encode_component(v)
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert_eq!(twitter::parse_authorization(&written), Some(pairs.clone()));
    let _ = twitter::signature("GET", "http://127.0.0.1:1/x", &pairs, "c", "t");
}

/// An emulator in process, shared by every run of a fuzz target.
pub struct Server {
    harness: Harness,
    token: Mutex<String>,
}

impl Default for Server {
    fn default() -> Self {
        Self::new()
    }
}

impl Server {
    /// A fresh emulator (in-memory storage) with a signed-in user.
    ///
    /// # Panics
    /// If the emulator cannot start.
    pub fn new() -> Self {
        let harness = Harness::new();
        let token = harness.session(Some("fuzzer"));
        Self {
            harness,
            token: Mutex::new(token),
        }
    }

    /// A live session token (made again when a request ended it), and
    /// the application as it started: what one run did to the settings
    /// or the clock does not leak into the next.
    fn fresh(&self) -> String {
        let state = &self.harness.state;
        state.clock.set_offset(0);
        state.faults.clear();
        state.apps.reset_settings(1);
        let mut token = self
            .token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = state.clock.now();
        if !matches!(state.sessions.authenticate(&token, now), Ok(Some(_))) {
            *token = self.harness.session(Some("fuzzer"));
        }
        token.clone()
    }

    /// A firebase ID token checked against a key set: the first line is
    /// the application's `firebase_jwks` (JSON, or nothing), the rest the
    /// token. Parsing only: no key set is ever fetched.
    pub fn firebase_token(&self, data: &[u8]) {
        let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
        let (set, token) = data.split_at(split);
        let Ok(token) = std::str::from_utf8(token.get(1..).unwrap_or_default()) else {
            return;
        };
        let settings = AppSettings {
            firebase_jwks: serde_json::from_slice(set)
                .ok()
                .filter(Value::is_object)
                .unwrap_or(Value::Null),
            ..AppSettings::default()
        };
        let state = &self.harness.state;
        let now = state.clock.now();
        for phone in [false, true] {
            let result = self.harness.runtime.block_on(firebase::verify(
                &state.providers,
                1,
                &settings,
                phone,
                "cube-fuzz",
                token,
                now,
            ));
            if let Err(err) = result {
                assert_eq!(err.status, http::StatusCode::UNAUTHORIZED);
            }
        }
    }

    /// User lists and searches with this query string (v1 filters and
    /// order, v2 filters and sort, tags): never a 5xx.
    pub fn user_queries(&self, data: &[u8]) {
        let Ok(query) = std::str::from_utf8(data) else {
            return;
        };
        let token = self.fresh();
        for path in [
            "/users",
            "/users/v2",
            "/users/by_tags",
            "/users/by_full_name",
        ] {
            let uri = format!("{path}?{query}");
            let Some(answer) = self.harness.call(
                loopback(),
                b"GET",
                &uri,
                &[("cb-token", token.as_bytes())],
                Vec::new(),
            ) else {
                return;
            };
            assert!(answer.status < 500, "GET {uri}: {}", answer.status);
        }
    }

    /// A whole request: `METHOD TARGET`, header lines, a blank line, the
    /// body (a `Cb-Token: $TOKEN` header is replaced by a live token). A
    /// first byte of `!` makes the peer a non-loopback one. Whatever it
    /// is, the answer is never a 5xx, and errors use the object form.
    pub fn request(&self, data: &[u8]) {
        let (remote, data) = match data.split_first() {
            Some((b'!', rest)) => ("192.0.2.9:5".parse().expect("an address"), rest),
            _ => (loopback(), data),
        };
        let head_end = find(data, b"\n\n").map_or(data.len(), |i| i + 2);
        let (head, body) = data.split_at(head_end);
        let mut lines = head.split(|b| *b == b'\n').filter(|l| !l.is_empty());
        let Some(request_line) = lines.next() else {
            return;
        };
        let mut parts = request_line.splitn(2, |b| *b == b' ');
        let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
            return;
        };
        let Ok(target) = std::str::from_utf8(target) else {
            return;
        };
        let token = self.fresh();
        let headers: Vec<(&str, &[u8])> = lines
            .filter_map(|line| {
                let colon = line.iter().position(|b| *b == b':')?;
                let name = std::str::from_utf8(&line[..colon]).ok()?;
                let value = line[colon + 1..].trim_ascii();
                if value == b"$TOKEN" {
                    Some((name, token.as_bytes()))
                } else {
                    Some((name, value))
                }
            })
            .collect();
        let Some(answer) = self
            .harness
            .call(remote, method, target, &headers, body.to_vec())
        else {
            return;
        };
        assert!(answer.status < 500, "{}: {}", target, answer.status);
        let json = answer
            .headers
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|ct| ct.as_bytes().starts_with(b"application/json"));
        if answer.status >= 400 && json {
            let value: Value = serde_json::from_slice(&answer.body).expect("a JSON error");
            // The object form, the array form of the messages the public
            // service sends that way, or (from the fake provider APIs)
            // Graph's and Twitter's own error shapes.
            let fake =
                value["error"]["type"] == "OAuthException" || value["errors"][0]["code"] == 32;
            assert!(
                crate::error::well_formed_body(&value) || fake,
                "{target}: {value}"
            );
        }
    }
}

fn loopback() -> SocketAddr {
    "127.0.0.1:5".parse().expect("an address")
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// Every file under `fuzz/seeds/{target}`.
    fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/seeds")
            .join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("a seed").path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no seeds in {}", dir.display());
        files
            .into_iter()
            .map(|path| {
                let data = std::fs::read(&path).expect("a readable seed");
                (path, data)
            })
            .collect()
    }

    type Plain = (&'static str, fn(&[u8]));
    type Served = (&'static str, fn(&Server, &[u8]));

    #[test]
    fn every_seed_and_crash_replays_cleanly() {
        let plain: [Plain; 8] = [
            ("emulator_data_set", data_set),
            ("emulator_form_body", form_body),
            ("emulator_json_body", json_body),
            ("emulator_query_text", query_text),
            ("emulator_multipart", multipart),
            ("emulator_signature", signature),
            ("emulator_oauth_header", oauth_header),
            ("emulator_fault_rule", fault_rule),
        ];
        for (target, run) in plain {
            for (path, data) in seeds(target) {
                eprintln!("{}", path.display());
                run(&data);
            }
        }
        let server = Server::new();
        let served: [Served; 3] = [
            ("emulator_user_queries", Server::user_queries),
            ("emulator_firebase_token", Server::firebase_token),
            ("emulator_requests", Server::request),
        ];
        for (target, run) in served {
            for (path, data) in seeds(target) {
                eprintln!("{}", path.display());
                run(&server, &data);
            }
        }
    }
}
