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

#[cfg(test)]
mod tests {
    //! Whatever rules a client sets, in either form: the admin API answers
    //! `201` or `422`, never a 5xx nor a panic, and the requests the rules
    //! then meet get either the status a rule says, a cut, or what the
    //! emulator would answer anyway (never a 5xx of its own).

    use std::collections::BTreeSet;

    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use serde_json::{Value, json};

    use crate::harness::Harness;

    /// A value a rule's field may be given: the edges of each limit, and
    /// some that are no value of it at all.
    fn text_option() -> impl Strategy<Value = String> {
        let pick = |key: &'static str, values: Vec<&'static str>| {
            prop::sample::select(values).prop_map(move |v| format!("{key}={v}"))
        };
        prop_oneof![
            pick(
                "status",
                vec![
                    "0", "199", "200", "204", "304", "418", "429", "500", "503", "599", "600",
                    "70000", "5O3", ""
                ]
            ),
            pick(
                "latency",
                vec![
                    "0ms",
                    "1ms",
                    "2ms",
                    "60000ms",
                    "60001ms",
                    "60s",
                    "1.5s",
                    "999999999ms",
                    "1e3ms",
                    "-1s"
                ]
            ),
            pick("cut", vec!["before-headers", "after-headers", "middle", ""]),
            pick(
                "nth",
                vec![
                    "0",
                    "1",
                    "2",
                    "3",
                    "18446744073709551615",
                    "18446744073709551616",
                    "x"
                ]
            ),
            pick(
                "times",
                vec!["0", "1", "2", "always", "never", "18446744073709551615"]
            ),
            pick(
                "probability",
                vec![
                    "0",
                    "0.000000001",
                    "0.5",
                    "1",
                    "1.000000001",
                    "1e-3",
                    "NaN",
                    "."
                ]
            ),
            pick(
                "seed",
                vec!["0", "7", "18446744073709551615", "18446744073709551616"]
            ),
            pick(
                "header",
                vec![
                    "Retry-After:1",
                    "Content-Length:5",
                    "Transfer-Encoding:chunked",
                    "Connection:close",
                    "Date:yesterday",
                    "Access-Control-Allow-Origin:evil",
                    "x:",
                    ":v",
                    "\"x:\\u0001\"",
                    "no-colon",
                ]
            ),
            pick(
                "body",
                vec![
                    "x",
                    "{\"a\":1}",
                    "[1,2]",
                    "\"two words\"",
                    "\"open",
                    "{\"a\":",
                    "[[[[[[[[1]]]]]]]]"
                ]
            ),
            "[a-z=\"{\\[ ]{0,12}",
        ]
    }

    fn rule_text() -> impl Strategy<Value = String> {
        (
            prop::sample::select(vec![
                "GET", "get", "POST", "PUT", "DELETE", "HEAD", "PATCH", "CONNECT", "*", "OPTIONS",
                "G(T", "",
            ]),
            prop::sample::select(vec![
                "/users/*",
                "/users",
                "/**",
                "/",
                "/session",
                "/blobs/**",
                "/users/v2",
                "/_emulator/health",
                "/_emulator/**",
                "users",
                "/a*",
                "/%zz",
                "/users.json",
            ]),
            prop::collection::vec(text_option(), 0..5),
        )
            .prop_map(|(method, path, options)| {
                let mut text = format!("{method} {path}");
                for option in options {
                    text.push(' ');
                    text.push_str(&option);
                }
                text
            })
    }

    /// A rule the emulator accepts, with values at the edges of its limits.
    fn good_rule_text() -> impl Strategy<Value = String> {
        let action = prop_oneof![
            (
                prop::sample::select(vec!["200", "418", "429", "500", "503", "599"]),
                prop::collection::vec(
                    prop::sample::select(vec![
                        "Retry-After:1",
                        "Date:yesterday",
                        "Access-Control-Allow-Origin:evil",
                        "Content-Type:text/html",
                        "x-empty:",
                        "\"X-Reason: planned work\"",
                    ]),
                    0..3,
                ),
                prop::option::of(prop::sample::select(vec![
                    "x",
                    "{\"a\":1}",
                    "[1,2]",
                    "\"two words\"",
                    "[[[[[[[[1]]]]]]]]",
                    "\"\"",
                ])),
            )
                .prop_map(|(status, headers, body)| {
                    let mut text = format!("status={status}");
                    // One of each name: a name given twice is refused.
                    let mut names = Vec::new();
                    for header in headers {
                        let name = header.trim_start_matches('"').split(':').next().unwrap();
                        if !names.contains(&name) {
                            names.push(name);
                            text.push_str(&format!(" header={header}"));
                        }
                    }
                    if let Some(body) = body {
                        text.push_str(&format!(" body={body}"));
                    }
                    text
                }),
            prop::sample::select(vec!["status=204", "status=304"]).prop_map(str::to_owned),
            prop::sample::select(vec!["cut=before-headers", "cut=after-headers"])
                .prop_map(str::to_owned),
        ];
        (
            prop::sample::select(vec![
                "GET", "get", "POST", "PUT", "DELETE", "HEAD", "CONNECT", "*",
            ]),
            prop::sample::select(vec![
                "/users/*",
                "/users",
                "/**",
                "/",
                "/session",
                "/users/v2",
            ]),
            prop::option::of(prop::sample::select(vec![
                "1ms", "60000ms", "60s", "0.001s",
            ])),
            action,
            prop::option::of(prop::sample::select(vec!["1", "2", "18446744073709551615"])),
            prop::option::of(prop::sample::select(vec![
                "1",
                "3",
                "always",
                "18446744073709551615",
            ])),
            prop::option::of((
                prop::sample::select(vec!["0.000000001", "0.5", "1"]),
                prop::sample::select(vec!["0", "7", "18446744073709551615"]),
            )),
        )
            .prop_map(|(method, path, latency, action, nth, times, chance)| {
                let mut text = format!("{method} {path}");
                if let Some(latency) = latency {
                    text.push_str(&format!(" latency={latency}"));
                }
                text.push(' ');
                text.push_str(&action);
                if let Some(nth) = nth {
                    text.push_str(&format!(" nth={nth}"));
                }
                if let Some(times) = times {
                    text.push_str(&format!(" times={times}"));
                }
                if let Some((p, seed)) = chance {
                    text.push_str(&format!(" probability={p} seed={seed}"));
                }
                text
            })
    }

    fn json_rule() -> impl Strategy<Value = Value> {
        let field = prop_oneof![
            Just(("method", json!("GET"))),
            Just(("method", json!(1))),
            Just(("path", json!("/users/*"))),
            Just(("path", json!("/_emulator/x"))),
            Just(("status", json!(503))),
            Just(("status", json!(599))),
            Just(("status", json!(600))),
            Just(("status", json!(-1))),
            Just(("status", json!("503"))),
            Just(("status", json!(1.5))),
            Just(("latency_ms", json!(2))),
            Just(("latency_ms", json!(u64::MAX))),
            Just(("latency_ms", json!(-1))),
            Just(("headers", json!({"Retry-After": "1"}))),
            Just(("headers", json!({"": "1"}))),
            Just(("headers", json!({"x": 1}))),
            Just(("headers", json!(["x"]))),
            Just(("body", json!({"errors": {"base": ["down"]}}))),
            Just(("body", json!(null))),
            Just(("body", json!(7))),
            Just(("cut", json!("after-headers"))),
            Just(("cut", json!("before-headers"))),
            Just(("cut", json!(true))),
            Just(("nth", json!(0))),
            Just(("nth", json!(u64::MAX))),
            Just(("times", json!("always"))),
            Just(("times", json!(0))),
            Just(("probability", json!(0.0))),
            Just(("probability", json!(5e-324))),
            Just(("probability", json!(1.0))),
            Just(("probability", json!(1.5))),
            Just(("seed", json!(u64::MAX))),
            Just(("text", json!("GET /x status=503"))),
            Just(("text", json!(5))),
            Just(("colour", json!("red"))),
        ];
        prop::collection::vec(field, 0..7).prop_map(|fields| {
            Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
        })
    }

    /// What a rule accepted by the emulator may answer in its own right.
    fn own_statuses(listed: &Value) -> BTreeSet<u16> {
        let mut own = BTreeSet::new();
        if let Some(status) = listed["status"].as_u64() {
            own.insert(u16::try_from(status).unwrap());
        }
        // The stand-in of a cut before the headers, never sent as such.
        if listed["cut"] == "before-headers" {
            own.insert(502);
        }
        own
    }

    #[test]
    fn the_good_rules_are_good() {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        for _ in 0..200 {
            let text = good_rule_text().new_tree(&mut runner).unwrap().current();
            assert!(crate::faults::parse_text(&text).is_ok(), "{text}");
        }
    }

    #[test]
    fn no_rule_makes_a_server_error_of_its_own_nor_a_panic() {
        let h = Harness::new();
        let token = h.session(Some("faulted"));
        // Latencies end at once: the rules' effects, not their waits.
        h.state.faults.stop_waiting();
        let rule = prop_oneof![
            2 => good_rule_text().prop_map(|text| json!({ "text": text })),
            1 => rule_text().prop_map(|text| json!({ "text": text })),
            1 => json_rule(),
        ];
        let request = (
            prop::sample::select(vec![
                "GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "CONNECT",
            ]),
            prop::sample::select(vec![
                "/users/1",
                "/users",
                "/users/v2",
                "/session",
                "/blobs",
                "/blobs/ab12",
                "/users.json",
                "/",
                "/_emulator/health",
                "/_emulator/faults",
            ]),
        );
        let strategy = (
            prop::collection::vec(rule, 1..4),
            prop::collection::vec(request, 1..4),
        );
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 300,
            ..ProptestConfig::default()
        });
        let accepted = std::cell::Cell::new(0);
        let result = runner.run(&strategy, |(rules, requests)| {
            let cleared = h.json("DELETE", "/_emulator/faults", None, &json!({}));
            prop_assert_eq!(cleared.status, 200);
            let mut own = BTreeSet::new();
            for rule in &rules {
                let answer = h.json("POST", "/_emulator/faults", None, rule);
                prop_assert!(
                    answer.status == 201 || answer.status == 422,
                    "{}: {} {:?}",
                    rule,
                    answer.status,
                    answer.body
                );
                if answer.status == 201 {
                    accepted.set(accepted.get() + 1);
                    let listed: Value = serde_json::from_slice(&answer.body).unwrap();
                    own.extend(own_statuses(&listed["fault"]));
                } else {
                    let value: Value = serde_json::from_slice(&answer.body).unwrap();
                    prop_assert!(crate::error::well_formed_body(&value), "{}", value);
                }
            }
            for (method, path) in requests {
                // Never end the fixture's own session or user.
                if method == "DELETE" && matches!(path, "/session" | "/users/1") {
                    continue;
                }
                let Some(answer) = h.call(
                    "127.0.0.1:9".parse().unwrap(),
                    method.as_bytes(),
                    path,
                    &[
                        ("content-type", b"application/json"),
                        ("cb-token", token.as_bytes()),
                    ],
                    b"{}".to_vec(),
                ) else {
                    continue;
                };
                prop_assert!(
                    answer.status < 500 || own.contains(&answer.status),
                    "{} {} with {:?}: {}",
                    method,
                    path,
                    rules,
                    answer.status
                );
            }
            Ok(())
        });
        if let Err(failure) = result {
            panic!("{failure}");
        }
        // Enough of the cases set rules that then met requests.
        assert!(
            accepted.get() >= 100,
            "only {} rules accepted",
            accepted.get()
        );
        // The fixture's session still works, whatever the rules did.
        h.json("DELETE", "/_emulator/faults", None, &json!({}));
        let answer = h.json("GET", "/session", Some(&token), &json!({}));
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }
}
