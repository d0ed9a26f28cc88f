//! User lists and searches: a typed [`UserQuery`] in, a [`Page`] out.
//!
//! Every query is driven by one index chosen here from the filters, not
//! left to the planner (which, without statistics, cannot tell a tag ten
//! users hold from one everybody holds): an id list or a tag or name match
//! drives through row ids (`NOT INDEXED`), a column condition through that
//! column's index (`INDEXED BY`). Only a list with no selective filter at
//! all walks the application's users, in the order asked, and stops after
//! the page. So a search costs about the number of its matches, not the
//! size of the table. Value lists are bound as one JSON array
//! (`json_each`): any length gives the same statement, prepared once, and
//! never a deep expression.
//!
//! `total_entries` comes from the same index: the matches counted without
//! the liveness check (a covering index scan), minus the expired guests
//! the sweeper has not removed yet (found through their own index).

use rusqlite::params_from_iter;
use rusqlite::types::Value as Sql;

use super::users::{COLUMNS, LIVE, User, email_key, from_row};
use super::{Db, Result};

/// A user field, as filtered and sorted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    Id,
    Login,
    /// Compared case-insensitively.
    Email,
    FullName,
    Phone,
    Website,
    ExternalUserId,
    ExternalId,
    FacebookId,
    TwitterId,
    BlobId,
    Timezone,
    /// The tags as one `"a,b"` text (for sorting; filter tags with
    /// [`Filter::TagsAny`] and its siblings).
    Tags,
    CreatedAt,
    UpdatedAt,
    LastRequestAt,
}

impl Column {
    fn sql(self) -> &'static str {
        match self {
            Column::Id => "id",
            Column::Login => "login",
            Column::Email => "email_key",
            Column::FullName => "full_name",
            Column::Phone => "phone",
            Column::Website => "website",
            Column::ExternalUserId => "external_user_id",
            Column::ExternalId => "external_id",
            Column::FacebookId => "facebook_id",
            Column::TwitterId => "twitter_id",
            Column::BlobId => "blob_id",
            Column::Timezone => "timezone",
            Column::Tags => "user_tags",
            Column::CreatedAt => "created_at",
            Column::UpdatedAt => "updated_at",
            Column::LastRequestAt => "last_request_at",
        }
    }

    /// The index on `(app_id, column)`; the id is the row id.
    fn index(self) -> &'static str {
        match self {
            Column::Id => "users_app",
            Column::Login => "users_login",
            Column::Email => "users_email_key",
            Column::FullName => "users_full_name",
            Column::Phone => "users_phone",
            Column::Website => "users_website",
            Column::ExternalUserId => "users_external_user_id",
            Column::ExternalId => "users_external_id",
            Column::FacebookId => "users_facebook_id",
            Column::TwitterId => "users_twitter_id",
            Column::BlobId => "users_blob_id",
            Column::Timezone => "users_timezone",
            Column::Tags => "users_user_tags",
            Column::CreatedAt => "users_created_at",
            Column::UpdatedAt => "users_updated_at",
            Column::LastRequestAt => "users_last_request_at",
        }
    }

    fn unique(self) -> bool {
        matches!(
            self,
            Column::Login
                | Column::Email
                | Column::ExternalId
                | Column::FacebookId
                | Column::TwitterId
        )
    }
}

/// A value compared with a column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Int(i64),
    Real(f64),
    Text(String),
}

/// A condition on one column. `Ne` and `NotIn` also match users with no
/// value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Condition {
    Eq(Value),
    Ne(Value),
    In(Vec<Value>),
    NotIn(Vec<Value>),
    Lt(Value),
    Lte(Value),
    Gt(Value),
    Gte(Value),
    Between(Value, Value),
    /// A case-sensitive prefix (on `Email`, of the case-folded address).
    StartsWith(String),
}

/// One filter; a query matches the users every filter matches.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    Column(Column, Condition),
    /// Holds at least one of these tags.
    TagsAny(Vec<String>),
    /// Holds none of these tags.
    TagsNone(Vec<String>),
    /// Holds a tag that starts with this.
    TagStartsWith(String),
    /// The full name contains this, ignoring case.
    NameContains(String),
}

/// A filtered, ordered page of users.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UserQuery {
    pub(crate) filters: Vec<Filter>,
    /// Ties are broken by id, in the same direction.
    pub(crate) order: Column,
    pub(crate) descending: bool,
    pub(crate) limit: i64,
    pub(crate) offset: i64,
}

/// One page and how many users match in all.
pub(crate) struct Page {
    pub(crate) total: i64,
    pub(crate) users: Vec<User>,
}

/// How the users table is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// By row id: an id list or range, or ids from the tag or name index.
    RowIds,
    /// Through this column's index.
    Index(Column),
}

impl Access {
    fn clause(self) -> String {
        match self {
            Access::RowIds => "NOT INDEXED".into(),
            Access::Index(column) => format!("INDEXED BY {}", column.index()),
        }
    }
}

/// How well a filter narrows the users (lower is better), and how it is
/// reached; `None` for exclusions, which cannot drive a query.
fn drive(filter: &Filter) -> Option<(u8, Access)> {
    use Condition as C;
    Some(match filter {
        Filter::Column(Column::Id, C::Eq(_) | C::In(_)) => (0, Access::RowIds),
        Filter::Column(c, C::Eq(_) | C::In(_)) if c.unique() => (1, Access::Index(*c)),
        Filter::Column(c, C::Eq(_) | C::In(_)) => (2, Access::Index(*c)),
        Filter::TagsAny(_) => (3, Access::RowIds),
        Filter::Column(Column::Id, C::StartsWith(_)) => return None,
        Filter::Column(c, C::StartsWith(_)) => (4, Access::Index(*c)),
        Filter::TagStartsWith(_) => (5, Access::RowIds),
        Filter::NameContains(_) => (6, Access::RowIds),
        Filter::Column(
            Column::Id,
            C::Lt(_) | C::Lte(_) | C::Gt(_) | C::Gte(_) | C::Between(..),
        ) => (7, Access::RowIds),
        Filter::Column(c, C::Lt(_) | C::Lte(_) | C::Gt(_) | C::Gte(_) | C::Between(..)) => {
            (7, Access::Index(*c))
        }
        Filter::Column(_, C::Ne(_) | C::NotIn(_)) | Filter::TagsNone(_) => return None,
    })
}

/// The statements' parameters: `?1` the app id, `?2` now, then the
/// filters' values in order.
struct Params(Vec<Sql>);

impl Params {
    fn bind(&mut self, value: Sql) -> String {
        self.0.push(value);
        format!("?{}", self.0.len())
    }
}

fn sql_value(column: Column, value: &Value) -> Sql {
    match value {
        Value::Int(n) => Sql::Integer(*n),
        Value::Real(f) => Sql::Real(*f),
        Value::Text(s) if column == Column::Email => Sql::Text(email_key(s)),
        Value::Text(s) => Sql::Text(s.clone()),
    }
}

/// A JSON array of the values, for `json_each`.
fn json_list<'a>(values: impl Iterator<Item = &'a Sql>) -> Sql {
    let items: Vec<serde_json::Value> = values
        .map(|v| match v {
            Sql::Integer(n) => serde_json::Value::from(*n),
            Sql::Real(f) => serde_json::Value::from(*f),
            Sql::Text(s) => serde_json::Value::from(s.as_str()),
            _ => serde_json::Value::Null,
        })
        .collect();
    Sql::Text(serde_json::Value::Array(items).to_string())
}

/// The least text greater than every text starting with `prefix` (in
/// UTF-8 byte order, which is code point order), or, when there is none, a
/// blob (SQLite orders every text before every blob).
fn prefix_end(prefix: &str) -> Sql {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match u32::from(last) + 1 {
            0xD800 => Some('\u{E000}'),
            n => char::from_u32(n),
        };
        if let Some(next) = next {
            chars.push(next);
            return Sql::Text(chars.into_iter().collect());
        }
    }
    Sql::Blob(Vec::new())
}

fn tag_list(tags: &[String]) -> Sql {
    json_list(
        tags.iter()
            .map(|t| Sql::Text(t.clone()))
            .collect::<Vec<_>>()
            .iter(),
    )
}

/// The SQL of one filter, binding its values.
fn condition(filter: &Filter, params: &mut Params) -> String {
    const TAGGED: &str = "id IN (SELECT user_id FROM user_tags WHERE app_id = ?1 AND tag";
    match filter {
        Filter::Column(column, condition) => {
            let c = column.sql();
            let mut one = |v: &Value| params.bind(sql_value(*column, v));
            match condition {
                Condition::Eq(v) => format!("{c} = {}", one(v)),
                Condition::Ne(v) => format!("({c} IS NULL OR {c} <> {})", one(v)),
                Condition::Lt(v) => format!("{c} < {}", one(v)),
                Condition::Lte(v) => format!("{c} <= {}", one(v)),
                Condition::Gt(v) => format!("{c} > {}", one(v)),
                Condition::Gte(v) => format!("{c} >= {}", one(v)),
                Condition::Between(a, b) => format!("{c} BETWEEN {} AND {}", one(a), one(b)),
                Condition::In(values) | Condition::NotIn(values) => {
                    let values: Vec<Sql> = values.iter().map(|v| sql_value(*column, v)).collect();
                    let list = params.bind(json_list(values.iter()));
                    if matches!(condition, Condition::In(_)) {
                        format!("{c} IN (SELECT value FROM json_each({list}))")
                    } else {
                        format!("({c} IS NULL OR {c} NOT IN (SELECT value FROM json_each({list})))")
                    }
                }
                Condition::StartsWith(prefix) if *column == Column::Id => {
                    // Ids are numbers: a text prefix of their decimal form.
                    let from = params.bind(Sql::Text(prefix.clone()));
                    let to = params.bind(prefix_end(prefix));
                    format!("(CAST(id AS TEXT) >= {from} AND CAST(id AS TEXT) < {to})")
                }
                Condition::StartsWith(prefix) => {
                    let prefix = match column {
                        Column::Email => email_key(prefix),
                        _ => prefix.clone(),
                    };
                    let to = params.bind(prefix_end(&prefix));
                    let from = params.bind(Sql::Text(prefix));
                    format!("({c} >= {from} AND {c} < {to})")
                }
            }
        }
        Filter::TagsAny(tags) => {
            let list = params.bind(tag_list(tags));
            format!("{TAGGED} IN (SELECT value FROM json_each({list})))")
        }
        Filter::TagsNone(tags) => {
            let list = params.bind(tag_list(tags));
            format!("NOT {TAGGED} IN (SELECT value FROM json_each({list})))")
        }
        Filter::TagStartsWith(prefix) => {
            let to = params.bind(prefix_end(prefix));
            let from = params.bind(Sql::Text(prefix.clone()));
            format!("{TAGGED} >= {from} AND tag < {to})")
        }
        Filter::NameContains(text) if text.chars().count() >= 3 => {
            // A phrase of trigrams: exactly the case-folded substring.
            let phrase = format!("\"{}\"", text.replace('"', "\"\""));
            let phrase = params.bind(Sql::Text(phrase));
            format!("id IN (SELECT rowid FROM user_names WHERE user_names MATCH {phrase})")
        }
        Filter::NameContains(text) => {
            // Too short for a trigram: the name index is read in full.
            let needle = params.bind(Sql::Text(text.to_ascii_lowercase()));
            format!(
                "id IN (SELECT rowid FROM user_names WHERE instr(lower(full_name), {needle}) > 0)"
            )
        }
    }
}

/// The two statements of a query and their parameters: the count
/// (parameters without the last two) and the page.
struct Statements {
    count: String,
    page: String,
    params: Vec<Sql>,
}

fn statements(app_id: i64, now: i64, query: &UserQuery) -> Statements {
    let mut params = Params(vec![Sql::Integer(app_id), Sql::Integer(now)]);
    let mut conditions = String::new();
    for filter in &query.filters {
        conditions.push_str(" AND ");
        conditions.push_str(&condition(filter, &mut params));
    }
    let driver = query
        .filters
        .iter()
        .filter_map(drive)
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, access)| access);
    // With nothing selective, walk the users in the order asked.
    let access = driver.unwrap_or(Access::Index(query.order)).clause();
    let dir = if query.descending { "DESC" } else { "ASC" };
    let order = match query.order {
        Column::Id => format!("id {dir}"),
        column => format!("{} {dir}, id {dir}", column.sql()),
    };
    let count = format!(
        "SELECT (SELECT COUNT(*) FROM users {access} WHERE app_id = ?1{conditions})
              - (SELECT COUNT(*) FROM users INDEXED BY users_guest_expiry
                 WHERE guest_expires_at <= ?2 AND app_id = ?1{conditions})"
    );
    let n = params.0.len();
    let page = format!(
        "SELECT {COLUMNS} FROM users {access} WHERE app_id = ?1 AND {LIVE}{conditions}
         ORDER BY {order} LIMIT ?{} OFFSET ?{}",
        n + 1,
        n + 2
    );
    params.0.push(Sql::Integer(query.limit));
    params.0.push(Sql::Integer(query.offset));
    Statements {
        count,
        page,
        params: params.0,
    }
}

/// Runs `query` for the live users of `app_id`: the page and the total,
/// from one snapshot.
pub(crate) fn run(db: &Db, app_id: i64, now: i64, query: &UserQuery) -> Result<Page> {
    let sql = statements(app_id, now, query);
    db.snapshot(|db| {
        let users = db
            .conn()
            .prepare_cached(&sql.page)?
            .query_map(params_from_iter(sql.params.iter()), from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let found = i64::try_from(users.len()).unwrap_or(i64::MAX);
        // A short page, unless past the end, is the end: its size says the total.
        let total = if found < query.limit && (found > 0 || query.offset == 0) {
            query.offset.saturating_add(found)
        } else {
            let count_params = &sql.params[..sql.params.len() - 2];
            db.conn()
                .prepare_cached(&sql.count)?
                .query_row(params_from_iter(count_params.iter()), |r| r.get(0))?
        };
        Ok(Page { total, users })
    })
}

/// The query plans of `query`'s two statements (`EXPLAIN QUERY PLAN`),
/// one line per step, each prefixed with `count: ` or `page: `.
#[cfg(test)]
pub(crate) fn explain(db: &Db, query: &UserQuery) -> Result<Vec<String>> {
    let sql = statements(1, 0, query);
    let mut lines = Vec::new();
    for (name, text, params) in [
        ("count", &sql.count, &sql.params[..sql.params.len() - 2]),
        ("page", &sql.page, &sql.params[..]),
    ] {
        let mut stmt = db.conn().prepare(&format!("EXPLAIN QUERY PLAN {text}"))?;
        let rows = stmt.query_map(params_from_iter(params.iter()), |r| r.get::<_, String>(3))?;
        for row in rows {
            lines.push(format!("{name}: {}", row?));
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ends_bound_exactly_the_texts_with_the_prefix() {
        assert_eq!(prefix_end("abc"), Sql::Text("abd".into()));
        assert_eq!(prefix_end("a\u{10FFFF}"), Sql::Text("b".into()));
        assert_eq!(prefix_end("\u{D7FF}"), Sql::Text("\u{E000}".into()));
        assert_eq!(prefix_end("\u{10FFFF}"), Sql::Blob(Vec::new()));
        assert_eq!(prefix_end("é"), Sql::Text("ê".into()));
    }
}
