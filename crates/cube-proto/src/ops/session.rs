//! Session calls: create, sign in/out, info, destroy (`docs/PROTOCOL.md`, "Sessions").

use super::{Access, Operation, Transition};
use crate::credentials::{Credentials, SessionKind};
use crate::error::{DecodeError, Error, InvalidInput};
use crate::model::{SessionInfo, User};
use crate::wire::{self, Request, RequestContext, Response};
use http::Method;
use serde_json::{Map, Value, json};

/// `POST /session`: an application session or a user session of any kind.
///
/// Signed (nonce, timestamp, HMAC signature) when the configuration has an
/// auth secret, unsigned otherwise.
///
/// ```
/// use cube_proto::{Config, Credentials, ops::{CreateSession, Operation}, wire::RequestContext};
/// let config = Config::builder(1, "29WfrNWdvkhmX6V").build()?;
/// let ctx = RequestContext { config: &config, token: None,
///     now: time::OffsetDateTime::UNIX_EPOCH, nonce: 7 };
/// let req = CreateSession::new(Credentials::login("john", "11111111")).build(&ctx)?;
/// assert_eq!(req.uri(), "https://api.connectycube.com/session");
/// # Ok::<(), cube_proto::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CreateSession {
    credentials: Credentials,
}

impl CreateSession {
    /// A session for these credentials.
    pub fn new(credentials: Credentials) -> Self {
        Self { credentials }
    }

    /// An application (read-only) session.
    pub fn application() -> Self {
        Self::new(Credentials::Application)
    }

    /// The credentials this session is created with.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The JSON body, signed when the configuration has a secret; without
    /// an auth key there is no session to ask for.
    fn body(&self, ctx: &RequestContext<'_>) -> Result<Map<String, Value>, Error> {
        let config = ctx.config;
        let auth_key = config.auth_key().ok_or(Error::NoAuthKey)?;
        let mut body = Map::new();
        body.insert("application_id".into(), json!(config.application_id()));
        body.insert("auth_key".into(), json!(auth_key));
        self.credentials.session_fields(&mut body);
        if let Some(signer) = config.signer() {
            body.insert("nonce".into(), json!(ctx.nonce));
            body.insert("timestamp".into(), json!(ctx.now.unix_timestamp()));
            let signature = signer.sign(&body);
            body.insert("signature".into(), json!(signature));
        }
        Ok(body)
    }
}

impl Operation for CreateSession {
    type Output = SessionInfo;

    fn name(&self) -> &'static str {
        "create_session"
    }

    fn access(&self) -> Access {
        Access::Public
    }

    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        self.credentials.validate()?;
        // A token is never sent here: the server ignores it anyway.
        let ctx = RequestContext {
            token: None,
            ..*ctx
        };
        let body = self.body(&ctx)?;
        let builder = wire::request(&ctx, Method::POST, "/session", None)?;
        wire::with_json(builder, &Value::Object(body))
    }

    fn parse(&self, response: &Response) -> Result<SessionInfo, Error> {
        let info: SessionInfo = wire::wrapped(response, "session")?;
        if info.token.is_none() {
            return Err(DecodeError::new(
                response.status(),
                "the session has no token",
                response.body(),
            )
            .into());
        }
        if self.credentials.kind() != SessionKind::Application && info.user_id.is_none() {
            return Err(DecodeError::new(
                response.status(),
                "a user session without a user id",
                response.body(),
            )
            .into());
        }
        Ok(info)
    }

    /// Yes, but for a guest: each guest session is a new guest user.
    fn idempotent(&self, _request: &Request) -> bool {
        self.credentials.kind() != SessionKind::Guest
    }

    fn transition(&self, output: &SessionInfo) -> Transition {
        match &output.token {
            Some(token) => Transition::Established {
                token: token.clone(),
                kind: self.credentials.kind(),
                session_id: output.id,
                user_id: output.user_id,
            },
            None => Transition::None,
        }
    }
}

/// `POST /login`: upgrades the application session to a user session,
/// keeping its token. Every credential kind but application and guest.
#[derive(Debug, Clone)]
pub struct SignIn {
    credentials: Credentials,
}

impl SignIn {
    /// Signs in with these credentials.
    pub fn new(credentials: Credentials) -> Self {
        Self { credentials }
    }
}

impl Operation for SignIn {
    type Output = User;

    fn name(&self) -> &'static str {
        "sign_in"
    }

    fn access(&self) -> Access {
        Access::SignIn
    }

    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        self.credentials.validate()?;
        let body = self.credentials.login_body().ok_or_else(|| {
            InvalidInput::new(
                "credentials",
                "application and guest credentials cannot sign in; create a session with them",
            )
        })?;
        let builder = wire::request(ctx, Method::POST, "/login", None)?;
        wire::with_json(builder, &Value::Object(body))
    }

    fn parse(&self, response: &Response) -> Result<User, Error> {
        wire::wrapped(response, "user")
    }

    fn transition(&self, user: &User) -> Transition {
        Transition::SignedIn { user_id: user.id }
    }
}

/// Defines an operation on the current session with an empty answer.
macro_rules! current_session_call {
    ($(#[$doc:meta])* $name:ident, $op_name:literal, $method:expr, $path:expr, $transition:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name;

        impl Operation for $name {
            type Output = ();

            fn name(&self) -> &'static str {
                $op_name
            }

            fn access(&self) -> Access {
                Access::Current
            }

            fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
                wire::empty(wire::request(ctx, $method, $path, None)?)
            }

            fn parse(&self, _response: &Response) -> Result<(), Error> {
                Ok(())
            }

            fn transition(&self, _output: &()) -> Transition {
                $transition
            }
        }
    };
}

current_session_call!(
    /// `DELETE /login`: downgrades the user session to an application
    /// session, keeping its token.
    SignOut, "sign_out", Method::DELETE, "/login", Transition::SignedOut
);
current_session_call!(
    /// `DELETE /session`: destroys the current session; its token is dead.
    DestroySession, "destroy_session", Method::DELETE, "/session", Transition::Ended
);
current_session_call!(
    /// `DELETE /session/list`: destroys every session of the user but this one.
    DestroyOtherSessions, "destroy_other_sessions", Method::DELETE, "/session/list", Transition::None
);

/// `GET /session`: what the server knows about the current session.
#[derive(Debug, Clone, Copy, Default)]
pub struct GetSession;

impl Operation for GetSession {
    type Output = SessionInfo;

    fn name(&self) -> &'static str {
        "get_session"
    }

    fn access(&self) -> Access {
        Access::Current
    }

    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        wire::empty(wire::request(ctx, Method::GET, "/session", None)?)
    }

    fn parse(&self, response: &Response) -> Result<SessionInfo, Error> {
        wire::wrapped(response, "session")
    }
}

/// `DELETE /session/{id}`: destroys another session of the same user. When
/// the id is the current session's, the current token dies too.
#[derive(Debug, Clone, Copy)]
pub struct DestroySessionById {
    id: u64,
}

impl DestroySessionById {
    /// Destroys session `id`.
    pub fn new(id: u64) -> Self {
        Self { id }
    }
}

impl Operation for DestroySessionById {
    type Output = ();

    fn name(&self) -> &'static str {
        "destroy_session_by_id"
    }

    fn access(&self) -> Access {
        Access::Current
    }

    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        let path = format!("/session/{}", self.id);
        wire::empty(wire::request(ctx, Method::DELETE, &path, None)?)
    }

    fn parse(&self, _response: &Response) -> Result<(), Error> {
        Ok(())
    }

    fn transition(&self, _output: &()) -> Transition {
        Transition::SessionDestroyed {
            session_id: self.id,
        }
    }
}
