//! The span each call runs in: `cube_call` at debug level, named after the
//! operation. What it records — the attempt, what the call did to the
//! session, the status — is cube-proto's [`CallReport`]; the shell adds
//! only the elapsed time. No field holds a value of the call.

use proto::call::CallReport;
use std::time::Instant;
use tracing::Span;
use tracing::field::Empty;

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
    }

    /// Writes the time since the span opened, as the call ends.
    pub fn close(self) {
        let elapsed = self.started.elapsed().as_secs_f64() * 1000.0;
        self.span.record("elapsed_ms", elapsed);
    }
}
