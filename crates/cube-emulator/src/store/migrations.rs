//! The schema, as numbered steps. `PRAGMA user_version` records how many
//! have run; opening a database runs the missing ones in order, each in
//! its own transaction with its version bump, so a crash leaves the
//! database at a step boundary. A database from a newer emulator is
//! refused rather than guessed at.
//!
//! Step 1 is the schema of the last release before versioning (its
//! `CREATE ... IF NOT EXISTS` statements leave such a database as it is).
//! Later steps only ever add: a released step is never edited.

use rusqlite::{Connection, Transaction, params};

use super::error::StoreError;

/// One step: takes the database from version `n - 1` to `n`.
type Step = fn(&Transaction<'_>) -> rusqlite::Result<()>;

const STEPS: &[Step] = &[
    baseline,
    indexed_search_and_provider_links,
    search_versions,
    numeric_external_user_ids,
];

/// The schema version this emulator writes.
pub(crate) const LATEST: i64 = STEPS.len() as i64;

/// Brings the database to [`LATEST`].
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > LATEST {
        return Err(StoreError::TooNew {
            found,
            known: LATEST,
        });
    }
    for (done, step) in STEPS
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        let tx = conn.transaction()?;
        step(&tx)?;
        tx.pragma_update(None, "user_version", done as i64 + 1)?;
        tx.commit()?;
        tracing::debug!(version = done + 1, "schema migrated");
    }
    Ok(())
}

/// Version 1: the schema as released before versioning.
fn baseline(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r"
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS apps (
    id          INTEGER PRIMARY KEY,
    auth_key    TEXT NOT NULL UNIQUE,
    auth_secret TEXT NOT NULL,
    settings    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id           INTEGER NOT NULL REFERENCES apps(id),
    login            TEXT,
    email            TEXT,
    email_key        TEXT,
    password_hash    TEXT,
    full_name        TEXT,
    phone            TEXT,
    website          TEXT,
    external_user_id TEXT,
    external_id      TEXT,
    facebook_id      TEXT,
    twitter_id       TEXT,
    firebase_id      TEXT,
    blob_id          INTEGER,
    custom_data      TEXT,
    avatar           TEXT,
    user_tags        TEXT,
    timezone         INTEGER,
    is_guest         INTEGER NOT NULL DEFAULT 0,
    guest_expires_at INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    last_request_at  INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS users_login ON users(app_id, login);
CREATE UNIQUE INDEX IF NOT EXISTS users_email_key ON users(app_id, email_key);
CREATE UNIQUE INDEX IF NOT EXISTS users_external_id ON users(app_id, external_id);
CREATE UNIQUE INDEX IF NOT EXISTS users_facebook_id ON users(app_id, facebook_id);
CREATE UNIQUE INDEX IF NOT EXISTS users_twitter_id ON users(app_id, twitter_id);
CREATE INDEX IF NOT EXISTS users_external_user_id ON users(app_id, external_user_id);
CREATE INDEX IF NOT EXISTS users_guest_expiry ON users(guest_expires_at)
    WHERE guest_expires_at IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS users_firebase_id ON users(app_id, firebase_id);

CREATE TABLE IF NOT EXISTS sessions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id      INTEGER NOT NULL REFERENCES apps(id),
    user_id     INTEGER REFERENCES users(id) ON DELETE CASCADE,
    token_hash  BLOB NOT NULL UNIQUE,
    is_guest    INTEGER NOT NULL DEFAULT 0,
    nonce       TEXT,
    ts          INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    deadline    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
CREATE INDEX IF NOT EXISTS sessions_deadline ON sessions(deadline);

CREATE TABLE IF NOT EXISTS nonces (
    app_id  INTEGER NOT NULL,
    nonce   TEXT NOT NULL,
    seen_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, nonce)
);

CREATE TABLE IF NOT EXISTS reset_tokens (
    token_hash BLOB PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS blobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id       INTEGER NOT NULL REFERENCES apps(id),
    uid          TEXT NOT NULL UNIQUE,
    owner_id     INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    name         TEXT NOT NULL,
    public       INTEGER NOT NULL DEFAULT 0,
    size         INTEGER,
    completed_at INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS provider_tokens (
    provider TEXT NOT NULL,
    token    TEXT NOT NULL,
    secret   TEXT,
    uid      TEXT NOT NULL,
    name     TEXT,
    email    TEXT,
    PRIMARY KEY (provider, token)
);

CREATE TABLE IF NOT EXISTS outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    to_addr    TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    link       TEXT NOT NULL,
    token      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
",
    )
}

/// Version 2:
/// * provider sign-ins find their user through `provider_links`, written
///   only by provider sign-ins (never through `facebook_id` & co., which
///   users set on themselves); the Firebase id moves there from `users`;
/// * tags get their own table, full names a trigram index (substring
///   search), and every searchable or sortable field an index;
/// * the sweeps' and cascades' look-ups get indexes.
fn indexed_search_and_provider_links(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r"
CREATE TABLE provider_links (
    app_id   INTEGER NOT NULL,
    provider TEXT NOT NULL,
    uid      TEXT NOT NULL,
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (app_id, provider, uid)
) WITHOUT ROWID;
CREATE INDEX provider_links_user ON provider_links(user_id);

-- Every Firebase id was written by a Firebase sign-in. The other ids were
-- written by a provider sign-in only on users it created: no password, not
-- a guest (local sign-ups always have a password).
INSERT INTO provider_links (app_id, provider, uid, user_id)
    SELECT app_id, 'firebase', firebase_id, id FROM users WHERE firebase_id IS NOT NULL;
INSERT INTO provider_links (app_id, provider, uid, user_id)
    SELECT app_id, 'facebook', facebook_id, id FROM users
    WHERE facebook_id IS NOT NULL AND password_hash IS NULL AND is_guest = 0;
INSERT INTO provider_links (app_id, provider, uid, user_id)
    SELECT app_id, 'twitter', twitter_id, id FROM users
    WHERE twitter_id IS NOT NULL AND password_hash IS NULL AND is_guest = 0;
INSERT INTO provider_links (app_id, provider, uid, user_id)
    SELECT app_id, 'cidp', external_id, id FROM users
    WHERE external_id IS NOT NULL AND password_hash IS NULL AND is_guest = 0;
DROP INDEX users_firebase_id;
ALTER TABLE users DROP COLUMN firebase_id;

CREATE TABLE user_tags (
    app_id  INTEGER NOT NULL,
    tag     TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (app_id, tag, user_id)
) WITHOUT ROWID;
CREATE INDEX user_tags_user ON user_tags(user_id);

-- Kept by the store with each users row (no triggers: a trigger makes
-- every insert a statement transaction, and FTS5 flushes at each one).
CREATE VIRTUAL TABLE user_names USING fts5(full_name, tokenize = 'trigram');
INSERT INTO user_names (rowid, full_name)
    SELECT id, full_name FROM users WHERE full_name IS NOT NULL;
CREATE INDEX users_app ON users(app_id);
CREATE INDEX users_full_name ON users(app_id, full_name);
CREATE INDEX users_phone ON users(app_id, phone);
CREATE INDEX users_website ON users(app_id, website);
CREATE INDEX users_blob_id ON users(app_id, blob_id);
CREATE INDEX users_timezone ON users(app_id, timezone);
CREATE INDEX users_user_tags ON users(app_id, user_tags);
CREATE INDEX users_created_at ON users(app_id, created_at);
CREATE INDEX users_updated_at ON users(app_id, updated_at);
CREATE INDEX users_last_request_at ON users(app_id, last_request_at);

CREATE INDEX reset_tokens_user ON reset_tokens(user_id);
CREATE INDEX nonces_seen ON nonces(seen_at);
",
    )?;
    // Tags were a comma-joined string: split them into rows.
    let mut rows =
        tx.prepare("SELECT id, app_id, user_tags FROM users WHERE user_tags IS NOT NULL")?;
    let tagged = rows
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut insert =
        tx.prepare("INSERT OR IGNORE INTO user_tags (app_id, tag, user_id) VALUES (?1, ?2, ?3)")?;
    for (id, app_id, tags) in tagged {
        for tag in tags.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            insert.execute(params![app_id, tag, id])?;
        }
    }
    Ok(())
}

/// Version 3: each application's search version (raised by every write
/// that can change a search's total, see `store::counts`), and guest
/// deadlines by application (the window a remembered total holds in).
fn search_versions(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r"
CREATE TABLE search_versions (
    app_id  INTEGER PRIMARY KEY,
    version INTEGER NOT NULL
);
CREATE INDEX users_app_guest_expiry ON users(app_id, guest_expires_at)
    WHERE guest_expires_at IS NOT NULL;
",
    )
}

/// Version 4: `external_user_id` is a number (the public service's
/// documents), stored as an integer so that it sorts and compares as one.
/// Digit strings become their number; any other text (which earlier
/// versions took) stays in `legacy_external_user_id`, kept but no longer
/// served.
fn numeric_external_user_ids(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r"
DROP INDEX users_external_user_id;
ALTER TABLE users RENAME COLUMN external_user_id TO legacy_external_user_id;
ALTER TABLE users ADD COLUMN external_user_id INTEGER;
CREATE INDEX users_external_user_id ON users(app_id, external_user_id);
",
    )?;
    let mut rows = tx.prepare(
        "SELECT id, legacy_external_user_id FROM users WHERE legacy_external_user_id IS NOT NULL",
    )?;
    let held = rows
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut convert = tx.prepare(
        "UPDATE users SET external_user_id = ?2, legacy_external_user_id = NULL WHERE id = ?1",
    )?;
    let mut kept = 0usize;
    for (id, text) in held {
        match crate::limits::external_user_id(&serde_json::Value::String(text)) {
            Ok(number) => {
                convert.execute(params![id, number])?;
            }
            Err(_) => kept += 1,
        }
    }
    if kept > 0 {
        tracing::warn!(
            users = kept,
            "external_user_id is a number now: these users' non-numeric values are kept in the \
             database column legacy_external_user_id and no longer served"
        );
    }
    Ok(())
}
