//! The JSON form of a rule (`POST /_emulator/faults`): the fields a rule
//! lists with (`Rule::to_json`), or `{"text": "GET /users/* status=503"}`
//! in the text form. `null` is the same as leaving a field out.

use std::time::Duration;

use serde_json::{Map, Value};

use super::RuleError;
use super::rule::{Draft, Rule, Times, values};

fn text<'a>(field: &'static str, value: &'a Value) -> Result<&'a str, RuleError> {
    value
        .as_str()
        .ok_or_else(|| RuleError::new(field, "must be a string"))
}

fn whole(field: &'static str, value: &Value) -> Result<u64, RuleError> {
    value
        .as_u64()
        .ok_or_else(|| RuleError::new(field, "must be a whole number"))
}

/// Parses a rule from its JSON object.
pub(crate) fn parse(body: &Map<String, Value>) -> Result<Rule, RuleError> {
    let given = |key: &str| body.get(key).filter(|v| !v.is_null());
    if let Some(rule) = given("text") {
        if let Some(other) = body.keys().find(|k| *k != "text") {
            return Err(RuleError::new(
                "text",
                format!("goes alone: {other:?} is the JSON form"),
            ));
        }
        return super::text::parse(text("text", rule)?);
    }
    let mut draft = Draft::default();
    for (key, value) in body {
        if value.is_null() {
            continue;
        }
        match key.as_str() {
            "method" => draft.method = Some(text("method", value)?.to_owned()),
            "path" => draft.path = Some(text("path", value)?.to_owned()),
            "latency_ms" => draft.latency = Some(Duration::from_millis(whole("latency", value)?)),
            "status" => {
                draft.status = Some(
                    whole("status", value)
                        .ok()
                        .and_then(|n| u16::try_from(n).ok())
                        .ok_or_else(|| {
                            RuleError::new("status", "must be a number from 200 to 599")
                        })?,
                );
            }
            "headers" => {
                let headers = value
                    .as_object()
                    .ok_or_else(|| RuleError::new("headers", "must be an object"))?;
                for (name, value) in headers {
                    let value = value.as_str().ok_or_else(|| {
                        RuleError::new("headers", "must each have a string value")
                    })?;
                    draft.headers.push((name.clone(), value.to_owned()));
                }
            }
            "body" => {
                draft.body = Some(match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                });
            }
            "cut" => draft.cut = Some(values::cut(text("cut", value)?)?),
            "nth" => draft.nth = Some(whole("nth", value)?),
            "times" => {
                draft.times = Some(match value {
                    Value::String(text) => values::times(text)?,
                    other => Times::Count(whole("times", other).map_err(|_| {
                        RuleError::new("times", "must be a whole number, at least 1, or always")
                    })?),
                });
            }
            "probability" => {
                draft.probability = Some(
                    value
                        .as_f64()
                        .ok_or_else(|| RuleError::new("probability", "must be a number"))?,
                );
            }
            "seed" => draft.seed = Some(whole("seed", value)?),
            other => {
                return Err(RuleError::new(
                    "rule",
                    format!("has an unknown field {other:?}"),
                ));
            }
        }
    }
    draft.build()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::limits::FAULT_LATENCY_MAX;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn the_json_form_is_the_text_forms_twin() {
        let rule = parse(&object(json!({
            "method": "GET", "path": "/users/*", "status": 429,
            "headers": {"Retry-After": "1"}, "body": {"errors": {"base": ["Slow down"]}},
            "times": 2, "nth": 3
        })))
        .unwrap();
        assert_eq!(
            rule.to_text(),
            r#"GET /users/* status=429 header=retry-after:1 body={"errors":{"base":["Slow down"]}} nth=3 times=2"#
        );
        // The listed form parses back into the same rule.
        assert_eq!(parse(&rule.to_json()), Ok(rule.clone()));
        let text = parse(&object(json!({"text": rule.to_text()}))).unwrap();
        assert_eq!(text, rule);

        for value in [
            json!({"method": "*", "path": "/**", "latency_ms": 250, "probability": 0.5, "seed": 9}),
            json!({"method": "POST", "path": "/blobs", "cut": "after-headers", "times": "always"}),
        ] {
            let rule = parse(&object(value)).unwrap();
            assert_eq!(parse(&rule.to_json()), Ok(rule));
        }
    }

    #[test]
    fn bad_fields_are_named() {
        let too_slow = u64::try_from(FAULT_LATENCY_MAX.as_millis()).unwrap() + 1;
        for (value, field) in [
            (json!({"path": "/x", "status": 503}), "method"),
            (json!({"method": "GET", "status": 503}), "path"),
            (json!({"method": 1, "path": "/x", "status": 503}), "method"),
            (
                json!({"method": "GET", "path": "/x", "status": "503"}),
                "status",
            ),
            (
                json!({"method": "GET", "path": "/x", "status": 70000}),
                "status",
            ),
            (
                json!({"method": "GET", "path": "/x", "latency_ms": -1}),
                "latency",
            ),
            (
                json!({"method": "GET", "path": "/x", "latency_ms": too_slow}),
                "latency",
            ),
            (
                json!({"method": "GET", "path": "/x", "status": 503, "headers": []}),
                "headers",
            ),
            (
                json!({"method": "GET", "path": "/x", "status": 503, "headers": {"a": 1}}),
                "headers",
            ),
            (
                json!({"method": "GET", "path": "/x", "status": 503, "times": -1}),
                "times",
            ),
            (
                json!({"method": "GET", "path": "/x", "status": 503, "probability": "x"}),
                "probability",
            ),
            (
                json!({"method": "GET", "path": "/x", "status": 503, "extra": 1}),
                "rule",
            ),
            (json!({"text": "GET /x status=503", "status": 502}), "text"),
            (json!({"text": 5}), "text"),
            (json!({"text": "GET /x"}), "rule"),
        ] {
            let err = parse(&object(value.clone())).expect_err(&value.to_string());
            assert_eq!(err.field, field, "{value}: {err}");
        }
    }
}
