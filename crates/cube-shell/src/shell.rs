//! The state every client holds and the steps of its drive loop.

use crate::error::Error;
use proto::events::DeliveryTurn;
use proto::ops::Operation;
use proto::retry::{AfterFailure, TransportFailure};
use proto::wire::Response;
use proto::{
    Call, Clock, Config, IssuedToken, RestoreAnswer, Secret, Session, SessionListener,
    SessionSnapshot, Step,
};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;

/// What an adapter brings to the [`Shell`], implemented by its transport:
/// the HTTP client itself, and the types that differ between a blocking
/// and an async client. The shell holds one of each and hands them back to
/// the adapter's drive loop; it never uses them itself.
pub trait Adapter: Sized + Send + Sync + 'static {
    /// The application's restore callback, boxed.
    type Restore: ?Sized + Send + Sync;
    /// The lock that is the restore turn ([`Step::TakeRestoreTurn`]).
    type Turn: Default + Send + Sync;

    /// The transport of a client whose calls each take at most `timeout`
    /// and that trusts `roots` plus the DER certificates of `extra_roots`.
    fn build(timeout: Duration, roots: &Roots, extra_roots: &[Vec<u8>]) -> Result<Self, Error>;
}

/// A request that got no answer: the adapter's own error, and what went
/// wrong on the way in cube-proto's words, for the call to decide on. The
/// adapter's transport tells the one from its I/O library's errors; it
/// decides nothing.
#[derive(Debug)]
pub struct Unanswered {
    /// How far the request got, as far as the transport can tell.
    pub failure: TransportFailure,
    /// The error the call ends with, if it is not sent again.
    pub error: Error,
}

/// Which certificate authorities an HTTPS server may be signed by; extra
/// roots come on top with the builder's `add_root_certificate`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Roots {
    /// Mozilla's root set (webpki), the default.
    #[default]
    WebPki,
    /// The operating system's trust store.
    Platform,
    /// Only the extra roots.
    None,
}

/// What every client holds: the configuration, the session under its lock,
/// the listener told of its changes, the clock, the restore callback with
/// its turn, and the adapter's transport `A`. Built by
/// [`BuilderSettings::build`](crate::builder::BuilderSettings::build).
///
/// The session lock is held only to read or change the session, never
/// across I/O or a callback: the drive loop polls the call under it
/// ([`poll`](Self::poll)), lets it go while the transport sends, and takes
/// it again to hand the answer back ([`handle_response`](Self::handle_response)).
/// Every change is delivered to the listener after the lock is released.
pub struct Shell<A: Adapter> {
    config: Config,
    session: Mutex<Session>,
    listener: Option<Arc<SessionListener>>,
    clock: Arc<dyn Clock>,
    restore: Option<Box<A::Restore>>,
    /// Held by the one caller that is restoring the session, so that
    /// callers waiting on an expired session cause one restore, not one
    /// each. The call says when to take and release it.
    restore_turn: A::Turn,
    transport: A,
    nonces: Mutex<Nonces>,
}

/// Nonces for session requests, read from the operating system sixteen at
/// a time: every poll of a call takes one, whether or not it signs, and a
/// system call for each would cost more than the rest of the poll.
#[derive(Debug, Default)]
struct Nonces {
    drawn: [u32; 16],
    left: usize,
}

impl Nonces {
    fn next(&mut self) -> Result<u32, getrandom::Error> {
        if self.left == 0 {
            let mut bytes = [0u8; 64];
            getrandom::fill(&mut bytes)?;
            for (nonce, four) in self.drawn.iter_mut().zip(bytes.chunks_exact(4)) {
                *nonce = u32::from_ne_bytes([four[0], four[1], four[2], four[3]]);
            }
            self.left = self.drawn.len();
        }
        self.left -= 1;
        Ok(self.drawn[self.left])
    }
}

/// The parts of a [`Shell`], as the builder gathered them.
pub(crate) struct Parts<A: Adapter> {
    pub(crate) config: Config,
    pub(crate) session: Session,
    pub(crate) listener: Option<Arc<SessionListener>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) restore: Option<Box<A::Restore>>,
    pub(crate) transport: A,
}

impl<A: Adapter> fmt::Debug for Shell<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shell")
            .field("config", &self.config)
            .field("session", &*self.lock())
            .field("restore", &self.restore.is_some())
            .finish_non_exhaustive()
    }
}

impl<A: Adapter> Shell<A> {
    pub(crate) fn new(parts: Parts<A>) -> Self {
        Self {
            config: parts.config,
            session: Mutex::new(parts.session),
            listener: parts.listener,
            clock: parts.clock,
            restore: parts.restore,
            restore_turn: A::Turn::default(),
            transport: parts.transport,
            nonces: Mutex::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The current time by the client's clock.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// The adapter's HTTP client.
    pub fn transport(&self) -> &A {
        &self.transport
    }

    /// The application's restore callback, if it set one.
    pub fn restore_callback(&self) -> Option<&A::Restore> {
        self.restore.as_deref()
    }

    /// The restore turn: take it at [`Step::TakeRestoreTurn`], release it
    /// at [`Step::ReleaseRestoreTurn`].
    pub fn restore_turn(&self) -> &A::Turn {
        &self.restore_turn
    }

    fn lock(&self) -> MutexGuard<'_, Session> {
        // Every change to the session is a single assignment, so a poisoned
        // lock still guards a consistent value.
        self.session.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the session under its lock, without copying it.
    pub fn with_session<R>(&self, read: impl FnOnce(&Session) -> R) -> R {
        read(&self.lock())
    }

    /// A copy of the whole session state machine.
    pub fn session_state(&self) -> Session {
        self.lock().clone()
    }

    /// The token, while the session holds one.
    pub fn token(&self) -> Option<Secret> {
        self.with_session(|s| s.token().cloned())
    }

    /// Changes the session under its lock, then delivers what changed: to
    /// the log only, still under the lock, when there is no listener; else
    /// to the listener too, outside it.
    fn change<R>(&self, f: impl FnOnce(&mut Session) -> R) -> R {
        let mut session = self.lock();
        let result = f(&mut session);
        let Some(listener) = &self.listener else {
            while let Some(event) = session.poll_event() {
                tracing::debug!(change = ?event.change, "cube session change");
            }
            return result;
        };
        let turn = session.claim_delivery();
        drop(session);
        if let Some(turn) = turn {
            self.deliver_events(&**listener, turn);
        }
        result
    }

    /// Hands the queued session events to the listener, outside the lock.
    /// Whoever claims the delivery turn delivers everything queued, so the
    /// listener hears each change once and in order whatever the threads
    /// or tasks.
    fn deliver_events(&self, listener: &SessionListener, mut turn: DeliveryTurn) {
        loop {
            let next = self.lock().next_delivery(turn);
            let Some((event, next_turn)) = next else {
                return;
            };
            turn = next_turn;
            tracing::debug!(change = ?event.change, "cube session change");
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| listener(&event))) {
                self.lock().release_delivery(turn);
                resume_unwind(panic);
            }
        }
    }

    /// The session as a snapshot to save (a file, the keychain) and resume
    /// later, in this process or another; `None` when there is none. It
    /// holds the token: store it as a secret.
    pub fn export_session(&self) -> Option<SessionSnapshot> {
        self.with_session(Session::export)
    }

    /// Replaces the session with a saved one (event `Resumed`). A snapshot
    /// of another application or base URL is refused and changes nothing.
    pub fn resume_session(&self, snapshot: SessionSnapshot) -> Result<(), Error> {
        Ok(self.change(|s| s.resume(&self.config, snapshot))?)
    }

    /// Replaces the session with a token minted elsewhere (event `Adopted`).
    pub fn adopt_session(&self, token: IssuedToken) -> Result<(), Error> {
        Ok(self.change(|s| s.adopt(&self.config, token))?)
    }

    /// Forgets the session locally, without telling the server (event
    /// `Destroyed`).
    pub fn forget_session(&self) {
        self.change(Session::end);
    }

    /// A call of `op` under this client's configuration.
    pub fn call<O: Operation>(&self, op: O) -> Call<O> {
        Call::new(self.config.clone(), op)
    }

    /// The call's next step, at the clock's time and with a fresh nonce,
    /// taken under the session lock.
    pub fn poll<O: Operation>(&self, call: &mut Call<O>) -> Result<Step<O::Output>, Error> {
        let nonce = self
            .nonces
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next()
            .map_err(Error::Random)?;
        let now = self.now();
        Ok(self.change(|s| call.poll(s, now, nonce)))
    }

    /// Hands the answer to the request of [`Step::Send`] back to the call.
    pub fn handle_response<O: Operation>(
        &self,
        call: &mut Call<O>,
        response: Response,
    ) -> Result<(), Error> {
        Ok(self.change(|s| call.handle_response(s, response))?)
    }

    /// Hands a request that got no answer back to the call: `Ok` when the
    /// call sends it again (poll on: it says how long to wait first), else
    /// the transport's error, which ends the call.
    pub fn handle_failure<O: Operation>(
        &self,
        call: &mut Call<O>,
        unanswered: Unanswered,
    ) -> Result<(), Error> {
        match call.handle_failure(unanswered.failure)? {
            AfterFailure::Retry => Ok(()),
            AfterFailure::GiveUp => Err(unanswered.error),
        }
    }

    /// Hands the restore callback's answer (at [`Step::AskRestore`]) back to
    /// the call; `None` when there is no callback.
    pub fn provide_restore<O: Operation>(
        &self,
        call: &mut Call<O>,
        answer: Option<RestoreAnswer>,
    ) -> Result<(), Error> {
        let answer = answer.unwrap_or(RestoreAnswer::Decline);
        Ok(self.change(|s| call.provide_restore(s, answer))?)
    }
}

/// Sixteen bytes from the operating system, for a streamed upload's
/// multipart boundary.
pub fn random_boundary() -> Result<[u8; 16], Error> {
    let mut random = [0u8; 16];
    getrandom::fill(&mut random).map_err(Error::Random)?;
    Ok(random)
}

#[cfg(test)]
mod tests {
    use super::Nonces;
    use std::collections::HashSet;

    #[test]
    fn nonces_are_each_drawn_once_and_come_in_batches() {
        let mut nonces = Nonces::default();
        let drawn: Vec<u32> = (0..48).map(|_| nonces.next().unwrap()).collect();
        // 48 draws of 32 random bits: a repeat would be a one-in-millions
        // accident, a batch handed out twice a certainty.
        assert_eq!(drawn.iter().collect::<HashSet<_>>().len(), 48);
        assert_eq!(nonces.left, 0, "three batches of sixteen, used up");
    }
}
