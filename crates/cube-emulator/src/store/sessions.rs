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

/// A live session as the admin API lists it.
pub(crate) struct Listed {
    pub(crate) row: SessionRow,
    /// Its token's hash (for its fingerprint; never shown).
    pub(crate) hash: TokenHash,
    /// Its user's `last_request_at`, when it has a user.
    pub(crate) user_last_request: Option<i64>,
}

/// Which live sessions to list: all, or an application's, or a user's.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Filter {
    pub(crate) app_id: Option<i64>,
    pub(crate) user_id: Option<i64>,
}

/// The sessions alive at `now` that `filter` selects, newest first, a
/// page of them (`offset`, `limit`), and how many there are in all.
pub(crate) fn live(
    db: &Db,
    filter: Filter,
    now: i64,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Listed>, i64)> {
    // Every parameter appears in the statement (a filter not given as
    // `?N IS NULL`), so the same three are bound whatever is asked, and
    // the conditions given can use their index.
    let conditions = format!(
        "s.deadline > ?1 AND {} AND {}",
        if filter.app_id.is_some() {
            "s.app_id = ?2"
        } else {
            "?2 IS NULL"
        },
        if filter.user_id.is_some() {
            "s.user_id = ?3"
        } else {
            "?3 IS NULL"
        },
    );
    let args = params![now, filter.app_id, filter.user_id];
    let mut stmt = db.conn().prepare_cached(&format!(
        "SELECT s.id, s.app_id, s.user_id, s.is_guest, s.nonce, s.ts, s.created_at,
                s.updated_at, s.deadline, s.token_hash, u.last_request_at
         FROM sessions s LEFT JOIN users u ON u.id = s.user_id
         WHERE {conditions} ORDER BY s.id DESC LIMIT ?4 OFFSET ?5"
    ))?;
    let rows = stmt.query_map(
        params![now, filter.app_id, filter.user_id, limit, offset],
        |r| {
            Ok((
                from_row(r)?,
                r.get::<_, Vec<u8>>(9)?,
                r.get::<_, Option<i64>>(10)?,
            ))
        },
    )?;
    let mut listed = Vec::new();
    for row in rows {
        let (row, hash, user_last_request) = row?;
        if let Ok(hash) = TokenHash::try_from(hash.as_slice()) {
            listed.push(Listed {
                row,
                hash,
                user_last_request,
            });
        }
    }
    let total = db
        .conn()
        .prepare_cached(&format!(
            "SELECT count(*) FROM sessions s WHERE {conditions}"
        ))?
        .query_row(args, |r| r.get(0))?;
    Ok((listed, total))
}

/// Ends a live session as its deadline passing would, and for good: the
/// row is deleted (a session past its deadline only waits for the sweep),
/// so no deadline refresh still waiting to be written can bring it back.
/// A guest's user stays until its own day is over, as it would. Returns
/// the token hash (to drop it from the cache), `None` when no live
/// session has this id.
pub(crate) fn end(db: &Db, id: i64, now: i64) -> Result<Option<TokenHash>> {
    let hash = db
        .conn()
        .prepare_cached(
            "DELETE FROM sessions WHERE id = ?1 AND deadline > ?2 RETURNING token_hash",
        )?
        .query_row(params![id, now], |r| r.get::<_, Vec<u8>>(0))
        .optional()?;
    Ok(hash.and_then(|hash| TokenHash::try_from(hash.as_slice()).ok()))
}

/// Destroys a live session as its own `DELETE /session` does: a guest
/// session takes its guest user (and any other session of that user)
/// with it. Returns the token hashes of the sessions deleted: none when
/// no live session has this id.
pub(crate) fn destroy(db: &Db, id: i64, now: i64) -> Result<Vec<TokenHash>> {
    let row = db
        .conn()
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM sessions WHERE id = ?1 AND deadline > ?2"
        ))?
        .query_row(params![id, now], from_row)
        .optional()?;
    let Some(row) = row else {
        return Ok(Vec::new());
    };
    let mut hashes = delete(db, row.id)?;
    if let (true, Some(user_id)) = (row.is_guest, row.user_id) {
        hashes.extend(delete_all_of_user(db, user_id, None)?);
        super::users::delete(db, user_id)?;
    }
    Ok(hashes)
}
