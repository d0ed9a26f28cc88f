//! One value per API call: each builds its request and parses its answer.

mod session;
mod storage;
mod transfer;
mod users;

// The look-ups and lists that live with the search types, where they are
// operations too.
pub use crate::search::{GetUser, ListUsers, SearchUsers, V1Filter, V1Operator, V1Type};
pub use session::{
    CreateSession, DestroyOtherSessions, DestroySession, DestroySessionById, GetSession, SignIn,
    SignOut,
};
pub use storage::{
    CompleteBlob, CreateBlob, DeleteBlob, GetBlob, Upload, blob_private_url, blob_public_url,
};
pub use transfer::{
    BlobLocation, DEFAULT_IDLE_TIMEOUT, DownloadBlob, MAX_UPLOAD, Redirect, StreamedUpload,
    check_file_size, file_answer, guess_content_type,
};
pub use users::{
    DeleteUser, DeleteUserByExternalId, FULL_NAME_MAX_CHARS, FindUsersV1, Found, GetUserV1,
    MAX_TAGS, NewUser, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, ResetPassword, SignUp, UpdateUser,
    UserUpdate,
};

use crate::credentials::SessionKind;
use crate::error::Error;
use crate::secret::Secret;
use crate::wire::{Request, RequestContext, Response};

/// What kind of session an operation runs under. The session state machine
/// reads it to decide, before anything is sent, whether the call can go out
/// as it is, needs a session first, or must be refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Sent without a token (`POST /session`).
    Public,
    /// Sent with the token when a valid session exists, else with the auth
    /// key (sign-up). Never creates a session.
    Optional,
    /// Any session, application or user. With none, one is restored (when a
    /// restore callback is set) or an application session is created.
    Read,
    /// A user (or guest) session: writes on the user's behalf.
    Write,
    /// Acts on the current session itself (info, sign out, destroy): needs a
    /// live one and never creates one.
    Current,
    /// Signing in upgrades an application session; with no live session an
    /// application session is created first.
    SignIn,
}

/// How a successful call changes the session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transition {
    /// No change.
    None,
    /// A new session replaces whatever was there.
    Established {
        /// The new token.
        token: Secret,
        /// Its kind.
        kind: SessionKind,
        /// The session id.
        session_id: u64,
        /// The user, for user and guest sessions.
        user_id: Option<u64>,
    },
    /// The application session became a user session (same token).
    SignedIn {
        /// The signed-in user.
        user_id: u64,
    },
    /// The user session became an application session (same token).
    SignedOut,
    /// The token is dead (session destroyed, user deleted).
    Ended,
    /// Session `session_id` was destroyed: the current one ends if it is that.
    SessionDestroyed {
        /// The destroyed session.
        session_id: u64,
    },
}

/// An API call: a pure request builder and response parser.
pub trait Operation {
    /// What a successful call returns.
    type Output;

    /// The operation's name in logs and spans (`sign_in`, `get_user`): a
    /// fixed word, never a value the operation carries. The library's own
    /// operations name themselves in snake case; a custom one goes by its
    /// type's name unless it says otherwise.
    fn name(&self) -> &'static str {
        short_type_name(std::any::type_name::<Self>())
    }

    /// The session the call needs.
    fn access(&self) -> Access;

    /// Builds the request. Called once per attempt, with the token (if any)
    /// the session state machine chose.
    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error>;

    /// Parses a response whose status [`accepts`](Self::accepts) takes.
    /// Other statuses never reach this: the caller turns them into
    /// [`Error::Api`].
    fn parse(&self, response: &Response) -> Result<Self::Output, Error>;

    /// Whether an answer with this status is the call's result rather than
    /// an error: every 2xx, and for a download the storage redirect too.
    fn accepts(&self, status: http::StatusCode) -> bool {
        status.is_success()
    }

    /// How a success moves the session.
    fn transition(&self, _output: &Self::Output) -> Transition {
        Transition::None
    }

    /// Whether `request` (as this operation built it) may go out again
    /// after a failure that leaves unknown whether the server acted on it
    /// (a `429`, `502`, `503` or `504` answer; a connection reset or timed
    /// out after the request was written): true when sending it twice does
    /// what sending it once does. By default, reads (`GET`, `HEAD`); a
    /// read with an effect says no (the password reset sends an e-mail),
    /// and creating a non-guest session says yes (a second session is
    /// harmless, and the server signs a user up at most once). Any request
    /// may go again after a failure that proves nothing was sent
    /// ([`crate::retry`]).
    ///
    /// ```
    /// use cube_proto::ops::{Operation, ResetPassword, GetUser};
    /// use cube_proto::{Config, wire::RequestContext};
    /// let config = Config::builder(1, "k").build()?;
    /// let ctx = RequestContext { config: &config, token: None,
    ///     now: time::OffsetDateTime::UNIX_EPOCH, nonce: 1 };
    /// let look_up = GetUser::by_id(7);
    /// assert!(look_up.idempotent(&look_up.build(&ctx)?));
    /// let reset = ResetPassword::new("a@example.com")?;
    /// assert!(!reset.idempotent(&reset.build(&ctx)?));
    /// # Ok::<(), cube_proto::Error>(())
    /// ```
    fn idempotent(&self, request: &Request) -> bool {
        request.method() == http::Method::GET || request.method() == http::Method::HEAD
    }
}

/// `Probe` of `my_app::ops::Probe<my_app::X>`: the last path segment before
/// any generic arguments.
fn short_type_name(full: &'static str) -> &'static str {
    let plain = full.split('<').next().unwrap_or(full);
    plain.rsplit("::").next().unwrap_or(plain)
}

#[cfg(test)]
mod tests {
    use super::short_type_name;

    #[test]
    fn a_type_name_is_shortened_to_its_last_segment() {
        assert_eq!(short_type_name("my_app::ops::Probe"), "Probe");
        assert_eq!(short_type_name("my_app::Probe<my_app::X>"), "Probe");
        assert_eq!(short_type_name("Probe"), "Probe");
    }
}
