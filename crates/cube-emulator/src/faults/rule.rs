//! One fault rule: which requests it matches, what it does to them, and
//! when. Both forms a rule is written in (the text form of `--fault`, and
//! JSON) fill a [`Draft`], which checks the whole and makes the [`Rule`];
//! a rule writes itself back in both forms.

use std::fmt::Write as _;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method, StatusCode};
use serde_json::{Map, Value, json};

use super::RuleError;
use super::pattern::Pattern;
use crate::limits::{
    FAULT_BODY_MAX_BYTES, FAULT_HEADER_MAX_BYTES, FAULT_HEADERS_MAX, FAULT_LATENCY_MAX,
    fault_body_ok, fault_latency_ok,
};

/// Where a connection is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// Nothing of the answer is sent: the client sees the connection close.
    BeforeHeaders,
    /// The answer's status and headers, then part of its body.
    AfterHeaders,
}

impl Cut {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::BeforeHeaders => "before-headers",
            Self::AfterHeaders => "after-headers",
        }
    }

    fn parse(text: &str) -> Result<Self, RuleError> {
        match text {
            "before-headers" => Ok(Self::BeforeHeaders),
            "after-headers" => Ok(Self::AfterHeaders),
            _ => Err(RuleError::new(
                "cut",
                "must be before-headers or after-headers",
            )),
        }
    }
}

/// An answer given instead of the request's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    /// `None`: the default (an error object for 4xx/5xx, else nothing).
    pub(crate) body: Option<String>,
}

/// What a rule does once its latency has passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Serves the request as usual (a rule of latency alone).
    Serve,
    /// Answers instead of the request; it is not served.
    Answer(Answer),
    /// Cuts the connection.
    Cut(Cut),
}

/// A probability and the seed of its draws.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Chance {
    /// More than 0, at most 1.
    pub(crate) probability: f64,
    pub(crate) seed: u64,
}

/// A rule, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rule {
    /// `None`: any method.
    pub(crate) method: Option<Method>,
    pub(crate) pattern: Pattern,
    pub(crate) latency: Option<Duration>,
    pub(crate) action: Action,
    /// It fires from the `nth` request it matches on (1: the first).
    pub(crate) nth: u64,
    /// How many times it fires; `None`: every time.
    pub(crate) times: Option<u64>,
    pub(crate) chance: Option<Chance>,
}

/// `times`: a count or `always`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Times {
    Count(u64),
    Always,
}

/// A rule as written, before it is checked as a whole.
#[derive(Debug, Default)]
pub(crate) struct Draft {
    pub(crate) method: Option<String>,
    pub(crate) path: Option<String>,
    pub(crate) status: Option<u16>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Option<String>,
    pub(crate) latency: Option<Duration>,
    pub(crate) cut: Option<Cut>,
    pub(crate) nth: Option<u64>,
    pub(crate) times: Option<Times>,
    pub(crate) probability: Option<f64>,
    pub(crate) seed: Option<u64>,
}

/// Headers that frame the message or the connection: a rule that set them
/// would break the answer rather than fail it.
const FRAMING_HEADERS: [&str; 8] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-connection",
];

fn method(text: &str) -> Result<Option<Method>, RuleError> {
    if text == "*" {
        return Ok(None);
    }
    let upper = text.to_ascii_uppercase();
    let method = Method::from_bytes(upper.as_bytes())
        .ok()
        .filter(|_| !upper.is_empty() && upper.len() <= 32)
        .ok_or_else(|| RuleError::new("method", "must be a method (GET, POST, …) or *"))?;
    if method == Method::OPTIONS {
        return Err(RuleError::new(
            "method",
            "cannot be OPTIONS: CORS preflights are never faulted",
        ));
    }
    Ok(Some(method))
}

fn header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), RuleError> {
    if name.len() + value.len() > FAULT_HEADER_MAX_BYTES {
        return Err(RuleError::new(
            "headers",
            format!("must each be at most {FAULT_HEADER_MAX_BYTES} bytes"),
        ));
    }
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
        RuleError::new(
            "headers",
            format!("has a malformed header name {:?}", name.trim()),
        )
    })?;
    if FRAMING_HEADERS.contains(&name.as_str()) {
        return Err(RuleError::new(
            "headers",
            format!("cannot set {name}: the emulator frames the answer"),
        ));
    }
    let value = HeaderValue::from_str(value.trim()).map_err(|_| {
        RuleError::new(
            "headers",
            format!("has a malformed value for {name} (printable text only)"),
        )
    })?;
    Ok((name, value))
}

impl Draft {
    /// Checks the whole and makes the rule.
    pub(crate) fn build(self) -> Result<Rule, RuleError> {
        let method = method(
            self.method
                .as_deref()
                .ok_or_else(|| RuleError::new("method", "is missing"))?,
        )?;
        let pattern = Pattern::parse(
            self.path
                .as_deref()
                .ok_or_else(|| RuleError::new("path", "is missing"))?,
        )?;
        if let Some(latency) = self.latency {
            if latency < Duration::from_millis(1) {
                return Err(RuleError::new("latency", "must be at least 1 ms"));
            }
            if !fault_latency_ok(latency) {
                return Err(RuleError::new(
                    "latency",
                    format!("must be at most {} s", FAULT_LATENCY_MAX.as_secs()),
                ));
            }
        }
        if self.status.is_none() && (!self.headers.is_empty() || self.body.is_some()) {
            let field = if self.body.is_some() {
                "body"
            } else {
                "headers"
            };
            return Err(RuleError::new(field, "needs a status to answer with"));
        }
        let action = match (self.status, self.cut) {
            (Some(_), Some(_)) => {
                return Err(RuleError::new(
                    "cut",
                    "cannot go with a status: a rule answers or cuts",
                ));
            }
            (None, Some(cut)) => Action::Cut(cut),
            (None, None) if self.latency.is_none() => {
                return Err(RuleError::new(
                    "rule",
                    "does nothing: give it a status, a cut or a latency",
                ));
            }
            (None, None) => Action::Serve,
            (Some(status), None) => Action::Answer(self.answer(status)?),
        };
        let nth = self.nth.unwrap_or(1);
        if nth == 0 {
            return Err(RuleError::new("nth", "must be at least 1"));
        }
        let chance = match (self.probability, self.seed) {
            (Some(p), seed) => {
                if !(p > 0.0 && p <= 1.0) {
                    return Err(RuleError::new(
                        "probability",
                        "must be more than 0 and at most 1",
                    ));
                }
                Some(Chance {
                    probability: p,
                    seed: seed.unwrap_or(0),
                })
            }
            (None, Some(_)) => {
                return Err(RuleError::new("seed", "needs a probability"));
            }
            (None, None) => None,
        };
        let times = match self.times {
            Some(Times::Count(0)) => return Err(RuleError::new("times", "must be at least 1")),
            Some(Times::Count(n)) => Some(n),
            Some(Times::Always) => None,
            // Once, unless drawn at random: then whenever the draw says.
            None if chance.is_some() => None,
            None => Some(1),
        };
        Ok(Rule {
            method,
            pattern,
            latency: self.latency,
            action,
            nth,
            times,
            chance,
        })
    }

    fn answer(&self, status: u16) -> Result<Answer, RuleError> {
        let status = StatusCode::from_u16(status)
            .ok()
            .filter(|_| (200..=599).contains(&status))
            .ok_or_else(|| RuleError::new("status", "must be a number from 200 to 599"))?;
        if self.headers.len() > FAULT_HEADERS_MAX {
            return Err(RuleError::new(
                "headers",
                format!("are at most {FAULT_HEADERS_MAX}"),
            ));
        }
        let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::with_capacity(self.headers.len());
        for (name, value) in &self.headers {
            let (name, value) = header(name, value)?;
            if headers.iter().any(|(n, _)| *n == name) {
                return Err(RuleError::new(
                    "headers",
                    format!("names {name} more than once"),
                ));
            }
            headers.push((name, value));
        }
        // By name: one order, whichever form the rule came in (a JSON
        // object has none of its own).
        headers.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        if let Some(body) = &self.body {
            if !fault_body_ok(body.len()) {
                return Err(RuleError::new(
                    "body",
                    format!("must be at most {FAULT_BODY_MAX_BYTES} bytes"),
                ));
            }
            if matches!(status.as_u16(), 204 | 205 | 304) {
                return Err(RuleError::new(
                    "body",
                    format!("cannot go with {}: it has none", status.as_u16()),
                ));
            }
        }
        Ok(Answer {
            status,
            headers,
            body: self.body.clone(),
        })
    }
}

/// What a fault did to one request, as the request log keeps it: no
/// heap, so the log's bound holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Applied {
    pub(crate) rule: u64,
    pub(crate) latency_ms: u32,
    pub(crate) status: Option<u16>,
    pub(crate) cut: Option<Cut>,
}

impl Applied {
    /// Its effect in the text form: `latency=200ms status=503`.
    pub(crate) fn effect(&self) -> String {
        let mut text = String::new();
        if self.latency_ms > 0 {
            let _ = write!(text, " latency={}ms", self.latency_ms);
        }
        if let Some(status) = self.status {
            let _ = write!(text, " status={status}");
        }
        if let Some(cut) = self.cut {
            let _ = write!(text, " cut={}", cut.as_str());
        }
        text.trim_start().to_owned()
    }
}

/// A value as the text form writes it: bare when it can be read back
/// bare, else a JSON string.
fn token(text: &str) -> String {
    let bare = !text.is_empty()
        && !text.starts_with(['"', '{', '['])
        && !text.chars().any(|c| c.is_whitespace() || c.is_control());
    if bare {
        text.to_owned()
    } else {
        Value::from(text).to_string()
    }
}

/// A body as the text form writes it: compact JSON as itself, anything
/// else as a [`token`].
fn body_token(body: &str) -> String {
    let compact = match serde_json::from_str::<Value>(body) {
        Ok(value @ (Value::Object(_) | Value::Array(_))) => value.to_string(),
        _ => return token(body),
    };
    if compact == body {
        compact
    } else {
        token(body)
    }
}

fn millis(latency: Duration) -> u64 {
    u64::try_from(latency.as_millis()).unwrap_or(u64::MAX)
}

impl Rule {
    /// How this rule is applied to one request (for the log).
    pub(crate) fn applied(&self, id: u64) -> Applied {
        Applied {
            rule: id,
            latency_ms: self
                .latency
                .map_or(0, |l| u32::try_from(millis(l)).unwrap_or(u32::MAX)),
            status: match &self.action {
                Action::Answer(answer) => Some(answer.status.as_u16()),
                _ => None,
            },
            cut: match self.action {
                Action::Cut(cut) => Some(cut),
                _ => None,
            },
        }
    }

    /// The method, or `*`.
    fn method_text(&self) -> &str {
        self.method.as_ref().map_or("*", Method::as_str)
    }

    /// The canonical text form: it parses back into this very rule.
    pub(crate) fn to_text(&self) -> String {
        let mut text = format!("{} {}", self.method_text(), self.pattern.as_str());
        if let Some(latency) = self.latency {
            let _ = write!(text, " latency={}ms", millis(latency));
        }
        match &self.action {
            Action::Serve => {}
            Action::Answer(answer) => {
                let _ = write!(text, " status={}", answer.status.as_u16());
                for (name, value) in &answer.headers {
                    let value = String::from_utf8_lossy(value.as_bytes());
                    let _ = write!(text, " header={}", token(&format!("{name}:{value}")));
                }
                if let Some(body) = &answer.body {
                    let _ = write!(text, " body={}", body_token(body));
                }
            }
            Action::Cut(cut) => {
                let _ = write!(text, " cut={}", cut.as_str());
            }
        }
        if self.nth != 1 {
            let _ = write!(text, " nth={}", self.nth);
        }
        match (self.times, self.chance.is_some()) {
            (Some(1), false) | (None, true) => {}
            (Some(n), _) => {
                let _ = write!(text, " times={n}");
            }
            (None, false) => text.push_str(" times=always"),
        }
        if let Some(chance) = self.chance {
            let _ = write!(text, " probability={}", chance.probability);
            if chance.seed != 0 {
                let _ = write!(text, " seed={}", chance.seed);
            }
        }
        text
    }

    /// The JSON form (`POST /_emulator/faults` takes it back).
    pub(crate) fn to_json(&self) -> Map<String, Value> {
        let (status, headers, body, cut) = match &self.action {
            Action::Serve => (None, Map::new(), None, None),
            Action::Answer(answer) => (
                Some(answer.status.as_u16()),
                answer
                    .headers
                    .iter()
                    .map(|(n, v)| {
                        let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                        (n.as_str().to_owned(), Value::from(value))
                    })
                    .collect(),
                answer.body.clone(),
                None,
            ),
            Action::Cut(cut) => (None, Map::new(), None, Some(cut.as_str())),
        };
        let value = json!({
            "method": self.method_text(),
            "path": self.pattern.as_str(),
            "latency_ms": self.latency.map(millis),
            "status": status,
            "headers": headers,
            "body": body,
            "cut": cut,
            "nth": self.nth,
            "times": self.times.map_or(Value::from("always"), Value::from),
            "probability": self.chance.map(|c| c.probability),
            "seed": self.chance.map(|c| c.seed),
        });
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

/// `--fault`'s values, parsed from their text.
pub(crate) mod values {
    use super::*;

    fn whole(field: &'static str, text: &str, least: u64) -> Result<u64, RuleError> {
        text.parse::<u64>()
            .ok()
            .filter(|n| *n >= least && text.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                RuleError::new(field, format!("must be a whole number, at least {least}"))
            })
    }

    pub(crate) fn status(text: &str) -> Result<u16, RuleError> {
        whole("status", text, 0)
            .ok()
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(|| RuleError::new("status", "must be a number from 200 to 599"))
    }

    pub(crate) fn count(field: &'static str, text: &str) -> Result<u64, RuleError> {
        whole(field, text, 1)
    }

    pub(crate) fn seed(text: &str) -> Result<u64, RuleError> {
        whole("seed", text, 0)
    }

    pub(crate) fn times(text: &str) -> Result<Times, RuleError> {
        if text == "always" {
            return Ok(Times::Always);
        }
        whole("times", text, 1)
            .map(Times::Count)
            .map_err(|_| RuleError::new("times", "must be a whole number, at least 1, or always"))
    }

    pub(crate) fn cut(text: &str) -> Result<Cut, RuleError> {
        Cut::parse(text)
    }

    /// `250ms`, `2s` or `1.5s` (at most millisecond precision).
    pub(crate) fn latency(text: &str) -> Result<Duration, RuleError> {
        let bad = || {
            RuleError::new(
                "latency",
                "must be milliseconds or seconds: 250ms, 2s, 1.5s",
            )
        };
        let digits =
            |t: &str| !t.is_empty() && t.len() <= 9 && t.bytes().all(|b| b.is_ascii_digit());
        if let Some(ms) = text.strip_suffix("ms") {
            if !digits(ms) {
                return Err(bad());
            }
            return ms.parse().map(Duration::from_millis).map_err(|_| bad());
        }
        let seconds = text.strip_suffix('s').ok_or_else(bad)?;
        let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, "0"));
        if !digits(whole) || !digits(fraction) || fraction.len() > 3 {
            return Err(bad());
        }
        let whole: u64 = whole.parse().map_err(|_| bad())?;
        let fraction: u64 = format!("{fraction:0<3}").parse().map_err(|_| bad())?;
        Ok(Duration::from_millis(whole * 1000 + fraction))
    }

    /// A decimal: `0.25`.
    pub(crate) fn probability(text: &str) -> Result<f64, RuleError> {
        let bad = || RuleError::new("probability", "must be more than 0 and at most 1");
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err(bad());
        }
        text.parse::<f64>().map_err(|_| bad())
    }

    /// `Name: value` (or `Name:value`).
    pub(crate) fn header(text: &str) -> Result<(String, String), RuleError> {
        let (name, value) = text
            .split_once(':')
            .ok_or_else(|| RuleError::new("headers", "must each be Name:value (Retry-After:1)"))?;
        Ok((name.trim().to_owned(), value.trim().to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_in_milliseconds_and_seconds() {
        for (text, ms) in [
            ("250ms", 250),
            ("0ms", 0),
            ("2s", 2000),
            ("1.5s", 1500),
            ("0.001s", 1),
            ("60s", 60_000),
        ] {
            assert_eq!(
                values::latency(text),
                Ok(Duration::from_millis(ms)),
                "{text}"
            );
        }
        for bad in [
            "",
            "250",
            "ms",
            "s",
            "1.0001s",
            "-1s",
            "1e3ms",
            "1,5s",
            " 1s",
            "1.s",
            "9999999999ms",
        ] {
            assert!(values::latency(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn probabilities_are_plain_decimals() {
        assert_eq!(values::probability("0.25"), Ok(0.25));
        assert_eq!(values::probability("1"), Ok(1.0));
        for bad in ["", "1e-3", "inf", "NaN", "-0.5", "+0.5", "50%"] {
            assert!(values::probability(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_effect_of_an_applied_fault_reads_as_the_text_form() {
        let applied = Applied {
            rule: 3,
            latency_ms: 200,
            status: Some(503),
            cut: None,
        };
        assert_eq!(applied.effect(), "latency=200ms status=503");
        let cut = Applied {
            rule: 1,
            latency_ms: 0,
            status: None,
            cut: Some(Cut::AfterHeaders),
        };
        assert_eq!(cut.effect(), "cut=after-headers");
    }
}
