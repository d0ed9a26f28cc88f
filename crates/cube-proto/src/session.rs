//! The session state machine: which token is live, until when, and what a
//! call must do before it can be sent.
//!
//! It owns no clock: every question takes `now`. The deadline comes from the
//! server's `CB-Token-ExpirationDate` header; when a response lacks it, from
//! the moment the request was built plus two hours (a guest session: its
//! creation plus one day). A `401 Required session does not exist` is the
//! final word and marks the session expired, whatever the local clock says.

use crate::credentials::SessionKind;
use crate::error::Error;
use crate::expiry::{GUEST_SESSION_TTL, SESSION_IDLE_TTL};
use crate::ops::{Access, Transition};
use crate::secret::Secret;
use time::{Duration, OffsetDateTime};

/// The default safety margin: a session this close to its deadline is
/// treated as expired, so a request is not sent to die in flight.
pub const DEFAULT_MARGIN: Duration = Duration::seconds(10);

/// Tunables of the session state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOptions {
    /// How long before its deadline a session stops counting as valid.
    pub margin: Duration,
    /// Whether the application supplied a restore callback. When it did, a
    /// missing or expired session is restored through it; when not, only an
    /// application session is ever created automatically.
    pub restore: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            margin: DEFAULT_MARGIN,
            restore: false,
        }
    }
}

/// The state of the session as an application sees it at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionStatus {
    /// No session was ever created, or it was destroyed.
    None,
    /// A live application (read-only) session.
    Application,
    /// A live user session.
    User,
    /// A live guest session.
    Guest,
    /// The session's deadline has passed, or the server said it is gone.
    Expired,
}

/// What a call must do before it can go out; see [`Session::plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Send it now, with this token (or none).
    Send(Option<Secret>),
    /// Create an application session first, then plan again.
    CreateApplicationSession,
    /// Ask the application's restore callback for credentials, create a
    /// session with them, then plan again.
    Restore,
    /// Refuse the call: nothing is sent.
    Fail(Refusal),
}

/// Why a call was refused before anything was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// There is no session and the call may not create one.
    NoSession,
    /// The session has expired and may not be replaced automatically.
    SessionExpired,
    /// The call writes, and the session has no user.
    NeedUser,
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::NoSession => Error::NoSession,
            Refusal::SessionExpired => Error::SessionExpired,
            Refusal::NeedUser => Error::NeedUser,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    None,
    Active(Active),
    /// The server said the token is gone; the kind is kept so that the
    /// state machine knows what may replace it.
    Expired(SessionKind),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Active {
    token: Secret,
    kind: SessionKind,
    session_id: Option<u64>,
    user_id: Option<u64>,
    expires_at: OffsetDateTime,
}

/// The client's view of its session. See the module docs.
///
/// ```
/// use cube_proto::{Session, SessionStatus, ops::Access, session::Plan};
/// use time::macros::datetime;
/// let now = datetime!(2026-11-24 12:00 UTC);
/// let session = Session::default();
/// assert_eq!(session.status(now), SessionStatus::None);
/// // A read with no session first creates an application session.
/// assert_eq!(session.plan(Access::Read, now), Plan::CreateApplicationSession);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    state: State,
    options: SessionOptions,
    /// Bumped whenever the token changes, so a response to a request that
    /// carried an older token is recognised as stale.
    generation: u64,
}

impl Default for Session {
    fn default() -> Self {
        Self::new(SessionOptions::default())
    }
}

/// Which token a request carried: compare with [`Session::generation`].
pub type Generation = u64;

impl Session {
    /// An empty session with these options.
    pub fn new(options: SessionOptions) -> Self {
        Self {
            state: State::None,
            options,
            generation: 0,
        }
    }

    /// The options.
    pub fn options(&self) -> SessionOptions {
        self.options
    }

    /// Turns the restore callback on or off.
    pub fn set_restore(&mut self, restore: bool) {
        self.options.restore = restore;
    }

    /// Changes the safety margin.
    pub fn set_margin(&mut self, margin: Duration) {
        self.options.margin = margin;
    }

    /// What the session is at `now`.
    pub fn status(&self, now: OffsetDateTime) -> SessionStatus {
        match &self.state {
            State::None => SessionStatus::None,
            State::Expired(_) => SessionStatus::Expired,
            State::Active(a) if now >= a.expires_at => SessionStatus::Expired,
            State::Active(a) => match a.kind {
                SessionKind::Application => SessionStatus::Application,
                SessionKind::User => SessionStatus::User,
                SessionKind::Guest => SessionStatus::Guest,
            },
        }
    }

    /// Whether the token can be used at `now`: live, and further than the
    /// safety margin from its deadline.
    pub fn is_valid(&self, now: OffsetDateTime) -> bool {
        self.live(now).is_some()
    }

    fn live(&self, now: OffsetDateTime) -> Option<&Active> {
        match &self.state {
            State::Active(a) if now + self.options.margin < a.expires_at => Some(a),
            _ => None,
        }
    }

    /// The kind of the current (or last, if expired) session.
    pub fn kind(&self) -> Option<SessionKind> {
        match &self.state {
            State::None => None,
            State::Active(a) => Some(a.kind),
            State::Expired(kind) => Some(*kind),
        }
    }

    /// The token, while the session has not been marked expired or ended.
    pub fn token(&self) -> Option<&Secret> {
        match &self.state {
            State::Active(a) => Some(&a.token),
            _ => None,
        }
    }

    /// The signed-in user of a live user or guest session.
    pub fn user_id(&self) -> Option<u64> {
        match &self.state {
            State::Active(a) => a.user_id,
            _ => None,
        }
    }

    /// The server's id of the current session, when known.
    pub fn session_id(&self) -> Option<u64> {
        match &self.state {
            State::Active(a) => a.session_id,
            _ => None,
        }
    }

    /// The token's deadline: the next moment the session changes by itself.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        match &self.state {
            State::Active(a) => Some(a.expires_at),
            _ => None,
        }
    }

    /// Which token the session holds now; see [`Session::observe`].
    pub fn generation(&self) -> Generation {
        self.generation
    }

    /// Decides, at `now`, what a call with this access must do first.
    pub fn plan(&self, access: Access, now: OffsetDateTime) -> Plan {
        let live = self.live(now);
        let token = || Plan::Send(live.map(|a| a.token.clone()));
        match access {
            Access::Public => Plan::Send(None),
            Access::Optional => token(),
            Access::Current => match (live, &self.state) {
                (Some(_), _) => token(),
                (None, State::None) => Plan::Fail(Refusal::NoSession),
                (None, _) => Plan::Fail(Refusal::SessionExpired),
            },
            Access::SignIn => match live {
                Some(_) => token(),
                None => Plan::CreateApplicationSession,
            },
            Access::Read => match live {
                Some(_) => token(),
                None if self.options.restore => Plan::Restore,
                None => match self.kind() {
                    None | Some(SessionKind::Application) => Plan::CreateApplicationSession,
                    Some(_) => Plan::Fail(Refusal::SessionExpired),
                },
            },
            Access::Write => match live {
                Some(a) if a.kind == SessionKind::Application => Plan::Fail(Refusal::NeedUser),
                Some(_) => token(),
                None if self.options.restore => Plan::Restore,
                None => match self.kind() {
                    None => Plan::Fail(Refusal::NoSession),
                    Some(SessionKind::Application) => Plan::Fail(Refusal::NeedUser),
                    Some(_) => Plan::Fail(Refusal::SessionExpired),
                },
            },
        }
    }

    /// Takes in a response to a request that carried the token of
    /// `generation` and was built at `sent_at`: re-arms the deadline (header,
    /// else `sent_at` + 2 h; a guest's deadline never moves without a header)
    /// or, on `401 Required session does not exist`, marks the session
    /// expired. Responses about an older token change nothing.
    pub fn observe(
        &mut self,
        generation: Generation,
        sent_at: OffsetDateTime,
        header: Option<OffsetDateTime>,
        session_missing: bool,
    ) {
        if generation != self.generation {
            return;
        }
        let State::Active(active) = &mut self.state else {
            return;
        };
        if session_missing {
            self.state = State::Expired(active.kind);
            return;
        }
        active.expires_at = match (header, active.kind) {
            (Some(deadline), _) => deadline,
            (None, SessionKind::Guest) => active.expires_at,
            (None, _) => sent_at + SESSION_IDLE_TTL,
        };
    }

    /// Applies the effect of a successful call. `sent_at` and `header` give
    /// the deadline of a newly established session.
    pub fn apply(
        &mut self,
        transition: Transition,
        sent_at: OffsetDateTime,
        header: Option<OffsetDateTime>,
    ) {
        match transition {
            Transition::None => {}
            Transition::Established {
                token,
                kind,
                session_id,
                user_id,
            } => {
                let ttl = if kind == SessionKind::Guest {
                    GUEST_SESSION_TTL
                } else {
                    SESSION_IDLE_TTL
                };
                self.generation += 1;
                self.state = State::Active(Active {
                    token,
                    kind,
                    session_id: Some(session_id),
                    user_id,
                    expires_at: header.unwrap_or(sent_at + ttl),
                });
            }
            Transition::SignedIn { user_id } => {
                if let State::Active(a) = &mut self.state {
                    a.kind = SessionKind::User;
                    a.user_id = Some(user_id);
                }
            }
            Transition::SignedOut => {
                if let State::Active(a) = &mut self.state {
                    a.kind = SessionKind::Application;
                    a.user_id = None;
                }
            }
            Transition::Ended => self.end(),
            Transition::SessionDestroyed { session_id } => {
                if self.session_id() == Some(session_id) {
                    self.end();
                }
            }
        }
    }

    /// Forgets the session (destroyed, or the app wants a fresh start).
    pub fn end(&mut self) {
        self.generation += 1;
        self.state = State::None;
    }
}
