//! Query strings: the bracketed form the API reads, percent-encoded
//! throughout.
//!
//! A server decodes a query as `application/x-www-form-urlencoded`, where `+`
//! is a space. So every value (and every key part that is not the bracket
//! structure itself) is percent-encoded with only the RFC 3986 unreserved
//! characters left as they are: a space becomes `%20`, a literal `+` becomes
//! `%2B`, and `&`, `=`, `#`, `%`, non-ASCII text and emoji are all escaped.
//! Brackets that give a key its structure (`id[in][]`) stay literal.
//!
//! ```
//! use cube_proto::query::Query;
//! let mut q = Query::new();
//! q.push_list("id", &["in"], [1.to_string(), 2.to_string()]);
//! q.push("phone", "+61 107");
//! q.push("full_name", "Zoë & 🐱#1");
//! assert_eq!(
//!     q.as_str(),
//!     "id[in][]=1&id[in][]=2&phone=%2B61%20107&full_name=Zo%C3%AB%20%26%20%F0%9F%90%B1%231"
//! );
//! ```

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use std::fmt;

/// Everything but the RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one query component (a key part or a value).
///
/// ```
/// assert_eq!(cube_proto::query::encode("a+b c/d"), "a%2Bb%20c%2Fd");
/// ```
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, COMPONENT).to_string()
}

/// Percent-decodes one component the way JavaScript's `decodeURIComponent`
/// does: `%XX` sequences become bytes, and a `+` stays a literal plus (it is
/// **not** a space). Invalid UTF-8 after decoding gives `None`; a `%` not
/// followed by two hex digits is kept as it is.
///
/// ```
/// use cube_proto::query::decode;
/// assert_eq!(decode("a+b%20c%2B").as_deref(), Some("a+b c+"));
/// assert_eq!(decode("%FF"), None);
/// ```
pub fn decode(text: &str) -> Option<String> {
    percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Splits a query string (without `?`) into decoded `(key, value)` pairs, in
/// order, with [`decode`] semantics (`+` stays a plus). Empty segments are
/// skipped; a segment without `=` has an empty value. `None` when a part is
/// not valid UTF-8 once decoded.
///
/// ```
/// use cube_proto::query::pairs;
/// let p = pairs("key=a%2Fb+c&acl=public-read&flag").unwrap();
/// assert_eq!(p[0], ("key".to_owned(), "a/b+c".to_owned()));
/// assert_eq!(p[2], ("flag".to_owned(), String::new()));
/// ```
pub fn pairs(query: &str) -> Option<Vec<(String, String)>> {
    query
        .split('&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| {
            let (key, value) = segment.split_once('=').unwrap_or((segment, ""));
            Some((decode(key)?, decode(value)?))
        })
        .collect()
}

/// An encoded query string under construction, in insertion order.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Query {
    encoded: String,
}

impl Query {
    /// An empty query.
    pub fn new() -> Self {
        Self::default()
    }

    fn pair(&mut self, key: &str, value: &str) {
        if !self.encoded.is_empty() {
            self.encoded.push('&');
        }
        self.encoded.push_str(key);
        self.encoded.push('=');
        self.encoded.push_str(&encode(value));
    }

    /// Appends `name=value`; both are percent-encoded.
    pub fn push(&mut self, name: &str, value: &str) -> &mut Self {
        self.pair(&encode(name), value);
        self
    }

    /// Appends `name[p1][p2]=value`: the name and each bracketed part are
    /// percent-encoded, the brackets stay literal.
    pub fn push_nested(&mut self, name: &str, parts: &[&str], value: &str) -> &mut Self {
        let key = nested_key(name, parts, false);
        self.pair(&key, value);
        self
    }

    /// Appends `name[p1]…[]=v` once per value: the array form
    /// (`id[in][]=1&id[in][]=2`, `filter[]=…`).
    pub fn push_list<I, S>(&mut self, name: &str, parts: &[&str], values: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let key = nested_key(name, parts, true);
        for value in values {
            self.pair(&key, value.as_ref());
        }
        self
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.encoded.is_empty()
    }

    /// The encoded query, without the leading `?`.
    pub fn as_str(&self) -> &str {
        &self.encoded
    }

    /// The encoded query, or `None` when it is empty (what
    /// [`Config::url`](crate::Config::url) takes).
    pub fn as_option(&self) -> Option<&str> {
        (!self.is_empty()).then_some(self.as_str())
    }
}

fn nested_key(name: &str, parts: &[&str], list: bool) -> String {
    let mut key = encode(name);
    for part in parts {
        key.push('[');
        key.push_str(&encode(part));
        key.push(']');
    }
    if list {
        key.push_str("[]");
    }
    key
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encoded)
    }
}

impl fmt::Debug for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Query").field(&self.encoded).finish()
    }
}

/// Percent-encodes one path segment (an external id, a blob uid): `/`, `?`,
/// `#`, `%` and everything else but the unreserved characters are escaped.
pub(crate) fn segment(text: &str) -> String {
    encode(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_special_character_is_encoded() {
        let mut q = Query::new();
        q.push("v", " +&=#%?/\u{e9}\u{1F600}\"'<>[]");
        assert_eq!(
            q.as_str(),
            "v=%20%2B%26%3D%23%25%3F%2F%C3%A9%F0%9F%98%80%22%27%3C%3E%5B%5D"
        );
        assert_eq!(
            pairs(q.as_str()).unwrap(),
            [("v".into(), " +&=#%?/\u{e9}\u{1F600}\"'<>[]".into())]
        );
    }

    #[test]
    fn nested_keys_keep_their_brackets_and_encode_their_parts() {
        let mut q = Query::new();
        q.push_nested("user tags", &["start with"], "abcd");
        q.push_list("filter", &[], ["number id gt 5"]);
        assert_eq!(
            q.as_str(),
            "user%20tags[start%20with]=abcd&filter[]=number%20id%20gt%205"
        );
        let uri: http::Uri = format!("http://h/users?{q}").parse().unwrap();
        assert_eq!(uri.query(), Some(q.as_str()));
    }

    #[test]
    fn decode_keeps_plus_and_refuses_bad_utf8() {
        assert_eq!(decode("1+1%3D2").as_deref(), Some("1+1=2"));
        assert_eq!(decode("100%").as_deref(), Some("100%"));
        assert_eq!(decode("%C3"), None);
        assert_eq!(pairs("").unwrap(), []);
        assert_eq!(pairs("a=%C3"), None);
    }
}
