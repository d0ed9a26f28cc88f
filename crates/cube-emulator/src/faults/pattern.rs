//! The path patterns of fault rules: a path whose segments are literal
//! text, `*` (exactly one segment) or, as the last one, `**` (any number
//! of segments, none included). They are matched against the path as the
//! router sees it: percent-decoded segments, no query, no final `.json`,
//! empty segments ignored (`docs/EMULATOR.md`, "Faults").

use super::RuleError;
use crate::limits::FAULT_PATTERN_MAX_BYTES;
use crate::wire;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// This text, decoded.
    Literal(String),
    /// `*`: any one segment.
    One,
    /// `**`: whatever follows, nothing included.
    Rest,
}

/// A parsed path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    segments: Vec<Segment>,
    /// The pattern as written, normalised (what lists show).
    text: String,
}

fn refused(message: impl Into<String>) -> RuleError {
    RuleError::new("path", message)
}

impl Pattern {
    /// Parses a pattern; the admin API's own paths (`/_emulator/…`) are
    /// refused, since they are never faulted.
    pub(crate) fn parse(text: &str) -> Result<Self, RuleError> {
        if text.len() > FAULT_PATTERN_MAX_BYTES {
            return Err(refused(format!(
                "is longer than {FAULT_PATTERN_MAX_BYTES} bytes"
            )));
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(refused("must start with /"));
        };
        if let Some(bad) = text
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#'))
        {
            return Err(refused(format!(
                "must not hold {bad:?}: it is matched against the path alone"
            )));
        }
        let rest = rest.strip_suffix(".json").unwrap_or(rest);
        let raw: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let mut segments = Vec::with_capacity(raw.len());
        for (i, part) in raw.iter().enumerate() {
            let segment = match *part {
                "**" if i + 1 == raw.len() => Segment::Rest,
                "**" => return Err(refused("may hold ** only as its last segment")),
                "*" => Segment::One,
                part if part.contains('*') => {
                    return Err(refused(
                        "uses * for a whole segment only (/users/* or /users/**)",
                    ));
                }
                part => Segment::Literal(
                    wire::decode_component(part, false)
                        .ok_or_else(|| refused(format!("has a malformed escape in {part:?}")))?,
                ),
            };
            segments.push(segment);
        }
        if segments.first() == Some(&Segment::Literal("_emulator".to_owned())) {
            return Err(refused(
                "names the admin API, which is never faulted (/_emulator/…)",
            ));
        }
        // The router takes one `.json` off: a path that still ends in one
        // after that keeps it, so the normal form must too.
        let mut text = format!("/{}", raw.join("/"));
        if text.ends_with(".json") {
            text.push_str(".json");
        }
        Ok(Self { segments, text })
    }

    /// Whether the decoded path segments `path` match.
    pub(crate) fn matches(&self, path: &[String]) -> bool {
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Rest => return true,
                Segment::One if i < path.len() => {}
                Segment::Literal(text) if path.get(i) == Some(text) => {}
                _ => return false,
            }
        }
        path.len() == self.segments.len()
    }

    /// The pattern, normalised.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> Vec<String> {
        text.split('/')
            .filter(|s| !s.is_empty())
            .map(|s| wire::decode_component(s, false).unwrap())
            .collect()
    }

    #[test]
    fn literal_one_segment_and_the_rest() {
        let cases = [
            ("/users", "/users", true),
            ("/users", "/users/1", false),
            ("/users/*", "/users/1", true),
            ("/users/*", "/users", false),
            ("/users/*", "/users/1/x", false),
            ("/users/**", "/users", true),
            ("/users/**", "/users/1/x/y", true),
            ("/users/**", "/user", false),
            ("/**", "/session", true),
            ("/**", "/", true),
            ("/", "/", true),
            ("/", "/users", false),
            ("/*/*/download", "/blobs/ab12/download", true),
            ("/blobs/*/download", "/blobs/ab12", false),
            ("/users/by%20x", "/users/by x", true),
            ("/users.json", "/users", true),
            ("//users//v2/", "/users/v2", true),
        ];
        for (pattern, target, expected) in cases {
            let parsed = Pattern::parse(pattern).unwrap();
            assert_eq!(
                parsed.matches(&path(target)),
                expected,
                "{pattern} on {target}"
            );
        }
        assert_eq!(
            Pattern::parse("//users//v2/").unwrap().as_str(),
            "/users/v2"
        );
        assert_eq!(Pattern::parse("/").unwrap().as_str(), "/");
        // One `.json` comes off, as the router takes it off.
        let twice = Pattern::parse("/users/1.json.json").unwrap();
        assert!(twice.matches(&path("/users/1.json")));
        assert_eq!(Pattern::parse(twice.as_str()), Ok(twice));
    }

    #[test]
    fn refuses_what_it_cannot_mean() {
        for bad in [
            "",
            "users",
            "/users/**/x",
            "/users/a*",
            "/users/***",
            "/users?x=1",
            "/users#a",
            "/us ers",
            "/users/%zz",
            "/_emulator/health",
            "/_emulator",
            "/_emulator/**",
        ] {
            assert!(Pattern::parse(bad).is_err(), "{bad:?}");
        }
        // At its length limit, and past it.
        let at = format!("/{}", "a".repeat(FAULT_PATTERN_MAX_BYTES - 1));
        assert!(Pattern::parse(&at).is_ok());
        assert!(Pattern::parse(&format!("{at}a")).is_err());
    }
}
