//! Tokens that the emulator's fake provider APIs accept (registered through
//! `/_emulator/providers/...`).

use rusqlite::{Connection, OptionalExtension, params};

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
    conn: &Connection,
    provider: &str,
    token: &str,
    identity: &FakeIdentity,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO provider_tokens (provider, token, secret, uid, name, email)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(provider, token) DO UPDATE SET secret = excluded.secret,
             uid = excluded.uid, name = excluded.name, email = excluded.email",
        params![
            provider,
            token,
            identity.secret.as_ref().map(Secret::expose),
            identity.uid,
            identity.name,
            identity.email
        ],
    )?;
    Ok(())
}

pub(crate) fn find(
    conn: &Connection,
    provider: &str,
    token: &str,
) -> rusqlite::Result<Option<FakeIdentity>> {
    conn.prepare_cached(
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
    .optional()
}
