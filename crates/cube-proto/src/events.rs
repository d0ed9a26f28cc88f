//! Session changes, as the state machine reports them.
//!
//! Every change of the session — a new token, a new kind, its end — is
//! queued by [`Session`](crate::Session) as one [`SessionEvent`] carrying
//! the snapshot right after the change, so an app can persist it. Re-arming
//! the deadline on an ordinary response is not a change: export the session
//! when the app stops to keep the freshest deadline.
//!
//! An adapter delivers the queue outside its lock, in order, each event once,
//! even when many threads change the session at once: the one that claims
//! the [`DeliveryTurn`] delivers everything queued until the queue is empty,
//! including what other threads queue meanwhile.
//!
//! ```
//! use cube_proto::{Config, IssuedToken, Session, SessionChange, SessionOptions};
//! let config = Config::builder(1, "key").build()?;
//! let mut session = Session::for_config(&config, SessionOptions::default());
//! session.adopt(&config, IssuedToken::new("t0ken").user(5))?;
//! session.end();
//! let mut turn = session.claim_delivery().expect("two changes are queued");
//! let mut seen = Vec::new();
//! while let Some((event, next)) = session.next_delivery(turn) {
//!     seen.push(event.change);
//!     turn = next;
//! }
//! assert_eq!(seen, [SessionChange::Adopted, SessionChange::Destroyed]);
//! # Ok::<(), cube_proto::Error>(())
//! ```

use crate::credentials::SessionKind;
use crate::snapshot::SessionSnapshot;

/// What happened to the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionChange {
    /// A session of this kind was created: by the app (`create_session`,
    /// the application session a sign-in starts from) or automatically for
    /// a read.
    Created(SessionKind),
    /// Signed in: the session is now a user session (same token).
    Upgraded,
    /// Signed out: the session is now an application session (same token).
    Downgraded,
    /// The restore callback's answer replaced an expired or missing session.
    Restored,
    /// The session is dead: its deadline passed (noticed when a call was
    /// about to use it) or the server said so.
    Expired(ExpiredBy),
    /// The session ended: destroyed on the server, its user deleted, or
    /// forgotten locally. The event carries no snapshot.
    Destroyed,
    /// A token minted elsewhere was adopted by a running client.
    Adopted,
    /// A snapshot was resumed by a running client.
    Resumed,
}

/// Who said that a session expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpiredBy {
    /// The client's clock passed the deadline (less the safety margin).
    Clock,
    /// The server answered `401 Required session does not exist`.
    Server,
}

/// One change of the session and the snapshot right after it (`None` once
/// the session is gone: the app deletes what it saved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEvent {
    /// What changed.
    pub change: SessionChange,
    /// The session after the change.
    pub snapshot: Option<SessionSnapshot>,
}

/// The right to deliver a session's queued events; see the module docs.
/// Only [`Session::claim_delivery`](crate::Session::claim_delivery) makes
/// one, and only one exists per session at a time.
#[derive(Debug)]
#[must_use = "a claimed turn must be used until the queue is empty, or released"]
pub struct DeliveryTurn {
    pub(crate) _private: (),
}

/// The listener an app sets with `on_session_change`: called once per
/// change, in order, outside the client's locks. Keep it quick (spawn for
/// slow work); it may call the client.
pub type SessionListener = dyn Fn(&SessionEvent) + Send + Sync;
