//! User rows. Every query sees only live users: a guest whose lifetime has
//! ended is gone at once, whether or not the sweeper has run yet.

use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};
use serde_json::{Map, Value, json};

use crate::clock::format_iso;
use crate::error::ApiError;

/// A stored user. No `Debug`: it holds the password hash.
pub(crate) struct UserRow {
    pub(crate) id: i64,
    pub(crate) login: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) password_hash: Option<String>,
    pub(crate) full_name: Option<String>,
    pub(crate) phone: Option<String>,
    pub(crate) website: Option<String>,
    pub(crate) external_user_id: Option<String>,
    pub(crate) external_id: Option<String>,
    pub(crate) facebook_id: Option<String>,
    pub(crate) twitter_id: Option<String>,
    pub(crate) blob_id: Option<i64>,
    pub(crate) custom_data: Option<String>,
    pub(crate) avatar: Option<String>,
    pub(crate) user_tags: Option<String>,
    pub(crate) timezone: Option<i64>,
    pub(crate) is_guest: bool,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) last_request_at: Option<i64>,
}

pub(crate) const COLUMNS: &str = "id, login, email, password_hash, full_name, phone, website, \
     external_user_id, external_id, facebook_id, twitter_id, blob_id, custom_data, avatar, \
     user_tags, timezone, is_guest, created_at, updated_at, last_request_at";

/// The live-user condition; `?1` is always the app id and `?2` now.
pub(crate) const LIVE: &str = "app_id = ?1 AND (guest_expires_at IS NULL OR guest_expires_at > ?2)";

pub(crate) fn from_row(r: &Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        id: r.get(0)?,
        login: r.get(1)?,
        email: r.get(2)?,
        password_hash: r.get(3)?,
        full_name: r.get(4)?,
        phone: r.get(5)?,
        website: r.get(6)?,
        external_user_id: r.get(7)?,
        external_id: r.get(8)?,
        facebook_id: r.get(9)?,
        twitter_id: r.get(10)?,
        blob_id: r.get(11)?,
        custom_data: r.get(12)?,
        avatar: r.get(13)?,
        user_tags: r.get(14)?,
        timezone: r.get(15)?,
        is_guest: r.get(16)?,
        created_at: r.get(17)?,
        updated_at: r.get(18)?,
        last_request_at: r.get(19)?,
    })
}

impl UserRow {
    /// The wire form (`docs/PROTOCOL.md`, "Users"); never the password.
    pub(crate) fn to_json(&self) -> Value {
        // A digit-only deprecated external id goes back out as a number.
        let external_user_id = match &self.external_user_id {
            Some(s) => s
                .parse::<i64>()
                .map_or_else(|_| Value::String(s.clone()), Value::from),
            None => Value::Null,
        };
        json!({
            "id": self.id,
            "login": self.login,
            "email": self.email,
            "full_name": self.full_name,
            "phone": self.phone,
            "website": self.website,
            "created_at": format_iso(self.created_at),
            "updated_at": format_iso(self.updated_at),
            "last_request_at": self.last_request_at.map(format_iso),
            "external_user_id": external_user_id,
            "external_id": self.external_id,
            "facebook_id": self.facebook_id,
            "twitter_id": self.twitter_id,
            "blob_id": self.blob_id,
            "custom_data": self.custom_data,
            "avatar": self.avatar,
            "user_tags": self.user_tags,
            "timezone": self.timezone,
            "is_guest": self.is_guest,
        })
    }
}

/// Which column a single-user look-up matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    Id,
    Login,
    /// Matched on the lower-cased e-mail.
    Email,
    FacebookId,
    TwitterId,
    ExternalId,
    ExternalUserId,
    /// The Firebase user id (`sub`) of Firebase sign-ins (never shown).
    FirebaseId,
}

impl Key {
    pub(crate) fn column(self) -> &'static str {
        match self {
            Key::Id => "id",
            Key::Login => "login",
            Key::Email => "email_key",
            Key::FacebookId => "facebook_id",
            Key::TwitterId => "twitter_id",
            Key::ExternalId => "external_id",
            Key::ExternalUserId => "external_user_id",
            Key::FirebaseId => "firebase_id",
        }
    }
}

/// A live user of `app_id` by one key.
pub(crate) fn find(
    conn: &Connection,
    app_id: i64,
    now: i64,
    key: Key,
    value: Sql,
) -> rusqlite::Result<Option<UserRow>> {
    let value = match (key, value) {
        (Key::Email, Sql::Text(s)) => Sql::Text(s.to_lowercase()),
        (_, v) => v,
    };
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM users WHERE {LIVE} AND {} = ?3 LIMIT 1",
        key.column()
    ))?
    .query_row(params![app_id, now, value], from_row)
    .optional()
}

/// Inserts a user from validated `(column, value)` pairs; returns its id.
/// A unique index violation becomes `422 {field: ["has already been taken"]}`.
pub(crate) fn insert(
    conn: &Connection,
    app_id: i64,
    now: i64,
    columns: &[(&'static str, Sql)],
) -> Result<i64, ApiError> {
    let mut names = vec!["app_id", "created_at", "updated_at"];
    let mut values = vec![Sql::Integer(app_id), Sql::Integer(now), Sql::Integer(now)];
    for (name, value) in columns {
        names.push(name);
        values.push(value.clone());
    }
    let placeholders = vec!["?"; names.len()].join(", ");
    let sql = format!(
        "INSERT INTO users ({}) VALUES ({placeholders})",
        names.join(", ")
    );
    conn.execute(&sql, params_from_iter(values))
        .map_err(taken_or_storage)?;
    Ok(conn.last_insert_rowid())
}

/// Updates a user's columns (and `updated_at`).
pub(crate) fn update(
    conn: &Connection,
    id: i64,
    now: i64,
    columns: &[(&'static str, Sql)],
) -> Result<(), ApiError> {
    let mut sets = vec!["updated_at = ?".to_owned()];
    let mut values = vec![Sql::Integer(now)];
    for (name, value) in columns {
        sets.push(format!("{name} = ?"));
        values.push(value.clone());
    }
    values.push(Sql::Integer(id));
    let sql = format!("UPDATE users SET {} WHERE id = ?", sets.join(", "));
    conn.execute(&sql, params_from_iter(values))
        .map_err(taken_or_storage)?;
    Ok(())
}

pub(crate) fn delete(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM users WHERE id = ?1", params![id])? == 1)
}

/// Writes the `last_request_at` values refreshed by requests since the
/// last flush.
pub(crate) fn save_last_requests(conn: &Connection, seen: &[(i64, i64)]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "UPDATE users SET last_request_at = ?2
         WHERE id = ?1 AND (last_request_at IS NULL OR last_request_at < ?2)",
    )?;
    for (id, at) in seen {
        stmt.execute(params![id, at])?;
    }
    Ok(())
}

/// A filtered, ordered, paged user query (v1 list, v2 search, by name/tags).
pub(crate) struct Page {
    /// Extra SQL conditions, `?` placeholders, ANDed with [`LIVE`].
    pub(crate) conditions: Vec<String>,
    pub(crate) args: Vec<Sql>,
    pub(crate) order: String,
    pub(crate) limit: i64,
    pub(crate) offset: i64,
}

/// Runs a [`Page`]: the total count and the rows of the page.
pub(crate) fn page(
    conn: &Connection,
    app_id: i64,
    now: i64,
    page: &Page,
) -> rusqlite::Result<(i64, Vec<UserRow>)> {
    let mut filter = LIVE.to_owned();
    for condition in &page.conditions {
        filter.push_str(" AND (");
        filter.push_str(condition);
        filter.push(')');
    }
    let mut args = vec![Sql::Integer(app_id), Sql::Integer(now)];
    args.extend(page.args.iter().cloned());
    // `?1`/`?2` are numbered, so the other `?` continue from 3.
    let total: i64 = conn.query_row(
        &format!("SELECT COUNT(*) FROM users WHERE {filter}"),
        params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE {filter} ORDER BY {}, id LIMIT {} OFFSET {}",
        page.order, page.limit, page.offset
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(args.iter()), from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((total, rows))
}

fn taken_or_storage(err: rusqlite::Error) -> ApiError {
    if let rusqlite::Error::SqliteFailure(e, Some(message)) = &err
        && e.code == rusqlite::ErrorCode::ConstraintViolation
    {
        let field = [
            ("users.login", "login"),
            ("users.email_key", "email"),
            ("users.external_id", "external_id"),
            ("users.facebook_id", "facebook_id"),
            ("users.twitter_id", "twitter_id"),
            ("users.firebase_id", "firebase_id"),
        ]
        .iter()
        .find(|(column, _)| message.contains(column))
        .map(|(_, field)| *field);
        if let Some(field) = field {
            return ApiError::invalid_field(field, "has already been taken");
        }
    }
    ApiError::from(err)
}

/// `{"user": {...}}`.
pub(crate) fn wrap(user: &UserRow) -> Value {
    let mut map = Map::new();
    map.insert("user".into(), user.to_json());
    Value::Object(map)
}
