//! What a call did, in the words an adapter's span records: the operation,
//! which attempt ended it, what it did to the session, the last status, and
//! what it took to get there (requests, resends, waits).
//! These are facts of the protocol and the session, so the call keeps them
//! and the adapter only writes them down.

use crate::retry::TransportFailure;
use crate::wire::TOKEN_HEADER;
use http::StatusCode;
use std::time::Duration;

/// Which attempt of the operation ended the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attempt {
    /// No lost session made the call try the operation again: it went out
    /// once (or not at all: refused before sending), or again only after
    /// transient failures ([`CallReport::resends`]).
    First,
    /// The server answered that the session does not exist, and the call
    /// tried the operation again after a new or restored session.
    Retry,
}

impl Attempt {
    /// `first` or `retry`.
    pub fn as_str(self) -> &'static str {
        match self {
            Attempt::First => "first",
            Attempt::Retry => "retry",
        }
    }
}

/// What the call did to the session so that its operation could go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionUse {
    /// No session was involved: the operation went without a token
    /// (creating a session, a sign-up with the auth key, an upload), or the
    /// call ended before sending it.
    None,
    /// The session in place carried the operation.
    Existing,
    /// The call created an application session for its operation.
    Created,
    /// The call restored the session: the restore callback's credentials or
    /// ready session replaced a missing or expired one. When a call both
    /// created and restored, the later of the two is reported.
    Restored,
}

impl SessionUse {
    /// `none`, `existing`, `created` or `restored`.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionUse::None => "none",
            SessionUse::Existing => "existing",
            SessionUse::Created => "created",
            SessionUse::Restored => "restored",
        }
    }
}

/// A call's record so far; see [`Call::report`](crate::Call::report). It
/// holds no value of the operation, no token and no credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallReport {
    /// The operation's [`name`](crate::ops::Operation::name).
    pub operation: &'static str,
    /// Whether the operation was retried.
    pub attempt: Attempt,
    /// What the call did to the session.
    pub session: SessionUse,
    /// The status of the last answer the call received (a session request's
    /// or the operation's); `None` when none came.
    pub status: Option<StatusCode>,
    /// How many requests the call put on the wire: session requests and
    /// every resend included.
    pub requests: u8,
    /// How many of them went again after a transient failure (see
    /// [`crate::retry`]).
    pub resends: u8,
    /// The waits before those resends, added up: never more than the retry
    /// policy's budget.
    pub waited: Duration,
    /// Whether a session request refused on the device's clock was signed
    /// again on the server's (see [`crate::server_time`]).
    pub resigned: bool,
    /// The last transport failure the adapter reported, if any.
    pub failure: Option<TransportFailure>,
}

impl CallReport {
    /// The report of one request sent outside a [`Call`](crate::Call) (a
    /// streamed upload, a download's storage fetch): a first attempt and
    /// one request, that used the session if it carries its token; no
    /// status yet.
    pub fn for_request<B>(operation: &'static str, request: &http::Request<B>) -> Self {
        let session = if request.headers().contains_key(TOKEN_HEADER) {
            SessionUse::Existing
        } else {
            SessionUse::None
        };
        Self {
            operation,
            attempt: Attempt::First,
            session,
            status: None,
            requests: 1,
            resends: 0,
            waited: Duration::ZERO,
            resigned: false,
            failure: None,
        }
    }

    /// The same report, answered with `status`.
    pub fn answered(self, status: StatusCode) -> Self {
        Self {
            status: Some(status),
            ..self
        }
    }
}
