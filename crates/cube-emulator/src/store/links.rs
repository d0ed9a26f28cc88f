//! Provider links: which user an identity verified by a provider signs
//! in as. Only provider sign-ins write them, so a user cannot claim
//! someone else's identity by setting `facebook_id`, `twitter_id` or
//! `external_id` on themselves: those fields are for look-ups only.

use rusqlite::{OptionalExtension, params};

use super::users::{self, NewUser, email_key};
use super::{Db, Result};
use crate::limits::email_ok;

/// Who vouched for an identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provider {
    Facebook,
    Twitter,
    /// Firebase phone and e-mail sign-ins share the Firebase user id.
    Firebase,
    /// The application's custom identity provider.
    Cidp,
}

impl Provider {
    fn name(self) -> &'static str {
        match self {
            Provider::Facebook => "facebook",
            Provider::Twitter => "twitter",
            Provider::Firebase => "firebase",
            Provider::Cidp => "cidp",
        }
    }

    /// The user field a new user gets the provider's id in, if any.
    fn id_column(self) -> Option<&'static str> {
        match self {
            Provider::Facebook => Some("facebook_id"),
            Provider::Twitter => Some("twitter_id"),
            Provider::Cidp => Some("external_id"),
            Provider::Firebase => None,
        }
    }
}

/// An identity a provider vouched for, with the profile a first sign-in
/// creates the user with (already validated by the caller).
pub(crate) struct Identity {
    pub(crate) provider: Provider,
    pub(crate) uid: String,
    pub(crate) full_name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) phone: Option<String>,
}

fn linked(db: &Db, app_id: i64, provider: Provider, uid: &str) -> Result<Option<i64>> {
    Ok(db
        .conn()
        .prepare_cached(
            "SELECT user_id FROM provider_links WHERE app_id = ?1 AND provider = ?2 AND uid = ?3",
        )?
        .query_row(params![app_id, provider.name(), uid], |r| r.get(0))
        .optional()?)
}

/// The id of the user `identity` signs in as, created (and linked) on its
/// first sign-in, in the caller's transaction, so two first sign-ins make
/// one user. A profile e-mail, or a provider id, that another user already
/// holds is left out of the new user rather than failing the sign-in.
pub(crate) fn sign_in(db: &Db, app_id: i64, now: i64, identity: &Identity) -> Result<i64> {
    if let Some(user_id) = linked(db, app_id, identity.provider, &identity.uid)? {
        return Ok(user_id);
    }
    let free = |column, value: &str| -> Result<bool> {
        Ok(!users::holder(db, app_id, column, value, None)?)
    };
    let mut user = NewUser {
        full_name: identity.full_name.clone(),
        phone: identity.phone.clone(),
        ..NewUser::default()
    };
    // An address sign-up would refuse is not kept (the profile is the
    // provider's word, not checked like a request's fields).
    if let Some(email) = &identity.email
        && email_ok(email)
        && free("email_key", &email_key(email))?
    {
        user.email = Some(email.clone());
    }
    if let Some(column) = identity.provider.id_column()
        && free(column, &identity.uid)?
    {
        let uid = Some(identity.uid.clone());
        match identity.provider {
            Provider::Facebook => user.facebook_id = uid,
            Provider::Twitter => user.twitter_id = uid,
            Provider::Cidp => user.external_id = uid,
            Provider::Firebase => {}
        }
    }
    let user_id = users::insert(db, app_id, now, &user)?;
    db.conn()
        .prepare_cached(
            "INSERT INTO provider_links (app_id, provider, uid, user_id) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            app_id,
            identity.provider.name(),
            identity.uid,
            user_id
        ])?;
    Ok(user_id)
}
