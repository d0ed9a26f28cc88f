//! The text form of a rule, as `--fault` takes it (and `POST
//! /_emulator/faults` beside JSON):
//!
//! ```text
//! METHOD PATH key=value …
//! GET /users/* status=503 times=2
//! POST /users status=429 header=Retry-After:1 body={"errors":{"base":["Slow down"]}}
//! * /blobs/** latency=1.5s probability=0.3 seed=7
//! ```
//!
//! Words are separated by whitespace. A value is a bare word, or a JSON
//! string (`body="down for maintenance"`, `header="X-Reason: planned
//! work"`), or, written as itself, a JSON object or array (a `body`). The
//! text is bounded ([`FAULT_TEXT_MAX_BYTES`]) and read once, left to
//! right: the work is linear in its length.

use serde_json::Value;

use super::RuleError;
use super::rule::{Draft, Rule, values};
use crate::limits::FAULT_TEXT_MAX_BYTES;

/// The keys a rule takes, in the order the canonical form writes them.
const KEYS: &str = "latency, status, header, body, cut, nth, times, probability, seed";

fn syntax(message: impl Into<String>) -> RuleError {
    RuleError::new("rule", message)
}

/// Reads the next word or value from `rest`: a bare word up to the next
/// whitespace, or a JSON string, object or array written as itself.
/// Returns it (a JSON string unquoted, an object or array in compact
/// form) and what follows.
fn value(rest: &str) -> Result<(String, &str), RuleError> {
    if rest.starts_with(['"', '{', '[']) {
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        let parsed = match values.next() {
            Some(Ok(parsed)) => parsed,
            _ => return Err(syntax("has a quoted value or JSON that does not end")),
        };
        let after = &rest[values.byte_offset()..];
        if after.starts_with(|c: char| !c.is_whitespace()) {
            return Err(syntax("needs a space after a quoted value or JSON"));
        }
        let text = match parsed {
            Value::String(text) => text,
            other => other.to_string(),
        };
        return Ok((text, after));
    }
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    Ok((rest[..end].to_owned(), &rest[end..]))
}

/// A bare word (the method, the path, a key), up to whitespace.
fn word(rest: &str) -> (&str, &str) {
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    (&rest[..end], &rest[end..])
}

/// Parses the text form.
pub(crate) fn parse(text: &str) -> Result<Rule, RuleError> {
    if text.len() > FAULT_TEXT_MAX_BYTES {
        return Err(syntax(format!(
            "is longer than {FAULT_TEXT_MAX_BYTES} bytes"
        )));
    }
    let mut draft = Draft::default();
    let (method, rest) = word(text.trim_start());
    let (path, mut rest) = word(rest.trim_start());
    if method.is_empty() || path.is_empty() {
        return Err(syntax(
            "must start with a method and a path: GET /users/* status=503",
        ));
    }
    draft.method = Some(method.to_owned());
    draft.path = Some(path.to_owned());
    let mut seen: Vec<&str> = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let Some((key, after)) = rest.split_once('=') else {
            return Err(syntax(format!("expects key=value, not {:?}", word(rest).0)));
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(syntax(format!("expects key=value, not {:?}", word(rest).0)));
        }
        if key != "header" && seen.contains(&key) {
            return Err(syntax(format!("gives {key} more than once")));
        }
        seen.push(key);
        let (text, after) = value(after)?;
        rest = after;
        match key {
            "latency" => draft.latency = Some(values::latency(&text)?),
            "status" => draft.status = Some(values::status(&text)?),
            "header" => draft.headers.push(values::header(&text)?),
            "body" => draft.body = Some(text),
            "cut" => draft.cut = Some(values::cut(&text)?),
            "nth" => draft.nth = Some(values::count("nth", &text)?),
            "times" => draft.times = Some(values::times(&text)?),
            "probability" => draft.probability = Some(values::probability(&text)?),
            "seed" => draft.seed = Some(values::seed(&text)?),
            other => {
                return Err(syntax(format!(
                    "has an unknown key {other:?} (known: {KEYS})"
                )));
            }
        }
    }
    draft.build()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http::StatusCode;

    use super::*;
    use crate::faults::rule::{Action, Cut};
    use crate::limits::{
        FAULT_BODY_MAX_BYTES, FAULT_HEADER_MAX_BYTES, FAULT_HEADERS_MAX, FAULT_LATENCY_MAX,
    };

    #[track_caller]
    fn round_trip(text: &str) -> Rule {
        let rule = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let canonical = rule.to_text();
        assert_eq!(parse(&canonical).as_ref(), Ok(&rule), "{canonical}");
        assert_eq!(parse(&canonical).unwrap().to_text(), canonical);
        rule
    }

    #[test]
    fn good_forms_parse_and_come_back_the_same() {
        let rule = round_trip("GET /users/* status=503");
        assert_eq!(rule.to_text(), "GET /users/* status=503");
        assert_eq!((rule.nth, rule.times, rule.chance), (1, Some(1), None));

        let rule = round_trip(
            r#"post /users status=429 header=Retry-After:1 header="X-Reason: slow down" body={"errors": {"base": ["Slow down"]}} times=2"#,
        );
        assert_eq!(
            rule.to_text(),
            r#"POST /users status=429 header=retry-after:1 header="x-reason:slow down" body={"errors":{"base":["Slow down"]}} times=2"#
        );
        let Action::Answer(answer) = &rule.action else {
            panic!("{rule:?}")
        };
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(answer.headers[1].1, "slow down");

        let rule = round_trip("* /blobs/** latency=1.5s probability=0.3 seed=7");
        assert_eq!(rule.latency, Some(Duration::from_millis(1500)));
        assert_eq!(rule.action, Action::Serve);
        assert_eq!(rule.times, None, "drawn at random: every time by default");
        assert_eq!(
            rule.to_text(),
            "* /blobs/** latency=1500ms probability=0.3 seed=7"
        );

        let rule = round_trip("GET /users/* cut=before-headers nth=3 times=always");
        assert_eq!(rule.action, Action::Cut(Cut::BeforeHeaders));
        assert_eq!((rule.nth, rule.times), (3, None));
        round_trip("GET /users/* latency=2s cut=after-headers");
        round_trip(r#"GET /x status=500 body="two words""#);
        round_trip(r#"GET /x status=500 body="""#);
        round_trip(r#"GET /x status=500 body="{not json""#);
        round_trip(r#"GET /x status=200 body=[1,2] times=5"#);
        round_trip("GET /x status=503 probability=1 times=3");
        round_trip("  GET\t/x   status=503  ");
        round_trip(r#"GET /x status=503 body="line one\nline two""#);
    }

    #[test]
    fn bad_forms_are_refused_with_a_reason() {
        for (text, field) in [
            ("", "rule"),
            ("GET", "rule"),
            ("GET /x", "rule"),
            ("GET /x latency=0ms", "latency"),
            ("GET x status=503", "path"),
            ("GET /_emulator/health status=503", "path"),
            ("OPTIONS /x status=503", "method"),
            ("G(T /x status=503", "method"),
            ("GET /x status=503 cut=before-headers", "cut"),
            ("GET /x status=199", "status"),
            ("GET /x status=600", "status"),
            ("GET /x status=+503", "status"),
            ("GET /x status=503 status=502", "rule"),
            ("GET /x header=Retry-After:1", "headers"),
            ("GET /x body=down", "body"),
            ("GET /x status=503 header=Retry-After", "headers"),
            ("GET /x status=503 header=Content-Length:5", "headers"),
            ("GET /x status=503 header=a:1 header=A:2", "headers"),
            ("GET /x status=503 header=\"x:\\u0001\"", "headers"),
            ("GET /x status=204 body=x", "body"),
            ("GET /x cut=middle", "cut"),
            ("GET /x status=503 nth=0", "nth"),
            ("GET /x status=503 times=0", "times"),
            ("GET /x status=503 times=never", "times"),
            ("GET /x status=503 seed=3", "seed"),
            ("GET /x status=503 probability=0", "probability"),
            ("GET /x status=503 probability=1.5", "probability"),
            ("GET /x status=503 colour=red", "rule"),
            ("GET /x status=503 oops", "rule"),
            ("GET /x status=503 =1", "rule"),
            (r#"GET /x status=503 body="open"#, "rule"),
            (r#"GET /x status=503 body="a"b"#, "rule"),
            (r#"GET /x status=503 body={"a":1"#, "rule"),
        ] {
            let err = parse(text).expect_err(text);
            assert_eq!(err.field, field, "{text}: {err}");
        }
    }

    #[test]
    fn limits_at_and_past_their_bounds() {
        let body = |n: usize| format!("GET /x status=503 body={}", "b".repeat(n));
        assert!(parse(&body(FAULT_BODY_MAX_BYTES)).is_ok());
        assert_eq!(
            parse(&body(FAULT_BODY_MAX_BYTES + 1)).unwrap_err().field,
            "body"
        );

        let latency = |ms: u128| format!("GET /x latency={ms}ms");
        assert!(parse(&latency(FAULT_LATENCY_MAX.as_millis())).is_ok());
        assert_eq!(
            parse(&latency(FAULT_LATENCY_MAX.as_millis() + 1))
                .unwrap_err()
                .field,
            "latency"
        );

        let headers = |n: usize| {
            let mut text = "GET /x status=503".to_owned();
            for i in 0..n {
                text.push_str(&format!(" header=x-h{i}:v"));
            }
            text
        };
        assert!(parse(&headers(FAULT_HEADERS_MAX)).is_ok());
        assert_eq!(
            parse(&headers(FAULT_HEADERS_MAX + 1)).unwrap_err().field,
            "headers"
        );

        let header = |n: usize| format!("GET /x status=503 header=x:{}", "v".repeat(n - 1));
        assert!(parse(&header(FAULT_HEADER_MAX_BYTES)).is_ok());
        assert_eq!(
            parse(&header(FAULT_HEADER_MAX_BYTES + 1))
                .unwrap_err()
                .field,
            "headers"
        );

        let long = format!("GET /x status=503 {}", " ".repeat(FAULT_TEXT_MAX_BYTES));
        assert_eq!(parse(&long).unwrap_err().field, "rule");
    }
}
