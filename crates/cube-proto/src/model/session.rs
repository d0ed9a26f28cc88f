//! The session object of `POST /session` and `GET /session`.

use super::de;
use super::user::User;
use crate::secret::Secret;
use serde::Deserialize;
use time::OffsetDateTime;

/// A session as the server describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The session id (used by `DELETE /session/{id}`).
    #[serde(deserialize_with = "de::u64_any")]
    pub id: u64,
    /// The signed-in user, `None` for an application session (`0` or null).
    #[serde(default, deserialize_with = "user_id")]
    pub user_id: Option<u64>,
    /// The application.
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub application_id: Option<u64>,
    /// The session token (absent from some `GET /session` answers).
    #[serde(default, deserialize_with = "token")]
    pub token: Option<Secret>,
    /// When it was created.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub created_at: Option<OffsetDateTime>,
    /// When it was last changed.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub updated_at: Option<OffsetDateTime>,
    /// The user, for a user session.
    #[serde(default)]
    pub user: Option<User>,
}

fn user_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(de::opt_u64(d)?.filter(|id| *id != 0))
}

fn token<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    Ok(Option::<String>::deserialize(d)?
        .filter(|t| !t.is_empty())
        .map(Secret::new))
}
