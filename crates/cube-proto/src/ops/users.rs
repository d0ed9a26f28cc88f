//! Users calls (`docs/PROTOCOL.md`, "Users"): sign up, update and delete self,
//! password reset, and the older dedicated look-ups.
//!
//! Look-ups go through `GET /users/v2`: see [`GetUser`](crate::search::GetUser)
//! (one user, `None` when nobody matches) and
//! [`SearchUsers`](crate::search::SearchUsers) (pages of users). The
//! deprecated v1 list, [`ListUsers`](crate::search::ListUsers), sits with
//! them.

use super::{Access, Operation, Transition};
use crate::credentials::SessionKind;
use crate::error::{Error, InvalidInput};
use crate::model::{PageV1, User};
use crate::query::{self, Query};
use crate::secret::Secret;
use crate::session::Session;
use crate::wire::{self, AUTH_KEY_HEADER, Request, RequestContext, Response};
use http::Method;
use serde_json::{Map, Value, json};

/// Shortest password the server accepts, in characters.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Longest password the server accepts, in characters.
pub const PASSWORD_MAX_CHARS: usize = 40;
/// Most tags a user may have.
pub const MAX_TAGS: usize = 5;
/// Longest full name, in characters.
pub const FULL_NAME_MAX_CHARS: usize = 200;

/// The optional profile fields shared by sign-up and update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Profile {
    external_id: Option<String>,
    external_user_id: Option<u64>,
    blob_id: Option<u64>,
    facebook_id: Option<String>,
    twitter_id: Option<String>,
    full_name: Option<String>,
    phone: Option<String>,
    website: Option<String>,
    custom_data: Option<String>,
    timezone: Option<i64>,
    tags: Option<Vec<String>>,
    avatar: Option<String>,
}

impl Profile {
    fn validate(&self) -> Result<(), InvalidInput> {
        if let Some(name) = &self.full_name {
            let chars = name.chars().count();
            if chars > FULL_NAME_MAX_CHARS {
                return Err(InvalidInput::new(
                    "full_name",
                    format!("{chars} characters, at most {FULL_NAME_MAX_CHARS} are allowed"),
                ));
            }
        }
        if let Some(tags) = &self.tags {
            if tags.len() > MAX_TAGS {
                return Err(InvalidInput::new(
                    "tag_list",
                    format!("{} tags, at most {MAX_TAGS} are allowed", tags.len()),
                ));
            }
            if tags.iter().any(|t| t.trim().is_empty() || t.contains(',')) {
                return Err(InvalidInput::new(
                    "tag_list",
                    "a tag is empty or contains a comma (tags travel comma-separated)",
                ));
            }
        }
        Ok(())
    }

    fn write(&self, user: &mut Map<String, Value>) {
        let text = [
            ("external_id", &self.external_id),
            ("facebook_id", &self.facebook_id),
            ("twitter_id", &self.twitter_id),
            ("full_name", &self.full_name),
            ("phone", &self.phone),
            ("website", &self.website),
            ("custom_data", &self.custom_data),
            ("avatar", &self.avatar),
        ];
        for (key, value) in text {
            if let Some(v) = value {
                user.insert(key.into(), json!(v));
            }
        }
        // A number, as the service documents it (not the text of one).
        if let Some(id) = self.external_user_id {
            user.insert("external_user_id".into(), json!(id));
        }
        if let Some(blob_id) = self.blob_id {
            user.insert("blob_id".into(), json!(blob_id));
        }
        if let Some(tz) = self.timezone {
            user.insert("timezone".into(), json!(tz));
        }
        if let Some(tags) = &self.tags {
            user.insert("tag_list".into(), json!(tags.join(",")));
        }
    }
}

fn check_password(field: &'static str, password: &Secret) -> Result<(), InvalidInput> {
    let chars = password.expose().chars().count();
    if !(PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&chars) {
        return Err(InvalidInput::new(
            field,
            format!("{chars} characters, {PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} are needed"),
        ));
    }
    Ok(())
}

/// Adds the profile setters to a builder that has a `profile` field.
macro_rules! profile_setters {
    () => {
        /// The external id.
        pub fn external_id(mut self, value: impl Into<String>) -> Self {
            self.profile.external_id = Some(value.into());
            self
        }

        /// The deprecated `external_user_id`, independent of
        /// [`external_id`](Self::external_id): what older apps (and the
        /// Flutter SDK's `externalId`) store. A number, sent as a JSON
        /// integer as the service documents it. `GET /users/external/{id}`
        /// finds it when no `external_id` matches; the v2 look-ups do not.
        pub fn external_user_id(mut self, id: u64) -> Self {
            self.profile.external_user_id = Some(id);
            self
        }

        /// The id of a blob (a file record) linked to the user, as the
        /// Flutter and JS SDKs' `blob_id`. The avatar is set with
        /// [`avatar`](Self::avatar) (a uid); this field is separate.
        pub fn blob_id(mut self, blob_id: u64) -> Self {
            self.profile.blob_id = Some(blob_id);
            self
        }

        /// The Facebook user id.
        pub fn facebook_id(mut self, value: impl Into<String>) -> Self {
            self.profile.facebook_id = Some(value.into());
            self
        }

        /// The Twitter user id.
        pub fn twitter_id(mut self, value: impl Into<String>) -> Self {
            self.profile.twitter_id = Some(value.into());
            self
        }

        /// The display name (at most 200 characters).
        pub fn full_name(mut self, value: impl Into<String>) -> Self {
            self.profile.full_name = Some(value.into());
            self
        }

        /// The phone number.
        pub fn phone(mut self, value: impl Into<String>) -> Self {
            self.profile.phone = Some(value.into());
            self
        }

        /// The web site.
        pub fn website(mut self, value: impl Into<String>) -> Self {
            self.profile.website = Some(value.into());
            self
        }

        /// Free-form application data (a string; often JSON text).
        pub fn custom_data(mut self, value: impl Into<String>) -> Self {
            self.profile.custom_data = Some(value.into());
            self
        }

        /// The time zone offset, in minutes.
        pub fn timezone(mut self, minutes: i64) -> Self {
            self.profile.timezone = Some(minutes);
            self
        }

        /// The tags (at most 5, none empty or with a comma); sent as the
        /// comma-separated `tag_list`. They replace the current tags.
        pub fn tags<I, S>(mut self, tags: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.profile.tags = Some(tags.into_iter().map(Into::into).collect());
            self
        }

        /// The avatar: the uid of an uploaded blob (see the recipe at
        /// [`CreateBlob`](crate::ops::CreateBlob)).
        pub fn avatar(mut self, uid: impl Into<String>) -> Self {
            self.profile.avatar = Some(uid.into());
            self
        }
    };
}

/// A user to sign up: a login or an e-mail (or both), a password, and any
/// profile fields. Checked when the request is built; `Debug` hides the
/// password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    login: Option<String>,
    email: Option<String>,
    password: Secret,
    profile: Profile,
}

impl NewUser {
    /// A user identified by login.
    pub fn with_login(login: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self {
            login: Some(login.into()),
            email: None,
            password: password.into(),
            profile: Profile::default(),
        }
    }

    /// A user identified by e-mail.
    pub fn with_email(email: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self {
            login: None,
            email: Some(email.into()),
            password: password.into(),
            profile: Profile::default(),
        }
    }

    /// Also sets the login.
    pub fn login(mut self, login: impl Into<String>) -> Self {
        self.login = Some(login.into());
        self
    }

    /// Also sets the e-mail.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    profile_setters!();

    /// Checks what can be checked without the server: a login or an e-mail,
    /// a password of 8 to 40 characters, at most 5 tags, a full name of at
    /// most 200 characters.
    pub fn validate(&self) -> Result<(), InvalidInput> {
        let present = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.trim().is_empty());
        if !present(&self.login) && !present(&self.email) {
            return Err(InvalidInput::new(
                "login",
                "a login or an e-mail is required (both are missing or empty)",
            ));
        }
        check_password("password", &self.password)?;
        self.profile.validate()
    }

    fn body(&self) -> Value {
        let mut user = Map::new();
        if let Some(login) = &self.login {
            user.insert("login".into(), json!(login));
        }
        if let Some(email) = &self.email {
            user.insert("email".into(), json!(email));
        }
        user.insert("password".into(), json!(self.password.expose()));
        self.profile.write(&mut user);
        json!({ "user": user })
    }
}

/// `POST /users`: signs a new user up.
///
/// Sent under the session token when there is a live session, otherwise
/// with the `CB-AuthKey` header and no token (`Access::Optional`). It never
/// creates or changes a session: sign in afterwards.
///
/// ```
/// use cube_proto::ops::{NewUser, Operation, SignUp};
/// use cube_proto::{Config, wire::RequestContext};
/// let config = Config::builder(1, "29WfrNWdvkhmX6V").build()?;
/// let ctx = RequestContext { config: &config, token: None,
///     now: time::OffsetDateTime::UNIX_EPOCH, nonce: 0 };
/// let op = SignUp::new(NewUser::with_login("dacia", "s3cret-pass").full_name("Dacia Kail"));
/// let request = op.build(&ctx)?;
/// assert_eq!(request.uri(), "https://api.connectycube.com/users");
/// assert_eq!(request.headers()["CB-AuthKey"], "29WfrNWdvkhmX6V");
/// # Ok::<(), cube_proto::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignUp {
    user: NewUser,
}

impl SignUp {
    /// Signs `user` up.
    pub fn new(user: NewUser) -> Self {
        Self { user }
    }
}

impl Operation for SignUp {
    type Output = User;

    fn name(&self) -> &'static str {
        "sign_up"
    }

    fn access(&self) -> Access {
        Access::Optional
    }

    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        self.user.validate()?;
        let mut builder = wire::request(ctx, Method::POST, "/users", None)?;
        if ctx.token.is_none() {
            let auth_key = ctx.config.auth_key().ok_or(Error::NoAuthKey)?;
            builder = builder.header(AUTH_KEY_HEADER, wire::header_value(auth_key, "auth key")?);
        }
        wire::with_json(builder, &self.user.body())
    }

    fn parse(&self, response: &Response) -> Result<User, Error> {
        wire::wrapped(response, "user")
    }
}

/// Changes to the signed-in user: only what is set is sent. Changing the
/// password needs the current one ([`UserUpdate::old_password`]). `Debug`
/// hides both passwords.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserUpdate {
    login: Option<String>,
    email: Option<String>,
    password: Option<Secret>,
    old_password: Option<Secret>,
    profile: Profile,
}

impl UserUpdate {
    /// No change yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new login.
    pub fn login(mut self, login: impl Into<String>) -> Self {
        self.login = Some(login.into());
        self
    }

    /// A new e-mail.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// A new password (8 to 40 characters); needs
    /// [`old_password`](Self::old_password).
    pub fn password(mut self, password: impl Into<Secret>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// The current password, required to change it.
    pub fn old_password(mut self, password: impl Into<Secret>) -> Self {
        self.old_password = Some(password.into());
        self
    }

    profile_setters!();

    /// Checks what can be checked without the server; a new password
    /// without `old_password` is refused, naming `old_password`.
    pub fn validate(&self) -> Result<(), InvalidInput> {
        if let Some(password) = &self.password {
            if self
                .old_password
                .as_ref()
                .is_none_or(|p| p.expose().is_empty())
            {
                return Err(InvalidInput::new(
                    "old_password",
                    "changing the password needs the current password",
                ));
            }
            check_password("password", password)?;
        }
        if self.login.as_deref().is_some_and(|l| l.trim().is_empty()) {
            return Err(InvalidInput::new("login", "the login cannot be empty"));
        }
        if self.email.as_deref().is_some_and(|e| e.trim().is_empty()) {
            return Err(InvalidInput::new("email", "the e-mail cannot be empty"));
        }
        self.profile.validate()
    }

    fn body(&self) -> Value {
        let mut user = Map::new();
        if let Some(login) = &self.login {
            user.insert("login".into(), json!(login));
        }
        if let Some(email) = &self.email {
            user.insert("email".into(), json!(email));
        }
        if let Some(password) = &self.password {
            user.insert("password".into(), json!(password.expose()));
        }
        if let Some(old) = &self.old_password {
            user.insert("old_password".into(), json!(old.expose()));
        }
        self.profile.write(&mut user);
        json!({ "user": user })
    }
}

/// `PUT /users/{id}`: updates the signed-in user (`id` is theirs; another
/// user's id gets `403`). Needs a user session.
///
/// ```
/// use cube_proto::ops::{Operation, UpdateUser, UserUpdate};
/// use cube_proto::{Config, Error, Secret, wire::RequestContext};
/// let config = Config::builder(1, "key").build()?;
/// let token = Secret::new("83153a14");
/// let ctx = RequestContext { config: &config, token: Some(&token),
///     now: time::OffsetDateTime::UNIX_EPOCH, nonce: 0 };
/// let op = UpdateUser::new(81, UserUpdate::new().full_name("Dacia K.").tags(["vip"]));
/// assert_eq!(op.build(&ctx)?.uri(), "https://api.connectycube.com/users/81");
/// // A new password without the old one never leaves the machine:
/// let op = UpdateUser::new(81, UserUpdate::new().password("n3w-passw0rd"));
/// let Err(Error::InvalidInput(e)) = op.build(&ctx) else { panic!() };
/// assert_eq!(e.field, "old_password");
/// # Ok::<(), cube_proto::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateUser {
    id: u64,
    update: UserUpdate,
}

impl UpdateUser {
    /// Applies `update` to user `id` (the signed-in user).
    pub fn new(id: u64, update: UserUpdate) -> Self {
        Self { id, update }
    }

    /// Applies `update` to the user of `session`; fails typed, before
    /// anything is built, when the session has no live user.
    pub fn for_session(session: &Session, update: UserUpdate) -> Result<Self, Error> {
        Ok(Self::new(session_user(session)?, update))
    }
}

/// The live user of a session, or why there is none.
fn session_user(session: &Session) -> Result<u64, Error> {
    match (session.user_id(), session.kind()) {
        (Some(id), _) => Ok(id),
        (None, None) => Err(Error::NoSession),
        (None, Some(SessionKind::Application)) if session.token().is_some() => Err(Error::NeedUser),
        (None, _) => Err(Error::SessionExpired),
    }
}

impl Operation for UpdateUser {
    type Output = User;

    fn name(&self) -> &'static str {
        "update_user"
    }

    fn access(&self) -> Access {
        Access::Write
    }

    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        self.update.validate()?;
        let path = format!("/users/{}", self.id);
        let builder = wire::request(ctx, Method::PUT, &path, None)?;
        wire::with_json(builder, &self.update.body())
    }

    fn parse(&self, response: &Response) -> Result<User, Error> {
        wire::wrapped(response, "user")
    }
}

/// `DELETE /users/{id}`: deletes the signed-in user. The session's token
/// dies with the user.
///
/// ```
/// use cube_proto::ops::{DeleteUser, Operation, Transition};
/// use cube_proto::{Config, Secret, wire::RequestContext};
/// let config = Config::builder(1, "key").build()?;
/// let token = Secret::new("83153a14");
/// let ctx = RequestContext { config: &config, token: Some(&token),
///     now: time::OffsetDateTime::UNIX_EPOCH, nonce: 0 };
/// let op = DeleteUser::new(81);
/// let request = op.build(&ctx)?;
/// assert_eq!((request.method().as_str(), request.uri().path()), ("DELETE", "/users/81"));
/// assert_eq!(op.transition(&()), Transition::Ended);
/// # Ok::<(), cube_proto::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeleteUser {
    id: u64,
}

impl DeleteUser {
    /// Deletes user `id` (the signed-in user).
    pub fn new(id: u64) -> Self {
        Self { id }
    }

    /// Deletes the user of `session`; fails typed when it has no live user.
    pub fn for_session(session: &Session) -> Result<Self, Error> {
        Ok(Self::new(session_user(session)?))
    }
}

impl Operation for DeleteUser {
    type Output = ();

    fn name(&self) -> &'static str {
        "delete_user"
    }

    fn access(&self) -> Access {
        Access::Write
    }

    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        let path = format!("/users/{}", self.id);
        wire::empty(wire::request(ctx, Method::DELETE, &path, None)?)
    }

    fn parse(&self, _response: &Response) -> Result<(), Error> {
        Ok(())
    }

    fn transition(&self, _output: &()) -> Transition {
        Transition::Ended
    }
}

/// `DELETE /users/external/{external_id}`: deletes the signed-in user by
/// their external id. The session's token dies with the user.
///
/// ```
/// use cube_proto::ops::{DeleteUserByExternalId, Operation};
/// use cube_proto::{Config, Secret, wire::RequestContext};
/// let config = Config::builder(1, "key").build()?;
/// let token = Secret::new("83153a14");
/// let ctx = RequestContext { config: &config, token: Some(&token),
///     now: time::OffsetDateTime::UNIX_EPOCH, nonce: 0 };
/// let request = DeleteUserByExternalId::new("ext/42")?.build(&ctx)?;
/// assert_eq!(request.uri().path(), "/users/external/ext%2F42");
/// # Ok::<(), cube_proto::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteUserByExternalId {
    external_id: String,
}

impl DeleteUserByExternalId {
    /// Deletes the user with this external id; it cannot be empty.
    pub fn new(external_id: impl Into<String>) -> Result<Self, InvalidInput> {
        let external_id = external_id.into();
        if external_id.is_empty() {
            return Err(InvalidInput::new("external_id", "cannot be empty"));
        }
        Ok(Self { external_id })
    }
}

impl Operation for DeleteUserByExternalId {
    type Output = ();

    fn name(&self) -> &'static str {
        "delete_user_by_external_id"
    }

    fn access(&self) -> Access {
        Access::Write
    }

    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        let path = format!("/users/external/{}", query::segment(&self.external_id));
        wire::empty(wire::request(ctx, Method::DELETE, &path, None)?)
    }

    fn parse(&self, _response: &Response) -> Result<(), Error> {
        Ok(())
    }

    fn transition(&self, _output: &()) -> Transition {
        Transition::Ended
    }
}

/// `GET /users/password/reset?email=E`: the server e-mails a reset link.
/// An application session may do it (`Access::Read`). The server answers
/// `200` for unknown e-mails too. A reset ends every session of that user.
///
/// ```
/// use cube_proto::ops::{Operation, ResetPassword};
/// use cube_proto::{Config, Secret, wire::RequestContext};
/// let config = Config::builder(1, "key").build()?;
/// let token = Secret::new("app-token");
/// let ctx = RequestContext { config: &config, token: Some(&token),
///     now: time::OffsetDateTime::UNIX_EPOCH, nonce: 0 };
/// let request = ResetPassword::new("ann+1@example.com")?.build(&ctx)?;
/// assert_eq!(request.uri().query(), Some("email=ann%2B1%40example.com"));
/// # Ok::<(), cube_proto::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetPassword {
    email: String,
}

impl ResetPassword {
    /// A reset for the account with this e-mail; it cannot be empty.
    pub fn new(email: impl Into<String>) -> Result<Self, InvalidInput> {
        let email = email.into();
        if email.trim().is_empty() {
            return Err(InvalidInput::new("email", "cannot be empty"));
        }
        Ok(Self { email })
    }
}

impl Operation for ResetPassword {
    type Output = ();

    fn name(&self) -> &'static str {
        "reset_password"
    }

    fn access(&self) -> Access {
        Access::Read
    }

    /// No: each one sends the user an e-mail and ends every session.
    fn idempotent(&self, _request: &Request) -> bool {
        false
    }

    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        let mut q = Query::new();
        q.push("email", &self.email);
        wire::empty(wire::request(
            ctx,
            Method::GET,
            "/users/password/reset",
            q.as_option(),
        )?)
    }

    fn parse(&self, _response: &Response) -> Result<(), Error> {
        Ok(())
    }
}

/// Turns the `404` of a look-up into `Ok(None)`: "nobody" is an outcome,
/// not an error. Every other error stays an error.
///
/// ```
/// use cube_proto::ops::Found;
/// use cube_proto::{Error, error::ApiError};
/// let missing: Result<u8, Error> = Err(ApiError::from_parts(http::StatusCode::NOT_FOUND,
///     br#"{"errors": {"base": ["Entity you are looking for was not found"]}}"#).into());
/// assert_eq!(missing.found()?, None);
/// assert_eq!(Ok::<u8, Error>(5).found()?, Some(5));
/// let denied: Result<u8, Error> =
///     Err(ApiError::from_parts(http::StatusCode::FORBIDDEN, b"").into());
/// assert!(denied.found().is_err());
/// # Ok::<(), Error>(())
/// ```
pub trait Found<T> {
    /// `Ok(Some(v))` for a success, `Ok(None)` for a 404, else the error.
    fn found(self) -> Result<Option<T>, Error>;
}

impl<T> Found<T> for Result<T, Error> {
    fn found(self) -> Result<Option<T>, Error> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if matches!(e, Error::Api(_)) && e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum V1Lookup {
    Id(u64),
    Login(String),
    Email(String),
    FacebookId(String),
    TwitterId(String),
    ExternalId(String),
}

/// A single-user look-up through the older dedicated endpoints:
/// `GET /users/{id}`, `/users/by_login?login=`, `/users/by_email?email=`,
/// `/users/by_facebook_id?facebook_id=`, `/users/by_twitter_id?twitter_id=`,
/// `/users/external/{id}`. They answer `404` for nobody; [`Found::found`]
/// turns that into `None`. [`GetUser`](crate::search::GetUser) does the same
/// through v2 and needs no such step.
///
/// ```
/// use cube_proto::ops::{GetUserV1, Operation};
/// use cube_proto::{Config, Secret, wire::RequestContext};
/// let config = Config::builder(1, "key").build()?;
/// let token = Secret::new("t");
/// let ctx = RequestContext { config: &config, token: Some(&token),
///     now: time::OffsetDateTime::UNIX_EPOCH, nonce: 0 };
/// let request = GetUserV1::by_email("ann+1@example.com").build(&ctx)?;
/// assert_eq!(request.uri().path(), "/users/by_email");
/// assert_eq!(request.uri().query(), Some("email=ann%2B1%40example.com"));
/// # Ok::<(), cube_proto::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetUserV1 {
    by: V1Lookup,
}

impl GetUserV1 {
    /// `GET /users/{id}`.
    pub fn by_id(id: u64) -> Self {
        Self {
            by: V1Lookup::Id(id),
        }
    }

    /// `GET /users/by_login?login=`.
    pub fn by_login(login: impl Into<String>) -> Self {
        Self {
            by: V1Lookup::Login(login.into()),
        }
    }

    /// `GET /users/by_email?email=`.
    pub fn by_email(email: impl Into<String>) -> Self {
        Self {
            by: V1Lookup::Email(email.into()),
        }
    }

    /// `GET /users/by_facebook_id?facebook_id=`.
    pub fn by_facebook_id(id: impl Into<String>) -> Self {
        Self {
            by: V1Lookup::FacebookId(id.into()),
        }
    }

    /// `GET /users/by_twitter_id?twitter_id=`.
    pub fn by_twitter_id(id: impl Into<String>) -> Self {
        Self {
            by: V1Lookup::TwitterId(id.into()),
        }
    }

    /// `GET /users/external/{id}` (the server tries `external_id`, then the
    /// deprecated `external_user_id`).
    pub fn by_external_id(id: impl Into<String>) -> Self {
        Self {
            by: V1Lookup::ExternalId(id.into()),
        }
    }
}

impl Operation for GetUserV1 {
    type Output = User;

    fn name(&self) -> &'static str {
        "get_user_v1"
    }

    fn access(&self) -> Access {
        Access::Read
    }

    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        let by_query = |path: &'static str, key: &'static str, value: &str| {
            if value.is_empty() {
                return Err(Error::from(InvalidInput::new(key, "cannot be empty")));
            }
            let mut q = Query::new();
            q.push(key, value);
            Ok((path.to_owned(), Some(q)))
        };
        let (path, q) = match &self.by {
            V1Lookup::Id(id) => (format!("/users/{id}"), None),
            V1Lookup::Login(v) => by_query("/users/by_login", "login", v)?,
            V1Lookup::Email(v) => by_query("/users/by_email", "email", v)?,
            V1Lookup::FacebookId(v) => by_query("/users/by_facebook_id", "facebook_id", v)?,
            V1Lookup::TwitterId(v) => by_query("/users/by_twitter_id", "twitter_id", v)?,
            V1Lookup::ExternalId(v) => {
                if v.is_empty() {
                    return Err(InvalidInput::new("external_id", "cannot be empty").into());
                }
                (format!("/users/external/{}", query::segment(v)), None)
            }
        };
        let q = q.as_ref().and_then(Query::as_option);
        wire::empty(wire::request(ctx, Method::GET, &path, q)?)
    }

    fn parse(&self, response: &Response) -> Result<User, Error> {
        wire::wrapped(response, "user")
    }
}

/// The older paged look-ups: `GET /users/by_full_name?full_name=` and
/// `GET /users/by_tags?tags=a,b` (a user matches when any tag matches).
/// Prefer [`SearchUsers`](crate::search::SearchUsers).
///
/// ```
/// use cube_proto::ops::{FindUsersV1, Operation};
/// use cube_proto::{Config, Secret, wire::RequestContext};
/// let config = Config::builder(1, "key").build()?;
/// let token = Secret::new("t");
/// let ctx = RequestContext { config: &config, token: Some(&token),
///     now: time::OffsetDateTime::UNIX_EPOCH, nonce: 0 };
/// let request = FindUsersV1::by_tags(["vip", "gold"])?.per_page(20).build(&ctx)?;
/// assert_eq!(request.uri().path(), "/users/by_tags");
/// assert_eq!(request.uri().query(), Some("tags=vip%2Cgold&per_page=20"));
/// # Ok::<(), cube_proto::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindUsersV1 {
    path: &'static str,
    key: &'static str,
    value: String,
    page: Option<u32>,
    per_page: Option<u32>,
}

impl FindUsersV1 {
    /// `GET /users/by_full_name?full_name=`.
    pub fn by_full_name(full_name: impl Into<String>) -> Result<Self, InvalidInput> {
        let value = full_name.into();
        if value.is_empty() {
            return Err(InvalidInput::new("full_name", "cannot be empty"));
        }
        Ok(Self {
            path: "/users/by_full_name",
            key: "full_name",
            value,
            page: None,
            per_page: None,
        })
    }

    /// `GET /users/by_tags?tags=a,b`: any of the tags (none empty or with a
    /// comma).
    pub fn by_tags<I, S>(tags: I) -> Result<Self, InvalidInput>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let tags: Vec<String> = tags.into_iter().map(Into::into).collect();
        if tags.is_empty() || tags.iter().any(|t| t.is_empty() || t.contains(',')) {
            return Err(InvalidInput::new(
                "tags",
                "one or more tags, none empty or with a comma",
            ));
        }
        Ok(Self {
            path: "/users/by_tags",
            key: "tags",
            value: tags.join(","),
            page: None,
            per_page: None,
        })
    }

    /// The page number, from 1.
    pub fn page(mut self, page: u32) -> Self {
        self.page = Some(page);
        self
    }

    /// Users per page, 1 to 100.
    pub fn per_page(mut self, per_page: u32) -> Self {
        self.per_page = Some(per_page);
        self
    }

    /// The request for the page after `page` (this request's answer), or
    /// `None` when it was the last.
    pub fn next_page(&self, page: &PageV1) -> Option<FindUsersV1> {
        if !page.has_more() {
            return None;
        }
        let mut next = self.clone();
        next.page = Some(page.current_page.max(1).saturating_add(1).try_into().ok()?);
        Some(next)
    }
}

impl Operation for FindUsersV1 {
    type Output = PageV1;

    fn name(&self) -> &'static str {
        "find_users_v1"
    }

    fn access(&self) -> Access {
        Access::Read
    }

    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        let mut q = Query::new();
        q.push(self.key, &self.value);
        if let Some(page) = self.page {
            if page == 0 {
                return Err(InvalidInput::new("page", "pages are numbered from 1").into());
            }
            q.push("page", &page.to_string());
        }
        if let Some(per_page) = self.per_page {
            if per_page == 0 || per_page > 100 {
                return Err(InvalidInput::new("per_page", "must be 1 to 100").into());
            }
            q.push("per_page", &per_page.to_string());
        }
        wire::empty(wire::request(ctx, Method::GET, self.path, q.as_option())?)
    }

    fn parse(&self, response: &Response) -> Result<PageV1, Error> {
        wire::json(response)
    }
}
