//! What a call keeps to send a request again: the request in flight, the
//! tries it made and the waits they cost, and the two reasons to send again
//! that are not a lost session — a transient failure and a signature
//! refused on the server's clock (`crate::retry`, `crate::server_time`).

use super::{Phase, Purpose};
use crate::error::ApiError;
use crate::ops::CreateSession;
use crate::retry::{Pause, RetryPolicy, TransportFailure, is_transient_status};
use crate::server_time::FAR_FROM_CLOCK;
use crate::session::Generation;
use std::time::Duration;
use time::OffsetDateTime;

/// A request on the wire, waiting for its answer.
#[derive(Debug)]
pub(super) struct InFlight {
    pub(super) sent: Sent,
    /// When it was built, by the device's clock: deadlines count from it.
    pub(super) sent_at: OffsetDateTime,
    /// The time it carries (a session request's `timestamp`): the server's
    /// clock as last seen.
    pub(super) signed_at: OffsetDateTime,
    /// Whether it may go again although the server may have acted on it.
    pub(super) idempotent: bool,
    /// Whether it went to the API, so that its answer's `Date` is the API
    /// server's clock.
    pub(super) to_api: bool,
    /// Whether it carries a signature: a session request of a client with
    /// an auth secret.
    pub(super) signed: bool,
}

/// Which request is in flight.
#[derive(Debug)]
pub(super) enum Sent {
    Operation {
        generation: Generation,
        with_token: bool,
    },
    Session {
        op: CreateSession,
        purpose: Purpose,
        /// The session's revision when the call decided to create it.
        revision: u64,
    },
}

impl Sent {
    /// Where the call goes on when this request is to go again.
    pub(super) fn resume(self) -> Resume {
        match self {
            Sent::Session {
                op,
                purpose: Purpose::Restore,
                revision,
            } => Resume::Restore { op, revision },
            Sent::Session { .. } | Sent::Operation { .. } => Resume::Decide,
        }
    }
}

/// Where a call goes on once a resend is decided.
#[derive(Debug)]
pub(super) enum Resume {
    /// Decide again: the session may have changed while the request was out
    /// or the call waited, and the decision sees it.
    Decide,
    /// Send the restore's session request again, still holding the turn.
    Restore { op: CreateSession, revision: u64 },
}

impl Resume {
    pub(super) fn phase<T>(self) -> Phase<T> {
        match self {
            Resume::Decide => Phase::Ready,
            Resume::Restore { op, revision } => Phase::Restoring { op, revision },
        }
    }
}

/// Why a refused request goes again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Again {
    /// A transient answer: after a wait.
    Wait(Pause),
    /// A signature refused on a clock far from the server's: at once,
    /// signed on the server's time.
    Resign,
}

impl Again {
    /// The phase that carries the decision out.
    pub(super) fn then<T>(self, resume: Resume) -> Phase<T> {
        match self {
            Again::Wait(pause) => Phase::Backoff {
                pause,
                then: resume,
            },
            Again::Resign => resume.phase(),
        }
    }
}

/// Every try of a call: what its report says, and what bounds its resends.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Tries {
    /// Requests put on the wire.
    pub(super) requests: u8,
    /// Resends after a transient failure.
    pub(super) resends: u8,
    /// The waits before them, added up.
    pub(super) waited: Duration,
    /// Whether a refused signature was signed again on the server's clock.
    pub(super) resigned: bool,
    /// The last transport failure the adapter reported.
    pub(super) failure: Option<TransportFailure>,
}

impl Tries {
    /// The decision after an error answer to a request.
    /// `idempotent` is the refused request's; `signed` the time it was
    /// signed with, if it carries a signature; `date` the answer's, if it
    /// is the API's and readable.
    pub(super) fn after_answer(
        &mut self,
        policy: &RetryPolicy,
        error: &ApiError,
        idempotent: bool,
        signed: Option<OffsetDateTime>,
        date: Option<OffsetDateTime>,
    ) -> Option<Again> {
        if is_transient_status(error.status) {
            // The server (or a gateway before it) got the request: only a
            // request that may be repeated goes again.
            return idempotent
                .then(|| policy.next_pause(self.resends, self.waited, error.retry_after))
                .flatten()
                .map(Again::Wait);
        }
        self.resign(error, signed, date).then_some(Again::Resign)
    }

    /// The decision after a transport failure: a pause, or none (the call
    /// gives up).
    pub(super) fn after_failure(
        &mut self,
        policy: &RetryPolicy,
        failure: TransportFailure,
        idempotent: bool,
    ) -> Option<Pause> {
        self.failure = Some(failure);
        let repeatable = failure.is_transient() && (idempotent || failure.nothing_sent());
        repeatable
            .then(|| policy.next_pause(self.resends, self.waited, None))
            .flatten()
    }

    /// Whether a signature refused by the server is signed once more: the
    /// request was signed (at `signed`), this is the first time, and the
    /// answer's `Date` is far from the time it was signed with.
    fn resign(
        &mut self,
        error: &ApiError,
        signed: Option<OffsetDateTime>,
        date: Option<OffsetDateTime>,
    ) -> bool {
        let far = match (signed, date) {
            (Some(signed_at), Some(date)) => (date - signed_at).abs() > FAR_FROM_CLOCK,
            _ => false,
        };
        let again = far && !self.resigned && error.is_signature_rejected();
        self.resigned |= again;
        again
    }

    /// The wait of a decided pause, drawn with `random` and counted.
    pub(super) fn wait(&mut self, policy: &RetryPolicy, pause: Pause, random: u32) -> Duration {
        let wait = match pause {
            Pause::Exactly(asked) => asked,
            Pause::Backoff => {
                let remaining = policy.budget().saturating_sub(self.waited);
                policy.backoff(self.resends, remaining, random)
            }
        };
        self.resends = self.resends.saturating_add(1);
        self.waited = self.waited.saturating_add(wait);
        wait
    }
}
