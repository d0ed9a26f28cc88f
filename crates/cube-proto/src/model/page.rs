//! The two page shapes of user lists (`docs/PROTOCOL.md`, "Search").

use super::de;
use super::user::User;
use serde::de::value::{BorrowedStrDeserializer, MapAccessDeserializer};
use serde::de::{
    self as serde_de, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::fmt;

/// A page of the v1 lists (`GET /users`, `/users/by_full_name`,
/// `/users/by_tags`): numbered pages, each item wrapped as `{"user": {...}}`.
///
/// Missing or null counters read as 0, a missing or null `items` as empty;
/// bare (unwrapped) items are accepted too.
///
/// ```
/// let page: cube_proto::model::PageV1 = serde_json::from_str(
///     r#"{"current_page": 1, "per_page": 10, "total_entries": 1,
///         "items": [{"user": {"id": 5, "login": "ann"}}]}"#,
/// )?;
/// assert_eq!(page.items[0].login.as_deref(), Some("ann"));
/// assert!(!page.has_more());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct PageV1 {
    /// The page number, from 1.
    #[serde(default, deserialize_with = "count")]
    pub current_page: u64,
    /// Items per page (the server's, after clamping).
    #[serde(default, deserialize_with = "count")]
    pub per_page: u64,
    /// How many users match in all.
    #[serde(default, deserialize_with = "count")]
    pub total_entries: u64,
    /// The users of this page.
    #[serde(default, deserialize_with = "wrapped_users")]
    pub items: Vec<User>,
}

impl PageV1 {
    /// Whether a later page holds more users.
    pub fn has_more(&self) -> bool {
        !self.items.is_empty()
            && self.current_page.max(1).saturating_mul(self.per_page) < self.total_entries
    }
}

/// A page of `GET /users/v2`: offset and limit, bare users as items.
///
/// ```
/// let page: cube_proto::model::PageV2 = serde_json::from_str(
///     r#"{"skip": 0, "limit": 10, "total_entries": 12, "items": [{"id": 5}]}"#,
/// )?;
/// assert_eq!(page.items[0].id, 5);
/// assert_eq!(page.next_offset(), Some(1));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct PageV2 {
    /// How many matching users come before this page.
    #[serde(default, deserialize_with = "count")]
    pub skip: u64,
    /// The page size the server applied.
    #[serde(default, deserialize_with = "count")]
    pub limit: u64,
    /// How many users match in all.
    #[serde(default, deserialize_with = "count")]
    pub total_entries: u64,
    /// The users of this page.
    #[serde(default, deserialize_with = "wrapped_users")]
    pub items: Vec<User>,
}

impl PageV2 {
    /// The offset of the next page, or `None` when this page reaches
    /// `total_entries` (or is empty, so paging could never end).
    pub fn next_offset(&self) -> Option<u64> {
        let next = self.skip.saturating_add(self.items.len() as u64);
        (!self.items.is_empty() && next < self.total_entries).then_some(next)
    }
}

fn count<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(de::opt_u64(d)?.unwrap_or(0))
}

/// Items as `[{"user": {...}}]` or `[{...}]`; null or missing is empty.
/// Read as they come: a bare user goes straight into [`User`]; only the
/// wrapped form (no `id` of its own, a `user` inside) is read twice.
fn wrapped_users<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<User>, D::Error> {
    d.deserialize_option(Items)
}

/// The list of items.
struct Items;

impl<'de> Visitor<'de> for Items {
    type Value = Vec<User>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of users")
    }

    fn visit_none<E: serde_de::Error>(self) -> Result<Vec<User>, E> {
        Ok(Vec::new())
    }

    fn visit_unit<E: serde_de::Error>(self) -> Result<Vec<User>, E> {
        Ok(Vec::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Vec<User>, D::Error> {
        d.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<User>, A::Error> {
        // A page holds up to 100 users; a parser that cannot tell how many
        // (serde_json never can) starts with room for one, the look-up's
        // page: room for eight is a block large enough that the allocator
        // tidies its free lists first, on every page.
        let mut users = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(100));
        while let Some(user) = seq.next_element_seed(Item)? {
            users.push(user);
        }
        Ok(users)
    }
}

/// One item: a bare user, or `{"user": {...}}`.
struct Item;

impl<'de> DeserializeSeed<'de> for Item {
    type Value = User;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<User, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Item {
    type Value = User;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a user, bare or as {\"user\": {...}}")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<User, A::Error> {
        let mut item = Unwrap {
            map,
            wrapped: None,
            has_id: false,
            ended: false,
        };
        match User::deserialize(MapAccessDeserializer::new(&mut item)) {
            Ok(user) => Ok(user),
            // No id of its own, but a user inside: the wrapped form.
            Err(e) => match item.wrapped {
                Some(inner) if item.ended && !item.has_id => {
                    User::deserialize(inner).map_err(serde_de::Error::custom)
                }
                _ => Err(e),
            },
        }
    }
}

/// An item's keys as [`User`] reads them, with `user` held aside.
struct Unwrap<A> {
    map: A,
    wrapped: Option<Value>,
    has_id: bool,
    ended: bool,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Unwrap<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        loop {
            let Some(key) = self.map.next_key::<Key<'de>>()? else {
                self.ended = true;
                return Ok(None);
            };
            match key.as_str() {
                "user" => {
                    self.wrapped = Some(self.map.next_value()?);
                    continue;
                }
                "id" => self.has_id = true,
                _ => {}
            }
            return match key {
                Key::Borrowed(k) => seed.deserialize(BorrowedStrDeserializer::new(k)),
                Key::Owned(k) => seed.deserialize(k.into_deserializer()),
            }
            .map(Some);
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

/// A key, borrowed from the input unless it had to be unescaped.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(k) => k,
            Key::Owned(k) => k,
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_borrowed_str<E: serde_de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key::Borrowed(v))
    }

    fn visit_str<E: serde_de::Error>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key::Owned(v.to_owned()))
    }

    fn visit_string<E: serde_de::Error>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Key::Owned(v))
    }
}

#[cfg(test)]
mod tests {
    use super::PageV2;

    fn ids(items: &str) -> Result<Vec<u64>, serde_json::Error> {
        let page: PageV2 = serde_json::from_str(&format!(r#"{{"items": {items}}}"#))?;
        Ok(page.items.iter().map(|u| u.id).collect())
    }

    #[test]
    fn items_come_bare_or_wrapped_in_user() {
        assert_eq!(
            ids(r#"[{"id": 1}, {"user": {"id": 2}}, {"login": "x", "user": {"id": 3}}]"#).unwrap(),
            [1, 2, 3]
        );
        // An item with an id of its own is the user, whatever its `user` holds.
        assert_eq!(
            ids(r#"[{"user": 5, "id": 4}, {"id": 6, "user": {"id": 9}}]"#).unwrap(),
            [4, 6]
        );
        // Escaped keys are keys too.
        assert_eq!(
            ids(r#"[{"\u0069d": 7}, {"\u0075ser": {"id": 8}}]"#).unwrap(),
            [7, 8]
        );
        assert_eq!(ids("null").unwrap(), Vec::<u64>::new());
        let page: PageV2 = serde_json::from_str("{}").unwrap();
        assert!(page.items.is_empty());
    }

    #[test]
    fn items_that_are_no_user_are_an_error() {
        for bad in [
            r#"[{"login": "x"}]"#,
            r#"[{"user": null}]"#,
            r#"[{"user": {"login": "x"}}]"#,
            r#"[{"id": "abc"}]"#,
            "[5]",
            r#""x""#,
            r#"{"id": 1}"#,
        ] {
            assert!(ids(bad).is_err(), "{bad}");
        }
    }
}
