//! What an application's restore callback may answer.

use crate::credentials::Credentials;
use crate::snapshot::IssuedToken;

/// The restore callback's answer: credentials to create a session with, a
/// ready session (a token from the app's backend, for instance), or no.
///
/// Callbacks may return anything that converts: `Option<Credentials>` (as
/// before), `Credentials`, `IssuedToken` or `Option<IssuedToken>`.
///
/// ```
/// use cube_proto::{Credentials, IssuedToken, RestoreAnswer};
/// assert_eq!(RestoreAnswer::from(None::<Credentials>), RestoreAnswer::Decline);
/// let answer: RestoreAnswer = IssuedToken::new("from-my-backend").user(81).into();
/// assert!(matches!(answer, RestoreAnswer::Session(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RestoreAnswer {
    /// Create a session with these credentials (needs the auth key).
    Credentials(Credentials),
    /// Use this session as it is: no request is made.
    Session(IssuedToken),
    /// Give up: the call fails with a typed error.
    Decline,
}

impl From<Credentials> for RestoreAnswer {
    fn from(c: Credentials) -> Self {
        Self::Credentials(c)
    }
}

impl From<Option<Credentials>> for RestoreAnswer {
    fn from(c: Option<Credentials>) -> Self {
        c.map_or(Self::Decline, Self::Credentials)
    }
}

impl From<IssuedToken> for RestoreAnswer {
    fn from(t: IssuedToken) -> Self {
        Self::Session(t)
    }
}

impl From<Option<IssuedToken>> for RestoreAnswer {
    fn from(t: Option<IssuedToken>) -> Self {
        t.map_or(Self::Decline, Self::Session)
    }
}
