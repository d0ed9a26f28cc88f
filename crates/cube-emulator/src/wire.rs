//! What arrives on the wire, turned into values: query strings and form
//! bodies (with bracketed keys), JSON bodies, and the flattened parameter
//! string a create-session signature covers.

use serde_json::{Map, Value};

use crate::error::ApiError;

pub(crate) use crate::limits::MAX_BODY;

/// Decodes one `application/x-www-form-urlencoded` component strictly:
/// `+` is a space, `%` must start two hex digits, the result must be UTF-8.
pub(crate) fn decode_component(raw: &str, plus_is_space: bool) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hi = char::from(*bytes.get(i + 1)?).to_digit(16)?;
                let lo = char::from(*bytes.get(i + 2)?).to_digit(16)?;
                out.push(u8::try_from(hi * 16 + lo).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
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

/// Builds a JSON object from bracketed form pairs: `user[login]=x` becomes
/// `{"user": {"login": "x"}}` and `tags[]=a&tags[]=b` becomes
/// `{"tags": ["a", "b"]}`. A key used in two incompatible shapes is `400`.
pub(crate) fn pairs_to_json(pairs: &[(String, String)]) -> Result<Value, ApiError> {
    let mut root = Value::Object(Map::new());
    for (key, value) in pairs {
        let path =
            split_key(key).ok_or_else(|| ApiError::bad_request("Malformed parameter name"))?;
        insert(&mut root, &path, value.clone())
            .ok_or_else(|| ApiError::bad_request("Conflicting parameter names"))?;
    }
    Ok(root)
}

/// `a[b][]` → `["a", "b", ""]`; `None` for unbalanced brackets.
fn split_key(key: &str) -> Option<Vec<&str>> {
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if head.is_empty() {
        return None;
    }
    let mut path = vec![head];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let end = inner.find(']')?;
        path.push(&inner[..end]);
        rest = &inner[end + 1..];
    }
    Some(path)
}

fn insert(node: &mut Value, path: &[&str], value: String) -> Option<()> {
    let Some((first, rest)) = path.split_first() else {
        return Some(());
    };
    if first.is_empty() {
        // `[]`: append to an array.
        let items = node.as_array_mut()?;
        if rest.is_empty() {
            items.push(Value::String(value));
            return Some(());
        }
        items.push(Value::Object(Map::new()));
        return insert(items.last_mut()?, rest, value);
    }
    let map = node.as_object_mut()?;
    if rest.is_empty() {
        map.insert((*first).to_owned(), Value::String(value));
        return Some(());
    }
    let child = map.entry((*first).to_owned()).or_insert_with(|| {
        if rest[0].is_empty() {
            Value::Array(Vec::new())
        } else {
            Value::Object(Map::new())
        }
    });
    insert(child, rest, value)
}

/// Parses a request body by its content type: JSON (any charset) or a
/// bracketed form. An empty body is an empty object.
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
        return pairs_to_json(&parse_pairs(text)?);
    }
    serde_json::from_slice(body).map_err(|_| ApiError::bad_request("Malformed JSON body"))
}

/// The string a create-session signature covers: every parameter but
/// `signature`, nested objects flattened to `a[b]=v`, sorted by key (byte
/// order, stable), joined with `&`, values exactly as sent.
pub(crate) fn signature_base(params: &Map<String, Value>) -> String {
    let mut pairs = Vec::new();
    for (key, value) in params {
        if key != "signature" {
            flatten(key.clone(), value, &mut pairs);
        }
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn flatten(key: String, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten(format!("{key}[{k}]"), v, out);
            }
        }
        Value::Array(items) => {
            for v in items {
                flatten(format!("{key}[]"), v, out);
            }
        }
        Value::String(s) => out.push((key, s.clone())),
        Value::Null => out.push((key, String::new())),
        other => out.push((key, other.to_string())),
    }
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

/// A truthy flag: `1`, `"1"`, `true`, `"true"`.
pub(crate) fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_i64().is_some_and(|n| n != 0),
        Value::String(s) => matches!(s.as_str(), "1" | "true"),
        _ => false,
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
    fn bracketed_forms_nest() {
        let pairs = parse_pairs("user[login]=john&user[password]=x&tags[]=a&tags[]=b&n=1").unwrap();
        assert_eq!(
            pairs_to_json(&pairs).unwrap(),
            json!({"user": {"login": "john", "password": "x"}, "tags": ["a", "b"], "n": "1"})
        );
        assert!(pairs_to_json(&parse_pairs("a=1&a[b]=2").unwrap()).is_err());
        assert!(pairs_to_json(&parse_pairs("a[b=1").unwrap()).is_err());
    }

    #[test]
    fn signature_base_matches_protocol_vectors() {
        let body = json!({"application_id": 1, "auth_key": "29WfrNWdvkhmX6V", "nonce": 7,
            "timestamp": 1572434294, "provider": "twitter",
            "keys": {"token": "tok en&x", "secret": "sêcret"}, "signature": "x"});
        assert_eq!(
            signature_base(body.as_object().unwrap()),
            "application_id=1&auth_key=29WfrNWdvkhmX6V&keys[secret]=sêcret&keys[token]=tok en&x&nonce=7&provider=twitter&timestamp=1572434294"
        );
        let body = json!({"application_id": "1", "auth_key": "29WfrNWdvkhmX6V", "nonce": "4214611091",
            "timestamp": 1544010993, "user": {"login": "john", "password": "11111111"}});
        assert_eq!(
            signature_base(body.as_object().unwrap()),
            "application_id=1&auth_key=29WfrNWdvkhmX6V&nonce=4214611091&timestamp=1544010993&user[login]=john&user[password]=11111111"
        );
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
