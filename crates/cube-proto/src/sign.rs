//! The `POST /session` signature (`docs/PROTOCOL.md`, "Signature").

use crate::config::SignatureAlgorithm;
use crate::secret::Secret;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value};

/// The string that is signed: every parameter but `signature`, flattened to
/// `key=value` (nested objects as `outer[inner]`), sorted by key in byte
/// order, joined with `&`, values exactly as sent (no URL-encoding).
///
/// ```
/// use serde_json::json;
/// let params = json!({"application_id": 1, "user": {"login": "john"}, "auth_key": "k"});
/// assert_eq!(
///     cube_proto::sign::string_to_sign(params.as_object().unwrap()),
///     "application_id=1&auth_key=k&user[login]=john"
/// );
/// ```
pub fn string_to_sign(params: &Map<String, Value>) -> String {
    let mut pairs = Vec::new();
    for (key, value) in params {
        if key != "signature" {
            flatten(key.clone(), value, &mut pairs);
        }
    }
    // Stable sort on the key alone: equal keys (array items) keep their order.
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
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
        // A null is not sent as a value the server can see; sign it as empty.
        Value::Null => out.push((key, String::new())),
        // Numbers and booleans are signed as their JSON text.
        other => out.push((key, other.to_string())),
    }
}

/// Lowercase hex HMAC of `message` keyed with `secret`.
pub fn hmac_hex(algorithm: SignatureAlgorithm, secret: &Secret, message: &str) -> String {
    let key = secret.expose().as_bytes();
    let bytes = match algorithm {
        SignatureAlgorithm::HmacSha1 => {
            // HMAC accepts keys of any length, so this cannot fail.
            let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(key)
                .expect("HMAC takes keys of any length");
            mac.update(message.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        SignatureAlgorithm::HmacSha256 => {
            let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key)
                .expect("HMAC takes keys of any length");
            mac.update(message.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
    };
    to_hex(&bytes)
}

/// Signs a parameter object: the signature of [`string_to_sign`].
pub fn signature(
    algorithm: SignatureAlgorithm,
    secret: &Secret,
    params: &Map<String, Value>,
) -> String {
    hmac_hex(algorithm, secret, &string_to_sign(params))
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "EmulatorSecret42";

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn vector_1_application_session_sha1() {
        let p = obj(json!({"application_id": 1, "auth_key": "29WfrNWdvkhmX6V",
                           "nonce": 33432, "timestamp": 1572434294}));
        let s = string_to_sign(&p);
        assert_eq!(
            s,
            "application_id=1&auth_key=29WfrNWdvkhmX6V&nonce=33432&timestamp=1572434294"
        );
        assert_eq!(
            signature(SignatureAlgorithm::HmacSha1, &Secret::new(SECRET), &p),
            "7f5decc529cf02cd12fa092d712116f76f344673"
        );
    }

    fn user_params() -> Map<String, Value> {
        obj(json!({"application_id": 1, "auth_key": "29WfrNWdvkhmX6V",
                   "nonce": 4214611091u64, "timestamp": 1544010993,
                   "user": {"login": "john", "password": "11111111"}}))
    }

    #[test]
    fn vector_2_user_session_sha1() {
        let p = user_params();
        assert_eq!(
            string_to_sign(&p),
            "application_id=1&auth_key=29WfrNWdvkhmX6V&nonce=4214611091&timestamp=1544010993&user[login]=john&user[password]=11111111"
        );
        assert_eq!(
            signature(SignatureAlgorithm::HmacSha1, &Secret::new(SECRET), &p),
            "58c8402415442692cd3a91fe45d7cf2b97bed9ee"
        );
    }

    #[test]
    fn vector_3_user_session_sha256() {
        assert_eq!(
            signature(
                SignatureAlgorithm::HmacSha256,
                &Secret::new(SECRET),
                &user_params()
            ),
            "1375fc7b7cb4e184d4e1e4a81eb396225c446f46764b2a43f92c3cc6c8a174dc"
        );
    }

    #[test]
    fn vector_4_twitter_unencoded_unicode_values() {
        let p = obj(
            json!({"application_id": 1, "auth_key": "29WfrNWdvkhmX6V", "nonce": 7,
                           "timestamp": 1572434294, "provider": "twitter",
                           "keys": {"token": "tok en&x", "secret": "sêcret"}}),
        );
        assert_eq!(
            string_to_sign(&p),
            "application_id=1&auth_key=29WfrNWdvkhmX6V&keys[secret]=sêcret&keys[token]=tok en&x&nonce=7&provider=twitter&timestamp=1572434294"
        );
        assert_eq!(
            signature(SignatureAlgorithm::HmacSha1, &Secret::new(SECRET), &p),
            "256c618c4a80f83bb7a01ee4eb97aba581f7ee85"
        );
    }

    #[test]
    fn signature_param_is_excluded_and_booleans_are_json_text() {
        let p = obj(json!({"b": true, "signature": "zzz", "a": "x"}));
        assert_eq!(string_to_sign(&p), "a=x&b=true");
    }
}
