//! What arrives on the wire, turned into values: query strings, request
//! bodies (JSON, or forms with bracketed keys, see [`crate::form`]), and
//! the flattened parameter string a create-session signature covers.

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::form;

pub(crate) use crate::limits::MAX_BODY;

/// Decodes one `application/x-www-form-urlencoded` component strictly:
/// `+` is a space (when `plus_is_space`), `%` must start two hex digits
/// (the `percent-encoding` crate passes a malformed one through as text,
/// so it is checked first), and the result must be UTF-8.
pub(crate) fn decode_component(raw: &str, plus_is_space: bool) -> Option<String> {
    let bytes = raw.as_bytes();
    let well_formed = memchr::memchr_iter(b'%', bytes).all(|i| {
        bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    });
    if !well_formed {
        return None;
    }
    let decoded: Vec<u8> = if plus_is_space && bytes.contains(&b'+') {
        let spaced = raw.replace('+', " ");
        percent_encoding::percent_decode_str(&spaced).collect()
    } else {
        percent_encoding::percent_decode(bytes).collect()
    };
    String::from_utf8(decoded).ok()
}

/// What [`encode_component`] leaves alone: RFC 3986's unreserved characters.
const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a query component: a space is `%20`, `+` is `%2B`.
pub(crate) fn encode_component(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, COMPONENT).to_string()
}

/// Splits a query string or form body into decoded `(key, value)` pairs,
/// in order. Anything undecodable is `400`.
pub(crate) fn parse_pairs(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    query
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            match (decode_component(k, true), decode_component(v, true)) {
                (Some(k), Some(v)) => Ok((k, v)),
                _ => Err(ApiError::bad_request("Malformed query string")),
            }
        })
        .collect()
}

/// Parses a request body by its content type: JSON (any charset) or a
/// bracketed form. An empty body is an empty object. Either kind nests at
/// most [`form::MAX_DEPTH`] levels (`400` beyond).
pub(crate) fn parse_body(content_type: Option<&str>, body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    let is_form = content_type.is_some_and(|ct| {
        ct.trim_start()
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    if is_form {
        let text =
            std::str::from_utf8(body).map_err(|_| ApiError::bad_request("Malformed form body"))?;
        return Ok(form::pairs_to_json(&parse_pairs(text)?)?);
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|_| ApiError::bad_request("Malformed JSON body"))?;
    if form::depth(&value) > form::MAX_DEPTH {
        return Err(form::FormError::TooDeep.into());
    }
    Ok(value)
}

/// About how many bytes `value` occupies once parsed (every value, the
/// text of strings and keys, the overhead of map entries), counted without
/// recursion: a 1 MiB body can parse into far more than 1 MiB.
pub(crate) fn heap_size(value: &Value) -> usize {
    const MAP_ENTRY: usize = 48;
    let mut total = 0usize;
    let mut stack = vec![value];
    while let Some(node) = stack.pop() {
        total = total.saturating_add(std::mem::size_of::<Value>());
        match node {
            Value::String(s) => total = total.saturating_add(s.len()),
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => {
                for (key, child) in map {
                    total = total.saturating_add(key.len() + MAP_ENTRY);
                    stack.push(child);
                }
            }
            _ => {}
        }
    }
    total
}

pub(crate) use crate::limits::MAX_SIGNATURE_BASE;

/// The string a create-session signature covers: every parameter but
/// `signature`, nested objects flattened to `a[b]=v`, arrays to `a[]=v`,
/// sorted by key (byte order, stable), joined with `&`, values exactly as
/// sent. Built without recursion; `None` once it would pass
/// [`MAX_SIGNATURE_BASE`] bytes (counting every key built on the way).
pub(crate) fn signature_base(params: &Map<String, Value>) -> Option<String> {
    let mut budget = MAX_SIGNATURE_BASE;
    let mut spend = |n: usize| -> Option<()> {
        budget = budget.checked_sub(n)?;
        Some(())
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    // Depth first, in document order: children are pushed in reverse.
    let mut stack: Vec<(String, &Value)> = Vec::new();
    for (key, value) in params.iter().rev() {
        if key != "signature" {
            spend(key.len())?;
            stack.push((key.clone(), value));
        }
    }
    while let Some((key, value)) = stack.pop() {
        match value {
            Value::Object(map) => {
                for (k, v) in map.iter().rev() {
                    spend(key.len() + k.len() + 2)?;
                    stack.push((format!("{key}[{k}]"), v));
                }
            }
            Value::Array(items) => {
                for v in items.iter().rev() {
                    spend(key.len() + 2)?;
                    stack.push((format!("{key}[]"), v));
                }
            }
            Value::String(s) => {
                spend(s.len() + 2)?;
                pairs.push((key, s.clone()));
            }
            Value::Null => {
                spend(2)?;
                pairs.push((key, String::new()));
            }
            other => {
                let text = other.to_string();
                spend(text.len() + 2)?;
                pairs.push((key, text));
            }
        }
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut base = String::with_capacity(MAX_SIGNATURE_BASE - budget);
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            base.push('&');
        }
        base.push_str(k);
        base.push('=');
        base.push_str(v);
    }
    Some(base)
}

/// An integer sent as a JSON number or a digit string (`1` or `"1"`).
pub(crate) fn int_like(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An unsigned integer sent as a number or a digit string.
pub(crate) fn uint_like(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    }
}

/// A boolean sent as JSON `true`/`false`, `1`/`0`, or (as forms send
/// them) `"true"`/`"false"`/`"1"`/`"0"`; `None` for anything else, which
/// callers refuse (`422`) rather than guess.
pub(crate) fn flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_u64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The first value of `key` in decoded query pairs.
pub(crate) fn query_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strict_decoding() {
        assert_eq!(
            decode_component("a+b%2B%20c", true).as_deref(),
            Some("a b+ c")
        );
        assert_eq!(decode_component("%zz", true), None);
        assert_eq!(decode_component("%4", true), None);
        assert_eq!(decode_component("%ff", true), None);
        assert!(parse_pairs("a=%").is_err());
    }

    #[test]
    fn signature_base_matches_protocol_vectors() {
        let body = json!({"application_id": 1, "auth_key": "29WfrNWdvkhmX6V", "nonce": 7,
            "timestamp": 1572434294, "provider": "twitter",
            "keys": {"token": "tok en&x", "secret": "sêcret"}, "signature": "x"});
        assert_eq!(
            signature_base(body.as_object().unwrap()).unwrap(),
            "application_id=1&auth_key=29WfrNWdvkhmX6V&keys[secret]=sêcret&keys[token]=tok en&x&nonce=7&provider=twitter&timestamp=1572434294"
        );
        let body = json!({"application_id": "1", "auth_key": "29WfrNWdvkhmX6V", "nonce": "4214611091",
            "timestamp": 1544010993, "user": {"login": "john", "password": "11111111"}});
        assert_eq!(
            signature_base(body.as_object().unwrap()).unwrap(),
            "application_id=1&auth_key=29WfrNWdvkhmX6V&nonce=4214611091&timestamp=1544010993&user[login]=john&user[password]=11111111"
        );
    }

    #[test]
    fn signature_base_keeps_array_order_and_flattens_nulls() {
        let body = json!({"tags": ["b", "a"], "t": null, "n": {"x": [true, 1.5]}});
        assert_eq!(
            signature_base(body.as_object().unwrap()).unwrap(),
            "n[x][]=true&n[x][]=1.5&t=&tags[]=b&tags[]=a"
        );
    }

    #[test]
    fn signature_base_is_bounded() {
        // One key and its value: `k` + the value + 2 separators, exactly
        // at the limit, then one byte past it.
        let fits = json!({"k": "x".repeat(MAX_SIGNATURE_BASE - 3)});
        assert_eq!(
            signature_base(fits.as_object().unwrap()).map(|b| b.len()),
            Some(MAX_SIGNATURE_BASE - 1)
        );
        let past = json!({"k": "x".repeat(MAX_SIGNATURE_BASE - 2)});
        assert_eq!(signature_base(past.as_object().unwrap()), None);
        // A long key repeated at every leaf: a 100 KB body whose base
        // would be 40 times larger is refused before it is built.
        let leaves: Map<String, Value> = (0..40).map(|i| (i.to_string(), json!(1))).collect();
        let amplified = json!({ "k".repeat(100_000): leaves });
        assert_eq!(signature_base(amplified.as_object().unwrap()), None);
    }

    #[test]
    fn heap_size_grows_with_what_a_body_parses_into() {
        let small = heap_size(&json!({"a": "b"}));
        assert!(small >= 2 * std::mem::size_of::<Value>() + 2);
        // A megabyte of zeros in an array is sixteen times that in values.
        let zeros: Value = serde_json::from_str(&format!("[{}0]", "0,".repeat(500_000))).unwrap();
        assert!(heap_size(&zeros) > 16 * 500_000);
    }

    #[test]
    fn flags_are_strict() {
        for (value, expected) in [
            (json!(true), Some(true)),
            (json!(false), Some(false)),
            (json!(1), Some(true)),
            (json!(0), Some(false)),
            (json!("true"), Some(true)),
            (json!("1"), Some(true)),
            (json!("false"), Some(false)),
            (json!("0"), Some(false)),
            (json!("maybe"), None),
            (json!("yes"), None),
            (json!(2), None),
            (json!(-1), None),
            (json!(1.0), None),
            (json!(null), None),
            (json!([]), None),
        ] {
            assert_eq!(flag(&value), expected, "{value}");
        }
    }

    #[test]
    fn bodies_nest_at_most_max_depth_levels() {
        let nested =
            |levels: usize| format!("{}1{}", r#"{"a":"#.repeat(levels), "}".repeat(levels));
        let at_limit = parse_body(None, nested(form::MAX_DEPTH).as_bytes()).unwrap();
        assert_eq!(form::depth(&at_limit), form::MAX_DEPTH);
        assert_eq!(
            parse_body(None, nested(form::MAX_DEPTH + 1).as_bytes())
                .unwrap_err()
                .status,
            http::StatusCode::BAD_REQUEST
        );
        let form_key = |levels: usize| format!("a{}=1", "[a]".repeat(levels - 1));
        let form = Some("application/x-www-form-urlencoded");
        assert!(parse_body(form, form_key(form::MAX_DEPTH).as_bytes()).is_ok());
        assert!(parse_body(form, form_key(form::MAX_DEPTH + 1).as_bytes()).is_err());
    }

    #[test]
    fn bodies() {
        assert_eq!(parse_body(None, b"").unwrap(), json!({}));
        assert!(parse_body(Some("application/json"), b"{nope").is_err());
        assert_eq!(
            parse_body(Some("application/x-www-form-urlencoded"), b"email=a%40b.c").unwrap(),
            json!({"email": "a@b.c"})
        );
    }
}
