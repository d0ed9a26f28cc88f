//! The rows of a saved data set (`crate::dataset`): read all at once for
//! an export, written all at once for an import. Each record keeps its id,
//! so the references between them (a link's user, a user's avatar file)
//! survive the round trip.

use rusqlite::{Row, params};
use serde::{Deserialize, Serialize};

use super::users::{self, email_key};
use super::{Db, Result};
use crate::settings::AppSettings;

/// An application with its settings (in the admin API's form, provider
/// URLs left `null` when they point at the emulator's fakes).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AppRecord {
    pub(crate) id: i64,
    pub(crate) auth_key: String,
    pub(crate) auth_secret: String,
    pub(crate) settings: serde_json::Map<String, serde_json::Value>,
}

/// A user, with their password hash. Times are Unix seconds.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserRecord {
    pub(crate) id: i64,
    pub(crate) app_id: i64,
    #[serde(default)]
    pub(crate) login: Option<String>,
    #[serde(default)]
    pub(crate) email: Option<String>,
    #[serde(default)]
    pub(crate) password_hash: Option<String>,
    #[serde(default)]
    pub(crate) full_name: Option<String>,
    #[serde(default)]
    pub(crate) phone: Option<String>,
    #[serde(default)]
    pub(crate) website: Option<String>,
    /// A number; read from a digit string too (how data sets held it
    /// before it was one).
    #[serde(default, deserialize_with = "number_or_digits")]
    pub(crate) external_user_id: Option<i64>,
    #[serde(default)]
    pub(crate) external_id: Option<String>,
    #[serde(default)]
    pub(crate) facebook_id: Option<String>,
    #[serde(default)]
    pub(crate) twitter_id: Option<String>,
    #[serde(default)]
    pub(crate) blob_id: Option<i64>,
    #[serde(default)]
    pub(crate) custom_data: Option<String>,
    #[serde(default)]
    pub(crate) avatar: Option<String>,
    #[serde(default)]
    pub(crate) tags: Vec<String>,
    #[serde(default)]
    pub(crate) timezone: Option<i64>,
    /// Set for a guest: when it ends.
    #[serde(default)]
    pub(crate) guest_expires_at: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    #[serde(default)]
    pub(crate) last_request_at: Option<i64>,
}

/// `external_user_id` as the API takes it ([`crate::limits::external_user_id`]).
fn number_or_digits<'de, D>(deserializer: D) -> std::result::Result<Option<i64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::Error as _;
    match Option::<serde_json::Value>::deserialize(deserializer)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value) => crate::limits::external_user_id(&value)
            .map(Some)
            .map_err(|why| D::Error::custom(format!("external_user_id {value} {why}"))),
    }
}

/// An identity a provider vouched for, and the user it signs in as.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkRecord {
    pub(crate) app_id: i64,
    pub(crate) provider: String,
    pub(crate) uid: String,
    pub(crate) user_id: i64,
}

/// A file record; `bytes` is the length of its content in the data set's
/// `files/` directory, `None` when nothing was uploaded yet.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileRecord {
    pub(crate) id: i64,
    pub(crate) app_id: i64,
    pub(crate) uid: String,
    pub(crate) owner_id: i64,
    pub(crate) content_type: String,
    pub(crate) name: String,
    pub(crate) public: bool,
    #[serde(default)]
    pub(crate) size: Option<i64>,
    #[serde(default)]
    pub(crate) completed_at: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    #[serde(default)]
    pub(crate) bytes: Option<u64>,
}

/// Everything a data set holds, in id order.
#[derive(Default)]
pub(crate) struct Snapshot {
    pub(crate) apps: Vec<AppRecord>,
    pub(crate) users: Vec<UserRecord>,
    pub(crate) links: Vec<LinkRecord>,
    pub(crate) files: Vec<FileRecord>,
    pub(crate) clock_offset: i64,
}

/// Reads every application, live user, provider link and file record.
/// Call it inside [`Db::snapshot`], so that they agree with each other.
/// `bytes` is left `None`: the caller knows the files.
pub(crate) fn read(db: &Db, now: i64) -> Result<Snapshot> {
    let conn = db.conn();
    let apps = conn
        .prepare("SELECT id, auth_key, auth_secret, settings FROM apps ORDER BY id")?
        .query_map([], |r| {
            let settings = AppSettings::from_stored(&r.get::<_, String>(3)?).to_json(None);
            Ok(AppRecord {
                id: r.get(0)?,
                auth_key: r.get(1)?,
                auth_secret: r.get(2)?,
                settings: match settings {
                    serde_json::Value::Object(map) => map,
                    _ => serde_json::Map::new(),
                },
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let users = conn
        .prepare(
            "SELECT id, app_id, login, email, password_hash, full_name, phone, website,
                 external_user_id, external_id, facebook_id, twitter_id, blob_id, custom_data,
                 avatar, user_tags, timezone, guest_expires_at, created_at, updated_at,
                 last_request_at
             FROM users WHERE guest_expires_at IS NULL OR guest_expires_at > ?1 ORDER BY id",
        )?
        .query_map([now], user_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    let links = conn
        .prepare(
            "SELECT l.app_id, l.provider, l.uid, l.user_id FROM provider_links l
             JOIN users u ON u.id = l.user_id
             WHERE u.guest_expires_at IS NULL OR u.guest_expires_at > ?1
             ORDER BY l.user_id, l.provider, l.uid",
        )?
        .query_map([now], |r| {
            Ok(LinkRecord {
                app_id: r.get(0)?,
                provider: r.get(1)?,
                uid: r.get(2)?,
                user_id: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let files = conn
        .prepare(
            "SELECT id, app_id, uid, owner_id, content_type, name, public, size, completed_at,
                 created_at, updated_at FROM blobs ORDER BY id",
        )?
        .query_map([], |r| {
            Ok(FileRecord {
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
                bytes: None,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Snapshot {
        apps,
        users,
        links,
        files,
        clock_offset: super::apps::clock_offset(db)?,
    })
}

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<UserRecord> {
    let tags: Option<String> = r.get(15)?;
    Ok(UserRecord {
        id: r.get(0)?,
        app_id: r.get(1)?,
        login: r.get(2)?,
        email: r.get(3)?,
        password_hash: r.get(4)?,
        full_name: r.get(5)?,
        phone: r.get(6)?,
        website: r.get(7)?,
        external_user_id: r.get(8)?,
        external_id: r.get(9)?,
        facebook_id: r.get(10)?,
        twitter_id: r.get(11)?,
        blob_id: r.get(12)?,
        custom_data: r.get(13)?,
        avatar: r.get(14)?,
        tags: tags
            .map(|t| t.split(',').map(str::to_owned).collect())
            .unwrap_or_default(),
        timezone: r.get(16)?,
        guest_expires_at: r.get(17)?,
        created_at: r.get(18)?,
        updated_at: r.get(19)?,
        last_request_at: r.get(20)?,
    })
}

/// Whether the database holds nothing yet: no application, user or file
/// record (an import only ever goes into an empty one).
pub(crate) fn is_empty(db: &Db) -> Result<bool> {
    Ok(db.conn().query_row(
        "SELECT NOT EXISTS(SELECT 1 FROM apps) AND NOT EXISTS(SELECT 1 FROM users)
             AND NOT EXISTS(SELECT 1 FROM blobs)",
        [],
        |r| r.get(0),
    )?)
}

/// Writes a validated data set into an empty database, keeping every id.
/// Runs in the caller's write, so it is all or nothing.
pub(crate) fn write(db: &Db, data: &Snapshot) -> Result<()> {
    // Users arrive without `users::insert`: remembered search totals of
    // every application are void.
    db.touch_all();
    let conn = db.conn();
    let mut insert_app = conn.prepare(
        "INSERT INTO apps (id, auth_key, auth_secret, settings) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for app in &data.apps {
        let settings = serde_json::Value::Object(app.settings.clone()).to_string();
        insert_app.execute(params![app.id, app.auth_key, app.auth_secret, settings])?;
    }
    let mut insert_user = conn.prepare(
        "INSERT INTO users (id, app_id, login, email, email_key, password_hash, full_name,
             phone, website, external_user_id, external_id, facebook_id, twitter_id, blob_id,
             custom_data, avatar, user_tags, timezone, is_guest, guest_expires_at, created_at,
             updated_at, last_request_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
             ?18, ?19, ?20, ?21, ?22, ?23)",
    )?;
    for user in &data.users {
        insert_user.execute(params![
            user.id,
            user.app_id,
            user.login,
            user.email,
            user.email.as_deref().map(email_key),
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
            (!user.tags.is_empty()).then(|| user.tags.join(",")),
            user.timezone,
            user.guest_expires_at.is_some(),
            user.guest_expires_at,
            user.created_at,
            user.updated_at,
            user.last_request_at,
        ])?;
        users::insert_tags(db, user.app_id, user.id, &user.tags)?;
        if let Some(name) = &user.full_name {
            users::index_name(db, user.id, name)?;
        }
    }
    let mut insert_link = conn.prepare(
        "INSERT INTO provider_links (app_id, provider, uid, user_id) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for link in &data.links {
        insert_link.execute(params![link.app_id, link.provider, link.uid, link.user_id])?;
    }
    let mut insert_file = conn.prepare(
        "INSERT INTO blobs (id, app_id, uid, owner_id, content_type, name, public, size,
             completed_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for file in &data.files {
        insert_file.execute(params![
            file.id,
            file.app_id,
            file.uid,
            file.owner_id,
            file.content_type,
            file.name,
            file.public,
            file.size,
            file.completed_at,
            file.created_at,
            file.updated_at
        ])?;
    }
    super::apps::save_clock_offset(db, data.clock_offset)
}
