//! Session rows. Only the token's SHA-256 is stored.

use rusqlite::{OptionalExtension, Row, params};

use super::{Db, Result};
use crate::crypto::TokenHash;

/// A session as stored and cached.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SessionRow {
    pub(crate) id: i64,
    pub(crate) app_id: i64,
    pub(crate) user_id: Option<i64>,
    pub(crate) is_guest: bool,
    pub(crate) nonce: Option<String>,
    pub(crate) ts: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    /// The token is valid while `now < deadline`.
    pub(crate) deadline: i64,
}

const COLUMNS: &str = "id, app_id, user_id, is_guest, nonce, ts, created_at, updated_at, deadline";

fn from_row(r: &Row<'_>) -> rusqlite::Result<SessionRow> {
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

/// Inserts a session; fills in its id.
pub(crate) fn insert(db: &Db, hash: &TokenHash, row: &mut SessionRow) -> Result<()> {
    db.conn().prepare_cached(
        "INSERT INTO sessions (app_id, user_id, token_hash, is_guest, nonce, ts, created_at, updated_at, deadline)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?.execute(
        params![
            row.app_id,
            row.user_id,
            &hash[..],
            row.is_guest,
            row.nonce,
            row.ts,
            row.created_at,
            row.updated_at,
            row.deadline
        ],
    )?;
    row.id = db.conn().last_insert_rowid();
    Ok(())
}

pub(crate) fn find(db: &Db, hash: &TokenHash) -> Result<Option<SessionRow>> {
    Ok(db
        .conn()
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM sessions WHERE token_hash = ?1"
        ))?
        .query_row(params![&hash[..]], from_row)
        .optional()?)
}

/// Switches the session's user (`None`: back to an application session).
/// Returns whether the session still exists.
pub(crate) fn set_user(
    db: &Db,
    id: i64,
    user_id: Option<i64>,
    now: i64,
    deadline: i64,
) -> Result<bool> {
    let n = db.conn().prepare_cached(
        "UPDATE sessions SET user_id = ?2, is_guest = 0, updated_at = ?3, deadline = ?4 WHERE id = ?1",
    )?.execute(params![id, user_id, now, deadline])?;
    Ok(n == 1)
}

/// Deletes sessions matching `filter` and returns their token hashes, so
/// the caller can drop them from the cache.
fn delete_where(db: &Db, filter: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<TokenHash>> {
    let mut stmt = db.conn().prepare_cached(&format!(
        "DELETE FROM sessions WHERE {filter} RETURNING token_hash"
    ))?;
    let rows = stmt.query_map(args, |r| r.get::<_, Vec<u8>>(0))?;
    let mut hashes = Vec::new();
    for row in rows {
        if let Ok(hash) = TokenHash::try_from(row?.as_slice()) {
            hashes.push(hash);
        }
    }
    Ok(hashes)
}

pub(crate) fn delete(db: &Db, id: i64) -> Result<Vec<TokenHash>> {
    delete_where(db, "id = ?1", &[&id])
}

/// Deletes one session of `user_id`.
pub(crate) fn delete_of_user(db: &Db, id: i64, user_id: i64) -> Result<Vec<TokenHash>> {
    delete_where(db, "id = ?1 AND user_id = ?2", &[&id, &user_id])
}

/// Deletes every session of `user_id` except `keep`.
pub(crate) fn delete_all_of_user(
    db: &Db,
    user_id: i64,
    keep: Option<i64>,
) -> Result<Vec<TokenHash>> {
    let keep = keep.unwrap_or(0);
    delete_where(db, "user_id = ?1 AND id != ?2", &[&user_id, &keep])
}

/// The sessions of `user_id` still alive at `now`, oldest first.
pub(crate) fn live_of_user(db: &Db, user_id: i64, now: i64) -> Result<Vec<SessionRow>> {
    let mut stmt = db.conn().prepare_cached(&format!(
        "SELECT {COLUMNS} FROM sessions WHERE user_id = ?1 AND deadline > ?2 ORDER BY id"
    ))?;
    let rows = stmt.query_map(params![user_id, now], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Ends a live session as its deadline would: the deadline becomes `now`.
/// Returns its token hash (to drop it from the cache), or `None` when no
/// live session has this id.
pub(crate) fn expire(db: &Db, id: i64, now: i64) -> Result<Option<TokenHash>> {
    let hash = db
        .conn()
        .prepare_cached(
            "UPDATE sessions SET deadline = ?2 WHERE id = ?1 AND deadline > ?2 RETURNING token_hash",
        )?
        .query_row(params![id, now], |r| r.get::<_, Vec<u8>>(0))
        .optional()?;
    Ok(hash.and_then(|hash| TokenHash::try_from(hash.as_slice()).ok()))
}

/// Writes the sliding deadlines refreshed by reads since the last flush.
pub(crate) fn save_deadlines(db: &Db, deadlines: &[(i64, i64)]) -> Result<()> {
    let mut stmt = db
        .conn()
        .prepare_cached("UPDATE sessions SET deadline = ?2 WHERE id = ?1 AND deadline < ?2")?;
    for (id, deadline) in deadlines {
        stmt.execute(params![id, deadline])?;
    }
    Ok(())
}

/// Deletes sessions whose deadline has passed.
pub(crate) fn sweep(db: &Db, now: i64) -> Result<()> {
    db.conn()
        .prepare_cached("DELETE FROM sessions WHERE deadline <= ?1")?
        .execute(params![now])?;
    Ok(())
}
