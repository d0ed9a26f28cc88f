//! The span each call runs in: `cube_call` at debug level, named after the
//! operation. What it records — the attempt, what the call did to the
//! session, the status, the tries and the time waited between them — is
//! cube-proto's [`CallReport`]; the shell adds only the elapsed time. No
//! field holds a value of the call.
//!
//! | field | what |
//! |---|---|
//! | `operation` | the operation's name |
//! | `attempt` | `first`, or `retry` after a lost session |
//! | `session` | `none`, `existing`, `created` or `restored` |
//! | `status` | the last answer's status |
//! | `attempts` | the tries: 1, plus each resend after a transient failure |
//! | `requests` | the requests on the wire, session requests included |
//! | `waited_ms` | the waits before those resends, added up |
//! | `resigned` | a session request signed again on the server's clock |
//! | `failure` | the last transport failure (`refused`, `reset_after_sent`, …) |
//! | `elapsed_ms` | the whole call, waits included |

use http::{Method, StatusCode};
use proto::call::CallReport;
use std::time::Instant;
use tracing::field::Empty;
use tracing::{Level, Span};

/// The span of one call, open from [`open`](Self::open) to
/// [`close`](Self::close). An adapter runs the call inside
/// [`span`](Self::span) (entered, or instrumenting its future).
#[derive(Debug)]
#[must_use = "a call's span records its elapsed time when closed"]
pub struct CallSpan {
    span: Span,
    started: Instant,
}

impl CallSpan {
    /// Opens the span of one call of `operation`; the other fields are
    /// recorded as the call learns them.
    pub fn open(operation: &'static str) -> Self {
        let span = tracing::debug_span!(
            "cube_call",
            operation,
            attempt = Empty,
            session = Empty,
            status = Empty,
            attempts = Empty,
            requests = Empty,
            waited_ms = Empty,
            resigned = Empty,
            failure = Empty,
            elapsed_ms = Empty,
        );
        Self {
            span,
            started: Instant::now(),
        }
    }

    /// The span, to run the call in.
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// Writes what the call did into the span.
    pub fn record(&self, report: &CallReport) {
        self.span.record("attempt", report.attempt.as_str());
        self.span.record("session", report.session.as_str());
        if let Some(status) = report.status {
            self.span.record("status", status.as_u16());
        }
        self.span.record("attempts", u64::from(report.resends) + 1);
        self.span.record("requests", u64::from(report.requests));
        self.span
            .record("waited_ms", report.waited.as_secs_f64() * 1000.0);
        if report.resigned {
            self.span.record("resigned", true);
        }
        if let Some(failure) = report.failure {
            self.span.record("failure", failure.as_str());
        }
    }

    /// Writes the time since the span opened, as the call ends.
    pub fn close(self) {
        let elapsed = self.started.elapsed().as_secs_f64() * 1000.0;
        self.span.record("elapsed_ms", elapsed);
    }
}

/// The line each request leaves at debug level, `cube request`: its method,
/// path and status — never its headers (the token), body (passwords) or
/// query. Nothing is copied when debug is off.
#[derive(Debug)]
pub struct RequestLine(Option<(Method, String)>);

impl RequestLine {
    /// Notes what is logged of `request`, before it goes.
    pub fn of<B>(request: &http::Request<B>) -> Self {
        let wanted = tracing::enabled!(Level::DEBUG);
        Self(wanted.then(|| (request.method().clone(), request.uri().path().to_owned())))
    }

    /// Logs the request with the status it was answered with.
    pub fn answered(self, status: StatusCode) {
        if let Some((method, path)) = self.0 {
            tracing::debug!(%method, %path, status = status.as_u16(), "cube request");
        }
    }
}

/// One request sent outside a [`Call`](proto::Call) — a streamed upload, a
/// download's storage fetch — in its own [`CallSpan`]: what the span and
/// the `cube request` line say once it is answered.
#[derive(Debug)]
pub struct Exchange {
    report: CallReport,
    line: RequestLine,
}

impl Exchange {
    /// Notes `request`, of `operation`, before it goes.
    pub fn of<B>(operation: &'static str, request: &http::Request<B>) -> Self {
        Self {
            report: CallReport::for_request(operation, request),
            line: RequestLine::of(request),
        }
    }

    /// Writes the answer's status into `span` and the log.
    pub fn answered(self, span: &CallSpan, status: StatusCode) {
        span.record(&self.report.answered(status));
        self.line.answered(status);
    }
}
