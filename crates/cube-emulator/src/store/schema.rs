//! The database schema. Uniqueness lives here, in unique indexes, so that
//! concurrent sign-ups with one login cannot both succeed.

use rusqlite::Connection;

const SCHEMA: &str = r"
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
";

pub(crate) fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)?;
    // Databases written before Firebase sign-ins lack the column.
    let has_firebase_id: bool = conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM pragma_table_info('users') WHERE name = 'firebase_id')",
        [],
        |r| r.get(0),
    )?;
    if !has_firebase_id {
        conn.execute_batch("ALTER TABLE users ADD COLUMN firebase_id TEXT")?;
    }
    conn.execute_batch(
        "CREATE UNIQUE INDEX IF NOT EXISTS users_firebase_id ON users(app_id, firebase_id)",
    )
}
