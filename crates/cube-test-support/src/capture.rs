//! A `tracing` layer that keeps every field of every span and event, as
//! recorded: what a span was opened with and everything recorded into it
//! later, and which span each event happened in. Tests read it to find what
//! the spans say, and to check that no secret is in any of it.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// A span as captured: its name and target, and every field in the order
/// it was recorded (a field recorded twice appears twice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedSpan {
    /// The span's id while it was open.
    pub id: u64,
    /// Its name (`cube_call`).
    pub name: &'static str,
    /// Its target (the module that opened it).
    pub target: String,
    /// `(field, value)` pairs; strings without quotes, other values as
    /// `Debug` shows them.
    pub fields: Vec<(&'static str, String)>,
}

impl CapturedSpan {
    /// The last value recorded for `field`.
    pub fn field(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|(name, _)| *name == field)
            .map(|(_, value)| value.as_str())
    }
}

/// An event as captured, with the id of the span it happened in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedEvent {
    /// The span the event happened in, if any.
    pub parent: Option<u64>,
    /// Its target.
    pub target: String,
    /// `(field, value)` pairs, the message as `message`.
    pub fields: Vec<(&'static str, String)>,
}

impl CapturedEvent {
    /// The value of `field`.
    pub fn field(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, value)| value.as_str())
    }
}

#[derive(Debug, Default)]
struct Store {
    spans: Vec<CapturedSpan>,
    events: Vec<CapturedEvent>,
}

/// The layer, and what it captured; clones share what they hold. Add it to
/// a subscriber (`registry().with(capture.clone())`) and read it afterwards.
#[derive(Debug, Clone, Default)]
pub struct Capture {
    store: Arc<Mutex<Store>>,
}

impl Capture {
    /// An empty capture.
    pub fn new() -> Self {
        Self::default()
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        // A test that panicked while holding the lock left whole records.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every span opened so far, in the order they were opened.
    pub fn spans(&self) -> Vec<CapturedSpan> {
        self.store().spans.clone()
    }

    /// Every event so far, in order.
    pub fn events(&self) -> Vec<CapturedEvent> {
        self.store().events.clone()
    }

    /// The spans named `name`, in the order they were opened.
    pub fn spans_named(&self, name: &str) -> Vec<CapturedSpan> {
        let store = self.store();
        store
            .spans
            .iter()
            .filter(|span| span.name == name)
            .cloned()
            .collect()
    }

    /// Every name, target and field of every span and event, one per line:
    /// the text a secret must not be found in.
    pub fn everything(&self) -> String {
        let store = self.store();
        let spans = store
            .spans
            .iter()
            .map(|s| (format!("span {} {}", s.name, s.target), &s.fields));
        let events = store
            .events
            .iter()
            .map(|e| (format!("event {}", e.target), &e.fields));
        let mut text = String::new();
        for (head, fields) in spans.chain(events) {
            text.push_str(&head);
            for (name, value) in fields {
                text.push_str(&format!(" {name}={value}"));
            }
            text.push('\n');
        }
        text
    }
}

/// Collects the fields of one span or event.
struct Fields<'a>(&'a mut Vec<(&'static str, String)>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name(), value.to_owned()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push((field.name(), format!("{value:?}")));
    }
}

impl<S> Layer<S> for Capture
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _ctx: Context<'_, S>) {
        let mut fields = Vec::new();
        attrs.record(&mut Fields(&mut fields));
        let meta = attrs.metadata();
        self.store().spans.push(CapturedSpan {
            id: id.into_u64(),
            name: meta.name(),
            target: meta.target().to_owned(),
            fields,
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut store = self.store();
        // Ids are reused once a span closes: the latest span with it is open.
        if let Some(span) = store.spans.iter_mut().rev().find(|s| s.id == id.into_u64()) {
            values.record(&mut Fields(&mut span.fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        let parent = ctx.event_span(event).map(|span| span.id().into_u64());
        self.store().events.push(CapturedEvent {
            parent,
            target: event.metadata().target().to_owned(),
            fields,
        });
    }
}

/// The text log [`install_global`] writes: every line, every level.
#[derive(Debug, Clone, Default)]
pub struct Text(Arc<Mutex<Vec<u8>>>);

impl Text {
    /// Everything written so far.
    pub fn contents(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for Text {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures the spans of this thread (and of a runtime on it) until the
/// guard drops: a test's own subscriber, beside any other test's.
pub fn on_this_thread() -> (Capture, tracing::subscriber::DefaultGuard) {
    use tracing_subscriber::layer::SubscriberExt;
    let capture = Capture::new();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    (capture, tracing::subscriber::set_default(subscriber))
}

/// The `cube_call` span of the last call `capture` saw.
pub fn last_call(capture: &Capture) -> CapturedSpan {
    let spans = capture.spans_named("cube_call");
    spans.last().cloned().expect("a cube_call span")
}

/// A `cube_call` span's `waited_ms`, in milliseconds.
pub fn waited_ms(span: &CapturedSpan) -> f64 {
    span.field("waited_ms")
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("no waited_ms in {span:?}"))
}

/// Installs the process's global subscriber: a plain-text log of every
/// level, span openings and closings with their fields included, and a
/// [`Capture`]. The `log` lines of the HTTP clients go through it too.
/// Once per process: a test that calls it has a test binary of its own.
pub fn install_global() -> (Capture, Text) {
    use tracing_subscriber::fmt::format::FmtSpan;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let capture = Capture::new();
    let text = Text::default();
    let writer = text.clone();
    let lines = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
        .with_writer(move || writer.clone());
    tracing_subscriber::registry()
        .with(lines)
        .with(capture.clone())
        .init();
    (capture, text)
}

#[cfg(test)]
mod tests {
    use super::Capture;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn spans_keep_what_they_were_opened_with_and_what_was_recorded_later() {
        let capture = Capture::new();
        let subscriber = tracing_subscriber::registry().with(capture.clone());
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::debug_span!(
                "cube_call",
                operation = "get_user",
                status = tracing::field::Empty
            );
            span.in_scope(|| tracing::debug!(change = ?("Restored",), "inside"));
            span.record("status", 200u16);
            tracing::debug!("outside");
        });
        let spans = capture.spans_named("cube_call");
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].field("operation"), Some("get_user"));
        assert_eq!(spans[0].field("status"), Some("200"));
        let events = capture.events();
        assert_eq!(events[0].parent, Some(spans[0].id));
        assert_eq!(events[0].field("message"), Some("inside"));
        assert_eq!(events[1].parent, None);
        let everything = capture.everything();
        assert!(
            everything.contains("operation=get_user status=200"),
            "{everything}"
        );
        assert!(everything.contains("Restored"), "{everything}");
    }
}
