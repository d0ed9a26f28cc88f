//! The span each call runs in: `cube_call` at debug level, named after the
//! operation. What it records — the attempt, what the call did to the
//! session, the status — is cube-proto's [`CallReport`]; this adapter adds
//! only the elapsed time it measured. No field holds a value of the call.

use proto::call::CallReport;
use std::time::Instant;
use tracing::Span;
use tracing::field::Empty;

/// Opens the span of one call of `operation`; the other fields are
/// recorded as the call learns them.
pub(crate) fn call_span(operation: &'static str) -> Span {
    tracing::debug_span!(
        "cube_call",
        operation,
        attempt = Empty,
        session = Empty,
        status = Empty,
        elapsed_ms = Empty,
    )
}

/// Writes what the call did into its span.
pub(crate) fn record(span: &Span, report: &CallReport) {
    span.record("attempt", report.attempt.as_str());
    span.record("session", report.session.as_str());
    if let Some(status) = report.status {
        span.record("status", status.as_u16());
    }
}

/// Writes the time since `started` into the span, as the call ends.
pub(crate) fn finish(span: &Span, started: Instant) {
    span.record("elapsed_ms", started.elapsed().as_secs_f64() * 1000.0);
}
