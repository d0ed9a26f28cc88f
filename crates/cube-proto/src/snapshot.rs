//! A session taken out of one client and put into another: save it when the
//! app stops and resume it when it starts, or adopt a token minted elsewhere
//! (the app's backend, another device).
//!
//! A [`SessionSnapshot`] is everything the session state machine needs to be
//! exactly where it was: which application and server the token belongs to,
//! its kind, the token, the session and user ids and the deadline. A guest's
//! deadline is fixed at its creation (plus one day, or what the server's
//! header said), so the deadline carries the guest rule and no creation time
//! is kept beside it. With the `serde` feature a snapshot serializes to a
//! small, versioned object, for a file or a keychain entry; the token is in
//! it, so store it as the secret it is. `Debug` never shows the token.

use crate::config::Config;
use crate::credentials::SessionKind;
use crate::error::{Error, InvalidInput};
use crate::secret::Secret;
use time::OffsetDateTime;

/// Which application on which server a session belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) application_id: u64,
    pub(crate) base_url: String,
}

impl Origin {
    pub(crate) fn of(config: &Config) -> Self {
        Self {
            application_id: config.application_id(),
            base_url: config.base_url().to_owned(),
        }
    }

    /// Refuses a snapshot of another origin, naming what differs.
    pub(crate) fn check(&self, other: &Origin) -> Result<(), Error> {
        if self.application_id != other.application_id {
            return Err(Error::ForeignSnapshot("application id"));
        }
        if self.base_url != other.base_url {
            return Err(Error::ForeignSnapshot("base URL"));
        }
        Ok(())
    }
}

/// The state of a session, to save and resume later or in another process.
/// Take one with `export_session()` on a client (or [`Session::export`]),
/// or from a [`SessionEvent`](crate::SessionEvent).
///
/// ```
/// use cube_proto::{Config, IssuedToken, Session, SessionKind, SessionOptions};
/// use time::macros::datetime;
/// let config = Config::builder(1, "key").build()?;
/// let deadline = datetime!(2026-11-24 14:00 UTC);
/// let session = Session::adopted(&config, SessionOptions::default(),
///     IssuedToken::new("83153a14").user(81).expires_at(deadline))?;
/// let snapshot = session.export().unwrap();
/// assert_eq!((snapshot.kind(), snapshot.user_id()), (SessionKind::User, Some(81)));
/// assert_eq!(snapshot.expires_at(), Some(deadline));
/// assert!(!format!("{snapshot:?}").contains("83153a14"));
/// # Ok::<(), cube_proto::Error>(())
/// ```
///
/// [`Session::export`]: crate::Session::export
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSnapshot {
    pub(crate) origin: Origin,
    pub(crate) kind: SessionKind,
    pub(crate) token: Option<Secret>,
    pub(crate) session_id: Option<u64>,
    pub(crate) user_id: Option<u64>,
    pub(crate) expires_at: Option<OffsetDateTime>,
}

impl SessionSnapshot {
    /// The application the session belongs to.
    pub fn application_id(&self) -> u64 {
        self.origin.application_id
    }

    /// The server the session belongs to (the client's base URL).
    pub fn base_url(&self) -> &str {
        &self.origin.base_url
    }

    /// The kind of session.
    pub fn kind(&self) -> SessionKind {
        self.kind
    }

    /// The token; `None` when the server said the session is gone (a
    /// snapshot of an expired session resumes as expired).
    pub fn token(&self) -> Option<&Secret> {
        self.token.as_ref()
    }

    /// The server's id of the session, when known (not for adopted tokens).
    pub fn session_id(&self) -> Option<u64> {
        self.session_id
    }

    /// The user of a user or guest session.
    pub fn user_id(&self) -> Option<u64> {
        self.user_id
    }

    /// The deadline, when known: an adopted token without one learns it
    /// from the first response's `CB-Token-ExpirationDate`.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        self.expires_at
    }

    /// Checks that the snapshot can be resumed by a client of `config`.
    pub(crate) fn check(&self, config: &Config) -> Result<(), Error> {
        Origin::of(config).check(&self.origin)?;
        let Some(token) = &self.token else {
            // A dead session keeps only its kind.
            return Ok(());
        };
        check_token(token)?;
        let has_user = self.user_id.is_some();
        if has_user == (self.kind == SessionKind::Application) {
            return Err(InvalidInput::new(
                "snapshot",
                "the user id does not fit the session kind (an application session has none, a user or guest session has one)",
            )
            .into());
        }
        Ok(())
    }
}

/// A token minted elsewhere — by the app's backend, or handed over from
/// another client — with what is known about it. Build a client from one
/// (`Client::with_token`), adopt one into a running client, or let the
/// restore callback answer with one ([`RestoreAnswer::Session`]).
///
/// Without [`user`](Self::user) or [`guest`](Self::guest) the token counts
/// as an application (read-only) session, so writes are refused before
/// anything is sent. Without [`expires_at`](Self::expires_at) the first
/// response's `CB-Token-ExpirationDate` sets the deadline.
///
/// ```
/// use cube_proto::{IssuedToken, SessionKind};
/// let token = IssuedToken::new("83153a14").user(81);
/// assert_eq!(token.kind(), SessionKind::User);
/// assert!(!format!("{token:?}").contains("83153a14"));
/// ```
///
/// [`RestoreAnswer::Session`]: crate::RestoreAnswer::Session
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub(crate) token: Secret,
    pub(crate) kind: SessionKind,
    pub(crate) user_id: Option<u64>,
    pub(crate) expires_at: Option<OffsetDateTime>,
}

impl IssuedToken {
    /// A token of unknown user: an application session until told otherwise.
    pub fn new(token: impl Into<Secret>) -> Self {
        Self {
            token: token.into(),
            kind: SessionKind::Application,
            user_id: None,
            expires_at: None,
        }
    }

    /// The token is a user session of `user_id`.
    pub fn user(mut self, user_id: u64) -> Self {
        self.kind = SessionKind::User;
        self.user_id = Some(user_id);
        self
    }

    /// The token is a guest session of `user_id`.
    pub fn guest(mut self, user_id: u64) -> Self {
        self.kind = SessionKind::Guest;
        self.user_id = Some(user_id);
        self
    }

    /// The token's deadline, when the issuer said it.
    pub fn expires_at(mut self, deadline: OffsetDateTime) -> Self {
        self.expires_at = Some(deadline);
        self
    }

    /// The kind of session the token is taken for.
    pub fn kind(&self) -> SessionKind {
        self.kind
    }

    /// The user, for a user or guest token.
    pub fn user_id(&self) -> Option<u64> {
        self.user_id
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        check_token(&self.token)
    }
}

/// What a client's session starts as.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionStart {
    /// No session: the first call that needs one creates or restores it.
    #[default]
    Empty,
    /// Where a saved session left off; see [`Session::resumed`](crate::Session::resumed).
    Snapshot(SessionSnapshot),
    /// A token minted elsewhere; see [`Session::adopted`](crate::Session::adopted).
    Token(IssuedToken),
}

/// A token must be something that can go in the `CB-Token` header.
fn check_token(token: &Secret) -> Result<(), Error> {
    let value = token.expose();
    if value.trim().is_empty() {
        return Err(InvalidInput::new("token", "must not be empty").into());
    }
    if http::HeaderValue::from_str(value).is_err() {
        return Err(InvalidInput::new("token", "not a valid header value").into());
    }
    Ok(())
}

#[cfg(feature = "serde")]
mod wire_form {
    //! The serialized form: a flat, versioned object. Deadlines are RFC 3339
    //! text so that a person can read the file.

    use super::{Origin, SessionSnapshot};
    use crate::credentials::SessionKind;
    use crate::secret::Secret;
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    /// The only version written so far; others are refused when read.
    const VERSION: u32 = 1;

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Form {
        version: u32,
        application_id: u64,
        base_url: String,
        kind: Kind,
        token: Option<String>,
        session_id: Option<u64>,
        user_id: Option<u64>,
        expires_at: Option<String>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Application,
        User,
        Guest,
    }

    impl Serialize for SessionSnapshot {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let expires_at = match self.expires_at {
                Some(at) => Some(at.format(&Rfc3339).map_err(serde::ser::Error::custom)?),
                None => None,
            };
            Form {
                version: VERSION,
                application_id: self.origin.application_id,
                base_url: self.origin.base_url.clone(),
                kind: match self.kind {
                    SessionKind::Application => Kind::Application,
                    SessionKind::User => Kind::User,
                    SessionKind::Guest => Kind::Guest,
                },
                token: self.token.as_ref().map(|t| t.expose().to_owned()),
                session_id: self.session_id,
                user_id: self.user_id,
                expires_at,
            }
            .serialize(serializer)
        }
    }

    impl<'de> Deserialize<'de> for SessionSnapshot {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let form = Form::deserialize(deserializer)?;
            if form.version != VERSION {
                return Err(D::Error::custom(format!(
                    "session snapshot version {} is not {VERSION}",
                    form.version
                )));
            }
            let expires_at = match form.expires_at {
                Some(text) => Some(
                    OffsetDateTime::parse(&text, &Rfc3339)
                        .map_err(|_| D::Error::custom("expires_at is not an RFC 3339 time"))?,
                ),
                None => None,
            };
            Ok(SessionSnapshot {
                origin: Origin {
                    application_id: form.application_id,
                    base_url: form.base_url,
                },
                kind: match form.kind {
                    Kind::Application => SessionKind::Application,
                    Kind::User => SessionKind::User,
                    Kind::Guest => SessionKind::Guest,
                },
                token: form.token.map(Secret::from),
                session_id: form.session_id,
                user_id: form.user_id,
                expires_at,
            })
        }
    }
}
