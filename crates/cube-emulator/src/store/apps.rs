//! Applications, emulator metadata (the clock offset, the upload key), the
//! outbox and reset tokens, nonces, and the data reset.

use rusqlite::{OptionalExtension, params};

use super::{Db, Error, Result, Unique};
use crate::crypto::{Secret, TokenHash};
use crate::settings::AppSettings;

/// An application: the tenant every user and session belongs to.
#[derive(Debug, Clone)]
pub(crate) struct App {
    pub(crate) id: i64,
    pub(crate) auth_key: String,
    pub(crate) auth_secret: Secret,
    pub(crate) settings: AppSettings,
}

pub(crate) fn load_all(db: &Db) -> Result<Vec<App>> {
    let mut stmt = db
        .conn()
        .prepare("SELECT id, auth_key, auth_secret, settings FROM apps")?;
    let rows = stmt.query_map([], |r| {
        Ok(App {
            id: r.get(0)?,
            auth_key: r.get(1)?,
            auth_secret: Secret::new(r.get::<_, String>(2)?),
            settings: AppSettings::from_stored(&r.get::<_, String>(3)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Inserts an application; a taken id or auth key is
/// [`Unique::Application`].
pub(crate) fn insert(db: &Db, app: &App) -> Result<()> {
    let taken: bool = db.conn().query_row(
        "SELECT EXISTS(SELECT 1 FROM apps WHERE id = ?1 OR auth_key = ?2)",
        params![app.id, app.auth_key],
        |r| r.get(0),
    )?;
    if taken {
        return Err(Error::Taken(Unique::Application));
    }
    db.conn().execute(
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
pub(crate) fn ensure_exists(db: &Db, app: &App) -> Result<()> {
    db.conn().execute(
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

pub(crate) fn next_id(db: &Db) -> Result<i64> {
    Ok(db
        .conn()
        .query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM apps", [], |r| {
            r.get(0)
        })?)
}

pub(crate) fn save_settings(db: &Db, id: i64, settings: &AppSettings) -> Result<()> {
    db.conn().execute(
        "UPDATE apps SET settings = ?2 WHERE id = ?1",
        params![id, settings.to_stored()],
    )?;
    Ok(())
}

pub(crate) fn clock_offset(db: &Db) -> Result<i64> {
    let value: Option<String> = db
        .conn()
        .query_row(
            "SELECT value FROM meta WHERE key = 'clock_offset'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// The key that signs upload policies: the stored one, or `candidate`,
/// stored now. It survives restarts, so an upload URL works until it
/// expires.
pub(crate) fn upload_key(db: &Db, candidate: &Secret) -> Result<Secret> {
    let value: Option<String> = db
        .conn()
        .query_row("SELECT value FROM meta WHERE key = 'upload_key'", [], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(value) = value {
        return Ok(Secret::new(value));
    }
    db.conn().execute(
        "INSERT INTO meta (key, value) VALUES ('upload_key', ?1)",
        params![candidate.expose()],
    )?;
    Ok(candidate.clone())
}

pub(crate) fn save_clock_offset(db: &Db, offset: i64) -> Result<()> {
    db.conn().execute(
        "INSERT INTO meta (key, value) VALUES ('clock_offset', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![offset.to_string()],
    )?;
    Ok(())
}

/// Records a signed request's nonce. Returns `false`, recording nothing,
/// when this application already used it within the last `window` seconds
/// (a replay). A nonce is kept from the later of its arrival and its
/// request's `timestamp`: a request stamped ahead of the clock stays
/// refused as a replay until its timestamp leaves the window.
pub(crate) fn use_nonce(
    db: &Db,
    app_id: i64,
    nonce: &str,
    now: i64,
    timestamp: i64,
    window: i64,
) -> Result<bool> {
    let seen: Option<i64> = db
        .conn()
        .prepare_cached("SELECT seen_at FROM nonces WHERE app_id = ?1 AND nonce = ?2")?
        .query_row(params![app_id, nonce], |r| r.get(0))
        .optional()?;
    if seen.is_some_and(|at| at > now.saturating_sub(window)) {
        return Ok(false);
    }
    db.conn()
        .prepare_cached(
            "INSERT INTO nonces (app_id, nonce, seen_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(app_id, nonce) DO UPDATE SET seen_at = excluded.seen_at",
        )?
        .execute(params![app_id, nonce, now.max(timestamp)])?;
    Ok(true)
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

pub(crate) fn send_mail(db: &Db, mail: &Mail) -> Result<()> {
    db.conn().execute(
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

pub(crate) fn outbox(db: &Db) -> Result<Vec<Mail>> {
    let mut stmt = db.conn().prepare(
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
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn clear_outbox(db: &Db) -> Result<()> {
    db.conn().execute("DELETE FROM outbox", [])?;
    Ok(())
}

pub(crate) fn save_reset_token(
    db: &Db,
    hash: &TokenHash,
    user_id: i64,
    expires_at: i64,
) -> Result<()> {
    db.conn().execute(
        "INSERT INTO reset_tokens (token_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
        params![&hash[..], user_id, expires_at],
    )?;
    Ok(())
}

/// The user a live reset token belongs to.
pub(crate) fn reset_token_user(db: &Db, hash: &TokenHash, now: i64) -> Result<Option<i64>> {
    Ok(db
        .conn()
        .query_row(
            "SELECT user_id FROM reset_tokens WHERE token_hash = ?1 AND expires_at > ?2",
            params![&hash[..], now],
            |r| r.get(0),
        )
        .optional()?)
}

/// Ends every reset link of `user_id` (one was used).
pub(crate) fn forget_reset_tokens(db: &Db, user_id: i64) -> Result<()> {
    db.conn()
        .execute("DELETE FROM reset_tokens WHERE user_id = ?1", [user_id])?;
    Ok(())
}

/// Deletes every user (with their tags, links, sessions and reset tokens),
/// nonce, e-mail, file record and registered fake-provider token; keeps
/// applications, their settings and the clock.
pub(crate) fn reset_data(db: &Db) -> Result<()> {
    db.conn().execute_batch(
        "DELETE FROM reset_tokens; DELETE FROM sessions; DELETE FROM user_tags;
         DELETE FROM provider_links; DELETE FROM user_names; DELETE FROM users;
         DELETE FROM nonces; DELETE FROM outbox;",
    )?;
    db.touch_all();
    super::blobs::clear(db)?;
    super::providers::clear(db)
}

/// Garbage collection: expired sessions, guests, nonces and reset tokens.
/// Correctness never depends on it: every read checks deadlines itself.
pub(crate) fn sweep(db: &Db, now: i64, nonce_horizon: i64) -> Result<()> {
    super::users::sweep_guests(db, now)?;
    super::sessions::sweep(db, now)?;
    db.conn()
        .prepare_cached("DELETE FROM nonces WHERE seen_at <= ?1")?
        .execute(params![now.saturating_sub(nonce_horizon)])?;
    db.conn()
        .prepare_cached("DELETE FROM reset_tokens WHERE expires_at <= ?1")?
        .execute(params![now])?;
    Ok(())
}
