//! Resends after transient failures, against a reference of the rules.
//!
//! proptest draws a retry policy (tries, delays, `Retry-After` cap,
//! budget), an operation (a read that may be repeated, a write that may
//! not, a session of a user or of a guest), a starting session, a restore
//! callback that gives credentials or declines, and a script of what
//! happens to each request: a success, a `429`/`502`/`503`/`504` with or
//! without `Retry-After`, a `401 Required session does not exist`, or a
//! transport failure of each kind. Session requests (an application
//! session, a restore's) follow the script too, so transient failures
//! interleave with lost sessions and restores. The clock moves by each wait
//! the call asks for, and the jitter comes from random numbers.
//!
//! Right after every failure the reference (the rules of `retry.rs`,
//! restated here) says whether the request goes again and how long the
//! call waits; the call must do exactly that. Over the whole call: a
//! request that may not be repeated is never sent again once the server
//! may have acted on it; the waits never add up to more than the budget; a
//! `Retry-After` is waited for exactly, or — past the cap or the budget —
//! the answer ends the call; the restore callback runs at most once and the
//! turn is taken and released in pairs; the operation goes again after a
//! `401` at most once; the call ends; its report tells the requests,
//! resends and waits that happened.

use cube_proto::call::{Call, CallReport, Step};
use cube_proto::ops::{Access, CreateSession, Operation};
use cube_proto::retry::{AfterFailure, RetryPolicy, TransportFailure};
use cube_proto::session::SessionOptions;
use cube_proto::wire::{Request, RequestContext, Response};
use cube_proto::{Config, Credentials, Error, IssuedToken, Misuse, RestoreAnswer, Session};
use http::Method;
use proptest::prelude::*;
use std::time::Duration;
use time::OffsetDateTime;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2026-11-24 10:00:00 UTC);
const MISSING: &str = r#"{"errors":{"base":["Required session does not exist"]}}"#;

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// The server answers with the request's success.
    Ok,
    /// A "try again later", with `Retry-After` seconds or none.
    Later {
        status: u16,
        retry_after: Option<u64>,
    },
    /// `401 Required session does not exist`.
    Missing,
    /// No answer: the adapter reports this.
    Failed(TransportFailure),
}

impl Fate {
    /// Whether the server may have acted on the request.
    fn maybe_acted(self) -> bool {
        match self {
            Fate::Ok | Fate::Later { .. } => true,
            Fate::Missing => false,
            Fate::Failed(f) => !f.nothing_sent(),
        }
    }
}

/// The operation under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// `GET /probe` under a session: may be repeated.
    Read,
    /// `POST /probe` under a user session: may not.
    Write,
    /// `POST /session` for a user: may be repeated.
    UserSession,
    /// `POST /session` for a guest: may not (each is a new user).
    GuestSession,
}

/// `/probe` with a chosen method and access.
struct Probe(Method, Access);

impl Operation for Probe {
    type Output = ();
    fn access(&self) -> Access {
        self.1
    }
    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        let mut b = http::Request::builder()
            .method(self.0.clone())
            .uri(ctx.config.url("/probe", None));
        if let Some(t) = ctx.token {
            b = b.header("CB-Token", t.expose());
        }
        Ok(b.body(Vec::new()).unwrap())
    }
    fn parse(&self, _: &Response) -> Result<(), Error> {
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct Case {
    policy: RetryPolicy,
    op: Op,
    /// The session starts as a live user session (else none).
    live: bool,
    /// A restore callback is set, and answers with credentials (else it
    /// declines).
    restore: Option<bool>,
    script: Vec<Fate>,
    randoms: Vec<u32>,
}

/// The reference: whether a request goes again after `fate`, and the wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Exactly(Duration),
    AtMost(Duration),
}

/// What the reference knows of the call so far.
#[derive(Debug, Default)]
struct Ledger {
    resends: u8,
    waited: Duration,
}

impl Ledger {
    fn decide(&self, policy: &RetryPolicy, fate: Fate, idempotent: bool) -> Option<Expect> {
        let (repeatable, retry_after) = match fate {
            Fate::Later {
                status,
                retry_after,
            } => {
                assert!(matches!(status, 429 | 502 | 503 | 504));
                (idempotent, retry_after.map(Duration::from_secs))
            }
            Fate::Failed(f) => (
                f != TransportFailure::Other && (idempotent || f.nothing_sent()),
                None,
            ),
            Fate::Ok | Fate::Missing => return None,
        };
        if !repeatable || u32::from(self.resends) + 1 >= u32::from(policy.max_attempts()) {
            return None;
        }
        let remaining = policy.budget().saturating_sub(self.waited);
        match retry_after {
            Some(asked) => (asked <= policy.retry_after_cap() && asked <= remaining)
                .then_some(Expect::Exactly(asked)),
            None if remaining.is_zero() => None,
            None => {
                let doubled = policy
                    .base_delay()
                    .checked_mul(1 << self.resends)
                    .unwrap_or(Duration::MAX);
                Some(Expect::AtMost(
                    doubled.min(policy.max_delay()).min(remaining),
                ))
            }
        }
    }
}

/// How the call ended.
#[derive(Debug, PartialEq)]
enum End {
    Ok,
    Api(u16),
    RestoreFailed,
    Refused,
    GaveUp(TransportFailure),
}

struct Harness {
    case: Case,
    now: OffsetDateTime,
    script: std::vec::IntoIter<Fate>,
    randoms: std::vec::IntoIter<u32>,
    ledger: Ledger,
    /// Every request sent: whether it was a session request, its method.
    sent: Vec<(bool, Method, Fate)>,
    waits: Vec<Duration>,
    asked_restore: u32,
    /// Restores asked for after the server said the session was gone.
    asked_after_401: u32,
    turn: bool,
    sessions: u32,
}

impl Harness {
    fn new(case: Case) -> Self {
        let script = case.script.clone().into_iter();
        let randoms = case.randoms.clone().into_iter();
        Self {
            case,
            now: T0,
            script,
            randoms,
            ledger: Ledger::default(),
            sent: Vec::new(),
            waits: Vec::new(),
            asked_restore: 0,
            asked_after_401: 0,
            turn: false,
            sessions: 0,
        }
    }

    fn config(&self) -> Config {
        Config::builder(1, "key")
            .base_url("http://cube.test")
            .retry_policy(self.case.policy)
            .build()
            .unwrap()
    }

    fn session(&self, config: &Config) -> Session {
        let options = SessionOptions {
            restore: self.case.restore.is_some(),
            ..SessionOptions::default()
        };
        if self.case.live {
            let token = IssuedToken::new("live")
                .user(5)
                .expires_at(T0 + time::Duration::hours(2));
            Session::adopted(config, options, token).unwrap()
        } else {
            Session::for_config(config, options)
        }
    }

    fn random(&mut self) -> u32 {
        self.randoms.next().unwrap_or(0x9e37_79b9)
    }

    fn respond(&mut self, request: &Request, fate: Fate) -> Response {
        let session_request = request.uri().path() == "/session";
        let mut b = http::Response::builder();
        let body = match fate {
            Fate::Ok if session_request => {
                self.sessions += 1;
                let guest = String::from_utf8_lossy(request.body()).contains("guest");
                let user = if guest || request.body().windows(4).any(|w| w == b"user") {
                    5
                } else {
                    0
                };
                b = b.status(201).header(
                    "CB-Token-ExpirationDate",
                    cube_proto::expiry::format_expiration(self.now + time::Duration::hours(2)),
                );
                format!(
                    r#"{{"session":{{"id":{n},"user_id":{user},"token":"s{n}"}}}}"#,
                    n = self.sessions
                )
            }
            Fate::Ok => {
                b = b.status(200);
                "{}".to_owned()
            }
            Fate::Later {
                status,
                retry_after,
            } => {
                b = b.status(status);
                if let Some(secs) = retry_after {
                    b = b.header("Retry-After", secs.to_string());
                }
                r#"{"errors":["Try again later"]}"#.to_owned()
            }
            Fate::Missing => {
                b = b.status(401);
                MISSING.to_owned()
            }
            Fate::Failed(_) => unreachable!("no answer"),
        };
        b.body(body.into_bytes()).unwrap()
    }

    fn idempotent(&self, request: &Request) -> bool {
        if request.uri().path() == "/session" {
            !String::from_utf8_lossy(request.body()).contains("guest")
        } else {
            request.method() == Method::GET
        }
    }

    /// Drives `op` to its end, checking each decision as it is made.
    fn run<O: Operation<Output: std::fmt::Debug>>(&mut self, op: O) -> (End, CallReport) {
        let config = self.config();
        let policy = config.retry_policy();
        let mut session = self.session(&config);
        let mut call = Call::new(config, op);
        // Set when a failure must end the call without another request.
        let mut must_end = false;
        // The wait the reference expects at the next poll.
        let mut expected: Option<Expect> = None;
        for step in 0..64u32 {
            let random = self.random();
            let polled = call.poll(&mut session, self.now, random);
            if let Some(expect) = expected.take() {
                let Step::Wait(wait) = polled else {
                    panic!("a resend was due, yet {polled:?}; sent {:?}", self.sent);
                };
                match expect {
                    Expect::Exactly(asked) => assert_eq!(wait, asked, "Retry-After honoured"),
                    Expect::AtMost(ceiling) => assert!(wait <= ceiling, "{wait:?} > {ceiling:?}"),
                }
                self.ledger.resends += 1;
                self.ledger.waited += wait;
                self.waits.push(wait);
                self.now += wait;
                continue;
            }
            match polled {
                Step::Send(request) => {
                    assert!(!must_end, "sent again after a failure that ends the call");
                    let session_request = request.uri().path() == "/session";
                    let idempotent = self.idempotent(&request);
                    let same: Vec<&(bool, Method, Fate)> = self
                        .sent
                        .iter()
                        .filter(|(s, m, _)| *s == session_request && m == request.method())
                        .collect();
                    if !idempotent {
                        assert!(
                            !same.iter().any(|(_, _, fate)| fate.maybe_acted()),
                            "a request that may not be repeated went again after the server may have acted: {:?}",
                            self.sent
                        );
                    }
                    let fate = self.script.next().unwrap_or(Fate::Ok);
                    self.sent
                        .push((session_request, request.method().clone(), fate));
                    let decision = self.ledger.decide(&policy, fate, idempotent);
                    if let Fate::Failed(failure) = fate {
                        match call.handle_failure(failure).unwrap() {
                            AfterFailure::Retry => {
                                assert!(decision.is_some(), "resent after {failure:?}");
                                expected = decision;
                            }
                            AfterFailure::GiveUp => {
                                assert_eq!(decision, None, "gave up after {failure:?}");
                                assert!(call.is_done());
                                assert!(matches!(
                                    call.poll(&mut session, self.now, 0),
                                    Step::Done(Err(Error::Misuse(Misuse::PolledAfterDone)))
                                ));
                                return (End::GaveUp(failure), call.report());
                            }
                        }
                    } else {
                        let response = self.respond(&request, fate);
                        call.handle_response(&mut session, response).unwrap();
                        must_end = matches!(fate, Fate::Later { .. }) && decision.is_none();
                        expected = decision;
                    }
                }
                Step::Wait(wait) => panic!("a wait nobody expected: {wait:?} at step {step}"),
                Step::TakeRestoreTurn => {
                    assert!(!self.turn, "the turn is taken once");
                    self.turn = true;
                }
                Step::AskRestore => {
                    assert!(self.turn, "the callback runs holding the turn");
                    self.asked_restore += 1;
                    if self.sent.iter().any(|(s, _, f)| !s && *f == Fate::Missing) {
                        self.asked_after_401 += 1;
                    }
                    let answer: RestoreAnswer = match self.case.restore {
                        Some(true) => Credentials::login("user", "password1").into(),
                        _ => RestoreAnswer::Decline,
                    };
                    call.provide_restore(&mut session, answer).unwrap();
                }
                Step::ReleaseRestoreTurn => {
                    assert!(self.turn, "only a held turn is released");
                    self.turn = false;
                }
                Step::Done(result) => {
                    assert!(!self.turn, "a finished call holds no turn");
                    let end = match result {
                        Ok(_) => End::Ok,
                        Err(Error::Api(e)) => End::Api(e.status.as_u16()),
                        Err(Error::RestoreFailed(_)) => End::RestoreFailed,
                        Err(
                            Error::SessionExpired
                            | Error::NoSession
                            | Error::NeedUser
                            | Error::NoAuthKey,
                        ) => End::Refused,
                        Err(e) => panic!("an error this call cannot produce: {e:?}"),
                    };
                    return (end, call.report());
                }
            }
        }
        panic!("the call did not end in 64 steps: {:?}", self.sent);
    }

    fn run_case(&mut self) -> (End, CallReport) {
        match self.case.op {
            Op::Read => self.run(Probe(Method::GET, Access::Read)),
            Op::Write => self.run(Probe(Method::POST, Access::Write)),
            Op::UserSession => {
                self.run(CreateSession::new(Credentials::login("user", "password1")))
            }
            Op::GuestSession => self.run(CreateSession::new(Credentials::guest(None))),
        }
    }
}

fn fate() -> impl Strategy<Value = Fate> {
    let later = (
        prop_oneof![Just(429u16), Just(502), Just(503), Just(504)],
        proptest::option::of(0u64..12),
    )
        .prop_map(|(status, retry_after)| Fate::Later {
            status,
            retry_after,
        });
    let failure = prop_oneof![
        Just(TransportFailure::Refused),
        Just(TransportFailure::ConnectTimedOut),
        Just(TransportFailure::ResetBeforeSent),
        Just(TransportFailure::ResetAfterSent),
        Just(TransportFailure::TimedOutBeforeAnswer),
        Just(TransportFailure::Other),
    ];
    prop_oneof![
        3 => Just(Fate::Ok),
        4 => later,
        2 => Just(Fate::Missing),
        3 => failure.prop_map(Fate::Failed),
    ]
}

fn policy() -> impl Strategy<Value = RetryPolicy> {
    (1u8..=5, 0u64..2_000, 0u64..10_000, 0u64..10, 0u64..20_000).prop_map(
        |(attempts, base, max, cap, budget)| {
            RetryPolicy::standard()
                .with_max_attempts(attempts)
                .with_base_delay(Duration::from_millis(base))
                .with_max_delay(Duration::from_millis(max))
                .with_retry_after_cap(Duration::from_secs(cap))
                .with_budget(Duration::from_millis(budget))
        },
    )
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop_oneof![
            3 => Just(RetryPolicy::standard()),
            1 => Just(RetryPolicy::none()),
            6 => policy(),
        ],
        prop_oneof![
            Just(Op::Read),
            Just(Op::Write),
            Just(Op::UserSession),
            Just(Op::GuestSession)
        ],
        any::<bool>(),
        proptest::option::of(any::<bool>()),
        proptest::collection::vec(fate(), 0..12),
        proptest::collection::vec(any::<u32>(), 0..24),
    )
        .prop_map(|(policy, op, live, restore, script, randoms)| Case {
            policy,
            op,
            live,
            restore,
            script,
            randoms,
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 3000,
        failure_persistence: None,
        .. ProptestConfig::default()
    })]

    #[test]
    fn resends_follow_the_policy_and_never_break_the_session_rules(case in case()) {
        let policy = case.policy;
        let mut h = Harness::new(case);
        let (end, report) = h.run_case();

        // The waits: within the budget, and what the report says.
        let total: Duration = h.waits.iter().sum();
        prop_assert!(total <= policy.budget(), "{total:?} over {:?}", policy.budget());
        prop_assert_eq!(report.waited, total);
        prop_assert_eq!(usize::from(report.resends), h.waits.len());
        prop_assert_eq!(usize::from(report.requests), h.sent.len());
        prop_assert!(report.resends < policy.max_attempts());
        prop_assert!(!report.resigned, "nothing here refuses a signature");

        // The session rules: one restore after a 401 (and one before the
        // first try when there was no session), one resend after a 401, no
        // loop.
        prop_assert!(h.asked_after_401 <= 1, "the callback ran {} times after a 401", h.asked_after_401);
        prop_assert!(h.asked_restore <= 2, "the callback ran {} times", h.asked_restore);
        let operations: Vec<Fate> = h.sent.iter().filter(|(s, ..)| !s).map(|(.., f)| *f).collect();
        let lost = operations.iter().filter(|f| **f == Fate::Missing).count();
        prop_assert!(lost <= 2, "{operations:?}");
        prop_assert!(
            operations.len() <= 2 + usize::from(report.resends),
            "the operation goes out once, once more after a 401, and once per resend: {:?}",
            h.sent
        );
        prop_assert!(h.sessions <= 2, "at most two sessions per call");

        // The end fits the last thing that happened.
        let last = h.sent.last().map(|(_, _, fate)| *fate);
        match end {
            End::Ok => prop_assert_eq!(last, Some(Fate::Ok)),
            End::Api(status) => match last {
                Some(Fate::Later { status: s, .. }) => prop_assert_eq!(status, s),
                Some(Fate::Missing) => prop_assert_eq!(status, 401),
                other => prop_assert!(false, "{status} after {other:?}"),
            },
            End::RestoreFailed => prop_assert_eq!(lost, 2),
            End::GaveUp(failure) => prop_assert_eq!(last, Some(Fate::Failed(failure))),
            End::Refused => {}
        }
    }
}
