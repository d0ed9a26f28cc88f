//! Session requests signed on the server's clock: what the client learns
//! from `Date`, what it signs with, and the one re-sign after a refused
//! time — against a scripted server that checks the signature, its window
//! and its nonces on a clock of its own.

use cube_proto::call::{Call, CallReport, Step};
use cube_proto::ops::{Access, CreateSession, Operation};
use cube_proto::retry::RetryPolicy;
use cube_proto::session::SessionOptions;
use cube_proto::wire::{Request, RequestContext, Response};
use cube_proto::{
    Config, Credentials, Error, IssuedToken, RestoreAnswer, Secret, Session, SignatureAlgorithm,
    sign,
};
use proptest::prelude::*;
use std::collections::HashSet;
use time::format_description::BorrowedFormatItem;
use time::macros::{datetime, format_description};
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-11-24 10:00:00 UTC);
const SECRET: &str = "EmulatorSecret42";
const IMF_FIXDATE: &[BorrowedFormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);
const LATE: &str = r#"{"errors":{"timestamp":["invalid timestamp"]}}"#;
const BAD_SIGNATURE: &str = r#"{"errors":["Unexpected signature"]}"#;

fn http_date(at: OffsetDateTime) -> String {
    at.format(IMF_FIXDATE).unwrap()
}

fn config(signed: bool) -> Config {
    let builder = Config::builder(1, "key").base_url("http://cube.test");
    let builder = if signed {
        builder.auth_secret(SECRET)
    } else {
        builder
    };
    builder.build().unwrap()
}

/// What the scripted server's `Date` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateHeader {
    /// Its clock, as an IMF-fixdate.
    Clock,
    /// None at all.
    Absent,
    /// Its clock in the obsolete RFC 850 form, which is refused.
    Obsolete,
    /// Not a date.
    Garbage,
    /// A date this far from the server's clock (a proxy's).
    Proxy(Duration),
}

/// A server whose clock is the device's plus `skew`, that refuses signed
/// session requests stamped more than `window` away from it.
struct Server {
    skew: Duration,
    window: Duration,
    date: DateHeader,
    /// Answer a refusal as `Unexpected signature` instead of `timestamp`.
    refuse_as_signature: bool,
    /// Refuse every session request whatever its time.
    refuse_all: bool,
    /// Refuse unsigned session requests (`Unexpected signature`).
    refuse_unsigned: bool,
    /// Move the clock this much further after every answer: a clock that
    /// runs away, so that every refusal's `Date` is far from the last one.
    drift: Duration,
    nonces: HashSet<u64>,
    /// The `timestamp` of every session request, and whether it passed.
    stamps: Vec<(i64, bool)>,
    sessions: u32,
}

impl Server {
    fn new(skew: Duration, window: Duration) -> Self {
        Self {
            skew,
            window,
            date: DateHeader::Clock,
            refuse_as_signature: false,
            refuse_all: false,
            refuse_unsigned: false,
            drift: Duration::ZERO,
            nonces: HashSet::new(),
            stamps: Vec::new(),
            sessions: 0,
        }
    }

    /// The answer to `request`, received when the device's clock reads
    /// `local`.
    fn answer(&mut self, request: &Request, local: OffsetDateTime) -> Response {
        let now = local + self.skew;
        self.skew += self.drift;
        let mut b = http::Response::builder();
        b = match self.date {
            DateHeader::Clock => b.header("Date", http_date(now)),
            DateHeader::Absent => b,
            DateHeader::Obsolete => b.header(
                "Date",
                now.format(format_description!(
                    "[weekday repr:long], [day]-[month repr:short]-[year repr:last_two] [hour]:[minute]:[second] GMT"
                ))
                .unwrap(),
            ),
            DateHeader::Garbage => b.header("Date", "yesterday"),
            DateHeader::Proxy(off) => b.header("Date", http_date(local + off)),
        };
        if request.uri().path() != "/session" {
            return b.status(200).body(b"{}".to_vec()).unwrap();
        }
        let body: serde_json::Value = serde_json::from_slice(request.body()).unwrap();
        let mut params = body.as_object().unwrap().clone();
        let signature = params.remove("signature");
        let (passed, refusal) = match signature {
            None => (!self.refuse_unsigned, Some(BAD_SIGNATURE)),
            Some(signature) => {
                let expected =
                    sign::signature(SignatureAlgorithm::HmacSha1, &Secret::new(SECRET), &params);
                assert_eq!(signature, expected, "a valid signature, every time");
                let nonce = params["nonce"].as_u64().unwrap();
                assert!(self.nonces.insert(nonce), "a nonce is never sent twice");
                let stamp = params["timestamp"].as_i64().unwrap();
                let off = (stamp - now.unix_timestamp()).abs();
                let passed = !self.refuse_all && off <= self.window.whole_seconds();
                self.stamps.push((stamp, passed));
                let refusal = if self.refuse_as_signature {
                    BAD_SIGNATURE
                } else {
                    LATE
                };
                (passed, Some(refusal))
            }
        };
        if passed {
            self.sessions += 1;
            let n = self.sessions;
            let json = format!(r#"{{"session":{{"id":{n},"user_id":5,"token":"s{n}"}}}}"#);
            b.status(201).body(json.into_bytes()).unwrap()
        } else {
            b.status(422)
                .body(refusal.unwrap_or(LATE).as_bytes().to_vec())
                .unwrap()
        }
    }
}

/// A call's end and report.
struct Run<T> {
    result: Result<T, Error>,
    report: CallReport,
    steps: Vec<&'static str>,
}

/// Runs `op` at the device's clock `local`; each answer takes `latency`.
/// Nonces count up from `*nonce`.
fn run<O: Operation>(
    config: Config,
    server: &mut Server,
    session: &mut Session,
    op: O,
    local: &mut OffsetDateTime,
    latency: Duration,
    nonce: &mut u32,
) -> Run<O::Output> {
    let mut call = Call::new(config, op);
    let mut steps = Vec::new();
    for _ in 0..20 {
        *nonce += 1;
        match call.poll(session, *local, *nonce) {
            Step::Send(request) => {
                steps.push("send");
                *local += latency;
                let response = server.answer(&request, *local);
                call.handle_response(session, response).unwrap();
            }
            Step::AskRestore => {
                steps.push("ask restore");
                let answer: RestoreAnswer = Credentials::login("user", "password1").into();
                call.provide_restore(session, answer).unwrap();
            }
            Step::TakeRestoreTurn => steps.push("take turn"),
            Step::ReleaseRestoreTurn => steps.push("release turn"),
            Step::Wait(pause) => panic!("nothing here is transient: {pause:?}"),
            Step::Done(result) => {
                steps.push("done");
                return Run {
                    result,
                    report: call.report(),
                    steps,
                };
            }
        }
    }
    panic!("the call did not end: {steps:?}");
}

/// Creates a user session at `local` on a fresh session.
fn create(server: &mut Server, session: &mut Session, local: OffsetDateTime) -> Run<()> {
    let mut local = local;
    // Nonces no earlier call on this server used.
    let mut nonce = u32::try_from(server.nonces.len()).unwrap() * 1000;
    let op = CreateSession::new(Credentials::login("user", "password1"));
    let run = run(
        config(true),
        server,
        session,
        op,
        &mut local,
        Duration::ZERO,
        &mut nonce,
    );
    Run {
        result: run.result.map(drop),
        report: run.report,
        steps: run.steps,
    }
}

/// `GET /probe` on a chosen host, under any session.
struct Look(&'static str);

impl Operation for Look {
    type Output = ();
    fn access(&self) -> Access {
        Access::Public
    }
    fn build(&self, _: &RequestContext<'_>) -> Result<Request, Error> {
        Ok(http::Request::get(format!("{}/probe", self.0))
            .body(Vec::new())
            .unwrap())
    }
    fn parse(&self, _: &Response) -> Result<(), Error> {
        Ok(())
    }
}

#[test]
fn before_any_answer_the_device_s_clock_signs() {
    let mut server = Server::new(Duration::minutes(10), Duration::hours(1));
    let mut session = Session::default();
    let run = create(&mut server, &mut session, T0);
    run.result.unwrap();
    assert_eq!(server.stamps, [(T0.unix_timestamp(), true)]);
    assert!(!run.report.resigned);
    // The answer taught the session the server's clock.
    assert_eq!(session.server_clock().offset(), Some(Duration::minutes(10)));
}

#[test]
fn a_date_alone_moves_no_signature_a_refusal_does() {
    let mut server = Server::new(Duration::minutes(-7), Duration::minutes(5));
    let mut session = Session::default();
    let (mut local, mut nonce) = (T0, 0);
    let look = Look("http://cube.test");
    run(
        config(true),
        &mut server,
        &mut session,
        look,
        &mut local,
        Duration::ZERO,
        &mut nonce,
    )
    .result
    .unwrap();
    assert_eq!(session.server_clock().offset(), Some(Duration::minutes(-7)));
    assert!(!session.server_clock().is_adopted());
    assert_eq!(
        session.server_clock().now(T0),
        T0,
        "the device's clock signs"
    );
    // Seven minutes off and a window of five: refused on the device's
    // clock, then signed on the server's, and the session keeps to it.
    let at = T0 + Duration::seconds(30);
    let run = create(&mut server, &mut session, at);
    run.result.unwrap();
    let server_time = at - Duration::minutes(7);
    assert_eq!(
        server.stamps,
        [
            (at.unix_timestamp(), false),
            (server_time.unix_timestamp(), true)
        ]
    );
    assert!(session.server_clock().is_adopted());
    assert_eq!(session.server_clock().now(at), server_time);
    // The next session request is right the first time.
    let later = at + Duration::minutes(1);
    create(&mut server, &mut session, later).result.unwrap();
    let expected = (later - Duration::minutes(7)).unix_timestamp();
    assert_eq!(server.stamps[2], (expected, true));
}

#[test]
fn a_date_that_is_not_the_checking_clock_never_moves_a_right_device_clock() {
    // A proxy's Date, three hours off, before a server whose clock is the
    // device's: every session is signed on the device's clock, first time.
    let mut server = Server::new(Duration::ZERO, Duration::minutes(5));
    server.date = DateHeader::Proxy(Duration::hours(3));
    let mut session = Session::default();
    for minute in 0..3 {
        let run = create(&mut server, &mut session, T0 + Duration::minutes(minute));
        run.result.unwrap();
        assert_eq!(run.report.requests, 1);
    }
    assert!(server.stamps.iter().all(|(_, passed)| *passed));
    assert_eq!(session.server_clock().offset(), Some(Duration::hours(3)));
    assert!(!session.server_clock().is_adopted());
}

#[test]
fn a_timestamp_refused_far_from_the_clock_is_signed_again_once() {
    let mut server = Server::new(Duration::minutes(10), Duration::minutes(5));
    let mut session = Session::default();
    let run = create(&mut server, &mut session, T0);
    run.result.unwrap();
    let server_time = T0 + Duration::minutes(10);
    assert_eq!(
        server.stamps,
        [
            (T0.unix_timestamp(), false),
            (server_time.unix_timestamp(), true)
        ]
    );
    assert!(run.report.resigned);
    assert_eq!((run.report.requests, run.report.resends), (2, 0));
    assert_eq!(run.steps, ["send", "send", "done"]);
}

#[test]
fn unexpected_signature_far_from_the_clock_is_signed_again_too() {
    let mut server = Server::new(Duration::hours(-3), Duration::minutes(5));
    server.refuse_as_signature = true;
    let mut session = Session::default();
    let run = create(&mut server, &mut session, T0);
    run.result.unwrap();
    assert_eq!(server.stamps.len(), 2);
    assert!(run.report.resigned);
}

#[test]
fn a_second_refusal_is_the_answer_never_a_loop() {
    let mut server = Server::new(Duration::minutes(10), Duration::minutes(5));
    server.refuse_all = true;
    let mut session = Session::default();
    let run = create(&mut server, &mut session, T0);
    let error = run.result.unwrap_err();
    assert_eq!(error.field_errors(), [("timestamp", "invalid timestamp")]);
    assert_eq!(server.stamps.len(), 2, "one re-sign, no more");
    // A later call may sign again once: the rule is per call.
    let run = create(&mut server, &mut session, T0);
    assert!(run.result.is_err());
    assert_eq!(
        server.stamps.len(),
        3,
        "already on the server's clock: no re-sign"
    );
}

#[test]
fn a_server_whose_clock_runs_away_gets_one_re_sign_not_a_loop() {
    let mut server = Server::new(Duration::hours(1), Duration::minutes(5));
    server.drift = Duration::hours(1);
    let mut session = Session::default();
    let run = create(&mut server, &mut session, T0);
    assert!(
        run.result
            .unwrap_err()
            .api()
            .unwrap()
            .is_signature_rejected()
    );
    // Each refusal's Date is an hour from the time signed with: far each
    // time, and still only one re-sign.
    let stamps: Vec<i64> = server.stamps.iter().map(|s| s.0).collect();
    let hour = 3600;
    assert_eq!(stamps, [T0.unix_timestamp(), T0.unix_timestamp() + hour]);
    assert_eq!(run.steps, ["send", "send", "done"]);
}

#[test]
fn a_refusal_near_the_clock_is_the_answer() {
    // 50 s off, a window of 30 s: the clocks agree within a minute, so the
    // refusal has another cause.
    let mut server = Server::new(Duration::seconds(50), Duration::seconds(30));
    let mut session = Session::default();
    let run = create(&mut server, &mut session, T0);
    assert!(run.result.is_err());
    assert_eq!(server.stamps.len(), 1);
    assert!(!run.report.resigned);
    // 60 s exactly is still near: "far" is more than the threshold.
    let mut server = Server::new(Duration::seconds(60), Duration::seconds(30));
    let mut session = Session::default();
    assert!(create(&mut server, &mut session, T0).result.is_err());
    assert_eq!(server.stamps.len(), 1);
    // 61 s off is far.
    let mut server = Server::new(Duration::seconds(61), Duration::seconds(30));
    let mut session = Session::default();
    assert!(create(&mut server, &mut session, T0).result.is_ok());
    assert_eq!(server.stamps.len(), 2);
}

#[test]
fn a_refusal_without_a_readable_date_is_the_answer() {
    for date in [
        DateHeader::Absent,
        DateHeader::Obsolete,
        DateHeader::Garbage,
    ] {
        let mut server = Server::new(Duration::minutes(10), Duration::minutes(5));
        server.date = date;
        let mut session = Session::default();
        let run = create(&mut server, &mut session, T0);
        assert!(run.result.is_err(), "{date:?}");
        assert_eq!(server.stamps.len(), 1, "{date:?}");
        assert_eq!(session.server_clock().offset(), None, "{date:?}");
    }
}

#[test]
fn an_unsigned_client_has_nothing_to_sign_again() {
    let mut server = Server::new(Duration::minutes(10), Duration::minutes(5));
    server.refuse_unsigned = true;
    let mut session = Session::default();
    let (mut local, mut nonce) = (T0, 0);
    let op = CreateSession::application();
    let run = run(
        config(false),
        &mut server,
        &mut session,
        op,
        &mut local,
        Duration::ZERO,
        &mut nonce,
    );
    let error = run.result.unwrap_err();
    assert!(error.api().unwrap().is_signature_rejected());
    assert_eq!((run.report.requests, run.report.resigned), (1, false));
    // The clock is learned all the same.
    assert_eq!(session.server_clock().offset(), Some(Duration::minutes(10)));
}

/// `GET /probe` under a session.
struct Read;

impl Operation for Read {
    type Output = ();
    fn access(&self) -> Access {
        Access::Read
    }
    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        Look("http://cube.test").build(ctx)
    }
    fn parse(&self, _: &Response) -> Result<(), Error> {
        Ok(())
    }
}

#[test]
fn a_restore_signs_on_the_server_s_clock_and_again_holding_the_turn() {
    let mut server = Server::new(Duration::minutes(-20), Duration::minutes(5));
    let options = SessionOptions {
        restore: true,
        ..SessionOptions::default()
    };
    // No session and a restore callback: the read restores first.
    let mut session = Session::for_config(&config(true), options);
    let (mut local, mut nonce) = (T0, 0);
    let run = run(
        config(true),
        &mut server,
        &mut session,
        Read,
        &mut local,
        Duration::ZERO,
        &mut nonce,
    );
    run.result.unwrap();
    assert_eq!(
        run.steps,
        [
            "take turn",
            "ask restore",
            "send",
            "send",
            "release turn",
            "send",
            "done"
        ]
    );
    assert_eq!(
        server.stamps.iter().map(|s| s.1).collect::<Vec<_>>(),
        [false, true]
    );
    assert!(run.report.resigned);
}

#[test]
fn the_offset_outlives_the_session_but_not_the_server() {
    let mut server = Server::new(Duration::hours(2), Duration::minutes(5));
    let mut session = Session::default();
    create(&mut server, &mut session, T0).result.unwrap();
    assert_eq!(server.stamps.len(), 2);
    session.end();
    // A new session on the same server is signed right the first time.
    create(&mut server, &mut session, T0 + Duration::minutes(1))
        .result
        .unwrap();
    assert_eq!(server.stamps.len(), 3);
    assert!(server.stamps[2].1);
    // A session adopted for another server forgets this one's clock.
    let elsewhere = Config::builder(1, "key")
        .base_url("http://other.test")
        .build()
        .unwrap();
    let mut on_cube = Session::for_config(&config(true), SessionOptions::default());
    create(&mut server, &mut on_cube, T0).result.unwrap();
    assert!(on_cube.server_clock().offset().is_some());
    on_cube
        .adopt(&config(true), IssuedToken::new("same-server"))
        .unwrap();
    assert!(on_cube.server_clock().offset().is_some(), "same server");
    on_cube
        .adopt(&elsewhere, IssuedToken::new("other"))
        .unwrap();
    assert_eq!(on_cube.server_clock().offset(), None);
}

#[test]
fn only_the_api_s_answers_tell_its_clock() {
    let mut server = Server::new(Duration::hours(5), Duration::minutes(5));
    let mut session = Session::default();
    let (mut local, mut nonce) = (T0, 0);
    let storage = Look("http://storage.test");
    run(
        config(true),
        &mut server,
        &mut session,
        storage,
        &mut local,
        Duration::ZERO,
        &mut nonce,
    )
    .result
    .unwrap();
    assert_eq!(session.server_clock().offset(), None);
    // A later answer replaces what an earlier one said.
    let api = || Look("http://cube.test");
    run(
        config(true),
        &mut server,
        &mut session,
        api(),
        &mut local,
        Duration::ZERO,
        &mut nonce,
    )
    .result
    .unwrap();
    assert_eq!(session.server_clock().offset(), Some(Duration::hours(5)));
    server.skew = Duration::seconds(-3);
    run(
        config(true),
        &mut server,
        &mut session,
        api(),
        &mut local,
        Duration::ZERO,
        &mut nonce,
    )
    .result
    .unwrap();
    assert_eq!(session.server_clock().offset(), Some(Duration::seconds(-3)));
}

#[test]
fn a_refused_application_session_for_a_read_is_signed_again() {
    let mut server = Server::new(Duration::minutes(-45), Duration::minutes(5));
    let mut session = Session::default();
    let (mut local, mut nonce) = (T0, 0);
    let run = run(
        config(true),
        &mut server,
        &mut session,
        Read,
        &mut local,
        Duration::ZERO,
        &mut nonce,
    );
    run.result.unwrap();
    assert_eq!(run.steps, ["send", "send", "send", "done"]);
    assert_eq!(
        server.stamps.iter().map(|s| s.1).collect::<Vec<_>>(),
        [false, true]
    );
}

#[test]
fn a_transient_policy_does_not_change_the_re_sign() {
    // With resends off, the one re-sign still happens: it is not a retry.
    let mut server = Server::new(Duration::minutes(10), Duration::minutes(5));
    let mut session = Session::default();
    let config = Config::builder(1, "key")
        .base_url("http://cube.test")
        .auth_secret(SECRET)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let (mut local, mut nonce) = (T0, 0);
    let op = CreateSession::new(Credentials::login("user", "password1"));
    let run = run(
        config,
        &mut server,
        &mut session,
        op,
        &mut local,
        Duration::ZERO,
        &mut nonce,
    );
    run.result.unwrap();
    assert!(run.report.resigned);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        failure_persistence: None,
        .. ProptestConfig::default()
    })]

    /// A device whose clock is off by up to a day gets a session within one
    /// re-sign from a server that keeps a window of at least the "far"
    /// threshold, whatever the answers' latency.
    #[test]
    fn a_clock_off_by_up_to_a_day_gets_a_session_within_one_re_sign(
        skew in -86_400i64..=86_400,
        window in 60i64..=3600,
        latency_ms in 0i64..3000,
        start in 0i64..(365 * 86_400),
        sub_second in 0i64..1000,
    ) {
        let mut server = Server::new(Duration::seconds(skew), Duration::seconds(window));
        let mut session = Session::default();
        let mut local = T0 + Duration::seconds(start) + Duration::milliseconds(sub_second);
        let mut nonce = 0;
        let op = CreateSession::new(Credentials::login("user", "password1"));
        let latency = Duration::milliseconds(latency_ms);
        let first = run(config(true), &mut server, &mut session, op, &mut local, latency, &mut nonce);
        prop_assert!(first.result.is_ok(), "{:?}", first.result.err());
        let first_passed = server.stamps[0].1;
        prop_assert_eq!(server.stamps.len(), if first_passed { 1 } else { 2 });
        prop_assert_eq!(first.report.resigned, !first_passed);
        prop_assert!(server.stamps.last().unwrap().1);
        // The next session is right the first time.
        let before = server.stamps.len();
        session.end();
        let op = CreateSession::new(Credentials::login("user", "password1"));
        let again = run(config(true), &mut server, &mut session, op, &mut local, latency, &mut nonce);
        prop_assert!(again.result.is_ok());
        prop_assert_eq!(server.stamps.len(), before + 1);
    }

    /// Whatever the server's clock and its answers, a call signs at most
    /// twice.
    #[test]
    fn a_server_that_refuses_everything_gets_two_requests_at_most(
        skew in -86_400i64..=86_400,
        as_signature in any::<bool>(),
    ) {
        let mut server = Server::new(Duration::seconds(skew), Duration::ZERO);
        server.refuse_all = true;
        server.refuse_as_signature = as_signature;
        let mut session = Session::default();
        let run = create(&mut server, &mut session, T0);
        prop_assert!(run.result.is_err());
        prop_assert!(server.stamps.len() <= 2);
        prop_assert_eq!(server.stamps.len() == 2, skew.abs() > 60);
    }
}

#[test]
fn only_a_signed_session_request_is_signed_again() {
    // A read answered as if its (absent) signature were late: its answer
    // is the result, whatever the Date.
    let mut session = Session::default();
    let mut call = Call::new(config(true), Look("http://cube.test"));
    let Step::Send(_) = call.poll(&mut session, T0, 1) else {
        panic!("a public read goes out")
    };
    let refusal = http::Response::builder()
        .status(422)
        .header("Date", http_date(T0 + Duration::hours(3)))
        .body(LATE.as_bytes().to_vec())
        .unwrap();
    call.handle_response(&mut session, refusal).unwrap();
    let Step::Done(Err(error)) = call.poll(&mut session, T0, 2) else {
        panic!("the refusal is the answer")
    };
    assert!(error.api().unwrap().is_signature_rejected());
    assert_eq!((call.report().requests, call.report().resigned), (1, false));
    // The clock is learned all the same.
    assert_eq!(session.server_clock().offset(), Some(Duration::hours(3)));
}
