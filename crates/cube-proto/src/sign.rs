//! The `POST /session` signature (`docs/PROTOCOL.md`, "Signature").

use crate::config::SignatureAlgorithm;
use crate::secret::Secret;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value};
use std::borrow::Cow;

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
    let pairs = signed_pairs(params);
    let mut out = String::with_capacity(pairs.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
    for (k, v) in &pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// The `key=value` pairs that are signed, in signing order: keys are
/// borrowed from `params` where they are not nested, values where they are
/// strings.
fn signed_pairs(params: &Map<String, Value>) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    let mut pairs = Vec::with_capacity(params.len() + 4);
    for (key, value) in params {
        if key != "signature" {
            flatten(Cow::Borrowed(key), value, &mut pairs);
        }
    }
    // Stable sort on the key alone: equal keys (array items) keep their order.
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    pairs
}

fn flatten<'a>(key: Cow<'a, str>, value: &'a Value, out: &mut Vec<(Cow<'a, str>, Cow<'a, str>)>) {
    let nested = |inner: &str| {
        let mut k = String::with_capacity(key.len() + inner.len() + 2);
        k.push_str(&key);
        k.push('[');
        k.push_str(inner);
        k.push(']');
        Cow::Owned(k)
    };
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten(nested(k), v, out);
            }
        }
        Value::Array(items) => {
            for v in items {
                flatten(nested(""), v, out);
            }
        }
        Value::String(s) => out.push((key, Cow::Borrowed(s))),
        // A null is not sent as a value the server can see; sign it as empty.
        Value::Null => out.push((key, Cow::Borrowed(""))),
        // Numbers and booleans are signed as their JSON text.
        other => out.push((key, Cow::Owned(other.to_string()))),
    }
}

/// Lowercase hex HMAC of `message` keyed with `secret`.
pub fn hmac_hex(algorithm: SignatureAlgorithm, secret: &Secret, message: &str) -> String {
    Signer::new(algorithm, secret).hex([message.as_bytes()])
}

/// Signs a parameter object: the signature of [`string_to_sign`].
pub fn signature(
    algorithm: SignatureAlgorithm,
    secret: &Secret,
    params: &Map<String, Value>,
) -> String {
    Signer::new(algorithm, secret).sign(params)
}

/// An HMAC already keyed with the auth secret, kept by the configuration
/// so that each session request only hashes its own parameters. It holds
/// key material: `Debug` shows the algorithm only.
#[derive(Clone)]
pub(crate) enum Signer {
    Sha1(Hmac<sha1::Sha1>),
    Sha256(Hmac<sha2::Sha256>),
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Signer::Sha1(_) => "Signer(HMAC-SHA1)",
            Signer::Sha256(_) => "Signer(HMAC-SHA256)",
        })
    }
}

impl Signer {
    pub(crate) fn new(algorithm: SignatureAlgorithm, secret: &Secret) -> Self {
        let key = secret.expose().as_bytes();
        // HMAC accepts keys of any length, so neither can fail.
        match algorithm {
            SignatureAlgorithm::HmacSha1 => Signer::Sha1(
                <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(key)
                    .expect("HMAC takes keys of any length"),
            ),
            SignatureAlgorithm::HmacSha256 => Signer::Sha256(
                <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key)
                    .expect("HMAC takes keys of any length"),
            ),
        }
    }

    /// The signature of `params`: the string to sign is fed to the HMAC
    /// piece by piece rather than built.
    pub(crate) fn sign(&self, params: &Map<String, Value>) -> String {
        let pairs = signed_pairs(params);
        let parts = pairs.iter().enumerate().flat_map(|(i, (k, v))| {
            let separator: &[u8] = if i == 0 { b"" } else { b"&" };
            [separator, k.as_bytes(), b"=", v.as_bytes()]
        });
        self.hex(parts)
    }

    /// Lowercase hex HMAC of the concatenated `parts`.
    fn hex<'a>(&self, parts: impl IntoIterator<Item = &'a [u8]>) -> String {
        fn digest<'p, M: Mac + Clone>(
            mac: &M,
            parts: impl IntoIterator<Item = &'p [u8]>,
        ) -> String {
            let mut mac = mac.clone();
            for part in parts {
                mac.update(part);
            }
            to_hex(&mac.finalize().into_bytes())
        }
        match self {
            Signer::Sha1(mac) => digest(mac, parts),
            Signer::Sha256(mac) => digest(mac, parts),
        }
    }
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

    #[test]
    fn hmac_hex_is_the_published_hmac_and_the_signature_of_the_string_to_sign() {
        // RFC 2202 and RFC 4231, test case 2 of each.
        let jefe = Secret::new("Jefe");
        let message = "what do ya want for nothing?";
        assert_eq!(
            hmac_hex(SignatureAlgorithm::HmacSha1, &jefe, message),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        assert_eq!(
            hmac_hex(SignatureAlgorithm::HmacSha256, &jefe, message),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let p = user_params();
        let secret = Secret::new(SECRET);
        for algorithm in [SignatureAlgorithm::HmacSha1, SignatureAlgorithm::HmacSha256] {
            assert_eq!(
                hmac_hex(algorithm, &secret, &string_to_sign(&p)),
                signature(algorithm, &secret, &p)
            );
        }
    }

    #[test]
    fn a_signer_s_debug_names_its_algorithm_and_no_key() {
        let secret = Secret::new(SECRET);
        let sha1 = format!("{:?}", Signer::new(SignatureAlgorithm::HmacSha1, &secret));
        let sha256 = format!("{:?}", Signer::new(SignatureAlgorithm::HmacSha256, &secret));
        assert_eq!(sha1, "Signer(HMAC-SHA1)");
        assert_eq!(sha256, "Signer(HMAC-SHA256)");
    }
}
