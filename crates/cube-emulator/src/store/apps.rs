//! Applications, emulator metadata (the clock offset), the outbox and
//! reset tokens, nonces, and the data reset.

use rusqlite::{Connection, OptionalExtension, params};

use crate::crypto::{Secret, TokenHash};
use crate::error::ApiError;
use crate::settings::AppSettings;

/// An application: the tenant every user and session belongs to.
#[derive(Debug, Clone)]
pub(crate) struct App {
    pub(crate) id: i64,
    pub(crate) auth_key: String,
    pub(crate) auth_secret: Secret,
    pub(crate) settings: AppSettings,
}

pub(crate) fn load_all(conn: &Connection) -> rusqlite::Result<Vec<App>> {
    let mut stmt = conn.prepare("SELECT id, auth_key, auth_secret, settings FROM apps")?;
    let rows = stmt.query_map([], |r| {
        Ok(App {
            id: r.get(0)?,
            auth_key: r.get(1)?,
            auth_secret: Secret::new(r.get::<_, String>(2)?),
            settings: AppSettings::from_stored(&r.get::<_, String>(3)?),
        })
    })?;
    rows.collect()
}

/// Inserts an application; a taken id or auth key is `422`.
pub(crate) fn insert(conn: &Connection, app: &App) -> Result<(), ApiError> {
    let taken: bool = conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM apps WHERE id = ?1 OR auth_key = ?2)",
        params![app.id, app.auth_key],
        |r| r.get(0),
    )?;
    if taken {
        return Err(ApiError::invalid(
            "Application id or auth key is already taken",
        ));
    }
    conn.execute(
        "INSERT INTO apps (id, auth_key, auth_secret, settings) VALUES (?1, ?2, ?3, ?4)",
        params![
            app.id,
            app.auth_key,
            app.auth_secret.expose(),
            app.settings.to_stored()
        ],
    )?;
    Ok(())
}

/// Inserts the application unless one with this id already exists.
pub(crate) fn ensure_exists(conn: &Connection, app: &App) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO apps (id, auth_key, auth_secret, settings) VALUES (?1, ?2, ?3, ?4)",
        params![
            app.id,
            app.auth_key,
            app.auth_secret.expose(),
            app.settings.to_stored()
        ],
    )?;
    Ok(())
}

pub(crate) fn next_id(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM apps", [], |r| {
        r.get(0)
    })
}

pub(crate) fn save_settings(
    conn: &Connection,
    id: i64,
    settings: &AppSettings,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE apps SET settings = ?2 WHERE id = ?1",
        params![id, settings.to_stored()],
    )?;
    Ok(())
}

pub(crate) fn clock_offset(conn: &Connection) -> rusqlite::Result<i64> {
    let value: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'clock_offset'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// The key that signs upload policies, created on first use: it survives
/// restarts, so an upload URL works until it expires.
pub(crate) fn upload_key(conn: &Connection) -> Result<Secret, ApiError> {
    let value: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'upload_key'", [], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(value) = value {
        return Ok(Secret::new(value));
    }
    let value = crate::crypto::hex(&crate::crypto::random_bytes::<32>()?);
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('upload_key', ?1)",
        params![value],
    )?;
    Ok(Secret::new(value))
}

pub(crate) fn save_clock_offset(conn: &Connection, offset: i64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('clock_offset', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![offset.to_string()],
    )?;
    Ok(())
}

/// Records a signed request's nonce; one already used by this application
/// within the last `window` seconds is a replay (`422`). A nonce is kept
/// from the later of its arrival and its request's `timestamp`: a request
/// stamped ahead of the clock stays replayable (and so stays refused)
/// until its timestamp leaves the window.
pub(crate) fn use_nonce(
    conn: &Connection,
    app_id: i64,
    nonce: &str,
    now: i64,
    timestamp: i64,
    window: i64,
) -> Result<(), ApiError> {
    let seen: Option<i64> = conn
        .query_row(
            "SELECT seen_at FROM nonces WHERE app_id = ?1 AND nonce = ?2",
            params![app_id, nonce],
            |r| r.get(0),
        )
        .optional()?;
    if seen.is_some_and(|at| at > now.saturating_sub(window)) {
        return Err(ApiError::invalid_field("nonce", "has already been used"));
    }
    conn.execute(
        "INSERT INTO nonces (app_id, nonce, seen_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(app_id, nonce) DO UPDATE SET seen_at = excluded.seen_at",
        params![app_id, nonce, now.max(timestamp)],
    )?;
    Ok(())
}

/// One e-mail in the outbox.
pub(crate) struct Mail {
    pub(crate) to: String,
    pub(crate) subject: String,
    pub(crate) text: String,
    pub(crate) link: String,
    pub(crate) token: String,
    pub(crate) created_at: i64,
}

pub(crate) fn send_mail(conn: &Connection, mail: &Mail) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO outbox (to_addr, subject, body, link, token, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            mail.to,
            mail.subject,
            mail.text,
            mail.link,
            mail.token,
            mail.created_at
        ],
    )?;
    Ok(())
}

pub(crate) fn outbox(conn: &Connection) -> rusqlite::Result<Vec<Mail>> {
    let mut stmt = conn.prepare(
        "SELECT to_addr, subject, body, link, token, created_at FROM outbox ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Mail {
            to: r.get(0)?,
            subject: r.get(1)?,
            text: r.get(2)?,
            link: r.get(3)?,
            token: r.get(4)?,
            created_at: r.get(5)?,
        })
    })?;
    rows.collect()
}

pub(crate) fn clear_outbox(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM outbox", [])?;
    Ok(())
}

pub(crate) fn save_reset_token(
    conn: &Connection,
    hash: &TokenHash,
    user_id: i64,
    expires_at: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO reset_tokens (token_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
        params![&hash[..], user_id, expires_at],
    )?;
    Ok(())
}

/// The user a live reset token belongs to.
pub(crate) fn reset_token_user(
    conn: &Connection,
    hash: &TokenHash,
    now: i64,
) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT user_id FROM reset_tokens WHERE token_hash = ?1 AND expires_at > ?2",
        params![&hash[..], now],
        |r| r.get(0),
    )
    .optional()
}

/// Deletes every user, session, nonce, reset token, e-mail, file record
/// and registered fake-provider token; keeps
/// applications, their settings and the clock.
pub(crate) fn reset_data(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "DELETE FROM reset_tokens; DELETE FROM sessions; DELETE FROM users;
         DELETE FROM nonces; DELETE FROM outbox; DELETE FROM blobs;
         DELETE FROM provider_tokens;",
    )
}

/// Garbage collection: expired sessions, guests, nonces and reset tokens.
/// Correctness never depends on it: every read checks deadlines itself.
pub(crate) fn sweep(conn: &Connection, now: i64, nonce_horizon: i64) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM users WHERE guest_expires_at IS NOT NULL AND guest_expires_at <= ?1",
        params![now],
    )?;
    conn.execute("DELETE FROM sessions WHERE deadline <= ?1", params![now])?;
    conn.execute(
        "DELETE FROM nonces WHERE seen_at <= ?1",
        params![now.saturating_sub(nonce_horizon)],
    )?;
    conn.execute(
        "DELETE FROM reset_tokens WHERE expires_at <= ?1",
        params![now],
    )?;
    Ok(())
}
