//! The request log: the last requests of the ConnectyCube API (never the
//! admin API's), for `GET /_emulator/requests`, the web UI's Requests view
//! and the testing API.
//!
//! Memory is bounded: a ring of at most `--request-log` entries
//! ([`crate::limits::REQUEST_LOG_MAX`] at most), each of a bounded size
//! (the path is cut at [`LOGGED_PATH_MAX_BYTES`]). Nothing secret is
//! kept: no header, no body, a reset link's token cut from the path, and
//! the value of every query parameter that can carry a secret replaced by
//! `[redacted]`; a session is named by its [`Fingerprint`] only.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::clock::format_iso;
use crate::faults::{Applied, Fired};
use crate::fingerprint::{Fingerprint, Fingerprints};
use crate::limits::{LOGGED_METHOD_MAX_BYTES, LOGGED_PATH_MAX_BYTES};
use crate::store::sessions::SessionRow;
use crate::wire;

/// What a secret query value is replaced by.
pub(crate) const REDACTED: &str = "[redacted]";

/// A query parameter whose name contains one of these (in any case, inside
/// brackets too: `keys[token]`, `firebase_phone[access_token]`) has its
/// value redacted: session and file tokens (`?token=`), provider tokens
/// (`access_token`, `oauth_token`), passwords, auth keys and secrets,
/// upload permits (`policy`, `signature`, `key`), codes and credentials.
const SECRET_NAME_PARTS: [&str; 10] = [
    "token",
    "password",
    "secret",
    "key",
    "signature",
    "policy",
    "auth",
    "code",
    "credential",
    "session",
];

/// One request, as the log keeps it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// Its place in the log: 1 for the first request an emulator logs,
    /// then one more for each (the `?since=` cursor).
    pub(crate) seq: u64,
    /// When it arrived, on the emulator's clock.
    pub(crate) at: i64,
    pub(crate) method: Box<str>,
    /// Path and query, secrets redacted, cut.
    pub(crate) path: Box<str>,
    pub(crate) status: u16,
    pub(crate) micros: u64,
    pub(crate) app_id: Option<i64>,
    pub(crate) user_id: Option<i64>,
    pub(crate) session: Option<Fingerprint>,
    /// What a fault rule did to it (fixed size: the log's bound holds).
    pub(crate) fault: Option<Applied>,
}

impl Entry {
    /// Its JSON form (`docs/EMULATOR.md`, `GET /_emulator/requests`).
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "seq": self.seq,
            "at": format_iso(self.at),
            "method": &*self.method,
            "path": &*self.path,
            "status": self.status,
            "duration_us": self.micros,
            "app_id": self.app_id,
            "user_id": self.user_id,
            "session": self.session.map(|s| s.to_string()),
            "fault": self.fault.map(|f| json!({"rule": f.rule, "effect": f.effect()})),
        })
    }

    /// The heap bytes it holds beyond its slot in the ring.
    #[cfg(test)]
    fn heap_bytes(&self) -> usize {
        self.method.len() + self.path.len()
    }
}

/// The entries a query asked for, newest first, and where the log stands.
pub(crate) struct Page {
    pub(crate) items: Vec<Entry>,
    /// The newest sequence number given so far (0: none yet).
    pub(crate) last: u64,
}

struct Ring {
    entries: VecDeque<Entry>,
    last: u64,
}

/// The log: a ring of at most `capacity` entries.
pub(crate) struct RequestLog {
    capacity: usize,
    ring: Mutex<Ring>,
}

impl RequestLog {
    /// A log of at most `capacity` entries (`0`: nothing is logged).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            ring: Mutex::new(Ring {
                entries: VecDeque::new(),
                last: 0,
            }),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds an entry (its `seq` is given here); the oldest goes when full.
    pub(crate) fn record(&self, mut entry: Entry) {
        if self.capacity == 0 {
            return;
        }
        let mut ring = self.ring();
        ring.last += 1;
        entry.seq = ring.last;
        if ring.entries.len() >= self.capacity {
            ring.entries.pop_front();
        }
        // Grown by doubling up to the capacity exactly, never past it.
        let (len, room) = (ring.entries.len(), ring.entries.capacity());
        if len == room {
            ring.entries
                .reserve_exact(room.max(16).min(self.capacity - len));
        }
        ring.entries.push_back(entry);
    }

    /// The entries with `since < seq < before`, newest first, at most
    /// `limit` of them.
    pub(crate) fn page(&self, since: u64, before: Option<u64>, limit: usize) -> Page {
        let ring = self.ring();
        let items = ring
            .entries
            .iter()
            .rev()
            .skip_while(|e| before.is_some_and(|before| e.seq >= before))
            .take_while(|e| e.seq > since)
            .take(limit)
            .cloned()
            .collect();
        Page {
            items,
            last: ring.last,
        }
    }

    /// The memory the log holds: its slots and what its entries point to.
    #[cfg(test)]
    pub(crate) fn memory_bytes(&self) -> usize {
        let ring = self.ring();
        ring.entries.capacity() * std::mem::size_of::<Entry>()
            + ring.entries.iter().map(Entry::heap_bytes).sum::<usize>()
    }

    /// The most memory a log of `capacity` entries can ever hold.
    #[cfg(test)]
    pub(crate) fn memory_ceiling(capacity: usize) -> usize {
        capacity * (std::mem::size_of::<Entry>() + LOGGED_PATH_MAX_BYTES + LOGGED_METHOD_MAX_BYTES)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.ring().entries.len()
    }
}

/// A request being served, noted for the log as what it is becomes known.
pub(crate) struct Trace {
    log: Arc<RequestLog>,
    fingerprints: Arc<Fingerprints>,
    started: Instant,
    entry: Entry,
    /// A fault cut the connection before any answer.
    no_answer: bool,
}

impl Trace {
    /// Starts noting a request, or `None` when it is not logged: the log
    /// is off, or it is for the emulator itself (`/_emulator/…`: the admin
    /// API, the web UI, whose polling would fill the log, and the fake
    /// providers). `segments` are the decoded path segments (`None` when
    /// the path does not decode); `now` is the emulator's clock.
    pub(crate) fn begin(
        log: &Arc<RequestLog>,
        fingerprints: &Arc<Fingerprints>,
        now: i64,
        parts: &http::request::Parts,
        segments: Option<&[String]>,
    ) -> Option<Self> {
        if log.capacity() == 0
            || segments.is_some_and(|s| s.first().is_some_and(|s| s == "_emulator"))
        {
            return None;
        }
        let token = parts
            .headers
            .get("cb-token")
            .and_then(|v| v.to_str().ok())
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .or_else(|| query_token(parts.uri.query().unwrap_or_default()));
        Some(Self {
            log: log.clone(),
            fingerprints: fingerprints.clone(),
            started: Instant::now(),
            no_answer: false,
            entry: Entry {
                seq: 0,
                at: now,
                method: cut(parts.method.as_str(), LOGGED_METHOD_MAX_BYTES).into(),
                path: loggable_target(parts.uri.path(), parts.uri.query(), segments).into(),
                status: 0,
                micros: 0,
                app_id: None,
                user_id: None,
                session: token.map(|t| fingerprints.of_token(&t)),
                fault: None,
            },
        })
    }

    /// The request's session was found: its application and user.
    pub(crate) fn session(&mut self, row: &SessionRow) {
        self.entry.app_id = Some(row.app_id);
        self.entry.user_id = row.user_id;
    }

    /// The request made a new session: it is noted by that session's
    /// fingerprint (when its token is known), application and user.
    pub(crate) fn made_session(
        &mut self,
        token: Option<&str>,
        app_id: Option<i64>,
        user_id: Option<i64>,
    ) {
        if let Some(token) = token {
            self.entry.session = Some(self.fingerprints.of_token(token));
        }
        self.entry.app_id = app_id;
        self.entry.user_id = user_id;
    }

    /// The request signed `user_id` into its session.
    pub(crate) fn signed_in(&mut self, user_id: Option<i64>) {
        self.entry.user_id = user_id.or(self.entry.user_id);
    }

    /// A fault rule acted on it. A connection cut before the answer's
    /// headers is logged with status `0`: nothing was answered.
    pub(crate) fn fault(&mut self, fired: &Fired) {
        self.entry.fault = Some(fired.rule.applied(fired.id));
        self.no_answer = fired.cuts_before_headers();
    }

    /// The answer is ready: the entry goes into the log.
    pub(crate) fn finish(mut self, status: u16) {
        self.entry.status = if self.no_answer { 0 } else { status };
        self.entry.micros = duration_micros(self.started.elapsed());
        self.log.record(self.entry);
    }
}

fn duration_micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}

/// The `token` a file URL carries in its query, decoded.
fn query_token(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == "token" && !value.is_empty())
            .then(|| wire::decode_component(value, true))
            .flatten()
    })
}

/// `text` cut to at most `max` bytes (at a character boundary), ending
/// with `…` when something was cut.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    const MORE: &str = "…";
    let mut end = max.saturating_sub(MORE.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{MORE}", &text[..end])
}

/// Whether a query parameter's name says its value may be a secret. A
/// name that does not decode is taken to be one.
fn secret_name(raw: &str) -> bool {
    wire::decode_component(raw, true).is_none_or(|name| {
        let name = name.to_ascii_lowercase();
        SECRET_NAME_PARTS.iter().any(|part| name.contains(part))
    })
}

/// The path and query as the log keeps them: a reset link's token cut
/// off, secret query values redacted, at most [`LOGGED_PATH_MAX_BYTES`].
pub(crate) fn loggable_target(
    path: &str,
    query: Option<&str>,
    segments: Option<&[String]>,
) -> String {
    // A reset link is a secret (whatever encoding reached the route).
    let reset = segments.is_some_and(|s| {
        s.len() > 3
            && s[..3]
                .iter()
                .map(String::as_str)
                .eq(["users", "password", "reset"])
    }) || path.to_ascii_lowercase().contains("/password/reset/");
    let mut target = if reset {
        format!("/users/password/reset/{REDACTED}")
    } else {
        cut(path, LOGGED_PATH_MAX_BYTES)
    };
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        // Cut first (the work stays bounded), then redact: a cut value
        // keeps its name, so it is still redacted.
        let query = cut(query, LOGGED_PATH_MAX_BYTES);
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, value)) if !value.is_empty() && secret_name(name) => {
                    format!("{name}={REDACTED}")
                }
                _ => pair.to_owned(),
            })
            .collect();
        target.push('?');
        target.push_str(&pairs.join("&"));
    }
    cut(&target, LOGGED_PATH_MAX_BYTES)
}

#[cfg(test)]
mod load_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::REQUEST_LOG_MAX;

    fn entry(path: &str) -> Entry {
        Entry {
            seq: 0,
            at: 0,
            method: "GET".into(),
            path: path.into(),
            status: 200,
            micros: 1,
            app_id: None,
            user_id: None,
            session: None,
            fault: None,
        }
    }

    #[test]
    fn the_ring_keeps_its_capacity_and_drops_the_oldest() {
        let log = RequestLog::new(3);
        for i in 0..3 {
            log.record(entry(&format!("/users/{i}")));
        }
        // At the capacity: everything is kept, newest first.
        let page = log.page(0, None, 10);
        assert_eq!(page.last, 3);
        let paths: Vec<&str> = page.items.iter().map(|e| &*e.path).collect();
        assert_eq!(paths, ["/users/2", "/users/1", "/users/0"]);
        // One past it: the oldest goes.
        log.record(entry("/users/3"));
        assert_eq!(log.len(), 3);
        let seqs: Vec<u64> = log.page(0, None, 10).items.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [4, 3, 2]);
        // `since` is exclusive; `before` too; `limit` takes the newest.
        let seqs = |since, before, limit| -> Vec<u64> {
            log.page(since, before, limit)
                .items
                .iter()
                .map(|e| e.seq)
                .collect()
        };
        assert_eq!(seqs(3, None, 10), [4]);
        assert_eq!(seqs(4, None, 10), Vec::<u64>::new());
        assert_eq!(seqs(0, Some(4), 10), [3, 2]);
        assert_eq!(seqs(0, None, 1), [4]);
        // Off: nothing is kept.
        let off = RequestLog::new(0);
        off.record(entry("/x"));
        assert_eq!((off.len(), off.page(0, None, 10).last), (0, 0));
    }

    #[test]
    fn the_ring_at_its_largest_stays_under_its_ceiling() {
        let log = RequestLog::new(REQUEST_LOG_MAX);
        let long = format!("/users?login={}", "x".repeat(4 * LOGGED_PATH_MAX_BYTES));
        let target = loggable_target("/users", Some(&long[7..]), None);
        assert!(target.len() <= LOGGED_PATH_MAX_BYTES, "{}", target.len());
        for _ in 0..REQUEST_LOG_MAX + 1000 {
            let mut e = entry(&target);
            e.method = cut(&"M".repeat(100), LOGGED_METHOD_MAX_BYTES).into();
            log.record(e);
        }
        assert_eq!(log.len(), REQUEST_LOG_MAX);
        let held = log.memory_bytes();
        assert!(
            held <= RequestLog::memory_ceiling(REQUEST_LOG_MAX),
            "{held} bytes > {}",
            RequestLog::memory_ceiling(REQUEST_LOG_MAX)
        );
        // The ceiling documented for the largest log (about 70 MiB).
        assert!(RequestLog::memory_ceiling(REQUEST_LOG_MAX) <= 70 << 20);
    }

    #[test]
    fn secrets_never_reach_the_log() {
        let cases = [
            (
                "/blobs/ab12",
                Some("token=0123456789abcdef"),
                "/blobs/ab12?token=[redacted]",
            ),
            (
                "/_storage/upload",
                Some("key=ab12&Content-Type=image%2Fpng&policy=eyJ9&signature=c0ffee"),
                "/_storage/upload?key=[redacted]&Content-Type=image%2Fpng&policy=[redacted]&signature=[redacted]",
            ),
            (
                "/session",
                Some("auth_key=k&user%5Bpassword%5D=p&keys[token]=t&keys%5Bsecret%5D=s"),
                "/session?auth_key=[redacted]&user%5Bpassword%5D=[redacted]&keys[token]=[redacted]&keys%5Bsecret%5D=[redacted]",
            ),
            (
                "/x",
                Some("firebase_phone[access_token]=jwt&OAUTH_TOKEN=t&code=c&bad%zz=v&login=ann"),
                "/x?firebase_phone[access_token]=[redacted]&OAUTH_TOKEN=[redacted]&code=[redacted]&bad%zz=[redacted]&login=ann",
            ),
            (
                "/users/password/reset/0123abcd",
                None,
                "/users/password/reset/[redacted]",
            ),
            (
                "/users/password/reset/0123abcd.json",
                Some("a=b"),
                "/users/password/reset/[redacted]?a=b",
            ),
            (
                "/users/v2",
                Some("login[start_with]=anna&limit=5"),
                "/users/v2?login[start_with]=anna&limit=5",
            ),
        ];
        for (path, query, expected) in cases {
            assert_eq!(
                loggable_target(path, query, None),
                expected,
                "{path}?{query:?}"
            );
        }
        // A reset link reached through an encoded path segment is caught by
        // its decoded segments.
        let segments: Vec<String> = ["users", "password", "reset", "0123abcd"]
            .map(str::to_owned)
            .to_vec();
        assert_eq!(
            loggable_target("/users/password/%72eset/0123abcd", None, Some(&segments)),
            "/users/password/reset/[redacted]"
        );
        // A long value is cut, and its name still redacts it.
        let long = format!("login=a&token={}", "f".repeat(2000));
        let target = loggable_target("/blobs/1", Some(&long), None);
        assert!(!target.contains("ff"), "{target}");
        assert!(target.len() <= LOGGED_PATH_MAX_BYTES);
    }

    proptest::proptest! {
        /// Whatever a client sends, the logged target stays within its
        /// bound and a token in `?token=` is not in it.
        #[test]
        fn any_target_is_bounded_and_keeps_no_token(
            path in "(/[a-z%0-9._~é-]{0,40}){0,30}",
            before in "[a-z\\[\\]%=&0-9é]{0,600}",
            token in "[0-9a-f]{40}",
            after in "[a-z\\[\\]%=&0-9é]{0,600}",
        ) {
            let query = format!("{before}&token={token}&{after}");
            let target = loggable_target(&path, Some(&query), None);
            proptest::prop_assert!(target.len() <= LOGGED_PATH_MAX_BYTES);
            proptest::prop_assert!(!target.contains(&token[..20]), "{}", target);
        }
    }

    #[test]
    fn cuts_at_a_character_boundary() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcdef", 5), "ab…");
        let cut_text = cut("ééééé", 6);
        assert!(cut_text.len() <= 6 && cut_text.ends_with('…'), "{cut_text}");
        assert_eq!(query_token("a=1&token=abc%20d"), Some("abc d".to_owned()));
        assert_eq!(query_token("tokens=abc"), None);
    }
}
