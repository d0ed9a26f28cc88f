//! Bracketed `application/x-www-form-urlencoded` bodies turned into JSON
//! values: `user[login]=x` is `{"user": {"login": "x"}}` and
//! `tags[]=a&tags[]=b` is `{"tags": ["a", "b"]}`.
//!
//! The decoder is iterative and refuses keys nested deeper than
//! [`MAX_DEPTH`] before building anything, so no input can make it recurse
//! or allocate per level beyond that (a 19 KB key of 7,000 levels once
//! overflowed a worker's stack). Crates such as `serde_qs` keep the levels
//! past their depth limit as literal text instead of refusing them, and
//! read `a[0]` as an array index; the protocol wants neither.

use serde_json::{Map, Value};

use crate::error::ApiError;

pub(crate) use crate::limits::MAX_DEPTH;

/// Why a form could not be turned into a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FormError {
    /// Unbalanced brackets, or an empty name.
    Malformed,
    /// More than [`MAX_DEPTH`] levels.
    TooDeep,
    /// A key used in two incompatible shapes (`a=1&a[b]=2`).
    Conflict,
}

impl From<FormError> for ApiError {
    fn from(err: FormError) -> Self {
        ApiError::bad_request(match err {
            FormError::Malformed => "Malformed parameter name",
            FormError::TooDeep => "Parameters are nested too deeply",
            FormError::Conflict => "Conflicting parameter names",
        })
    }
}

/// Builds a JSON object from decoded form pairs, in order; a later value
/// of the same key replaces an earlier one, `[]` appends.
pub(crate) fn pairs_to_json(pairs: &[(String, String)]) -> Result<Value, FormError> {
    let mut root = Value::Object(Map::new());
    for (key, value) in pairs {
        let path = split_key(key)?;
        insert(&mut root, &path, value.clone())?;
    }
    Ok(root)
}

/// `a[b][]` → `["a", "b", ""]`; at most [`MAX_DEPTH`] parts.
fn split_key(key: &str) -> Result<Vec<&str>, FormError> {
    let (head, mut rest) = key.split_at(key.find('[').unwrap_or(key.len()));
    if head.is_empty() {
        return Err(FormError::Malformed);
    }
    let mut path = vec![head];
    while !rest.is_empty() {
        if path.len() == MAX_DEPTH {
            return Err(FormError::TooDeep);
        }
        let inner = rest.strip_prefix('[').ok_or(FormError::Malformed)?;
        let end = inner.find(']').ok_or(FormError::Malformed)?;
        path.push(&inner[..end]);
        rest = &inner[end + 1..];
    }
    Ok(path)
}

/// An empty container of the kind `next` asks for: `[]` is an array.
fn container_for(next: &str) -> Value {
    if next.is_empty() {
        Value::Array(Vec::new())
    } else {
        Value::Object(Map::new())
    }
}

/// Walks `path` from `root` (one level per loop turn), creating what is
/// missing, and stores `value` at its end.
fn insert(root: &mut Value, path: &[&str], value: String) -> Result<(), FormError> {
    let mut node = root;
    for (i, part) in path.iter().enumerate() {
        let next = path.get(i + 1);
        node = if part.is_empty() {
            let items = node.as_array_mut().ok_or(FormError::Conflict)?;
            let Some(next) = next else {
                items.push(Value::String(value));
                return Ok(());
            };
            items.push(container_for(next));
            items.last_mut().ok_or(FormError::Conflict)?
        } else {
            let map = node.as_object_mut().ok_or(FormError::Conflict)?;
            let Some(next) = next else {
                map.insert((*part).to_owned(), Value::String(value));
                return Ok(());
            };
            map.entry((*part).to_owned())
                .or_insert_with(|| container_for(next))
        };
    }
    Ok(())
}

/// How deeply `value` nests (a scalar is 0, `{"a": 1}` is 1), counted
/// without recursion.
pub(crate) fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((node, level)) = stack.pop() {
        match node {
            Value::Array(items) => {
                deepest = deepest.max(level + 1);
                stack.extend(items.iter().map(|child| (child, level + 1)));
            }
            Value::Object(map) => {
                deepest = deepest.max(level + 1);
                stack.extend(map.values().map(|child| (child, level + 1)));
            }
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pairs(text: &str) -> Vec<(String, String)> {
        crate::wire::parse_pairs(text).unwrap()
    }

    #[test]
    fn bracketed_forms_nest() {
        assert_eq!(
            pairs_to_json(&pairs(
                "user[login]=john&user[password]=x&tags[]=a&tags[]=b&n=1&l[][a]=1&l[][b]=2"
            ))
            .unwrap(),
            json!({"user": {"login": "john", "password": "x"}, "tags": ["a", "b"], "n": "1",
                   "l": [{"a": "1"}, {"b": "2"}]})
        );
        assert_eq!(
            pairs_to_json(&pairs("a=1&a[b]=2")),
            Err(FormError::Conflict)
        );
        assert_eq!(
            pairs_to_json(&pairs("a[]=1&a[b]=2")),
            Err(FormError::Conflict)
        );
        assert_eq!(pairs_to_json(&pairs("a[b=1")), Err(FormError::Malformed));
        assert_eq!(pairs_to_json(&pairs("[a]=1")), Err(FormError::Malformed));
        assert_eq!(pairs_to_json(&pairs("a[b]c=1")), Err(FormError::Malformed));
    }

    #[test]
    fn keys_nest_at_most_max_depth_levels() {
        let key = |levels: usize| format!("user{}", "[a]".repeat(levels - 1));
        let at_limit = pairs_to_json(&pairs(&format!("{}=1", key(MAX_DEPTH)))).unwrap();
        assert_eq!(depth(&at_limit), MAX_DEPTH);
        assert_eq!(
            pairs_to_json(&pairs(&format!("{}=1", key(MAX_DEPTH + 1)))),
            Err(FormError::TooDeep)
        );
        // The key that once overflowed a stack: refused before any level
        // is built.
        assert_eq!(
            pairs_to_json(&pairs(&format!("{}=1", key(7_001)))),
            Err(FormError::TooDeep)
        );
    }

    #[test]
    fn depth_counts_levels_without_recursing() {
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!({})), 1);
        assert_eq!(depth(&json!({"a": [1, {"b": []}]})), 4);
        // Deeper than any stack would take if this recursed.
        let mut deep = json!(1);
        for _ in 0..100_000 {
            deep = Value::Array(vec![deep]);
        }
        assert_eq!(depth(&deep), 100_000);
        // serde_json's own drop recurses: unwind it by hand.
        while let Value::Array(mut items) = deep {
            deep = items.pop().unwrap_or(Value::Null);
        }
    }
}
