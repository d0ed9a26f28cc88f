//! Every way to start a session or sign in (`docs/PROTOCOL.md`, "Sessions").

use crate::error::InvalidInput;
use crate::ops::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS};
use crate::secret::Secret;
use serde_json::{Map, Value, json};

/// The password sent with a custom identity provider login, in
/// `POST /session` and `POST /login` alike.
///
/// The server never checks it (the external token in `login` is what the
/// identity provider verifies), yet it refuses a blank one (`422`,
/// `password` "cannot be blank") and wants one that "passes the validation",
/// a rule it does not document. So it is a fixed value within the password
/// rule of sign-up, 8 to 40 characters ([`PASSWORD_MIN_CHARS`],
/// [`PASSWORD_MAX_CHARS`]), never a shorter one.
pub const CUSTOM_IDP_PASSWORD: &str = "custom-identity-provider";

// The value must pass the password rule; a shorter or longer one fails to build.
const _: () = assert!(
    CUSTOM_IDP_PASSWORD.len() >= PASSWORD_MIN_CHARS
        && CUSTOM_IDP_PASSWORD.len() <= PASSWORD_MAX_CHARS
);

/// What a session is created with: nothing (an application session) or a
/// user's credential of one of the supported kinds.
///
/// ```
/// use cube_proto::Credentials;
/// let c = Credentials::login("john", "11111111");
/// assert_eq!(c.kind(), cube_proto::SessionKind::User);
/// assert!(!format!("{c:?}").contains("11111111"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credentials {
    /// An application session: read-only, no user.
    Application,
    /// Login and password.
    Login {
        /// The login.
        login: String,
        /// The password.
        password: Secret,
    },
    /// E-mail and password.
    Email {
        /// The e-mail address.
        email: String,
        /// The password.
        password: Secret,
    },
    /// A guest user, created on the fly, living one day.
    Guest {
        /// Optional display name for the guest.
        full_name: Option<String>,
    },
    /// A Facebook access token.
    Facebook {
        /// The access token.
        access_token: Secret,
    },
    /// A Twitter OAuth 1.0a token pair.
    Twitter {
        /// The token.
        token: Secret,
        /// The token secret.
        secret: Secret,
    },
    /// A Firebase ID token from phone sign-in.
    FirebasePhone {
        /// The Firebase project id.
        project_id: String,
        /// The Firebase ID token (a JWT).
        id_token: Secret,
    },
    /// A Firebase ID token from e-mail or Google sign-in.
    FirebaseEmail {
        /// The Firebase project id.
        project_id: String,
        /// The Firebase ID token (a JWT).
        id_token: Secret,
    },
    /// A token of the application's own identity provider (CIdP), sent as the
    /// login with [`CUSTOM_IDP_PASSWORD`]; the server verifies it with the
    /// provider.
    CustomIdp {
        /// The external token.
        token: Secret,
    },
}

/// The kind of session a credential gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionKind {
    /// No user: read-only.
    Application,
    /// A user: read and write on that user's behalf.
    User,
    /// A guest user: like a user, but the session ends one day after creation.
    Guest,
}

impl Credentials {
    /// Login + password.
    pub fn login(login: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self::Login {
            login: login.into(),
            password: password.into(),
        }
    }

    /// E-mail + password.
    pub fn email(email: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self::Email {
            email: email.into(),
            password: password.into(),
        }
    }

    /// A guest, optionally named.
    pub fn guest(full_name: Option<String>) -> Self {
        Self::Guest { full_name }
    }

    /// A Facebook access token.
    pub fn facebook(access_token: impl Into<Secret>) -> Self {
        Self::Facebook {
            access_token: access_token.into(),
        }
    }

    /// A Twitter token and token secret.
    pub fn twitter(token: impl Into<Secret>, secret: impl Into<Secret>) -> Self {
        Self::Twitter {
            token: token.into(),
            secret: secret.into(),
        }
    }

    /// A Firebase phone ID token.
    pub fn firebase_phone(project_id: impl Into<String>, id_token: impl Into<Secret>) -> Self {
        Self::FirebasePhone {
            project_id: project_id.into(),
            id_token: id_token.into(),
        }
    }

    /// A Firebase e-mail or Google ID token.
    pub fn firebase_email(project_id: impl Into<String>, id_token: impl Into<Secret>) -> Self {
        Self::FirebaseEmail {
            project_id: project_id.into(),
            id_token: id_token.into(),
        }
    }

    /// A custom identity provider token.
    pub fn custom_idp(token: impl Into<Secret>) -> Self {
        Self::CustomIdp {
            token: token.into(),
        }
    }

    /// The kind of session these credentials create.
    pub fn kind(&self) -> SessionKind {
        match self {
            Self::Application => SessionKind::Application,
            Self::Guest { .. } => SessionKind::Guest,
            _ => SessionKind::User,
        }
    }

    /// Checks what the server would refuse without asking it: empty values.
    pub(crate) fn validate(&self) -> Result<(), InvalidInput> {
        let nonempty = |field: &'static str, v: &str| {
            if v.trim().is_empty() {
                Err(InvalidInput::new(field, "must not be empty"))
            } else {
                Ok(())
            }
        };
        match self {
            Self::Application | Self::Guest { .. } => Ok(()),
            Self::Login { login, password } => {
                nonempty("login", login)?;
                nonempty("password", password.expose())
            }
            Self::Email { email, password } => {
                nonempty("email", email)?;
                nonempty("password", password.expose())
            }
            Self::Facebook { access_token } => nonempty("access_token", access_token.expose()),
            Self::Twitter { token, secret } => {
                nonempty("token", token.expose())?;
                nonempty("secret", secret.expose())
            }
            Self::FirebasePhone {
                project_id,
                id_token,
            }
            | Self::FirebaseEmail {
                project_id,
                id_token,
            } => {
                nonempty("project_id", project_id)?;
                nonempty("id_token", id_token.expose())
            }
            Self::CustomIdp { token } => nonempty("token", token.expose()),
        }
    }

    /// The fields these credentials add to a `POST /session` body.
    pub(crate) fn session_fields(&self, body: &mut Map<String, Value>) {
        match self {
            Self::Application => {}
            Self::Login { login, password } => {
                body.insert(
                    "user".into(),
                    json!({"login": login, "password": password.expose()}),
                );
            }
            Self::Email { email, password } => {
                body.insert(
                    "user".into(),
                    json!({"email": email, "password": password.expose()}),
                );
            }
            Self::Guest { full_name } => {
                let mut user = Map::new();
                user.insert("guest".into(), json!(1));
                if let Some(name) = full_name {
                    user.insert("full_name".into(), json!(name));
                }
                body.insert("user".into(), Value::Object(user));
            }
            Self::CustomIdp { token } => {
                body.insert(
                    "user".into(),
                    json!({"login": token.expose(), "password": CUSTOM_IDP_PASSWORD}),
                );
            }
            _ => self.provider_fields(body),
        }
    }

    /// The body of `POST /login` for these credentials; `None` for the kinds
    /// that cannot sign in (application, guest).
    pub(crate) fn login_body(&self) -> Option<Map<String, Value>> {
        let mut body = Map::new();
        match self {
            Self::Application | Self::Guest { .. } => return None,
            Self::Login { login, password } => {
                body.insert("login".into(), json!(login));
                body.insert("password".into(), json!(password.expose()));
            }
            Self::Email { email, password } => {
                body.insert("email".into(), json!(email));
                body.insert("password".into(), json!(password.expose()));
            }
            Self::CustomIdp { token } => {
                body.insert("login".into(), json!(token.expose()));
                body.insert("password".into(), json!(CUSTOM_IDP_PASSWORD));
            }
            _ => self.provider_fields(&mut body),
        }
        Some(body)
    }

    fn provider_fields(&self, body: &mut Map<String, Value>) {
        let (provider, key, value) = match self {
            Self::Facebook { access_token } => {
                ("facebook", "keys", json!({"token": access_token.expose()}))
            }
            Self::Twitter { token, secret } => (
                "twitter",
                "keys",
                json!({"token": token.expose(), "secret": secret.expose()}),
            ),
            Self::FirebasePhone {
                project_id,
                id_token,
            } => (
                "firebase_phone",
                "firebase_phone",
                json!({"project_id": project_id, "access_token": id_token.expose()}),
            ),
            Self::FirebaseEmail {
                project_id,
                id_token,
            } => (
                "firebase_email",
                "firebase_email",
                json!({"project_id": project_id, "access_token": id_token.expose()}),
            ),
            _ => return,
        };
        body.insert("provider".into(), json!(provider));
        body.insert(key.into(), value);
    }
}
