//! The session state machine: which token is live, until when, and what a
//! call must do before it can be sent.
//!
//! It owns no clock: every question takes `now`. The deadline comes from the
//! server's `CB-Token-ExpirationDate` header; when a response lacks it, from
//! the moment the request was built plus two hours (a guest session: its
//! creation plus one day; an adopted token whose deadline is unknown: the
//! first response). A `401 Required session does not exist` is the final
//! word and marks the session expired, whatever the local clock says. A
//! `401 Token is required` changes nothing: the server did not see the
//! token, so it neither used nor ended it.
//!
//! Every change is queued as a [`SessionEvent`] (see [`crate::events`]);
//! re-arming the deadline is not a change.
//!
//! The session also keeps what its calls learned of the server's clock
//! ([`ServerClock`]): it outlives every token, and once the server refused
//! the device's clock, session requests are signed on it.

use crate::config::Config;
use crate::credentials::SessionKind;
use crate::error::Error;
use crate::events::{DeliveryTurn, ExpiredBy, SessionChange, SessionEvent};
use crate::expiry::{GUEST_SESSION_TTL, SESSION_IDLE_TTL};
use crate::ops::{Access, Transition};
use crate::secret::Secret;
use crate::server_time::ServerClock;
use crate::snapshot::{IssuedToken, Origin, SessionSnapshot, SessionStart};
use std::collections::VecDeque;
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
    /// Whether the client holds an auth key, so that it can create sessions
    /// itself. Without one, a call that needs a new session is restored
    /// through the callback (which must answer with a ready session) or
    /// refused with [`Error::NoAuthKey`].
    pub auth_key: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            margin: DEFAULT_MARGIN,
            restore: false,
            auth_key: true,
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

/// What a call must do before it can go out; see [`Session::decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send it now, with this token (or none).
    Send(Option<Secret>),
    /// Create an application session first, then decide again.
    CreateApplicationSession,
    /// Ask the application's restore callback for credentials or a ready
    /// session, put it in place, then decide again.
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
    /// A new session is needed and the client has no auth key to create it.
    NoAuthKey,
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::NoSession => Error::NoSession,
            Refusal::SessionExpired => Error::SessionExpired,
            Refusal::NeedUser => Error::NeedUser,
            Refusal::NoAuthKey => Error::NoAuthKey,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Standing {
    None,
    Active(Active),
    /// Dead, by the server's word or the clock; the kind is kept so that the
    /// state machine knows what may replace it.
    Expired(SessionKind),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Active {
    token: Secret,
    kind: SessionKind,
    session_id: Option<u64>,
    user_id: Option<u64>,
    /// `None` for an adopted token whose deadline nobody said yet.
    expires_at: Option<OffsetDateTime>,
}

/// The client's view of its session. See the module docs.
///
/// ```
/// use cube_proto::{Session, SessionStatus, ops::Access, session::Decision};
/// use time::macros::datetime;
/// let now = datetime!(2026-11-24 12:00 UTC);
/// let session = Session::default();
/// assert_eq!(session.status(now), SessionStatus::None);
/// // A read with no session first creates an application session.
/// assert_eq!(session.decide(Access::Read, now), Decision::CreateApplicationSession);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    state: Standing,
    options: SessionOptions,
    origin: Origin,
    /// Bumped whenever the token changes, so a response to a request that
    /// carried an older token is recognised as stale.
    generation: u64,
    /// Bumped with every change (every event), so a restore that finishes
    /// after the application changed the session is recognised as overruled.
    revision: u64,
    events: VecDeque<SessionEvent>,
    /// Whether a [`DeliveryTurn`] is out.
    delivering: bool,
    /// The server's clock as the answers told it; kept across tokens.
    server_clock: ServerClock,
}

impl Default for Session {
    fn default() -> Self {
        Self::new(SessionOptions::default())
    }
}

/// Which token a request carried: compare with [`Session::generation`].
pub type Generation = u64;

impl Session {
    /// An empty session with these options, of no particular application:
    /// its snapshots name application 0 and no base URL. Clients use
    /// [`Session::for_config`].
    pub fn new(options: SessionOptions) -> Self {
        Self {
            state: Standing::None,
            options,
            origin: Origin::default(),
            generation: 0,
            revision: 0,
            events: VecDeque::new(),
            delivering: false,
            server_clock: ServerClock::default(),
        }
    }

    /// An empty session of the application and server of `config`.
    pub fn for_config(config: &Config, options: SessionOptions) -> Self {
        Self {
            origin: Origin::of(config),
            ..Self::new(options)
        }
    }

    /// A session that starts where `snapshot` left off, with no event (the
    /// application already holds that snapshot). A snapshot past its
    /// deadline starts expired, so the restore path runs. Refuses a snapshot
    /// of another application or base URL with [`Error::ForeignSnapshot`].
    pub fn resumed(
        config: &Config,
        options: SessionOptions,
        snapshot: SessionSnapshot,
    ) -> Result<Self, Error> {
        snapshot.check(config)?;
        let mut session = Self::for_config(config, options);
        session.install_snapshot(snapshot);
        Ok(session)
    }

    /// A session that starts with a token minted elsewhere, with no event.
    pub fn adopted(
        config: &Config,
        options: SessionOptions,
        token: IssuedToken,
    ) -> Result<Self, Error> {
        token.check()?;
        let mut session = Self::for_config(config, options);
        session.install_token(token);
        Ok(session)
    }

    /// A session that starts as `start` says, with no event.
    pub fn start(
        config: &Config,
        options: SessionOptions,
        start: SessionStart,
    ) -> Result<Self, Error> {
        match start {
            SessionStart::Empty => Ok(Self::for_config(config, options)),
            SessionStart::Snapshot(snapshot) => Self::resumed(config, options, snapshot),
            SessionStart::Token(token) => Self::adopted(config, options, token),
        }
    }

    /// Replaces the session with `snapshot`'s (event: `Resumed`). Refuses a
    /// snapshot of another application or base URL and changes nothing.
    pub fn resume(&mut self, config: &Config, snapshot: SessionSnapshot) -> Result<(), Error> {
        snapshot.check(config)?;
        self.move_to(config);
        self.install_snapshot(snapshot);
        self.changed(SessionChange::Resumed);
        Ok(())
    }

    /// Replaces the session with a token minted elsewhere (event: `Adopted`).
    pub fn adopt(&mut self, config: &Config, token: IssuedToken) -> Result<(), Error> {
        token.check()?;
        self.move_to(config);
        self.install_token(token);
        self.changed(SessionChange::Adopted);
        Ok(())
    }

    /// Belongs from now on to the application and server of `config`; what
    /// was learned of another server's clock is forgotten.
    fn move_to(&mut self, config: &Config) {
        let origin = Origin::of(config);
        let known = !self.origin.base_url.is_empty();
        if known && origin.base_url != self.origin.base_url {
            self.server_clock = ServerClock::default();
        }
        self.origin = origin;
    }

    /// Puts a ready session from the restore callback in place (event:
    /// `Restored`).
    pub(crate) fn restore_with(&mut self, token: IssuedToken) -> Result<(), Error> {
        token.check()?;
        self.install_token(token);
        self.changed(SessionChange::Restored);
        Ok(())
    }

    fn install_snapshot(&mut self, snapshot: SessionSnapshot) {
        self.generation += 1;
        self.state = match snapshot.token {
            Some(token) => Standing::Active(Active {
                token,
                kind: snapshot.kind,
                session_id: snapshot.session_id,
                user_id: snapshot.user_id,
                expires_at: snapshot.expires_at,
            }),
            None => Standing::Expired(snapshot.kind),
        };
    }

    fn install_token(&mut self, token: IssuedToken) {
        self.generation += 1;
        self.state = Standing::Active(Active {
            token: token.token,
            kind: token.kind,
            session_id: None,
            user_id: token.user_id,
            expires_at: token.expires_at,
        });
    }

    /// The session as a snapshot to save, or `None` when there is none.
    pub fn export(&self) -> Option<SessionSnapshot> {
        let origin = self.origin.clone();
        match &self.state {
            Standing::None => None,
            Standing::Active(a) => Some(SessionSnapshot {
                origin,
                kind: a.kind,
                token: Some(a.token.clone()),
                session_id: a.session_id,
                user_id: a.user_id,
                expires_at: a.expires_at,
            }),
            Standing::Expired(kind) => Some(SessionSnapshot {
                origin,
                kind: *kind,
                token: None,
                session_id: None,
                user_id: None,
                expires_at: None,
            }),
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
            Standing::None => SessionStatus::None,
            Standing::Expired(_) => SessionStatus::Expired,
            Standing::Active(a) if a.expires_at.is_some_and(|at| now >= at) => {
                SessionStatus::Expired
            }
            Standing::Active(a) => match a.kind {
                SessionKind::Application => SessionStatus::Application,
                SessionKind::User => SessionStatus::User,
                SessionKind::Guest => SessionStatus::Guest,
            },
        }
    }

    /// Whether the token can be used at `now`: live, and further than the
    /// safety margin from its deadline (or its deadline is not known yet).
    pub fn is_valid(&self, now: OffsetDateTime) -> bool {
        self.live(now).is_some()
    }

    fn live(&self, now: OffsetDateTime) -> Option<&Active> {
        match &self.state {
            Standing::Active(a) if a.expires_at.is_none_or(|at| now + self.options.margin < at) => {
                Some(a)
            }
            _ => None,
        }
    }

    /// The kind of the current (or last, if expired) session.
    pub fn kind(&self) -> Option<SessionKind> {
        match &self.state {
            Standing::None => None,
            Standing::Active(a) => Some(a.kind),
            Standing::Expired(kind) => Some(*kind),
        }
    }

    /// The token, while the session has not been marked expired or ended.
    pub fn token(&self) -> Option<&Secret> {
        match &self.state {
            Standing::Active(a) => Some(&a.token),
            _ => None,
        }
    }

    /// The signed-in user of a live user or guest session.
    pub fn user_id(&self) -> Option<u64> {
        match &self.state {
            Standing::Active(a) => a.user_id,
            _ => None,
        }
    }

    /// The server's id of the current session, when known.
    pub fn session_id(&self) -> Option<u64> {
        match &self.state {
            Standing::Active(a) => a.session_id,
            _ => None,
        }
    }

    /// The token's deadline: the next moment the session changes by itself.
    /// `None` when there is no live token, or an adopted token's deadline is
    /// not known yet.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        match &self.state {
            Standing::Active(a) => a.expires_at,
            _ => None,
        }
    }

    /// What the session's calls learned of the server's clock, and whether
    /// session requests are signed on it.
    pub fn server_clock(&self) -> &ServerClock {
        &self.server_clock
    }

    /// Takes in the `Date` of an answer of the API, received when the
    /// device's clock read `local_now`.
    pub(crate) fn learn_server_time(&mut self, date: OffsetDateTime, local_now: OffsetDateTime) {
        self.server_clock.learn(date, local_now);
    }

    /// Signs session requests on the server's time from now on.
    pub(crate) fn adopt_server_time(&mut self) {
        self.server_clock.adopt();
    }

    /// Which token the session holds now; see [`Session::observe`].
    pub fn generation(&self) -> Generation {
        self.generation
    }

    /// How many changes the session has been through (one per event).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Notices, at `now`, a deadline that has passed (less the safety
    /// margin): the session becomes expired and says so (event
    /// `Expired(Clock)`). Calls do this before they decide; doing it again is
    /// harmless.
    pub fn handle_timeout(&mut self, now: OffsetDateTime) {
        if let Standing::Active(a) = &self.state
            && self.live(now).is_none()
        {
            self.state = Standing::Expired(a.kind);
            self.changed(SessionChange::Expired(ExpiredBy::Clock));
        }
    }

    /// Decides, at `now`, what a call with this access must do first.
    pub fn decide(&self, access: Access, now: OffsetDateTime) -> Decision {
        let live = self.live(now);
        let token = || Decision::Send(live.map(|a| a.token.clone()));
        // What "create an application session" means for this client.
        let create_app = || {
            if self.options.auth_key {
                Decision::CreateApplicationSession
            } else {
                Decision::Fail(Refusal::NoAuthKey)
            }
        };
        match access {
            Access::Public => Decision::Send(None),
            Access::Optional => token(),
            Access::Current => match (live, &self.state) {
                (Some(_), _) => token(),
                (None, Standing::None) => Decision::Fail(Refusal::NoSession),
                (None, _) => Decision::Fail(Refusal::SessionExpired),
            },
            Access::SignIn => match live {
                Some(_) => token(),
                None => create_app(),
            },
            Access::Read => match live {
                Some(_) => token(),
                None if self.options.restore => Decision::Restore,
                None => match self.kind() {
                    None | Some(SessionKind::Application) => create_app(),
                    Some(_) => Decision::Fail(Refusal::SessionExpired),
                },
            },
            Access::Write => match live {
                Some(a) if a.kind == SessionKind::Application => Decision::Fail(Refusal::NeedUser),
                Some(_) => token(),
                None if self.options.restore => Decision::Restore,
                None => match self.kind() {
                    None => Decision::Fail(Refusal::NoSession),
                    Some(SessionKind::Application) => Decision::Fail(Refusal::NeedUser),
                    Some(_) => Decision::Fail(Refusal::SessionExpired),
                },
            },
        }
    }

    /// Takes in a response to a request that carried the token of
    /// `generation` and was built at `sent_at`: re-arms the deadline (header,
    /// else `sent_at` + 2 h; a guest's deadline never moves without a header)
    /// or, on `401 Required session does not exist`, marks the session
    /// expired (event `Expired(Server)`). Responses about an older token
    /// change nothing.
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
        let Standing::Active(active) = &mut self.state else {
            return;
        };
        if session_missing {
            self.state = Standing::Expired(active.kind);
            self.changed(SessionChange::Expired(ExpiredBy::Server));
            return;
        }
        active.expires_at = match (header, active.kind) {
            (Some(deadline), _) => Some(deadline),
            // A guest's deadline is fixed at creation; one nobody told us
            // yet is guessed the short way.
            (None, SessionKind::Guest) => active.expires_at.or(Some(sent_at + SESSION_IDLE_TTL)),
            (None, _) => Some(sent_at + SESSION_IDLE_TTL),
        };
    }

    /// Applies the effect of a successful call and reports the change.
    /// `sent_at` and `header` give the deadline of a newly established
    /// session.
    pub fn apply(
        &mut self,
        transition: Transition,
        sent_at: OffsetDateTime,
        header: Option<OffsetDateTime>,
    ) {
        match transition {
            Transition::None => {}
            Transition::Established { kind, .. } => {
                self.establish(transition, sent_at, header, SessionChange::Created(kind));
            }
            Transition::SignedIn { user_id } => {
                if let Standing::Active(a) = &mut self.state {
                    a.kind = SessionKind::User;
                    a.user_id = Some(user_id);
                    self.changed(SessionChange::Upgraded);
                }
            }
            Transition::SignedOut => {
                if let Standing::Active(a) = &mut self.state {
                    a.kind = SessionKind::Application;
                    a.user_id = None;
                    self.changed(SessionChange::Downgraded);
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

    /// [`Session::apply`] for the answer to a request that carried the
    /// token of `generation`: a new session always applies; a change of the
    /// current one only if it is still that token.
    pub(crate) fn apply_answer(
        &mut self,
        generation: Generation,
        transition: Transition,
        sent_at: OffsetDateTime,
        header: Option<OffsetDateTime>,
    ) {
        let new_session = matches!(transition, Transition::Established { .. });
        if new_session || generation == self.generation {
            self.apply(transition, sent_at, header);
        }
    }

    /// Puts a newly created session in place and reports it as `change`.
    pub(crate) fn establish(
        &mut self,
        transition: Transition,
        sent_at: OffsetDateTime,
        header: Option<OffsetDateTime>,
        change: SessionChange,
    ) {
        let Transition::Established {
            token,
            kind,
            session_id,
            user_id,
        } = transition
        else {
            return;
        };
        let ttl = if kind == SessionKind::Guest {
            GUEST_SESSION_TTL
        } else {
            SESSION_IDLE_TTL
        };
        self.generation += 1;
        self.state = Standing::Active(Active {
            token,
            kind,
            session_id: Some(session_id),
            user_id,
            expires_at: Some(header.unwrap_or(sent_at + ttl)),
        });
        self.changed(change);
    }

    /// Forgets the session (destroyed, or the app wants a fresh start);
    /// event `Destroyed` if there was one.
    pub fn end(&mut self) {
        self.generation += 1;
        if self.state != Standing::None {
            self.state = Standing::None;
            self.changed(SessionChange::Destroyed);
        }
    }

    fn changed(&mut self, change: SessionChange) {
        self.revision += 1;
        let snapshot = self.export();
        self.events.push_back(SessionEvent { change, snapshot });
    }

    /// The oldest change not yet taken, for a caller that drives the session
    /// alone (with several threads, use [`Session::claim_delivery`]). The
    /// queue grows by one per change until it is drained.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// Claims the right to deliver the queued events: `None` when the queue
    /// is empty or another caller already delivers (it will deliver what is
    /// queued now too).
    pub fn claim_delivery(&mut self) -> Option<DeliveryTurn> {
        if self.delivering || self.events.is_empty() {
            return None;
        }
        self.delivering = true;
        Some(DeliveryTurn { _private: () })
    }

    /// The next event for the holder of the turn, and the turn back; `None`
    /// (the turn ends) when the queue is empty. Deliver the event without
    /// holding the lock around the session, then call again.
    pub fn next_delivery(&mut self, turn: DeliveryTurn) -> Option<(SessionEvent, DeliveryTurn)> {
        match self.events.pop_front() {
            Some(event) => Some((event, turn)),
            None => {
                self.release_delivery(turn);
                None
            }
        }
    }

    /// Gives the turn up early (the deliverer failed); the next claim
    /// delivers what is left.
    pub fn release_delivery(&mut self, turn: DeliveryTurn) {
        let DeliveryTurn { _private: () } = turn;
        self.delivering = false;
    }
}
