//! The two page shapes of user lists (`docs/PROTOCOL.md`, "Search").

use super::de;
use super::user::User;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

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
fn wrapped_users<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<User>, D::Error> {
    let items = Option::<Vec<Value>>::deserialize(d)?.unwrap_or_default();
    items
        .into_iter()
        .map(|item| {
            let inner = match item {
                Value::Object(mut map) if map.contains_key("user") && !map.contains_key("id") => {
                    map.remove("user").unwrap_or(Value::Null)
                }
                other => other,
            };
            User::deserialize(inner).map_err(serde::de::Error::custom)
        })
        .collect()
}
