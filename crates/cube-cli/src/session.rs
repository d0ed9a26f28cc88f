//! The profile's session, kept between commands: the SDK's snapshot in
//! `sessions/PROFILE.json` (mode 0600: it holds the token), with the login
//! or e-mail it was opened with, so that an expired one can be restored by
//! asking for the password again.
//!
//! Every command resumes the saved session (no session request while it is
//! live), saves each change the SDK reports, and saves the session once more
//! at the end, since every answer moves its deadline.

use crate::config::{Place, Settings, profile_flag};
use crate::error::{Failure, Result, Status};
use crate::{files, prompt, terminal};
use cube_blocking::{
    Client, Credentials, Error, ProtoError, RetryPolicy, SessionKind, SessionSnapshot,
};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How a user session was opened: what to sign in with again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Identity {
    Login(String),
    Email(String),
}

impl Identity {
    pub(crate) fn credentials(&self, password: String) -> Credentials {
        match self {
            Identity::Login(login) => Credentials::login(login, password),
            Identity::Email(email) => Credentials::email(email, password),
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identity::Login(login) => f.write_str(login),
            Identity::Email(email) => f.write_str(email),
        }
    }
}

/// What the session file holds.
#[derive(Debug, Serialize, Deserialize)]
struct SavedSession {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    identity: Option<Identity>,
    snapshot: SessionSnapshot,
}

/// Whether the SDK may restore an expired user session by asking for the
/// password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Restore {
    /// On a terminal, ask for the password; without one, fail.
    Ask,
    /// Never: the command only looks at, or ends, the session.
    Never,
}

/// The profile's session file and what was last written to it.
struct Keeper {
    path: PathBuf,
    identity: Mutex<Option<Identity>>,
    saved: Mutex<Option<SessionSnapshot>>,
}

impl Keeper {
    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Saves the session (or removes the file when there is none), unless
    /// it is what was saved last. A failure is reported, not fatal: the
    /// command's own work is done.
    fn keep(&self, snapshot: Option<&SessionSnapshot>) {
        let mut saved = Self::lock(&self.saved);
        if saved.as_ref() == snapshot {
            return;
        }
        let written = match snapshot {
            Some(snapshot) => {
                // Only a user session is restored with a password.
                let identity = match snapshot.kind() {
                    SessionKind::User => Self::lock(&self.identity).clone(),
                    SessionKind::Application | SessionKind::Guest => None,
                };
                let file = SavedSession {
                    identity,
                    snapshot: snapshot.clone(),
                };
                serde_json::to_vec_pretty(&file)
                    .map_err(std::io::Error::other)
                    .and_then(|bytes| files::write_private(&self.path, &bytes))
            }
            None => files::remove(&self.path),
        };
        match written {
            Ok(()) => *saved = snapshot.cloned(),
            Err(e) => terminal::note(&format!(
                "warning: cannot save the session to {}: {e}",
                self.path.display()
            )),
        }
    }
}

/// A client of the profile, its session resumed and kept.
pub(crate) struct Connected {
    pub(crate) client: Client,
    pub(crate) settings: Settings,
    keeper: Arc<Keeper>,
    restore: Restore,
    timeout: Option<Duration>,
}

impl Connected {
    /// Builds the client, resuming the profile's saved session; `timeout`
    /// bounds each API call (the SDK's default otherwise), `retry` says what
    /// is sent again after a transient failure.
    pub(crate) fn open(
        place: &Place,
        settings: Settings,
        restore: Restore,
        timeout: Option<Duration>,
        retry: RetryPolicy,
    ) -> Result<Self> {
        let path = place.session_file();
        let saved = read_saved(&path);
        let identity = saved
            .as_ref()
            .filter(|s| s.snapshot.kind() == SessionKind::User)
            .and_then(|s| s.identity.clone());
        let keeper = Arc::new(Keeper {
            path,
            identity: Mutex::new(identity.clone()),
            saved: Mutex::new(saved.as_ref().map(|s| s.snapshot.clone())),
        });
        let builder = |identity: Option<Identity>| -> Result<_> {
            let listener = keeper.clone();
            let mut builder = settings
                .client_builder()?
                .on_session_change(move |event| listener.keep(event.snapshot.as_ref()))
                .retry_policy(retry);
            if let Some(timeout) = timeout {
                builder = builder.timeout(timeout);
            }
            if let (Restore::Ask, Some(identity)) = (restore, identity) {
                let profile = settings.profile.clone();
                builder = builder.restore(move || ask_again(&profile, &identity));
            }
            Ok(builder)
        };
        let client = match saved {
            None => builder(None)?.build(),
            Some(saved) => match builder(identity)?.resume_session(saved.snapshot).build() {
                Err(e) if matches!(e.proto(), Some(ProtoError::ForeignSnapshot(_))) => {
                    terminal::note(&format!(
                        "the saved session of profile '{}' is for another application or endpoint; ignoring it",
                        settings.profile
                    ));
                    // Left as it is, unless this command opens a session.
                    *Keeper::lock(&keeper.saved) = None;
                    *Keeper::lock(&keeper.identity) = None;
                    builder(None)?.build()
                }
                other => other,
            },
        }
        .map_err(|e| Failure::from_sdk(&e, &settings.profile))?;
        Ok(Self {
            client,
            settings,
            keeper,
            restore,
            timeout,
        })
    }

    /// The `--timeout` given, if any: transfers use it as their idle
    /// timeout.
    pub(crate) fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Says which login or e-mail the next session is opened with, for
    /// restoring it later.
    pub(crate) fn set_identity(&self, identity: Option<Identity>) {
        *Keeper::lock(&self.keeper.identity) = identity;
    }

    /// The login or e-mail the session was opened with, if known.
    pub(crate) fn identity(&self) -> Option<Identity> {
        Keeper::lock(&self.keeper.identity).clone()
    }

    /// The profile's name.
    pub(crate) fn profile(&self) -> &str {
        &self.settings.profile
    }

    /// Reads an SDK error of this profile's calls; one without an answer
    /// names the server, and a timeout the flag that sets it.
    pub(crate) fn failure(&self, error: Error) -> Failure {
        let endpoint = &self.settings.endpoint.value;
        match &error {
            Error::Transport(cause) => Failure::new(
                Status::Transport,
                format!("the server at {endpoint} could not be reached: {cause}"),
            ),
            Error::Timeout(limit) => Failure::new(
                Status::Transport,
                format!(
                    "the server at {endpoint} did not answer within {limit:?} \
                     (--timeout to wait longer)"
                ),
            ),
            Error::Stalled(idle) => Failure::new(
                Status::Transport,
                format!(
                    "the transfer stalled: no byte moved for {idle:?} (--timeout to wait longer)"
                ),
            ),
            _ => Failure::from_sdk(&error, &self.settings.profile),
        }
    }

    /// The signed-in user's id, or a failure that says how to sign in. A
    /// user session that expired is signed in again, as the SDK restores
    /// one: the password asked on a terminal, for the same login.
    pub(crate) fn require_user(&self) -> Result<u64> {
        if let Some(id) = self.client.current_user_id() {
            return Ok(id);
        }
        let expired_user = self
            .client
            .export_session()
            .is_some_and(|s| s.kind() != SessionKind::Application && s.token().is_none());
        if !expired_user {
            return Err(Failure::refused(format!(
                "not signed in (profile '{}'): run `cube{} login --login LOGIN`",
                self.profile(),
                profile_flag(self.profile())
            )));
        }
        let asked = match (self.restore, self.identity()) {
            (Restore::Ask, Some(identity)) => ask_again(self.profile(), &identity),
            _ => None,
        };
        let Some(credentials) = asked else {
            return Err(self.failure(Error::from(ProtoError::SessionExpired)));
        };
        self.client
            .create_session(credentials)
            .map_err(|e| self.failure(e))?;
        self.client
            .current_user_id()
            .ok_or_else(|| Failure::refused("signed in again, but the server named no user"))
    }
}

impl Drop for Connected {
    fn drop(&mut self) {
        // Each answer moved the deadline: keep the latest one.
        self.keeper.keep(self.client.export_session().as_ref());
    }
}

/// The saved session; an unreadable one is reported and ignored (a new
/// sign-in replaces it).
fn read_saved(path: &std::path::Path) -> Option<SavedSession> {
    let text = match files::read_optional(path) {
        Ok(text) => text?,
        Err(e) => {
            terminal::note(&format!(
                "warning: ignoring the session file {}, which {e}",
                path.display()
            ));
            return None;
        }
    };
    match serde_json::from_str(&text) {
        Ok(saved) => Some(saved),
        Err(e) => {
            terminal::note(&format!(
                "warning: ignoring the unreadable session file {} ({e})",
                path.display()
            ));
            None
        }
    }
}

/// The restore callback: the session expired, so sign in again with the
/// same login or e-mail, asking for the password on the terminal. Without
/// a terminal it declines and the call fails with the session expired.
fn ask_again(profile: &str, identity: &Identity) -> Option<Credentials> {
    if !prompt::interactive() {
        return None;
    }
    eprintln!("The session of profile '{profile}' has expired.");
    let prompt = format!("Password for {}: ", terminal::text(&identity.to_string()));
    let password = prompt::password(&prompt).ok()?;
    Some(identity.credentials(password))
}
