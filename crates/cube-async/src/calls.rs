//! One method per mission call.

use crate::client::Client;
use crate::error::Error;
use proto::ops::{
    CreateSession, DestroyOtherSessions, DestroySession, DestroySessionById, GetSession, SignIn,
    SignOut,
};
use proto::{Credentials, SessionInfo, User};

/// Sessions.
impl Client {
    /// Creates a session: an application session with
    /// [`Credentials::Application`], a user or guest session with the others.
    /// It replaces the current session.
    pub async fn create_session(&self, credentials: Credentials) -> Result<SessionInfo, Error> {
        self.execute(CreateSession::new(credentials)).await
    }

    /// Creates an application (read-only) session.
    pub async fn create_application_session(&self) -> Result<SessionInfo, Error> {
        self.create_session(Credentials::Application).await
    }

    /// Signs in (upgrades the application session to a user session; one is
    /// created first when there is none).
    pub async fn sign_in(&self, credentials: Credentials) -> Result<User, Error> {
        self.execute(SignIn::new(credentials)).await
    }

    /// Signs out: the user session becomes an application session.
    pub async fn sign_out(&self) -> Result<(), Error> {
        self.execute(SignOut).await
    }

    /// What the server knows about the current session.
    pub async fn session_info(&self) -> Result<SessionInfo, Error> {
        self.execute(GetSession).await
    }

    /// Destroys the current session.
    pub async fn destroy_session(&self) -> Result<(), Error> {
        self.execute(DestroySession).await
    }

    /// Destroys another session of the same user, by id.
    pub async fn destroy_session_by_id(&self, session_id: u64) -> Result<(), Error> {
        self.execute(DestroySessionById::new(session_id)).await
    }

    /// Destroys every session of the user but the current one.
    pub async fn destroy_other_sessions(&self) -> Result<(), Error> {
        self.execute(DestroyOtherSessions).await
    }
}
