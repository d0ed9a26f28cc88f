//! Tokens that the emulator's fake provider APIs accept (registered through
//! `/_emulator/providers/...`).

use rusqlite::{OptionalExtension, params};

use super::{Db, Result};
use crate::crypto::Secret;

/// A registered fake-provider identity. No `Debug` of its secrets.
#[derive(Clone)]
pub(crate) struct FakeIdentity {
    pub(crate) secret: Option<Secret>,
    pub(crate) uid: String,
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
}

/// Registers (or replaces) `token` of `provider`.
pub(crate) fn register(
    db: &Db,
    provider: &str,
    token: &str,
    identity: &FakeIdentity,
) -> Result<()> {
    db.conn()
        .prepare_cached(
            "INSERT INTO provider_tokens (provider, token, secret, uid, name, email)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(provider, token) DO UPDATE SET secret = excluded.secret,
             uid = excluded.uid, name = excluded.name, email = excluded.email",
        )?
        .execute(params![
            provider,
            token,
            identity.secret.as_ref().map(Secret::expose),
            identity.uid,
            identity.name,
            identity.email
        ])?;
    Ok(())
}

pub(crate) fn find(db: &Db, provider: &str, token: &str) -> Result<Option<FakeIdentity>> {
    Ok(db.conn().prepare_cached(
        "SELECT secret, uid, name, email FROM provider_tokens WHERE provider = ?1 AND token = ?2",
    )?
    .query_row(params![provider, token], |r| {
        Ok(FakeIdentity {
            secret: r.get::<_, Option<String>>(0)?.map(Secret::new),
            uid: r.get(1)?,
            name: r.get(2)?,
            email: r.get(3)?,
        })
    })
    .optional()?)
}

/// Forgets every registered token (data reset).
pub(crate) fn clear(db: &Db) -> Result<()> {
    db.conn().execute("DELETE FROM provider_tokens", [])?;
    Ok(())
}
