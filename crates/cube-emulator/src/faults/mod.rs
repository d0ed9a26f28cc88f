//! Faults on purpose: rules that make the ConnectyCube API fail the way a
//! real network and a real service do — an error status (`503`, `429`
//! with `Retry-After`), latency, or a connection cut before or after the
//! answer's headers — so that an application (and the SDK's retries) can
//! be tested against them (`docs/EMULATOR.md`, "Faults").
//!
//! Rules are set through the admin API (`operations/admin_faults.rs`) or
//! `--fault`, written in JSON ([`json`]) or a one-line text form
//! ([`text`]). The table is bounded ([`crate::limits::FAULT_RULES_MAX`]
//! rules, each bounded), and decisions are deterministic: which requests
//! a rule fires on depends only on the requests it matched, in order, and
//! on its seed. The admin API itself (`/_emulator/…`) and CORS preflights
//! are never faulted.
//!
//! The rules and their table ([`Faults`], held by the state) know nothing
//! of HTTP answers or connections: the router asks [`Faults::decide`]
//! about every request it serves and does what the rule says
//! (`router/fault_hook.rs`); a cut connection is done by the server,
//! which reads the cut from the answer.

mod json;
mod pattern;
pub(crate) mod rule;
pub(crate) mod text;

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::Method;
use serde_json::{Map, Value};
use tokio::sync::watch;

use crate::limits::{FAULT_RULES_MAX, fault_rules_ok};
pub(crate) use json::parse as parse_json;
pub(crate) use rule::{Applied, Rule};
pub(crate) use text::parse as parse_text;

/// Why a rule was refused: the field at fault and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuleError {
    /// `method`, `path`, `status`, … or `rule` for the rule as a whole.
    pub(crate) field: &'static str,
    pub(crate) message: String,
}

impl RuleError {
    pub(crate) fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.field, self.message)
    }
}

impl std::error::Error for RuleError {}

/// The rules of `--fault` ([`crate::EmulatorConfig::faults`]), parsed:
/// the first that does not parse, or one too many, is the reason the
/// emulator does not start.
pub(crate) fn rules_of(texts: &[String]) -> Result<Vec<Rule>, String> {
    if !fault_rules_ok(texts.len()) {
        return Err(format!(
            "at most {FAULT_RULES_MAX} fault rules may be set, not {}",
            texts.len()
        ));
    }
    texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            parse_text(text)
                .map_err(|err| format!("fault rule {} of {}: {err}", i + 1, texts.len()))
        })
        .collect()
}

/// A rule in the table, with what it has seen.
struct Entry {
    id: u64,
    rule: Arc<Rule>,
    /// Requests it matched.
    matched: u64,
    /// Requests it acted on.
    fired: u64,
    /// Its random draws (SplitMix64: small, fast, well known).
    draws: u64,
}

impl Entry {
    fn spent(&self) -> bool {
        self.rule.times.is_some_and(|times| self.fired >= times)
    }

    /// The next draw in `[0, 1)`.
    fn draw(&mut self) -> f64 {
        self.draws = self.draws.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.draws;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // The top 53 bits, exactly as many as a double holds.
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Sees a request this rule matches: whether it fires on it.
    fn would_fire(&mut self) -> bool {
        self.matched += 1;
        if self.matched < self.rule.nth || self.spent() {
            return false;
        }
        match self.rule.chance {
            Some(chance) => self.draw() < chance.probability,
            None => true,
        }
    }

    fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("id".into(), self.id.into());
        map.insert("text".into(), self.rule.to_text().into());
        map.extend(self.rule.to_json());
        map.insert("matched".into(), self.matched.into());
        map.insert("fired".into(), self.fired.into());
        map.insert("spent".into(), self.spent().into());
        Value::Object(map)
    }
}

#[derive(Default)]
struct Table {
    last_id: u64,
    entries: Vec<Entry>,
}

/// The table is full.
#[derive(Debug)]
pub(crate) struct TableFull;

impl fmt::Display for TableFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at most {FAULT_RULES_MAX} fault rules may be set; remove some first"
        )
    }
}

/// A rule that fires on a request: its id and what it does.
#[derive(Debug, Clone)]
pub(crate) struct Fired {
    pub(crate) id: u64,
    pub(crate) rule: Arc<Rule>,
}

impl Fired {
    /// Whether no answer at all goes out.
    pub(crate) fn cuts_before_headers(&self) -> bool {
        self.rule.action == rule::Action::Cut(rule::Cut::BeforeHeaders)
    }
}

/// The rules, and the switch that ends their latencies when the emulator
/// stops.
pub(crate) struct Faults {
    table: Mutex<Table>,
    /// How many rules the table holds: with none, a request takes no lock.
    len: AtomicUsize,
    stopping: watch::Sender<bool>,
}

impl Default for Faults {
    fn default() -> Self {
        Self::new()
    }
}

impl Faults {
    pub(crate) fn new() -> Self {
        Self {
            table: Mutex::new(Table::default()),
            len: AtomicUsize::new(0),
            stopping: watch::Sender::new(false),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a rule at the end; its listing (with its new id).
    pub(crate) fn add(&self, rule: Rule) -> Result<Value, TableFull> {
        let mut table = self.table();
        if !fault_rules_ok(table.entries.len() + 1) {
            return Err(TableFull);
        }
        table.last_id += 1;
        let entry = Entry {
            id: table.last_id,
            draws: rule.chance.map_or(0, |c| c.seed),
            rule: Arc::new(rule),
            matched: 0,
            fired: 0,
        };
        let listed = entry.to_json();
        table.entries.push(entry);
        self.len.store(table.entries.len(), Ordering::Release);
        Ok(listed)
    }

    /// Every rule, oldest first, with its counts.
    pub(crate) fn list(&self) -> Vec<Value> {
        self.table().entries.iter().map(Entry::to_json).collect()
    }

    /// Removes one rule; `false` when there is none with this id.
    pub(crate) fn remove(&self, id: u64) -> bool {
        let mut table = self.table();
        let before = table.entries.len();
        table.entries.retain(|e| e.id != id);
        self.len.store(table.entries.len(), Ordering::Release);
        table.entries.len() < before
    }

    /// Removes every rule; how many there were.
    pub(crate) fn clear(&self) -> usize {
        let mut table = self.table();
        let removed = table.entries.len();
        table.entries.clear();
        self.len.store(0, Ordering::Release);
        removed
    }

    /// The rule that acts on a request of `method` to `path` (decoded
    /// segments), if any. Every rule that matches counts the request (and
    /// draws, when it is due); the oldest that fires acts, and only it
    /// counts one more firing: another that would have fired stays due.
    pub(crate) fn decide(&self, method: &Method, path: &[String]) -> Option<Fired> {
        if self.len.load(Ordering::Acquire) == 0 || method == Method::OPTIONS {
            return None;
        }
        let mut table = self.table();
        let mut chosen: Option<usize> = None;
        for (i, entry) in table.entries.iter_mut().enumerate() {
            let matches = entry.rule.method.as_ref().is_none_or(|m| m == method)
                && entry.rule.pattern.matches(path);
            if matches && entry.would_fire() && chosen.is_none() {
                chosen = Some(i);
            }
        }
        let entry = &mut table.entries[chosen?];
        entry.fired += 1;
        Some(Fired {
            id: entry.id,
            rule: entry.rule.clone(),
        })
    }

    /// Waits `latency`, or less if the emulator stops meanwhile.
    pub(crate) async fn wait(&self, latency: Duration) {
        let mut stopping = self.stopping.subscribe();
        tokio::select! {
            () = tokio::time::sleep(latency) => {}
            _ = stopping.wait_for(|stop| *stop) => {}
        }
    }

    /// The emulator stops: every latency ends now (the requests go on to
    /// their answers), and none is waited from now on.
    pub(crate) fn stop_waiting(&self) {
        self.stopping.send_replace(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> Vec<String> {
        text.split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn fired(faults: &Faults, method: Method, target: &str) -> Option<u64> {
        faults.decide(&method, &path(target)).map(|f| f.id)
    }

    fn count(listed: &[Value], id: u64, key: &str) -> u64 {
        listed
            .iter()
            .find(|r| r["id"] == id)
            .and_then(|r| r[key].as_u64())
            .unwrap()
    }

    #[test]
    fn once_n_times_and_from_the_nth() {
        let faults = Faults::new();
        assert_eq!(fired(&faults, Method::GET, "/users/1"), None);
        faults
            .add(parse_text("GET /users/* status=503").unwrap())
            .unwrap();
        faults
            .add(parse_text("GET /users/* latency=1ms nth=3 times=2").unwrap())
            .unwrap();
        // Another method, another path: nothing.
        assert_eq!(fired(&faults, Method::PUT, "/users/1"), None);
        assert_eq!(fired(&faults, Method::GET, "/users"), None);
        let seen: Vec<Option<u64>> = (0..6)
            .map(|_| fired(&faults, Method::GET, "/users/1"))
            .collect();
        // The first once; the second on the third and fourth it matched.
        assert_eq!(seen, [Some(1), None, Some(2), Some(2), None, None]);
        let listed = faults.list();
        assert_eq!(count(&listed, 1, "matched"), 6);
        assert_eq!(count(&listed, 1, "fired"), 1);
        assert_eq!(count(&listed, 2, "fired"), 2);
        assert_eq!(listed[0]["spent"], true);
        assert!(faults.remove(1));
        assert!(!faults.remove(1));
        assert_eq!(faults.clear(), 1);
        assert_eq!(fired(&faults, Method::GET, "/users/1"), None);
    }

    #[test]
    fn an_older_rule_acts_and_a_younger_one_stays_due() {
        let faults = Faults::new();
        faults
            .add(parse_text("* /** status=503 nth=2").unwrap())
            .unwrap();
        faults
            .add(parse_text("GET /session cut=before-headers nth=2").unwrap())
            .unwrap();
        let seen: Vec<Option<u64>> = (0..3)
            .map(|_| fired(&faults, Method::GET, "/session"))
            .collect();
        assert_eq!(seen, [None, Some(1), Some(2)]);
        // OPTIONS is never faulted, whatever the rule.
        faults
            .add(parse_text("* /** status=500 times=always").unwrap())
            .unwrap();
        assert_eq!(fired(&faults, Method::OPTIONS, "/session"), None);
    }

    #[test]
    fn the_same_seed_and_requests_give_the_same_faults() {
        let run = |seed: u64| -> Vec<bool> {
            let faults = Faults::new();
            let rule = format!("GET /users/* status=503 probability=0.3 seed={seed}");
            faults.add(parse_text(&rule).unwrap()).unwrap();
            (0..400)
                .map(|i| {
                    // Unmatched requests between do not move the draws.
                    let _ = fired(&faults, Method::POST, "/users");
                    fired(&faults, Method::GET, &format!("/users/{i}")).is_some()
                })
                .collect()
        };
        let first = run(42);
        assert_eq!(first, run(42));
        assert_ne!(first, run(43));
        // About 30 % of them (a loose bound: the draws are fixed anyway).
        let hits = first.iter().filter(|f| **f).count();
        assert!((80..=160).contains(&hits), "{hits} of 400");
        // Probability 1 always fires; limited by `times` when given.
        let faults = Faults::new();
        faults
            .add(parse_text("GET /x status=503 probability=1 times=3").unwrap())
            .unwrap();
        let hits = (0..10)
            .filter(|_| fired(&faults, Method::GET, "/x").is_some())
            .count();
        assert_eq!(hits, 3);
    }

    #[test]
    fn the_table_holds_its_cap_and_no_more() {
        let faults = Faults::new();
        for _ in 0..FAULT_RULES_MAX {
            faults
                .add(parse_text("GET /x status=503").unwrap())
                .unwrap();
        }
        assert!(
            faults
                .add(parse_text("GET /x status=503").unwrap())
                .is_err()
        );
        assert_eq!(faults.list().len(), FAULT_RULES_MAX);
        // Ids are never reused.
        assert!(faults.remove(FAULT_RULES_MAX as u64));
        let listed = faults
            .add(parse_text("GET /x status=503").unwrap())
            .unwrap();
        assert_eq!(listed["id"], FAULT_RULES_MAX as u64 + 1);
    }

    #[test]
    fn a_latency_ends_when_the_emulator_stops() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let faults = Arc::new(Faults::new());
        runtime.block_on(async {
            let waiting = {
                let faults = faults.clone();
                tokio::spawn(async move { faults.wait(Duration::from_secs(3600)).await })
            };
            tokio::task::yield_now().await;
            faults.stop_waiting();
            tokio::time::timeout(Duration::from_secs(10), waiting)
                .await
                .expect("the wait ended")
                .unwrap();
            // And none is waited after.
            tokio::time::timeout(
                Duration::from_secs(10),
                faults.wait(Duration::from_secs(3600)),
            )
            .await
            .expect("no wait once stopping");
        });
    }

    /// A rule's text form and its JSON form, each of which must be refused
    /// naming `field` or accepted (`None`).
    #[track_caller]
    fn check_both(text: &str, json: Value, field: Option<&str>) {
        let Value::Object(map) = json else {
            panic!("{json}")
        };
        for (form, result) in [("text", parse_text(text)), ("json", parse_json(&map))] {
            match (field, result) {
                (None, Ok(rule)) => {
                    // What is accepted writes itself back into the same rule.
                    assert_eq!(parse_text(&rule.to_text()).as_ref(), Ok(&rule), "{text}");
                    assert_eq!(parse_json(&rule.to_json()).as_ref(), Ok(&rule), "{text}");
                }
                (Some(field), Err(err)) => assert_eq!(err.field, field, "{form} {text}: {err}"),
                (want, got) => panic!("{form} {text}: wanted {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn every_limit_of_a_rule_at_and_past_its_bound_in_both_forms() {
        use serde_json::json;

        use crate::limits::{
            FAULT_BODY_MAX_BYTES, FAULT_HEADER_MAX_BYTES, FAULT_HEADERS_MAX, FAULT_LATENCY_MAX,
            FAULT_PATTERN_MAX_BYTES, FAULT_TEXT_MAX_BYTES,
        };

        // The status: 200 to 599.
        for (status, field) in [
            (199, Some("status")),
            (200, None),
            (599, None),
            (600, Some("status")),
            (65_536, Some("status")),
        ] {
            check_both(
                &format!("GET /x status={status}"),
                json!({"method": "GET", "path": "/x", "status": status}),
                field,
            );
        }

        // The latency: 1 ms to the cap.
        let cap = u64::try_from(FAULT_LATENCY_MAX.as_millis()).unwrap();
        for (ms, field) in [
            (0, Some("latency")),
            (1, None),
            (cap, None),
            (cap + 1, Some("latency")),
            (u64::MAX, Some("latency")),
        ] {
            // The text form reads at most nine digits of milliseconds.
            let text = if ms < 1_000_000_000 {
                format!("GET /x latency={ms}ms")
            } else {
                format!("GET /x latency={}s", ms / 1000)
            };
            check_both(
                &text,
                json!({"method": "GET", "path": "/x", "latency_ms": ms}),
                field,
            );
        }

        // The probability: more than 0, at most 1.
        for (p, field) in [
            ("0", Some("probability")),
            ("0.000000001", None),
            ("0.5", None),
            ("1", None),
            ("1.000000001", Some("probability")),
            ("2", Some("probability")),
        ] {
            let value: f64 = p.parse().unwrap();
            check_both(
                &format!("GET /x status=503 probability={p} seed=3"),
                json!({"method": "GET", "path": "/x", "status": 503, "probability": value, "seed": 3}),
                field,
            );
        }
        // The smallest double above 0 is a probability, and reads back.
        check_both(
            &format!("GET /x status=503 probability={}", f64::MIN_POSITIVE),
            json!({"method": "GET", "path": "/x", "status": 503, "probability": f64::MIN_POSITIVE}),
            None,
        );
        // A negative one, in the JSON form (the text form has no sign).
        let negative = json!({"method": "GET", "path": "/x", "status": 503, "probability": -0.5});
        let Value::Object(negative) = negative else {
            unreachable!()
        };
        assert_eq!(parse_json(&negative).unwrap_err().field, "probability");

        // nth and times: from 1; nth and seed up to the largest u64.
        for (key, n, field) in [
            ("nth", "0", Some("nth")),
            ("nth", "1", None),
            ("times", "0", Some("times")),
            ("times", "1", None),
        ] {
            let n_value: u64 = n.parse().unwrap();
            check_both(
                &format!("GET /x status=503 {key}={n}"),
                json!({"method": "GET", "path": "/x", "status": 503, key: n_value}),
                field,
            );
        }
        for key in ["nth", "times", "seed"] {
            let extra = if key == "seed" {
                " probability=0.5"
            } else {
                ""
            };
            let mut json = json!({"method": "GET", "path": "/x", "status": 503, key: u64::MAX});
            if key == "seed" {
                json["probability"] = json!(0.5);
            }
            check_both(
                &format!("GET /x status=503 {key}={}{extra}", u64::MAX),
                json,
                None,
            );
            let past = format!("GET /x status=503 {key}=18446744073709551616{extra}");
            assert_eq!(parse_text(&past).unwrap_err().field, key, "{past}");
        }

        // The body: its bytes, a JSON body by its compact text.
        for (n, field) in [
            (FAULT_BODY_MAX_BYTES, None),
            (FAULT_BODY_MAX_BYTES + 1, Some("body")),
        ] {
            let body = "b".repeat(n);
            check_both(
                &format!("GET /x status=503 body={body}"),
                json!({"method": "GET", "path": "/x", "status": 503, "body": body}),
                field,
            );
            // `["bbb…"]` is the string and four bytes more.
            let array = json!(["b".repeat(n - 4)]);
            check_both(
                &format!("GET /x status=503 body={array}"),
                json!({"method": "GET", "path": "/x", "status": 503, "body": array}),
                field,
            );
        }

        // The headers: how many, and each one's name and value.
        for (n, field) in [
            (FAULT_HEADERS_MAX, None),
            (FAULT_HEADERS_MAX + 1, Some("headers")),
        ] {
            let mut text = "GET /x status=503".to_owned();
            let mut headers = Map::new();
            for i in 0..n {
                text.push_str(&format!(" header=x-h{i:02}:v"));
                headers.insert(format!("x-h{i:02}"), "v".into());
            }
            check_both(
                &text,
                json!({"method": "GET", "path": "/x", "status": 503, "headers": headers}),
                field,
            );
        }
        for (n, field) in [
            (FAULT_HEADER_MAX_BYTES, None),
            (FAULT_HEADER_MAX_BYTES + 1, Some("headers")),
        ] {
            let value = "v".repeat(n - "x-long".len());
            check_both(
                &format!("GET /x status=503 header=x-long:{value}"),
                json!({"method": "GET", "path": "/x", "status": 503, "headers": {"x-long": value}}),
                field,
            );
        }

        // The path pattern's length.
        for (n, field) in [
            (FAULT_PATTERN_MAX_BYTES, None),
            (FAULT_PATTERN_MAX_BYTES + 1, Some("path")),
        ] {
            let path = format!("/{}", "p".repeat(n - 1));
            check_both(
                &format!("GET {path} status=503"),
                json!({"method": "GET", "path": path, "status": 503}),
                field,
            );
        }

        // The text form's length, whatever it holds.
        let padded = |n: usize| {
            let rule = "GET /x status=503";
            format!("{rule}{}", " ".repeat(n - rule.len()))
        };
        assert!(parse_text(&padded(FAULT_TEXT_MAX_BYTES)).is_ok());
        assert_eq!(
            parse_text(&padded(FAULT_TEXT_MAX_BYTES + 1))
                .unwrap_err()
                .field,
            "rule"
        );

        // The table's count, through `--fault` at start too.
        let texts = |n: usize| vec!["GET /x status=503".to_owned(); n];
        assert_eq!(
            rules_of(&texts(FAULT_RULES_MAX)).unwrap().len(),
            FAULT_RULES_MAX
        );
        let err = rules_of(&texts(FAULT_RULES_MAX + 1)).unwrap_err();
        assert!(err.contains("at most 100"), "{err}");
    }
}
