//! One API call driven to completion: the loop every adapter runs.
//!
//! ```text
//! loop {
//!     match call.poll(&mut session, now, nonce) {                 // under the session lock
//!         Step::Send(request) => {
//!             let response = transport(request)?;                 // the only I/O
//!             call.handle_response(&mut session, response)?;      // under the session lock
//!         }
//!         Step::TakeRestoreTurn => turn = Some(restore_turn.lock()),
//!         Step::AskRestore => {
//!             let answer = restore_callback();                    // holding the turn
//!             call.provide_restore(&mut session, answer)?;        // under the session lock
//!         }
//!         Step::ReleaseRestoreTurn => drop(turn.take()),
//!         Step::Done(result) => return result,
//!     }
//! }
//! ```
//!
//! The restore turn is one lock per client, taken by whichever call restores
//! the session, so that callers waiting on an expired session cause one
//! restore, not one each. The call says when to take it and when to release
//! it; an adapter maps the two steps one-to-one onto its lock and never holds
//! the session lock while waiting for the turn or doing I/O. A call that gets
//! the turn after another restored the session releases it and goes ahead
//! with the new token.
//!
//! The call may send up to three kinds of request: an application session
//! (created automatically for a read when there is none), a session from the
//! restore callback's credentials, and the operation itself. After a `401
//! Required session does not exist` it restores (or, when another caller has
//! already replaced the token, simply resends) **once**; a second 401 ends
//! the call with [`Error::RestoreFailed`]. A `401 Token is required` (the
//! server saw no token) ends the call with that answer and leaves the
//! session as it was: no restore, no new deadline
//! ([`Error::is_no_session`]). A restore that completes after the
//! application changed the session is dropped: the application's last word
//! wins ([`Error::RestoreOverruled`] if the call cannot go on without it).
//! Once [`Step::Done`] has been returned, polling again is a
//! [`Misuse`] and sends nothing.
//!
//! [`Call::report`] says what the call did: the operation's name, whether it
//! retried, whether it created or restored the session, the last status.
//! An adapter records it in the span it opens per call, and decides nothing
//! of it.

use crate::config::Config;
use crate::error::{ApiError, Error, Misuse};
use crate::events::SessionChange;
use crate::expiry::expiration_of;
use crate::ops::{Access, CreateSession, Operation};
use crate::restore::RestoreAnswer;
use crate::session::{Decision, Generation, Refusal, Session};
use crate::wire::{Request, RequestContext, Response};
use http::StatusCode;
use std::mem;
use time::OffsetDateTime;

mod report;

pub use report::{Attempt, CallReport, SessionUse};

/// What the adapter must do next; see the module docs.
#[derive(Debug)]
#[must_use]
pub enum Step<T> {
    /// Send this request and hand the response to [`Call::handle_response`].
    Send(Request),
    /// Wait for the client's restore turn (a lock), then poll again holding it.
    TakeRestoreTurn,
    /// Holding the turn: call the restore callback and hand its answer to
    /// [`Call::provide_restore`].
    AskRestore,
    /// Release the restore turn, then poll again.
    ReleaseRestoreTurn,
    /// The call is over. Polling again is a misuse and sends nothing.
    Done(Result<T, Error>),
}

/// How many sessions one call may create: one before the first attempt and
/// one before the retry. A server whose fresh sessions are already expired
/// (a skewed clock) cannot make a call loop.
const MAX_SESSIONS_PER_CALL: u8 = 2;

/// Why the call creates a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// An application session for a read (no restore callback involved).
    Application,
    /// The restore callback's credentials; the restore turn is held.
    Restore,
}

/// A request on the wire, waiting for its answer.
#[derive(Debug)]
enum Sent {
    Operation {
        generation: Generation,
        sent_at: OffsetDateTime,
        with_token: bool,
    },
    Session {
        op: CreateSession,
        sent_at: OffsetDateTime,
        purpose: Purpose,
        /// The session's revision when the call decided to create it.
        revision: u64,
    },
}

/// What follows the release of the restore turn.
#[derive(Debug)]
enum Then<T> {
    Decide,
    Finish(Result<T, Error>),
}

/// Where a call is: one value, so that impossible combinations (a request in
/// flight while waiting for credentials, an outcome with a pending resend)
/// cannot be written. The restore turn is held exactly in `AskedRestore`,
/// `Restoring`, `Sent(Session { purpose: Restore, .. })` and `Releasing`,
/// and after `TakeRestoreTurn` was returned (`TurnRequested`).
#[derive(Debug)]
enum Phase<T> {
    /// The next poll decides what the call does.
    Ready,
    /// `TakeRestoreTurn` was returned: the next poll holds the turn.
    TurnRequested,
    /// `AskRestore` was returned; the answer is due.
    AskedRestore { revision: u64 },
    /// The callback gave credentials: the next poll sends the session request.
    Restoring { op: CreateSession, revision: u64 },
    /// A request is out; its response is due.
    Sent(Sent),
    /// The next poll returns `ReleaseRestoreTurn`, then goes on.
    Releasing(Then<T>),
    /// The outcome is known: the next poll returns it.
    Finished(Result<T, Error>),
    /// `Done` was returned.
    Spent,
}

/// One operation on its way through the session state machine.
#[derive(Debug)]
pub struct Call<O: Operation> {
    op: O,
    config: Config,
    phase: Phase<O::Output>,
    sessions_created: u8,
    retries: u8,
    /// A restore of this call was dropped because the application changed
    /// the session meanwhile: from then on the call only goes ahead with the
    /// session the application left in place.
    overruled: bool,
    /// What the call did to the session, for its report.
    session_use: SessionUse,
    /// The status of the last answer, for its report.
    last_status: Option<StatusCode>,
}

impl<O: Operation> Call<O> {
    /// Starts a call of `op` under `config`.
    pub fn new(config: Config, op: O) -> Self {
        Self {
            op,
            config,
            phase: Phase::Ready,
            sessions_created: 0,
            retries: 0,
            overruled: false,
            session_use: SessionUse::None,
            last_status: None,
        }
    }

    /// The operation.
    pub fn operation(&self) -> &O {
        &self.op
    }

    /// How many times the operation was resent after a 401 (0 or 1).
    pub fn retries(&self) -> u8 {
        self.retries
    }

    /// What the call did so far: its operation's name, whether it retried,
    /// what it did to the session, the last status. An adapter records it
    /// in its span when the call is over.
    pub fn report(&self) -> CallReport {
        CallReport {
            operation: self.op.name(),
            attempt: if self.retries > 0 {
                Attempt::Retry
            } else {
                Attempt::First
            },
            session: self.session_use,
            status: self.last_status,
        }
    }

    /// Whether [`Step::Done`] has been returned.
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Spent)
    }

    /// The next step at `now`; `nonce` is used if a session request is
    /// built. The session notices a passed deadline here (see
    /// [`Session::handle_timeout`]).
    pub fn poll(
        &mut self,
        session: &mut Session,
        now: OffsetDateTime,
        nonce: u32,
    ) -> Step<O::Output> {
        match mem::replace(&mut self.phase, Phase::Spent) {
            Phase::Spent => Step::Done(Err(Misuse::PolledAfterDone.into())),
            Phase::Finished(outcome) => Step::Done(outcome),
            sent @ Phase::Sent(_) => {
                self.phase = sent;
                Step::Done(Err(Misuse::PolledWhileInFlight.into()))
            }
            asked @ Phase::AskedRestore { .. } => {
                self.phase = asked;
                Step::Done(Err(Misuse::PolledWhileAsked.into()))
            }
            Phase::Releasing(then) => {
                self.phase = match then {
                    Then::Decide => Phase::Ready,
                    Then::Finish(outcome) => Phase::Finished(outcome),
                };
                Step::ReleaseRestoreTurn
            }
            Phase::Restoring { op, revision } => {
                self.send_session(op, Purpose::Restore, revision, now, nonce)
            }
            Phase::TurnRequested => self.decide(session, now, nonce, true),
            Phase::Ready => self.decide(session, now, nonce, false),
        }
    }

    fn decide(
        &mut self,
        session: &mut Session,
        now: OffsetDateTime,
        nonce: u32,
        holding_turn: bool,
    ) -> Step<O::Output> {
        let access = self.op.access();
        if access != Access::Public {
            // A call that uses the session notices a passed deadline first.
            session.handle_timeout(now);
        }
        let decision = session.decide(access, now);
        if holding_turn && decision != Decision::Restore {
            // Someone else restored the session while this call waited for
            // the turn (or it needs no restore any more): let the next
            // waiting caller look, and decide again without the turn.
            self.phase = Phase::Ready;
            return Step::ReleaseRestoreTurn;
        }
        match decision {
            Decision::Send(token) => self.send_operation(session, token, now, nonce),
            Decision::CreateApplicationSession if self.overruled => {
                self.finish(false, Err(Error::RestoreOverruled))
            }
            Decision::CreateApplicationSession => self.send_session(
                CreateSession::application(),
                Purpose::Application,
                session.revision(),
                now,
                nonce,
            ),
            Decision::Restore if self.overruled => {
                self.finish(holding_turn, Err(Error::RestoreOverruled))
            }
            Decision::Restore if self.sessions_created >= MAX_SESSIONS_PER_CALL => {
                self.finish(holding_turn, Err(Refusal::SessionExpired.into()))
            }
            Decision::Restore if holding_turn => {
                self.phase = Phase::AskedRestore {
                    revision: session.revision(),
                };
                Step::AskRestore
            }
            Decision::Restore => {
                self.phase = Phase::TurnRequested;
                Step::TakeRestoreTurn
            }
            Decision::Fail(refusal) => self.finish(false, Err(refusal.into())),
        }
    }

    /// Ends the call: straight away, or after releasing the turn it holds.
    fn finish(&mut self, holding_turn: bool, outcome: Result<O::Output, Error>) -> Step<O::Output> {
        if holding_turn {
            self.phase = Phase::Finished(outcome);
            Step::ReleaseRestoreTurn
        } else {
            self.phase = Phase::Spent;
            Step::Done(outcome)
        }
    }

    fn send_operation(
        &mut self,
        session: &Session,
        token: Option<crate::Secret>,
        now: OffsetDateTime,
        nonce: u32,
    ) -> Step<O::Output> {
        let ctx = RequestContext {
            config: &self.config,
            token: token.as_ref(),
            now,
            nonce,
        };
        match self.op.build(&ctx) {
            Ok(request) => {
                if token.is_some() && self.session_use == SessionUse::None {
                    self.session_use = SessionUse::Existing;
                }
                self.phase = Phase::Sent(Sent::Operation {
                    generation: session.generation(),
                    sent_at: now,
                    with_token: token.is_some(),
                });
                Step::Send(request)
            }
            Err(e) => self.finish(false, Err(e)),
        }
    }

    fn send_session(
        &mut self,
        op: CreateSession,
        purpose: Purpose,
        revision: u64,
        now: OffsetDateTime,
        nonce: u32,
    ) -> Step<O::Output> {
        let holding_turn = purpose == Purpose::Restore;
        if self.sessions_created >= MAX_SESSIONS_PER_CALL {
            return self.finish(holding_turn, Err(Refusal::SessionExpired.into()));
        }
        let ctx = RequestContext {
            config: &self.config,
            token: None,
            now,
            nonce,
        };
        match op.build(&ctx) {
            Ok(request) => {
                self.sessions_created += 1;
                self.phase = Phase::Sent(Sent::Session {
                    op,
                    sent_at: now,
                    purpose,
                    revision,
                });
                Step::Send(request)
            }
            Err(e) => self.finish(holding_turn, Err(e)),
        }
    }

    /// The restore callback's answer to the last [`Step::AskRestore`]:
    /// credentials to create a session with (sent at the next poll), a ready
    /// session (put in place now, event `Restored`), or a refusal. A refusal
    /// ends the call with [`Error::NoSession`] when there never was a
    /// session, [`Error::NoAuthKey`] when the client could not have created
    /// one anyway, and [`Error::SessionExpired`] otherwise. If the
    /// application changed the session while the callback ran, a ready
    /// session is dropped and the call goes on with the application's.
    ///
    /// Anything that converts into a [`RestoreAnswer`] will do:
    /// `Option<Credentials>`, `Credentials`, an `IssuedToken`.
    pub fn provide_restore(
        &mut self,
        session: &mut Session,
        answer: impl Into<RestoreAnswer>,
    ) -> Result<(), Error> {
        let Phase::AskedRestore { revision } = self.phase else {
            return Err(Misuse::RestoreNotAsked.into());
        };
        self.phase = match answer.into() {
            RestoreAnswer::Credentials(c) => Phase::Restoring {
                op: CreateSession::new(c),
                revision,
            },
            RestoreAnswer::Session(token) if session.revision() != revision => {
                drop(token);
                self.overruled = true;
                Phase::Releasing(Then::Decide)
            }
            RestoreAnswer::Session(token) => match session.restore_with(token) {
                Ok(()) => {
                    self.sessions_created += 1;
                    self.session_use = SessionUse::Restored;
                    Phase::Releasing(Then::Decide)
                }
                Err(e) => Phase::Releasing(Then::Finish(Err(e))),
            },
            RestoreAnswer::Decline => {
                let refusal = match session.kind() {
                    _ if !session.options().auth_key => Error::NoAuthKey,
                    None => Error::NoSession,
                    Some(_) => Error::SessionExpired,
                };
                Phase::Releasing(Then::Finish(Err(refusal)))
            }
        };
        Ok(())
    }

    /// Takes in the response to the last request sent; `session` is updated.
    pub fn handle_response(
        &mut self,
        session: &mut Session,
        response: Response,
    ) -> Result<(), Error> {
        let sent = match mem::replace(&mut self.phase, Phase::Spent) {
            Phase::Sent(sent) => sent,
            other => {
                self.phase = other;
                return Err(Misuse::ResponseWithoutRequest.into());
            }
        };
        let header = expiration_of(&response);
        let status = response.status();
        self.last_status = Some(status);
        self.phase = match sent {
            Sent::Session {
                op,
                sent_at,
                purpose,
                revision,
            } => {
                let restoring = purpose == Purpose::Restore;
                let created = if status.is_success() {
                    op.parse(&response)
                } else {
                    Err(ApiError::from_response(&response).into())
                };
                match created {
                    Err(e) if restoring => Phase::Releasing(Then::Finish(Err(e))),
                    Err(e) => Phase::Finished(Err(e)),
                    Ok(info) => {
                        if session.revision() == revision {
                            let (change, used) = match purpose {
                                Purpose::Restore => (SessionChange::Restored, SessionUse::Restored),
                                Purpose::Application => (
                                    SessionChange::Created(op.credentials().kind()),
                                    SessionUse::Created,
                                ),
                            };
                            self.session_use = used;
                            session.establish(op.transition(&info), sent_at, header, change);
                        } else if restoring {
                            // The application changed the session meanwhile:
                            // its word stands, this session is dropped.
                            self.overruled = true;
                        }
                        if restoring {
                            Phase::Releasing(Then::Decide)
                        } else {
                            Phase::Ready
                        }
                    }
                }
            }
            Sent::Operation {
                generation,
                sent_at,
                with_token,
            } => {
                let error = (!self.op.accepts(status)).then(|| ApiError::from_response(&response));
                let session_missing =
                    with_token && error.as_ref().is_some_and(ApiError::is_session_missing);
                // `401 Token is required`: the server did not see the token,
                // so it neither re-armed it nor found it gone. The session
                // stays as it was, and the call ends with that answer ("no
                // session", never an expired one); resending would not help.
                let token_seen = !error.as_ref().is_some_and(ApiError::is_token_required);
                if with_token && token_seen {
                    session.observe(generation, sent_at, header, session_missing);
                }
                match error {
                    Some(e) if session_missing => self.after_session_missing(e),
                    Some(e) => Phase::Finished(Err(e.into())),
                    None => Phase::Finished(self.op.parse(&response).inspect(|out| {
                        session.apply_answer(generation, self.op.transition(out), sent_at, header);
                    })),
                }
            }
        };
        Ok(())
    }

    fn after_session_missing(&mut self, error: ApiError) -> Phase<O::Output> {
        if self.op.access() == Access::Current {
            // Acting on the current session itself: it is gone, so is the call.
            Phase::Finished(Err(Error::SessionExpired))
        } else if self.retries == 0 {
            // The next poll decides again: a plain resend if another caller has
            // already put a new token in place, else restore or create.
            self.retries = 1;
            Phase::Ready
        } else {
            Phase::Finished(Err(Error::RestoreFailed(error)))
        }
    }
}
