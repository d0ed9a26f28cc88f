//! User rows. Every query sees only live users: a guest whose lifetime has
//! ended is gone at once, whether or not the sweeper has run yet.
//!
//! The store keeps the derived data consistent with what it is given: the
//! case-folded e-mail (`email_key`), one `user_tags` row per tag, and the
//! full name in the trigram index (`user_names`, row id = user id).

use rusqlite::{OptionalExtension, Row, ToSql, params};

use super::{Db, Error, Result, Unique};

/// A stored user. No `Debug`: it holds the password hash.
pub(crate) struct User {
    pub(crate) id: i64,
    pub(crate) login: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) password_hash: Option<String>,
    pub(crate) full_name: Option<String>,
    pub(crate) phone: Option<String>,
    pub(crate) website: Option<String>,
    /// A number, as the public service's documents have it.
    pub(crate) external_user_id: Option<i64>,
    pub(crate) external_id: Option<String>,
    pub(crate) facebook_id: Option<String>,
    pub(crate) twitter_id: Option<String>,
    pub(crate) blob_id: Option<i64>,
    pub(crate) custom_data: Option<String>,
    pub(crate) avatar: Option<String>,
    /// In the order they were given.
    pub(crate) tags: Vec<String>,
    pub(crate) timezone: Option<i64>,
    pub(crate) is_guest: bool,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) last_request_at: Option<i64>,
}

/// A user to create. Text fields are stored as given (validated by the
/// caller); tags should already be trimmed and without duplicates.
#[derive(Default)]
pub(crate) struct NewUser {
    pub(crate) login: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) password_hash: Option<String>,
    pub(crate) full_name: Option<String>,
    pub(crate) phone: Option<String>,
    pub(crate) website: Option<String>,
    /// A number, as the public service's documents have it.
    pub(crate) external_user_id: Option<i64>,
    pub(crate) external_id: Option<String>,
    pub(crate) facebook_id: Option<String>,
    pub(crate) twitter_id: Option<String>,
    pub(crate) blob_id: Option<i64>,
    pub(crate) custom_data: Option<String>,
    pub(crate) avatar: Option<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) timezone: Option<i64>,
    /// For a guest: when it ends.
    pub(crate) guest_until: Option<i64>,
    pub(crate) last_request_at: Option<i64>,
}

/// One field of a patch: left alone (`None`), cleared (`Some(None)`) or set.
pub(crate) type Change<T> = Option<Option<T>>;

/// Changes to a user; unnamed fields stay as they are.
#[derive(Default)]
pub(crate) struct UserPatch {
    /// A login can be changed but not cleared.
    pub(crate) login: Option<String>,
    pub(crate) email: Change<String>,
    pub(crate) password_hash: Option<String>,
    pub(crate) full_name: Change<String>,
    pub(crate) phone: Change<String>,
    pub(crate) website: Change<String>,
    pub(crate) external_user_id: Change<i64>,
    pub(crate) external_id: Change<String>,
    pub(crate) facebook_id: Change<String>,
    pub(crate) twitter_id: Change<String>,
    pub(crate) blob_id: Change<i64>,
    pub(crate) custom_data: Change<String>,
    pub(crate) avatar: Change<String>,
    /// The new tags (empty: none).
    pub(crate) tags: Option<Vec<String>>,
    pub(crate) timezone: Change<i64>,
}

/// Which field a single-user look-up matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    Login,
    /// Case-insensitive.
    Email,
    FacebookId,
    TwitterId,
    ExternalId,
    ExternalUserId,
}

impl Key {
    fn column(self) -> &'static str {
        match self {
            Key::Login => "login",
            Key::Email => "email_key",
            Key::FacebookId => "facebook_id",
            Key::TwitterId => "twitter_id",
            Key::ExternalId => "external_id",
            Key::ExternalUserId => "external_user_id",
        }
    }
}

/// The case-folded form e-mails are matched on.
pub(crate) fn email_key(email: &str) -> String {
    email.to_lowercase()
}

pub(super) const COLUMNS: &str = "id, login, email, password_hash, full_name, phone, website, \
     external_user_id, external_id, facebook_id, twitter_id, blob_id, custom_data, avatar, \
     user_tags, timezone, is_guest, created_at, updated_at, last_request_at";

/// [`COLUMNS`] for users listed by a search, which never needs their
/// password hash: it is not read, copied or kept in memory for them.
pub(super) const LISTED_COLUMNS: &str = "id, login, email, NULL, full_name, phone, website, \
     external_user_id, external_id, facebook_id, twitter_id, blob_id, custom_data, avatar, \
     user_tags, timezone, is_guest, created_at, updated_at, last_request_at";

/// The live-user condition; `?1` is always the app id and `?2` now.
pub(super) const LIVE: &str = "(guest_expires_at IS NULL OR guest_expires_at > ?2)";

pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    let tags: Option<String> = r.get(14)?;
    Ok(User {
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
        tags: tags
            .map(|t| t.split(',').map(str::to_owned).collect())
            .unwrap_or_default(),
        timezone: r.get(15)?,
        is_guest: r.get(16)?,
        created_at: r.get(17)?,
        updated_at: r.get(18)?,
        last_request_at: r.get(19)?,
    })
}

/// The stored (display) form of tags: `"a,b"`, or none.
fn joined(tags: &[String]) -> Option<String> {
    (!tags.is_empty()).then(|| tags.join(","))
}

/// A live user of `app_id` by id.
pub(crate) fn find_by_id(db: &Db, app_id: i64, now: i64, id: i64) -> Result<Option<User>> {
    Ok(db
        .conn()
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM users WHERE id = ?3 AND app_id = ?1 AND {LIVE}"
        ))?
        .query_row(params![app_id, now, id], from_row)
        .optional()?)
}

/// A live user of `app_id` by one key.
pub(crate) fn find(db: &Db, app_id: i64, now: i64, key: Key, value: &str) -> Result<Option<User>> {
    let folded;
    let value = if key == Key::Email {
        folded = email_key(value);
        folded.as_str()
    } else {
        value
    };
    Ok(db
        .conn()
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM users WHERE app_id = ?1 AND {} = ?3 AND {LIVE} LIMIT 1",
            key.column()
        ))?
        .query_row(params![app_id, now, value], from_row)
        .optional()?)
}

/// By `external_id`, then by the deprecated `external_user_id`.
pub(crate) fn find_external(db: &Db, app_id: i64, now: i64, value: &str) -> Result<Option<User>> {
    match find(db, app_id, now, Key::ExternalId, value)? {
        Some(user) => Ok(Some(user)),
        None => find(db, app_id, now, Key::ExternalUserId, value),
    }
}

/// The unique values a user would hold, with the field each one is.
fn unique_values<'a>(
    login: Option<&'a str>,
    email_key: Option<&'a str>,
    external_id: Option<&'a str>,
    facebook_id: Option<&'a str>,
    twitter_id: Option<&'a str>,
) -> [(Unique, &'static str, Option<&'a str>); 5] {
    [
        (Unique::Login, "login", login),
        (Unique::Email, "email_key", email_key),
        (Unique::ExternalId, "external_id", external_id),
        (Unique::FacebookId, "facebook_id", facebook_id),
        (Unique::TwitterId, "twitter_id", twitter_id),
    ]
}

/// Whether another user of `app_id` (any but `except`) holds `value` in
/// `column`. Writes run one at a time, so a check then an insert in one
/// write cannot race.
pub(crate) fn holder(
    db: &Db,
    app_id: i64,
    column: &'static str,
    value: &str,
    except: Option<i64>,
) -> Result<bool> {
    Ok(db
        .conn()
        .prepare_cached(&format!(
            "SELECT EXISTS(SELECT 1 FROM users WHERE app_id = ?1 AND {column} = ?2 AND id != ?3)"
        ))?
        .query_row(params![app_id, value, except.unwrap_or(0)], |r| r.get(0))?)
}

fn check_unique(
    db: &Db,
    app_id: i64,
    except: Option<i64>,
    values: &[(Unique, &'static str, Option<&str>)],
) -> Result<()> {
    for (unique, column, value) in values {
        if let Some(value) = value
            && holder(db, app_id, column, value, except)?
        {
            return Err(Error::Taken(*unique));
        }
    }
    Ok(())
}

pub(super) fn insert_tags(db: &Db, app_id: i64, id: i64, tags: &[String]) -> Result<()> {
    let mut stmt = db.conn().prepare_cached(
        "INSERT OR IGNORE INTO user_tags (app_id, tag, user_id) VALUES (?1, ?2, ?3)",
    )?;
    for tag in tags {
        stmt.execute(params![app_id, tag, id])?;
    }
    Ok(())
}

/// Creates a user; returns its id. A login, e-mail or provider id another
/// user of the application holds is [`Error::Taken`].
pub(crate) fn insert(db: &Db, app_id: i64, now: i64, user: &NewUser) -> Result<i64> {
    let key = user.email.as_deref().map(email_key);
    check_unique(
        db,
        app_id,
        None,
        &unique_values(
            user.login.as_deref(),
            key.as_deref(),
            user.external_id.as_deref(),
            user.facebook_id.as_deref(),
            user.twitter_id.as_deref(),
        ),
    )?;
    db.conn()
        .prepare_cached(
            "INSERT INTO users (app_id, created_at, updated_at, login, email, email_key,
                 password_hash, full_name, phone, website, external_user_id, external_id,
                 facebook_id, twitter_id, blob_id, custom_data, avatar, user_tags, timezone,
                 is_guest, guest_expires_at, last_request_at)
             VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                 ?16, ?17, ?18, ?19, ?20, ?21)",
        )?
        .execute(params![
            app_id,
            now,
            user.login,
            user.email,
            key,
            user.password_hash,
            user.full_name,
            user.phone,
            user.website,
            user.external_user_id,
            user.external_id,
            user.facebook_id,
            user.twitter_id,
            user.blob_id,
            user.custom_data,
            user.avatar,
            joined(&user.tags),
            user.timezone,
            user.guest_until.is_some(),
            user.guest_until,
            user.last_request_at,
        ])?;
    let id = db.conn().last_insert_rowid();
    db.touch(app_id);
    insert_tags(db, app_id, id, &user.tags)?;
    if let Some(name) = &user.full_name {
        index_name(db, id, name)?;
    }
    Ok(id)
}

pub(super) fn index_name(db: &Db, id: i64, name: &str) -> Result<()> {
    db.conn()
        .prepare_cached("INSERT INTO user_names (rowid, full_name) VALUES (?1, ?2)")?
        .execute(params![id, name])?;
    Ok(())
}

fn unindex_name(db: &Db, id: i64) -> Result<()> {
    db.conn()
        .prepare_cached("DELETE FROM user_names WHERE rowid = ?1")?
        .execute(params![id])?;
    Ok(())
}

/// Applies `patch` to user `id` of `app_id` (and sets `updated_at`).
/// Returns whether the user exists.
pub(crate) fn update(db: &Db, app_id: i64, id: i64, now: i64, patch: &UserPatch) -> Result<bool> {
    let key: Change<String> = patch
        .email
        .as_ref()
        .map(|email| email.as_deref().map(email_key));
    fn flat(change: &Change<String>) -> Option<&str> {
        change.as_ref().and_then(|v| v.as_deref())
    }
    check_unique(
        db,
        app_id,
        Some(id),
        &unique_values(
            patch.login.as_deref(),
            flat(&key),
            flat(&patch.external_id),
            flat(&patch.facebook_id),
            flat(&patch.twitter_id),
        ),
    )?;
    let tags = patch.tags.as_ref().map(|t| joined(t));
    let mut sets: Vec<String> = vec!["updated_at = ?1".into()];
    let mut values: Vec<&dyn ToSql> = vec![&now];
    // Each present change is bound as its inner Option (None clears).
    macro_rules! change {
        ($($column:literal => $change:expr),* $(,)?) => {$(
            if let Some(value) = $change {
                values.push(value);
                sets.push(format!("{} = ?{}", $column, values.len()));
            }
        )*};
    }
    change! {
        "login" => patch.login.as_ref(),
        "email" => patch.email.as_ref(),
        "email_key" => key.as_ref(),
        "password_hash" => patch.password_hash.as_ref(),
        "full_name" => patch.full_name.as_ref(),
        "phone" => patch.phone.as_ref(),
        "website" => patch.website.as_ref(),
        "external_user_id" => patch.external_user_id.as_ref(),
        "external_id" => patch.external_id.as_ref(),
        "facebook_id" => patch.facebook_id.as_ref(),
        "twitter_id" => patch.twitter_id.as_ref(),
        "blob_id" => patch.blob_id.as_ref(),
        "custom_data" => patch.custom_data.as_ref(),
        "avatar" => patch.avatar.as_ref(),
        "user_tags" => tags.as_ref(),
        "timezone" => patch.timezone.as_ref(),
    }
    values.push(&id);
    values.push(&app_id);
    let sql = format!(
        "UPDATE users SET {} WHERE id = ?{} AND app_id = ?{}",
        sets.join(", "),
        values.len() - 1,
        values.len()
    );
    let changed = db.conn().prepare_cached(&sql)?.execute(values.as_slice())? == 1;
    if changed {
        db.touch(app_id);
    }
    if changed && let Some(tags) = &patch.tags {
        db.conn()
            .prepare_cached("DELETE FROM user_tags WHERE user_id = ?1")?
            .execute(params![id])?;
        insert_tags(db, app_id, id, tags)?;
    }
    if changed && let Some(name) = &patch.full_name {
        unindex_name(db, id)?;
        if let Some(name) = name {
            index_name(db, id, name)?;
        }
    }
    Ok(changed)
}

/// Sets user `id`'s password hash (a password reset).
pub(crate) fn set_password(db: &Db, id: i64, now: i64, hash: &str) -> Result<()> {
    let app_id: Option<i64> = db
        .conn()
        .prepare_cached(
            "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1 RETURNING app_id",
        )?
        .query_row(params![id, hash, now], |r| r.get(0))
        .optional()?;
    // `updated_at` is searchable.
    if let Some(app_id) = app_id {
        db.touch(app_id);
    }
    Ok(())
}

/// Deletes a user; their sessions, tags, provider links and reset tokens
/// go with them. Returns whether there was one.
pub(crate) fn delete(db: &Db, id: i64) -> Result<bool> {
    unindex_name(db, id)?;
    let app_id: Option<i64> = db
        .conn()
        .prepare_cached("DELETE FROM users WHERE id = ?1 RETURNING app_id")?
        .query_row(params![id], |r| r.get(0))
        .optional()?;
    if let Some(app_id) = app_id {
        db.touch(app_id);
    }
    Ok(app_id.is_some())
}

/// Writes the `last_request_at` values refreshed by requests since the
/// last flush. (Searches on `last_request_at` are never remembered, so
/// this touches no search version.)
pub(crate) fn save_last_requests(db: &Db, seen: &[(i64, i64)]) -> Result<()> {
    let mut stmt = db.conn().prepare_cached(
        "UPDATE users SET last_request_at = ?2
         WHERE id = ?1 AND (last_request_at IS NULL OR last_request_at < ?2)",
    )?;
    for (id, at) in seen {
        stmt.execute(params![id, at])?;
    }
    Ok(())
}

/// Deletes guests whose lifetime has ended (their sessions go with them).
pub(crate) fn sweep_guests(db: &Db, now: i64) -> Result<()> {
    db.conn()
        .prepare_cached(
            "DELETE FROM user_names WHERE rowid IN (SELECT id FROM users
             WHERE guest_expires_at IS NOT NULL AND guest_expires_at <= ?1)",
        )?
        .execute(params![now])?;
    let swept = db
        .conn()
        .prepare_cached(
            "DELETE FROM users WHERE guest_expires_at IS NOT NULL AND guest_expires_at <= ?1",
        )?
        .execute(params![now])?;
    if swept > 0 {
        db.touch_all();
    }
    Ok(())
}
