//! Text made safe for a terminal. What `cube` prints comes partly from the
//! server (another user's `full_name`, a server's error message) and from
//! files it reads; a control character in it must not reach the terminal,
//! where ESC could clear the screen, CR rewrite the line, or OSC 52 set the
//! clipboard, and a bidi override could make a line read as something else.
//!
//! Every text for people goes through [`text`]: such characters are shown
//! escaped (`\n`, `\r`, `\t`, else `\u{1b}`). JSON goes through [`json`]:
//! serde_json escapes C0 controls already; DEL, the C1 controls and the bidi
//! controls are escaped too (`\u009b`), which is the same string to any
//! JSON reader.

use std::borrow::Cow;

/// Whether `c` could drive a terminal or reorder what it shows: every
/// control character (C0, DEL, C1), the bidi embeddings, overrides,
/// isolates and marks, and the line and paragraph separators.
pub(crate) fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// `raw` for a person's terminal: the characters of [`needs_escape`] shown
/// as escapes, everything else as it is. The result holds no such
/// character, so applying it twice changes nothing.
pub(crate) fn text(raw: &str) -> Cow<'_, str> {
    if !raw.chars().any(needs_escape) {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len() + 8);
    for c in raw.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A JSON value as text, indented or on one line, with the characters of
/// [`needs_escape`] that serde_json leaves raw written as `\uXXXX`.
pub(crate) fn json(value: &serde_json::Value, pretty: bool) -> String {
    let raw = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    // A `Value` has string keys only: serializing it cannot fail.
    .unwrap_or_else(|_| "null".to_owned());
    // serde_json escapes C0 inside strings; outside them JSON text is ASCII
    // (the indentation's line breaks included). So a character left to
    // escape is inside a string, where `\uXXXX` stands for it; all of them
    // are in the Basic Multilingual Plane: one escape each.
    let left_raw = |c: char| needs_escape(c) && !matches!(c, '\0'..='\u{1f}');
    if !raw.chars().any(left_raw) {
        return raw;
    }
    let mut out = String::with_capacity(raw.len() + 8);
    for c in raw.chars() {
        if left_raw(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Writes a note for people on standard error, as `cube: NOTE`, made safe.
pub(crate) fn note(message: &str) {
    eprintln!("cube: {}", text(message));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json as value;

    const HOSTILE: &str =
        "Eve\u{1b}[2J\u{1b}]52;c;aGk=\u{7}\rX\u{9b}31m\u{7f}\u{202e}abc\u{2066}\n\tz\u{0}";

    #[test]
    fn controls_and_bidi_are_shown_escaped() {
        let shown = text(HOSTILE);
        assert_eq!(
            shown,
            "Eve\\u{1b}[2J\\u{1b}]52;c;aGk=\\u{7}\\rX\\u{9b}31m\\u{7f}\\u{202e}abc\\u{2066}\\n\\tz\\u{0}"
        );
        assert!(!shown.chars().any(needs_escape));
        assert_eq!(text(&shown), shown, "a second pass changes nothing");
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        for plain in [
            "John Doe",
            "Zoë Ålund",
            "李小龍",
            "שלום",
            "a\\b",
            "👩\u{200d}💻",
        ] {
            assert!(
                matches!(text(plain), Cow::Borrowed(s) if s == plain),
                "{plain}"
            );
        }
    }

    #[test]
    fn json_escapes_what_serde_json_leaves_raw_and_reads_back_the_same() {
        let original = value!({"full_name": HOSTILE, "tags": ["\u{85}", "ok"]});
        for pretty in [false, true] {
            let out = json(&original, pretty);
            assert!(!out.chars().any(|c| c != '\n' && needs_escape(c)), "{out}");
            assert_eq!(out.contains('\n'), pretty);
            assert!(out.contains("\\u009b") && out.contains("\\u202e"), "{out}");
            assert!(out.contains("\\u007f") && out.contains("\\u0085"), "{out}");
            let back: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(back, original);
        }
        assert_eq!(json(&value!({"a": "é"}), false), r#"{"a":"é"}"#);
    }
}
