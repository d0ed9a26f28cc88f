//! One API call driven to completion: the loop every adapter runs.
//!
//! ```text
//! loop {
//!     match call.poll(&session, now, nonce) {
//!         Step::Send(request) => {
//!             let response = transport(request)?;          // the only I/O
//!             call.handle_response(&mut session, response, now);
//!         }
//!         Step::NeedCredentials => call.provide_credentials(restore_callback()),
//!         Step::Done(result) => return result,
//!     }
//! }
//! ```
//!
//! The call may send up to three kinds of request: an application session
//! (created automatically for a read when there is none), a session from the
//! restore callback's credentials, and the operation itself. After a `401
//! Required session does not exist` it restores (or, when another task has
//! already replaced the token, simply resends) **once**; a second 401 ends the
//! call with [`Error::RestoreFailed`].

use crate::config::Config;
use crate::credentials::Credentials;
use crate::error::{ApiError, Error};
use crate::expiry::expiration_of;
use crate::ops::{Access, CreateSession, Operation};
use crate::session::{Generation, Plan, Refusal, Session};
use crate::wire::{Request, RequestContext, Response};
use time::OffsetDateTime;

/// What the adapter must do next; see the module docs.
#[derive(Debug)]
#[must_use]
pub enum Step<T> {
    /// Send this request and hand the response to [`Call::handle_response`].
    Send(Request),
    /// Call the restore callback and hand its answer to
    /// [`Call::provide_credentials`]. Polling again instead plans afresh: an
    /// adapter that lets one caller restore at a time polls again once it
    /// holds its turn, and goes ahead with whatever session is then in place.
    NeedCredentials,
    /// The call is over.
    Done(Result<T, Error>),
}

/// How many sessions one call may create: one before the first attempt and
/// one before the retry. A server whose fresh sessions are already expired
/// (a skewed clock) cannot make a call loop.
const MAX_SESSIONS_PER_CALL: u8 = 2;

#[derive(Debug)]
enum InFlight {
    Operation {
        generation: Generation,
        sent_at: OffsetDateTime,
        with_token: bool,
    },
    Session {
        op: CreateSession,
        sent_at: OffsetDateTime,
    },
}

/// One operation on its way through the session state machine.
#[derive(Debug)]
pub struct Call<O: Operation> {
    op: O,
    config: Config,
    in_flight: Option<InFlight>,
    awaiting_credentials: bool,
    restore_with: Option<CreateSession>,
    sessions_created: u8,
    retries: u8,
    outcome: Option<Result<O::Output, Error>>,
}

impl<O: Operation> Call<O> {
    /// Starts a call of `op` under `config`.
    pub fn new(config: Config, op: O) -> Self {
        Self {
            op,
            config,
            in_flight: None,
            awaiting_credentials: false,
            restore_with: None,
            sessions_created: 0,
            retries: 0,
            outcome: None,
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

    /// The next step at `now`; `nonce` is used if a session request is built.
    pub fn poll(&mut self, session: &Session, now: OffsetDateTime, nonce: u32) -> Step<O::Output> {
        if let Some(outcome) = self.outcome.take() {
            return Step::Done(outcome);
        }
        if self.in_flight.is_some() {
            return Step::Done(Err(Error::Config(
                "poll called while a request is in flight: hand its response in first".into(),
            )));
        }
        if let Some(op) = self.restore_with.take() {
            return self.send_session(op, now, nonce);
        }
        // Plan afresh on every poll, even while waiting for credentials: when
        // another caller restored the session meanwhile, the call goes ahead
        // with the new token and no second session is made.
        self.awaiting_credentials = false;
        match session.plan(self.op.access(), now) {
            Plan::Send(token) => {
                let ctx = RequestContext {
                    config: &self.config,
                    token: token.as_ref(),
                    now,
                    nonce,
                };
                match self.op.build(&ctx) {
                    Ok(request) => {
                        self.in_flight = Some(InFlight::Operation {
                            generation: session.generation(),
                            sent_at: now,
                            with_token: token.is_some(),
                        });
                        Step::Send(request)
                    }
                    Err(e) => Step::Done(Err(e)),
                }
            }
            Plan::CreateApplicationSession => {
                self.send_session(CreateSession::application(), now, nonce)
            }
            Plan::Restore => {
                if self.sessions_created >= MAX_SESSIONS_PER_CALL {
                    return Step::Done(Err(Refusal::SessionExpired.into()));
                }
                self.awaiting_credentials = true;
                Step::NeedCredentials
            }
            Plan::Fail(refusal) => Step::Done(Err(refusal.into())),
        }
    }

    fn send_session(
        &mut self,
        op: CreateSession,
        now: OffsetDateTime,
        nonce: u32,
    ) -> Step<O::Output> {
        if self.sessions_created >= MAX_SESSIONS_PER_CALL {
            return Step::Done(Err(Refusal::SessionExpired.into()));
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
                self.in_flight = Some(InFlight::Session { op, sent_at: now });
                Step::Send(request)
            }
            Err(e) => Step::Done(Err(e)),
        }
    }

    /// The restore callback's answer to the last [`Step::NeedCredentials`]:
    /// credentials to create a session with,
    /// or `None` when the application declines (the call then fails with
    /// [`Error::SessionExpired`], or [`Error::NoSession`] if there never was one).
    pub fn provide_credentials(&mut self, credentials: Option<Credentials>) {
        if !self.awaiting_credentials {
            return;
        }
        self.awaiting_credentials = false;
        match credentials {
            Some(c) => self.restore_with = Some(CreateSession::new(c)),
            None => self.outcome = Some(Err(Error::SessionExpired)),
        }
    }

    /// Takes in the response to the last request sent; `session` is updated.
    pub fn handle_response(&mut self, session: &mut Session, response: Response) {
        let header = expiration_of(&response);
        let status = response.status();
        match self.in_flight.take() {
            None => {
                self.outcome = Some(Err(Error::Config(
                    "handle_response called with no request in flight".into(),
                )));
            }
            Some(InFlight::Session { op, sent_at }) => {
                if !status.is_success() {
                    self.outcome = Some(Err(ApiError::from_parts(status, response.body()).into()));
                    return;
                }
                match op.parse(&response) {
                    Ok(info) => session.apply(op.transition(&info), sent_at, header),
                    Err(e) => self.outcome = Some(Err(e)),
                }
            }
            Some(InFlight::Operation {
                generation,
                sent_at,
                with_token,
            }) => {
                let error = (!self.op.accepts(status))
                    .then(|| ApiError::from_parts(status, response.body()));
                let session_missing =
                    with_token && error.as_ref().is_some_and(ApiError::is_session_missing);
                if with_token {
                    session.observe(generation, sent_at, header, session_missing);
                }
                match error {
                    Some(e) if session_missing => self.after_session_missing(e),
                    Some(e) => self.outcome = Some(Err(e.into())),
                    None => {
                        self.outcome = Some(self.op.parse(&response).inspect(|out| {
                            session.apply(self.op.transition(out), sent_at, header);
                        }));
                    }
                }
            }
        }
    }

    fn after_session_missing(&mut self, error: ApiError) {
        // Acting on the current session itself: it is gone, so is the call.
        if self.op.access() == Access::Current {
            self.outcome = Some(Err(Error::SessionExpired));
        } else if self.retries == 0 {
            // The next poll plans again: a plain resend if another task has
            // already put a new token in place, else restore or create.
            self.retries = 1;
        } else {
            self.outcome = Some(Err(Error::RestoreFailed(error)));
        }
    }
}
