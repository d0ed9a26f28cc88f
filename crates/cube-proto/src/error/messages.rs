//! The messages of an error body, whichever of its three shapes it came in
//! (`docs/PROTOCOL.md`, "Errors"): the object form with general messages
//! under `base`, the object form with per-field messages, and the array
//! form. Both forms of a general message read the same, so nothing that
//! classifies an error depends on the form.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// The messages of an error body, in whichever of the three shapes it came:
/// general messages in `base`, per-field messages in `fields`.
///
/// ```
/// use cube_proto::error::ErrorMessages;
/// let m = ErrorMessages::parse(br#"{"errors": {"login": ["has already been taken"]}}"#);
/// assert_eq!(m.fields["login"], ["has already been taken"]);
/// let m = ErrorMessages::parse(br#"{"errors": ["Token is required"]}"#);
/// assert_eq!(m.base, ["Token is required"]);
/// let m = ErrorMessages::parse(b"<html>Bad gateway</html>");
/// assert!(m.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorMessages {
    /// General messages (`errors.base`, or the array form).
    pub base: Vec<String>,
    /// Messages about one field each, by field name.
    pub fields: BTreeMap<String, Vec<String>>,
}

impl ErrorMessages {
    /// Parses any body; an empty, non-JSON or unexpected body gives no messages.
    pub fn parse(body: &[u8]) -> Self {
        let mut out = Self::default();
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return out;
        };
        match value.get("errors") {
            Some(Value::Object(map)) => {
                for (field, v) in map {
                    let list = strings(v);
                    if field == "base" {
                        out.base.extend(list);
                    } else {
                        out.fields.entry(field.clone()).or_default().extend(list);
                    }
                }
            }
            Some(other @ (Value::Array(_) | Value::String(_))) => out.base = strings(other),
            _ => {
                // Some gateways answer {"message": "..."} or {"error": "..."}.
                for key in ["message", "error"] {
                    if let Some(Value::String(s)) = value.get(key) {
                        out.base.push(s.clone());
                    }
                }
            }
        }
        out
    }

    /// True when the body carried no message at all.
    pub fn is_empty(&self) -> bool {
        self.base.is_empty() && self.fields.is_empty()
    }

    /// Every per-field message as a `(field, message)` pair, fields in
    /// name order, each field's messages in the order the server sent them.
    pub fn field_messages(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().flat_map(|(field, messages)| {
            messages
                .iter()
                .map(move |message| (field.as_str(), message.as_str()))
        })
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Null => Vec::new(),
        other => vec![other.to_string()],
    }
}

impl fmt::Display for ErrorMessages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("(no message)");
        }
        let mut first = true;
        let mut sep = |f: &mut fmt::Formatter<'_>| {
            let r = if first { Ok(()) } else { f.write_str("; ") };
            first = false;
            r
        };
        for m in &self.base {
            sep(f)?;
            f.write_str(m)?;
        }
        for (field, list) in &self.fields {
            sep(f)?;
            write!(f, "{field} {}", list.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SESSION_MISSING;

    #[test]
    fn three_shapes_and_garbage() {
        let m =
            ErrorMessages::parse(br#"{"errors": {"base": ["Required session does not exist"]}}"#);
        assert_eq!(m.base, [SESSION_MISSING]);
        let m = ErrorMessages::parse(
            br#"{"errors": {"login": ["has already been taken"], "password": ["is too short"]}}"#,
        );
        assert_eq!(m.fields.len(), 2);
        assert_eq!(m.fields["password"], ["is too short"]);
        assert_eq!(
            m.to_string(),
            "login has already been taken; password is too short"
        );
        let m = ErrorMessages::parse(br#"{"errors": ["Token is required"]}"#);
        assert_eq!(m.base, ["Token is required"]);
        for body in [
            &b""[..],
            b"not json",
            b"<html><body>502</body></html>",
            b"[1,2]",
            b"null",
        ] {
            assert!(ErrorMessages::parse(body).is_empty());
        }
    }

    #[test]
    fn a_general_message_reads_the_same_in_both_forms() {
        for message in [
            "Unauthorized",
            "Invalid password",
            "User not found",
            "Token is required",
        ] {
            let object = ErrorMessages::parse(
                format!(r#"{{"errors": {{"base": ["{message}"]}}}}"#).as_bytes(),
            );
            let array = ErrorMessages::parse(format!(r#"{{"errors": ["{message}"]}}"#).as_bytes());
            assert_eq!(object, array, "{message}");
            assert_eq!(array.base, [message]);
        }
    }
}
