//! One API call driven to completion: the loop every adapter runs.
//!
//! ```text
//! loop {
//!     match call.poll(&mut session, now, random) {                // under the session lock
//!         Step::Send(request) => match transport(request) {       // the only I/O
//!             Ok(response) => call.handle_response(&mut session, response)?, // under the lock
//!             Err(e) => match call.handle_failure(failure_of(&e))? {
//!                 AfterFailure::Retry => {}                        // poll again
//!                 AfterFailure::GiveUp => return Err(e),           // the turn, if held, drops
//!             },
//!         },
//!         Step::Wait(pause) => sleep(pause),                       // no lock held but the turn
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
//! A request goes again, besides after a lost session, in two cases, each
//! decided here and bounded:
//!
//! * after a **transient failure** (a `429`, `502`, `503` or `504` answer,
//!   or a [`TransportFailure`] the adapter reports through
//!   [`Call::handle_failure`]), as the configuration's
//!   [`RetryPolicy`](crate::retry::RetryPolicy) allows: the call returns
//!   [`Step::Wait`], then decides again. A request the server may have acted
//!   on goes again only if it may be repeated
//!   ([`Operation::idempotent`]); see [`crate::retry`].
//! * after a **signature refused on the device's clock** (`422` under
//!   `timestamp`, or `Unexpected signature`) whose answer's `Date` is far
//!   from the time it was signed with: once, signed on the server's time;
//!   see [`crate::server_time`].
//!
//! Neither touches the lost-session rule: the one restore and the one
//! resend after a `401` are counted apart, and a resend decides again, so it
//! goes with whatever session is in place by then. Every answer of the API
//! teaches the session the server's clock (at the next poll, which knows
//! the time); once the server refused the device's clock, session requests
//! are signed on the server's.
//!
//! [`Call::report`] says what the call did: the operation's name, whether it
//! retried, whether it created or restored the session, the last status,
//! how many requests it sent, its resends and the time it waited. An
//! adapter records it in the span it opens per call, and decides nothing
//! of it.

use crate::config::Config;
use crate::error::{ApiError, Error, Misuse};
use crate::events::SessionChange;
use crate::expiry::expiration_of;
use crate::ops::{Access, CreateSession, Operation};
use crate::restore::RestoreAnswer;
use crate::retry::{AfterFailure, Pause, TransportFailure, is_transient_status};
use crate::server_time::date_of;
use crate::session::{Decision, Refusal, Session};
use crate::wire::{Request, RequestContext, Response};
use http::StatusCode;
use resend::{InFlight, Resume, Sent, Tries};
use std::mem;
use time::OffsetDateTime;

mod report;
mod resend;

pub use report::{Attempt, CallReport, SessionUse};

/// What the adapter must do next; see the module docs.
#[derive(Debug)]
#[must_use]
pub enum Step<T> {
    /// Send this request and hand the response to [`Call::handle_response`]
    /// (or what went wrong on the way to [`Call::handle_failure`]).
    Send(Request),
    /// Wait this long, then poll again: a resend after a transient failure
    /// (see [`crate::retry`]). Hold no lock meanwhile but the restore turn,
    /// if it is held.
    Wait(std::time::Duration),
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
/// (a skewed clock) cannot make a call loop. Counted when a session comes
/// back: a session request that failed on the way and went again created
/// nothing.
const MAX_SESSIONS_PER_CALL: u8 = 2;

/// Why the call creates a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// An application session for a read (no restore callback involved).
    Application,
    /// The restore callback's credentials; the restore turn is held.
    Restore,
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
/// `Restoring`, `Sent(Session { purpose: Restore, .. })`, `Releasing` and
/// `Backoff { then: Resume::Restore { .. }, .. }`, and after
/// `TakeRestoreTurn` was returned (`TurnRequested`).
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
    /// A request is out; its response (or its failure) is due.
    Sent(InFlight),
    /// A resend is decided: the next poll returns `Wait`, then `then` goes on.
    Backoff { pause: Pause, then: Resume },
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
    /// The requests sent, the resends and the waits.
    tries: Tries,
    /// The `Date` of the last answer of the API: learned at the next poll,
    /// which knows the device's time.
    heard: Option<OffsetDateTime>,
    /// The server refused the device's clock: from the next poll on, the
    /// session signs on the server's.
    adopt_server_time: bool,
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
            tries: Tries::default(),
            heard: None,
            adopt_server_time: false,
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
    /// what it did to the session, the last status, the requests it sent,
    /// its resends and the time it waited. An adapter records it in its
    /// span when the call is over.
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
            requests: self.tries.requests,
            resends: self.tries.resends,
            waited: self.tries.waited,
            resigned: self.tries.resigned,
            failure: self.tries.failure,
        }
    }

    /// Whether [`Step::Done`] has been returned.
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Spent)
    }

    /// The next step at `now`, the device's time. `nonce` is a fresh random
    /// number: the nonce of a session request built now, or what draws the
    /// jitter of a wait that starts now (never both at one poll). The
    /// session notices a passed deadline here (see
    /// [`Session::handle_timeout`]), and learns the server's clock from the
    /// last answer's `Date`.
    pub fn poll(
        &mut self,
        session: &mut Session,
        now: OffsetDateTime,
        nonce: u32,
    ) -> Step<O::Output> {
        if let Some(date) = self.heard.take() {
            session.learn_server_time(date, now);
        }
        if mem::take(&mut self.adopt_server_time) {
            session.adopt_server_time();
        }
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
            Phase::Backoff { pause, then } => {
                let wait = self.tries.wait(&self.config.retry_policy(), pause, nonce);
                self.phase = then.phase();
                Step::Wait(wait)
            }
            Phase::Releasing(then) => {
                self.phase = match then {
                    Then::Decide => Phase::Ready,
                    Then::Finish(outcome) => Phase::Finished(outcome),
                };
                Step::ReleaseRestoreTurn
            }
            Phase::Restoring { op, revision } => {
                self.send_session(session, op, Purpose::Restore, revision, now, nonce)
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
                session,
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
        let signed_at = session.server_clock().now(now);
        let ctx = RequestContext {
            config: &self.config,
            token: token.as_ref(),
            now: signed_at,
            nonce,
        };
        match self.op.build(&ctx) {
            Ok(request) => {
                if token.is_some() && self.session_use == SessionUse::None {
                    self.session_use = SessionUse::Existing;
                }
                let sent = Sent::Operation {
                    generation: session.generation(),
                    with_token: token.is_some(),
                };
                let idempotent = self.op.idempotent(&request);
                self.phase = Phase::Sent(self.flight(sent, &request, now, signed_at, idempotent));
                Step::Send(request)
            }
            Err(e) => self.finish(false, Err(e)),
        }
    }

    /// Records a request going out.
    fn flight(
        &mut self,
        sent: Sent,
        request: &Request,
        sent_at: OffsetDateTime,
        signed_at: OffsetDateTime,
        idempotent: bool,
    ) -> InFlight {
        self.tries.requests = self.tries.requests.saturating_add(1);
        let target = self.config.api_path(request.uri());
        // Only `POST /session` carries a signature, and only with a secret.
        let signed = self.config.auth_secret().is_some()
            && request.method() == http::Method::POST
            && target == Some("/session");
        InFlight {
            sent,
            sent_at,
            signed_at,
            idempotent,
            to_api: target.is_some(),
            signed,
        }
    }

    fn send_session(
        &mut self,
        session: &Session,
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
        let signed_at = session.server_clock().now(now);
        let ctx = RequestContext {
            config: &self.config,
            token: None,
            now: signed_at,
            nonce,
        };
        match op.build(&ctx) {
            Ok(request) => {
                let idempotent = op.idempotent(&request);
                let sent = Sent::Session {
                    op,
                    purpose,
                    revision,
                };
                self.phase = Phase::Sent(self.flight(sent, &request, now, signed_at, idempotent));
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
        let flight = match mem::replace(&mut self.phase, Phase::Spent) {
            Phase::Sent(flight) => flight,
            other => {
                self.phase = other;
                return Err(Misuse::ResponseWithoutRequest.into());
            }
        };
        let header = expiration_of(&response);
        let status = response.status();
        self.last_status = Some(status);
        // Only the API's own answers tell its clock (not a storage server's).
        let date = date_of(&response).filter(|_| flight.to_api);
        self.heard = date;
        // Whether a refusal goes again is decided on the request's facts.
        let policy = self.config.retry_policy();
        let (sent_at, idempotent) = (flight.sent_at, flight.idempotent);
        let signed = flight.signed.then_some(flight.signed_at);
        let again = |tries: &mut Tries, e: &ApiError| {
            tries.after_answer(&policy, e, idempotent, signed, date)
        };
        let resigned = self.tries.resigned;
        self.phase = match flight.sent {
            Sent::Session {
                op,
                purpose,
                revision,
            } => {
                let restoring = purpose == Purpose::Restore;
                let refused = (!status.is_success()).then(|| ApiError::from_response(&response));
                let decision = refused.as_ref().and_then(|e| again(&mut self.tries, e));
                let created = match refused {
                    None => op.parse(&response),
                    Some(e) => Err(e.into()),
                };
                match created {
                    Err(e) => match decision {
                        Some(again) => {
                            let sent = Sent::Session {
                                op,
                                purpose,
                                revision,
                            };
                            again.then(sent.resume())
                        }
                        None if restoring => Phase::Releasing(Then::Finish(Err(e))),
                        None => Phase::Finished(Err(e)),
                    },
                    Ok(info) => {
                        self.sessions_created += 1;
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
                with_token,
            } => {
                let error = (!self.op.accepts(status)).then(|| ApiError::from_response(&response));
                let session_missing =
                    with_token && error.as_ref().is_some_and(ApiError::is_session_missing);
                // `401 Token is required`: the server did not see the token,
                // so it neither re-armed it nor found it gone. The session
                // stays as it was, and the call ends with that answer ("no
                // session", never an expired one); resending would not help.
                // Nor did it, maybe, when a gateway before it said "try again
                // later": such an answer re-arms only by its header.
                let unheard = error.is_some() && is_transient_status(status) && header.is_none();
                let token_seen =
                    !error.as_ref().is_some_and(ApiError::is_token_required) && !unheard;
                if with_token && token_seen {
                    session.observe(generation, sent_at, header, session_missing);
                }
                match error {
                    Some(e) if session_missing => self.after_session_missing(e),
                    Some(e) => match again(&mut self.tries, &e) {
                        Some(again) => again.then(Resume::Decide),
                        None => Phase::Finished(Err(e.into())),
                    },
                    None => Phase::Finished(self.op.parse(&response).inspect(|out| {
                        session.apply_answer(generation, self.op.transition(out), sent_at, header);
                    })),
                }
            }
        };
        // Signing again on the server's time: the session keeps to it.
        self.adopt_server_time = self.tries.resigned && !resigned;
        Ok(())
    }

    /// Takes in what went wrong on the way with the last request sent (no
    /// answer came): the call decides whether to send it again
    /// ([`AfterFailure::Retry`]: poll again, it will say how long to wait)
    /// or to give up ([`AfterFailure::GiveUp`]: the call is over, and the
    /// adapter ends it with its own error). See [`crate::retry`]: a
    /// transient failure goes again if the request may be repeated, or if
    /// the failure proves nothing was sent, and the policy allows.
    ///
    /// ```
    /// use cube_proto::{Call, Config, Session, Step, ops::GetSession};
    /// use cube_proto::retry::{AfterFailure, TransportFailure};
    /// use cube_proto::{IssuedToken, SessionOptions};
    /// let config = Config::builder(1, "29WfrNWdvkhmX6V").build()?;
    /// let mut session = Session::adopted(&config, SessionOptions::default(), IssuedToken::new("t"))?;
    /// let now = time::macros::datetime!(2026-11-24 12:00 UTC);
    /// let mut call = Call::new(config, GetSession);
    /// let Step::Send(_) = call.poll(&mut session, now, 1) else { unreachable!() };
    /// // The connection was refused: a read goes again after a wait.
    /// assert_eq!(call.handle_failure(TransportFailure::Refused)?, AfterFailure::Retry);
    /// let Step::Wait(pause) = call.poll(&mut session, now, 1 << 31) else { unreachable!() };
    /// assert_eq!(pause, std::time::Duration::from_millis(250));
    /// let Step::Send(_) = call.poll(&mut session, now, 2) else { unreachable!() };
    /// // A failure in the middle of the answer is never retried.
    /// assert_eq!(call.handle_failure(TransportFailure::Other)?, AfterFailure::GiveUp);
    /// assert!(call.is_done());
    /// # Ok::<(), cube_proto::Error>(())
    /// ```
    pub fn handle_failure(&mut self, failure: TransportFailure) -> Result<AfterFailure, Error> {
        let flight = match mem::replace(&mut self.phase, Phase::Spent) {
            Phase::Sent(flight) => flight,
            other => {
                self.phase = other;
                return Err(Misuse::FailureWithoutRequest.into());
            }
        };
        let policy = self.config.retry_policy();
        match self
            .tries
            .after_failure(&policy, failure, flight.idempotent)
        {
            Some(pause) => {
                self.phase = Phase::Backoff {
                    pause,
                    then: flight.sent.resume(),
                };
                Ok(AfterFailure::Retry)
            }
            None => Ok(AfterFailure::GiveUp),
        }
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
