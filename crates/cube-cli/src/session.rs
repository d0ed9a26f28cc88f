//! The profile's session, kept between commands: the SDK's snapshot in
//! `sessions/PROFILE.json` (mode 0600: it holds the token), with the login
//! or e-mail it was opened with, so that an expired one can be restored by
//! asking for the password again.
//!
//! Every command resumes the saved session (no session request while it is
//! live), saves each change the SDK reports, and saves the session once more
//! at the end, since every answer moves its deadline.

use crate::config::{Place, Settings, profile_flag};
use crate::error::{Failure, Result};
use crate::{files, prompt};
use cube_blocking::{Client, Credentials, ProtoError, SessionKind, SessionSnapshot};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

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
            Err(e) => eprintln!(
                "cube: warning: cannot save the session to {}: {e}",
                self.path.display()
            ),
        }
    }
}

/// A client of the profile, its session resumed and kept.
pub(crate) struct Connected {
    pub(crate) client: Client,
    pub(crate) settings: Settings,
    keeper: Arc<Keeper>,
}

impl Connected {
    /// Builds the client, resuming the profile's saved session.
    pub(crate) fn open(place: &Place, settings: Settings, restore: Restore) -> Result<Self> {
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
                .on_session_change(move |event| listener.keep(event.snapshot.as_ref()));
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
                    eprintln!(
                        "cube: the saved session of profile '{}' is for another application or endpoint; ignoring it",
                        settings.profile
                    );
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
        })
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

    /// Reads an SDK error of this profile's calls.
    pub(crate) fn failure(&self, error: cube_blocking::Error) -> Failure {
        Failure::from_sdk(&error, &self.settings.profile)
    }

    /// The signed-in user's id, or a failure that says how to sign in.
    pub(crate) fn require_user(&self) -> Result<u64> {
        self.client.current_user_id().ok_or_else(|| {
            Failure::refused(format!(
                "not signed in (profile '{}'): run `cube{} login --login LOGIN`",
                self.profile(),
                profile_flag(self.profile())
            ))
        })
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
            eprintln!("cube: warning: {e}");
            return None;
        }
    };
    match serde_json::from_str(&text) {
        Ok(saved) => Some(saved),
        Err(e) => {
            eprintln!(
                "cube: warning: ignoring the unreadable session file {} ({e})",
                path.display()
            );
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
    let password = prompt::password(&format!("Password for {identity}: ")).ok()?;
    Some(identity.credentials(password))
}
