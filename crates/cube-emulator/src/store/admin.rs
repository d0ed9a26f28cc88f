//! What only the admin API asks of the database: users found by any part
//! of their login, e-mail or name, or by a tag; the live sessions of a
//! user; and expiring a session before its time.

use rusqlite::types::Value as Sql;
use rusqlite::{Connection, Row, params};

use super::sessions::SessionRow;
use super::users::{self, Page, UserRow};
use crate::crypto::TokenHash;

/// An admin user search: every given part must match.
#[derive(Debug, Default)]
pub(crate) struct UserFilter {
    /// A part of the login (ASCII letters in any case).
    pub(crate) login: Option<String>,
    /// A part of the e-mail (in any case).
    pub(crate) email: Option<String>,
    /// A part of the full name (ASCII letters in any case).
    pub(crate) full_name: Option<String>,
    /// One whole tag (case-sensitive, as `GET /users/by_tags`).
    pub(crate) tag: Option<String>,
}

/// The live users of `app_id` that match, by id: the total and one page.
pub(crate) fn search_users(
    conn: &Connection,
    app_id: i64,
    now: i64,
    filter: &UserFilter,
    offset: i64,
    limit: i64,
) -> rusqlite::Result<(i64, Vec<UserRow>)> {
    let mut conditions = Vec::new();
    let mut args = Vec::new();
    // SQLite's lower() folds ASCII only: both sides go through it, so
    // other letters match in their own case. The e-mail key is already
    // lower-cased (fully) when stored.
    for (column, value) in [("login", &filter.login), ("full_name", &filter.full_name)] {
        if let Some(value) = value {
            conditions.push(format!("instr(lower({column}), lower(?)) > 0"));
            args.push(Sql::Text(value.clone()));
        }
    }
    if let Some(email) = &filter.email {
        conditions.push("instr(email_key, ?) > 0".into());
        args.push(Sql::Text(email.to_lowercase()));
    }
    if let Some(tag) = &filter.tag {
        // Tags are stored comma-joined and never contain a comma.
        conditions.push("instr(',' || IFNULL(user_tags, '') || ',', ',' || ? || ',') > 0".into());
        args.push(Sql::Text(tag.clone()));
    }
    users::page(
        conn,
        app_id,
        now,
        &Page {
            conditions,
            args,
            order: "id ASC".into(),
            limit,
            offset,
        },
    )
}

fn session_from_row(r: &Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id: r.get(0)?,
        app_id: r.get(1)?,
        user_id: r.get(2)?,
        is_guest: r.get(3)?,
        nonce: r.get(4)?,
        ts: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
        deadline: r.get(8)?,
    })
}

/// The sessions of `user_id` still alive at `now`, oldest first.
pub(crate) fn user_sessions(
    conn: &Connection,
    user_id: i64,
    now: i64,
) -> rusqlite::Result<Vec<SessionRow>> {
    let mut stmt = conn.prepare(
        "SELECT id, app_id, user_id, is_guest, nonce, ts, created_at, updated_at, deadline
         FROM sessions WHERE user_id = ?1 AND deadline > ?2 ORDER BY id",
    )?;
    let rows = stmt.query_map(params![user_id, now], session_from_row)?;
    rows.collect()
}

/// Ends a live session as its deadline would: the deadline becomes `now`.
/// Returns its token hash (to drop it from the cache), or `None` when no
/// live session has this id.
pub(crate) fn expire_session(
    conn: &Connection,
    id: i64,
    now: i64,
) -> rusqlite::Result<Option<TokenHash>> {
    let mut stmt = conn.prepare(
        "UPDATE sessions SET deadline = ?2 WHERE id = ?1 AND deadline > ?2 RETURNING token_hash",
    )?;
    let mut rows = stmt.query(params![id, now])?;
    match rows.next()? {
        Some(row) => Ok(TokenHash::try_from(row.get::<_, Vec<u8>>(0)?.as_slice()).ok()),
        None => Ok(None),
    }
}
