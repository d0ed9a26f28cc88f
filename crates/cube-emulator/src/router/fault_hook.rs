//! Where fault rules (`crate::faults`) meet requests: the HTTP side of a
//! fault. The router asks [`arrive`] about each request before serving it
//! (it waits the rule's latency there), answers with [`instead`] when the
//! rule answers or cuts in its place, and [`mark`]s a served answer that
//! is to be cut. The server then does the cut at the connection
//! ([`on_the_wire`]): before the headers, its service fails and hyper
//! closes the connection without a byte of the answer; after them, the
//! body ends early with an error, and hyper closes the connection there.
//!
//! It is the router's, not the rules' own, because it speaks HTTP: the
//! rules and their table know nothing of answers or connections.

use std::error::Error;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_TYPE, HeaderValue};
use http::{Method, Response};
use http_body_util::{Either, Full};
use hyper::body::{Body, Frame, SizeHint};
use serde_json::{Value, json};

use super::{Connection, ResponseBody};
use crate::faults::rule::{Action, Answer, Cut};
use crate::faults::{Faults, Fired};
use crate::inflow::Inflow;
use crate::limits::DRAIN_CAP;
use crate::state::Intake;

/// Decides whether a fault acts on a request (never on the admin API's,
/// `admin`), and waits its latency. `path` is the decoded path (`None`
/// when it does not decode: nothing matches it).
pub(crate) async fn arrive(
    faults: &Faults,
    method: &Method,
    path: Option<&[String]>,
    admin: bool,
) -> Option<Fired> {
    if admin {
        return None;
    }
    let fired = faults.decide(method, path?)?;
    if let Some(latency) = fired.rule.latency {
        faults.wait(latency).await;
    }
    Some(fired)
}

/// Marks an answer to be cut where the server sends it.
#[derive(Debug, Clone, Copy)]
struct CutHere(Cut);

fn json_text(body: &str) -> bool {
    matches!(
        serde_json::from_str::<Value>(body),
        Ok(Value::Object(_) | Value::Array(_))
    )
}

fn answer(answer: &Answer) -> Response<ResponseBody> {
    let (content_type, body) = match &answer.body {
        Some(body) if json_text(body) => ("application/json; charset=utf-8", body.clone()),
        Some(body) => ("text/plain; charset=utf-8", body.clone()),
        // A failure reads as the service's failures do: the error object.
        None if answer.status.as_u16() >= 400 => {
            let reason = answer.status.canonical_reason().unwrap_or("Injected fault");
            (
                "application/json; charset=utf-8",
                json!({"errors": {"base": [reason]}}).to_string(),
            )
        }
        None => ("", String::new()),
    };
    let mut response = Response::new(Either::Left(Full::new(Bytes::from(body))));
    *response.status_mut() = answer.status;
    let headers = response.headers_mut();
    if !content_type.is_empty() {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    for (name, value) in &answer.headers {
        headers.insert(name.clone(), value.clone());
    }
    response
}

/// The answer given instead of serving the request, when the rule
/// answers or cuts before the headers (a stand-in the server never
/// sends); `None` when the request is served.
pub(crate) fn instead(fired: &Fired) -> Option<Response<ResponseBody>> {
    match &fired.rule.action {
        Action::Serve | Action::Cut(Cut::AfterHeaders) => None,
        Action::Answer(rule) => Some(answer(rule)),
        Action::Cut(Cut::BeforeHeaders) => {
            let mut response = Response::new(Either::Left(Full::new(Bytes::new())));
            *response.status_mut() = http::StatusCode::BAD_GATEWAY;
            response
                .extensions_mut()
                .insert(CutHere(Cut::BeforeHeaders));
            Some(response)
        }
    }
}

/// Marks a served answer that the rule cuts after its headers.
pub(crate) fn mark(fired: &Fired, response: &mut Response<ResponseBody>) {
    if fired.rule.action == Action::Cut(Cut::AfterHeaders) {
        response.extensions_mut().insert(CutHere(Cut::AfterHeaders));
    }
}

/// Sends `instead` in place of the request's answer. The request's body
/// is read first and thrown away (up to [`DRAIN_CAP`], at the pace the
/// limits ask), so that the client, busy sending it, reads the answer
/// rather than a reset connection; past that, the connection closes
/// after the answer. A cut before the headers reads nothing.
pub(crate) async fn answer_instead<B>(
    mut instead: Response<ResponseBody>,
    body: B,
    intake: &Intake,
    conn: &Connection,
) -> Response<ResponseBody>
where
    B: Body<Data = Bytes>,
    B::Error: Error + Send + Sync + 'static,
{
    if instead.extensions().get::<CutHere>().is_some() {
        return instead;
    }
    let mut inflow = Inflow::new(
        body,
        &intake.limits,
        intake.body_budget.clone(),
        conn.activity.clone(),
    );
    let mut seen: u64 = 0;
    let drained = loop {
        match inflow.next().await {
            Ok(Some(data)) => {
                seen = seen.saturating_add(data.len() as u64);
                if seen > DRAIN_CAP {
                    break false;
                }
            }
            Ok(None) => break true,
            Err(_) => break false,
        }
    };
    if !drained {
        instead
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    instead
}

/// The connection is cut before the answer's headers.
#[derive(Debug)]
pub(crate) struct CutOff;

impl fmt::Display for CutOff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection cut by a fault rule")
    }
}

impl Error for CutOff {}

/// The answer as the server sends it: whole, or cut where a fault rule
/// marked it (an error ends the connection with no answer).
pub(crate) fn on_the_wire<B>(mut response: Response<B>) -> Result<Response<Wire<B>>, CutOff> {
    match response.extensions_mut().remove::<CutHere>() {
        Some(CutHere(Cut::BeforeHeaders)) => Err(CutOff),
        Some(CutHere(Cut::AfterHeaders)) => Ok(response.map(|body| Wire {
            inner: body,
            cut: Some(Cutting::default()),
        })),
        None => Ok(response.map(|body| Wire {
            inner: body,
            cut: None,
        })),
    }
}

/// Where a body being cut is.
#[derive(Debug, Default)]
struct Cutting {
    /// The bytes to send before the cut: set at the first frame.
    keep: Option<u64>,
    sent: u64,
    /// The last kept bytes were handed over: the next poll gives the
    /// connection time to write them, the one after cuts.
    flushing: bool,
}

/// A response body that ends early when a rule cuts it: the status and
/// headers go out whole (the length the answer would have had, when it
/// has one), then half of the body at most, then the connection closes.
pub(crate) struct Wire<B> {
    inner: B,
    cut: Option<Cutting>,
}

impl<B> Body for Wire<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let Some(cutting) = &mut this.cut else {
            return Pin::new(&mut this.inner)
                .poll_frame(cx)
                .map(|frame| frame.map(|f| f.map_err(Into::into)));
        };
        let exact = this.inner.size_hint().exact().unwrap_or(0);
        let keep = *cutting.keep.get_or_insert(exact / 2);
        if cutting.sent >= keep {
            if cutting.flushing {
                return Poll::Ready(Some(Err(Box::new(CutOff))));
            }
            cutting.flushing = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(mut data) => {
                    let room = usize::try_from(keep - cutting.sent).unwrap_or(usize::MAX);
                    data.truncate(room);
                    cutting.sent += data.len() as u64;
                    Poll::Ready(Some(Ok(Frame::data(data))))
                }
                Err(frame) => Poll::Ready(Some(Ok(frame))),
            },
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(err.into()))),
            // Shorter than it said: cut where it ended.
            Poll::Ready(None) => {
                cutting.keep = Some(cutting.sent);
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        // A body to cut never looks finished: even an empty one must not
        // be sent as complete.
        self.cut.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.cut, self.inner.size_hint().exact()) {
            // Without a length (an empty body), the answer is chunked, so
            // the client still sees it end early.
            (Some(_), Some(0)) => SizeHint::default(),
            _ => self.inner.size_hint(),
        }
    }
}
