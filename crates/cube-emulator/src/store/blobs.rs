//! File records (`/blobs`): who owns a file, its name, type and
//! visibility. The bytes live on disk (see `files`), named by uid.

use rusqlite::{OptionalExtension, Row, params};

use super::{Db, Result};

/// A stored file record.
#[derive(Debug, Clone)]
pub(crate) struct BlobRow {
    pub(crate) id: i64,
    pub(crate) app_id: i64,
    pub(crate) uid: String,
    pub(crate) owner_id: i64,
    pub(crate) content_type: String,
    pub(crate) name: String,
    pub(crate) public: bool,
    pub(crate) size: Option<i64>,
    pub(crate) completed_at: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

const COLUMNS: &str = "id, app_id, uid, owner_id, content_type, name, public, size, \
                       completed_at, created_at, updated_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<BlobRow> {
    Ok(BlobRow {
        id: r.get(0)?,
        app_id: r.get(1)?,
        uid: r.get(2)?,
        owner_id: r.get(3)?,
        content_type: r.get(4)?,
        name: r.get(5)?,
        public: r.get(6)?,
        size: r.get(7)?,
        completed_at: r.get(8)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
    })
}

/// Inserts a record; fills in its id.
pub(crate) fn insert(db: &Db, blob: &mut BlobRow) -> Result<()> {
    db.conn()
        .prepare_cached(
            "INSERT INTO blobs (app_id, uid, owner_id, content_type, name, public, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            blob.app_id,
            blob.uid,
            blob.owner_id,
            blob.content_type,
            blob.name,
            blob.public,
            blob.created_at,
            blob.updated_at
        ])?;
    blob.id = db.conn().last_insert_rowid();
    Ok(())
}

pub(crate) fn by_id(db: &Db, app_id: i64, id: i64) -> Result<Option<BlobRow>> {
    Ok(db
        .conn()
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM blobs WHERE app_id = ?1 AND id = ?2"
        ))?
        .query_row(params![app_id, id], from_row)
        .optional()?)
}

/// By uid, in any application (uids are unique across the emulator).
pub(crate) fn by_uid(db: &Db, uid: &str) -> Result<Option<BlobRow>> {
    Ok(db
        .conn()
        .prepare_cached(&format!("SELECT {COLUMNS} FROM blobs WHERE uid = ?1"))?
        .query_row(params![uid], from_row)
        .optional()?)
}

/// Declares a file uploaded with its size.
pub(crate) fn complete(db: &Db, id: i64, size: i64, now: i64) -> Result<()> {
    db.conn()
        .prepare_cached(
            "UPDATE blobs SET size = ?2, completed_at = ?3, updated_at = ?3 WHERE id = ?1",
        )?
        .execute(params![id, size, now])?;
    Ok(())
}

pub(crate) fn delete(db: &Db, id: i64) -> Result<bool> {
    Ok(db
        .conn()
        .prepare_cached("DELETE FROM blobs WHERE id = ?1")?
        .execute(params![id])?
        == 1)
}

/// Every uid with a record.
pub(crate) fn all_uids(db: &Db) -> Result<std::collections::HashSet<String>> {
    let mut stmt = db.conn().prepare("SELECT uid FROM blobs")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Deletes every record (data reset).
pub(crate) fn clear(db: &Db) -> Result<()> {
    db.conn().execute("DELETE FROM blobs", [])?;
    Ok(())
}
