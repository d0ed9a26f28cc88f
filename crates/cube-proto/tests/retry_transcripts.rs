//! Transcripts of calls through transient failures: each kind of failure,
//! what goes again and what never does, the waits and what the report says.

use cube_proto::call::{Call, CallReport, Step};
use cube_proto::ops::{
    Access, CreateSession, DeleteUser, GetSession, NewUser, Operation, ResetPassword, SignIn,
    SignUp, UpdateUser, UserUpdate,
};
use cube_proto::retry::{AfterFailure, RetryPolicy, TransportFailure};
use cube_proto::session::SessionOptions;
use cube_proto::wire::{Request, RequestContext, Response};
use cube_proto::{
    Config, Credentials, Error, IssuedToken, Misuse, RestoreAnswer, Session, SessionStatus,
};
use std::collections::VecDeque;
use std::time::Duration;
use time::OffsetDateTime;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2026-11-24 10:00:00 UTC);
const MISSING: &str = r#"{"errors":{"base":["Required session does not exist"]}}"#;
const SEC: Duration = Duration::from_secs(1);
/// A random number that draws the middle of every jitter range.
const HALF: u32 = 1 << 31;

/// What the scripted server does with the next request.
#[derive(Debug, Clone)]
enum Next {
    /// Answers this status with these headers and body.
    Answer(u16, Vec<(&'static str, String)>, String),
    /// Fails on the way.
    Fail(TransportFailure),
}

fn status(code: u16) -> Next {
    Next::Answer(code, vec![], r#"{"errors":["Try again later"]}"#.into())
}

fn retry_after(code: u16, secs: &str) -> Next {
    Next::Answer(
        code,
        vec![("Retry-After", secs.to_owned())],
        r#"{"errors":["Too Many Requests"]}"#.into(),
    )
}

fn ok(body: &str) -> Next {
    Next::Answer(200, vec![], body.into())
}

fn session_ok(n: u32) -> Next {
    Next::Answer(
        201,
        vec![("CB-Token-ExpirationDate", "2026-11-24 12:00:00 UTC".into())],
        format!(r#"{{"session":{{"id":{n},"user_id":5,"token":"s{n}"}}}}"#),
    )
}

fn missing() -> Next {
    Next::Answer(401, vec![], MISSING.into())
}

/// One call's transcript.
#[derive(Debug)]
struct Transcript<T> {
    result: Result<T, Error>,
    /// `METHOD /path` of each request, in order.
    log: Vec<String>,
    waits: Vec<Duration>,
    report: CallReport,
    /// The transport failure the adapter would have returned, if it gave up.
    gave_up: Option<TransportFailure>,
    /// Every step, as a word.
    steps: Vec<&'static str>,
}

fn config(policy: RetryPolicy) -> Config {
    Config::builder(1, "key")
        .base_url("http://cube.test")
        .retry_policy(policy)
        .build()
        .unwrap()
}

/// A live user session (deadline 12:00), optionally with a restore callback.
fn user_session(restore: bool) -> Session {
    let options = SessionOptions {
        restore,
        ..SessionOptions::default()
    };
    let token = IssuedToken::new("live")
        .user(5)
        .expires_at(datetime!(2026-11-24 12:00 UTC));
    Session::adopted(&config(RetryPolicy::standard()), options, token).unwrap()
}

/// Runs `op` under `policy`, answering requests from `script`, restores
/// with `restore`, the clock moving by each wait and `randoms` drawing the
/// jitter.
fn run<O: Operation>(
    policy: RetryPolicy,
    session: &mut Session,
    op: O,
    script: Vec<Next>,
    restore: impl Fn() -> RestoreAnswer,
) -> Transcript<O::Output> {
    let mut script: VecDeque<Next> = script.into();
    let mut call = Call::new(config(policy), op);
    let mut now = T0;
    let mut log = Vec::new();
    let mut waits = Vec::new();
    let mut steps = Vec::new();
    let mut turn = false;
    for _ in 0..40 {
        match call.poll(session, now, HALF) {
            Step::Send(request) => {
                steps.push("send");
                log.push(format!("{} {}", request.method(), request.uri().path()));
                match script.pop_front().expect("an answer for every request") {
                    Next::Answer(code, headers, body) => {
                        let mut b = http::Response::builder().status(code);
                        for (k, v) in headers {
                            b = b.header(k, v);
                        }
                        let response = b.body(body.into_bytes()).unwrap();
                        call.handle_response(session, response).unwrap();
                    }
                    Next::Fail(failure) => match call.handle_failure(failure).unwrap() {
                        AfterFailure::Retry => {}
                        AfterFailure::GiveUp => {
                            steps.push("give up");
                            let after = call.poll(session, now, 0);
                            assert!(matches!(
                                after,
                                Step::Done(Err(Error::Misuse(Misuse::PolledAfterDone)))
                            ));
                            assert!(script.is_empty(), "left unused: {script:?}");
                            return Transcript {
                                result: Err(Error::NoSession),
                                log,
                                waits,
                                report: call.report(),
                                gave_up: Some(failure),
                                steps,
                            };
                        }
                    },
                }
            }
            Step::Wait(wait) => {
                steps.push("wait");
                waits.push(wait);
                now += wait;
            }
            Step::TakeRestoreTurn => {
                steps.push("take turn");
                assert!(!turn);
                turn = true;
            }
            Step::AskRestore => {
                steps.push("ask restore");
                assert!(turn);
                call.provide_restore(session, restore()).unwrap();
            }
            Step::ReleaseRestoreTurn => {
                steps.push("release turn");
                assert!(turn);
                turn = false;
            }
            Step::Done(result) => {
                steps.push("done");
                assert!(!turn, "a finished call holds no turn");
                assert!(script.is_empty(), "left unused: {script:?}");
                return Transcript {
                    result,
                    log,
                    waits,
                    report: call.report(),
                    gave_up: None,
                    steps,
                };
            }
        }
    }
    panic!("the call did not end: {log:?}");
}

fn decline() -> RestoreAnswer {
    RestoreAnswer::Decline
}

/// `GET /probe` under a session: a read, answered with its status.
struct Look;

impl Operation for Look {
    type Output = u16;
    fn access(&self) -> Access {
        Access::Read
    }
    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        let mut b = http::Request::get(ctx.config.url("/probe", None));
        if let Some(t) = ctx.token {
            b = b.header("CB-Token", t.expose());
        }
        Ok(b.body(Vec::new()).unwrap())
    }
    fn parse(&self, response: &Response) -> Result<u16, Error> {
        Ok(response.status().as_u16())
    }
}

fn read() -> Look {
    Look
}

const USER_7: &str = "{}";

fn status_of<T>(result: &Result<T, Error>) -> Option<u16> {
    match result {
        Err(e) => e.status().map(|s| s.as_u16()),
        Ok(_) => None,
    }
}

#[test]
fn a_read_answered_503_twice_then_200_succeeds_after_two_waits() {
    let mut session = user_session(false);
    let t = run(
        RetryPolicy::standard(),
        &mut session,
        read(),
        vec![status(503), status(503), ok(USER_7)],
        decline,
    );
    assert_eq!(t.result.unwrap(), 200);
    assert_eq!(t.log, ["GET /probe"; 3]);
    // Full jitter at its middle: half of 0.5 s, then half of 1 s.
    assert_eq!(
        t.waits,
        [Duration::from_millis(250), Duration::from_millis(500)]
    );
    assert_eq!(t.steps, ["send", "wait", "send", "wait", "send", "done"]);
    assert_eq!(
        (t.report.requests, t.report.resends, t.report.waited),
        (3, 2, Duration::from_millis(750))
    );
    assert_eq!(t.report.status.map(|s| s.as_u16()), Some(200));
}

#[test]
fn every_transient_status_is_tried_again_and_no_other() {
    for code in [429, 502, 503, 504] {
        let mut session = user_session(false);
        let t = run(
            RetryPolicy::standard(),
            &mut session,
            read(),
            vec![status(code), ok(USER_7)],
            decline,
        );
        assert!(t.result.is_ok(), "{code}");
        assert_eq!(t.report.resends, 1, "{code}");
    }
    for code in [400, 403, 404, 409, 413, 422, 500, 501, 505] {
        let mut session = user_session(false);
        let t = run(
            RetryPolicy::standard(),
            &mut session,
            GetSession,
            vec![status(code)],
            decline,
        );
        assert_eq!(status_of(&t.result), Some(code));
        assert_eq!((t.log.len(), t.report.resends), (1, 0), "{code}");
    }
}

#[test]
fn the_third_transient_answer_is_the_result() {
    let mut session = user_session(false);
    let t = run(
        RetryPolicy::standard(),
        &mut session,
        read(),
        vec![status(502), status(503), status(504)],
        decline,
    );
    assert_eq!(status_of(&t.result), Some(504));
    assert_eq!((t.log.len(), t.report.resends), (3, 2));
}

#[test]
fn every_transient_transport_failure_of_a_read_is_tried_again() {
    for failure in [
        TransportFailure::Refused,
        TransportFailure::ConnectTimedOut,
        TransportFailure::ResetBeforeSent,
        TransportFailure::ResetAfterSent,
        TransportFailure::TimedOutBeforeAnswer,
    ] {
        let mut session = user_session(false);
        let t = run(
            RetryPolicy::standard(),
            &mut session,
            read(),
            vec![Next::Fail(failure), ok(USER_7)],
            decline,
        );
        assert!(t.result.is_ok(), "{failure:?}");
        assert_eq!(t.steps, ["send", "wait", "send", "done"], "{failure:?}");
        assert_eq!(t.report.failure, Some(failure));
    }
    // Anything else ends the call with the transport's own error.
    let mut session = user_session(false);
    let t = run(
        RetryPolicy::standard(),
        &mut session,
        read(),
        vec![Next::Fail(TransportFailure::Other)],
        decline,
    );
    assert_eq!(t.gave_up, Some(TransportFailure::Other));
    assert_eq!(t.log.len(), 1);
}

#[test]
fn a_sign_up_answered_503_fails_once_with_one_request_on_the_wire() {
    let mut session = Session::default();
    let sign_up = || SignUp::new(NewUser::with_login("dacia", "s3cret-pass"));
    let t = run(
        RetryPolicy::standard(),
        &mut session,
        sign_up(),
        vec![status(503)],
        decline,
    );
    assert_eq!(status_of(&t.result), Some(503));
    assert_eq!(t.log, ["POST /users"]);
    assert!(t.waits.is_empty());
    // So does every answer or failure after which the server may have
    // signed the user up.
    for next in [
        status(429),
        status(502),
        status(504),
        Next::Fail(TransportFailure::ResetAfterSent),
        Next::Fail(TransportFailure::TimedOutBeforeAnswer),
        Next::Fail(TransportFailure::Other),
    ] {
        let t = run(
            RetryPolicy::standard(),
            &mut session,
            sign_up(),
            vec![next.clone()],
            decline,
        );
        assert_eq!(t.log.len(), 1, "{next:?}");
        assert!(t.result.is_err() || t.gave_up.is_some(), "{next:?}");
    }
}

#[test]
fn a_sign_up_goes_again_when_the_failure_proves_nothing_was_sent() {
    for failure in [
        TransportFailure::Refused,
        TransportFailure::ConnectTimedOut,
        TransportFailure::ResetBeforeSent,
    ] {
        let mut session = Session::default();
        let t = run(
            RetryPolicy::standard(),
            &mut session,
            SignUp::new(NewUser::with_login("dacia", "s3cret-pass")),
            vec![Next::Fail(failure), ok(r#"{"user":{"id":9}}"#)],
            decline,
        );
        assert_eq!(t.result.unwrap().id, 9, "{failure:?}");
        assert_eq!(t.log, ["POST /users", "POST /users"]);
    }
}

#[test]
fn writes_and_reads_with_an_effect_never_go_again_after_a_503() {
    let mut session = user_session(false);
    let update = UpdateUser::new(5, UserUpdate::new().full_name("A"));
    let t = run(
        RetryPolicy::standard(),
        &mut session,
        update,
        vec![status(503)],
        decline,
    );
    assert_eq!((status_of(&t.result), t.log.len()), (Some(503), 1));
    let t = run(
        RetryPolicy::standard(),
        &mut session,
        DeleteUser::new(5),
        vec![status(502)],
        decline,
    );
    assert_eq!((status_of(&t.result), t.log.len()), (Some(502), 1));
    let t = run(
        RetryPolicy::standard(),
        &mut session,
        ResetPassword::new("a@example.com").unwrap(),
        vec![status(503)],
        decline,
    );
    assert_eq!((status_of(&t.result), t.log.len()), (Some(503), 1));
    let t = run(
        RetryPolicy::standard(),
        &mut session,
        SignIn::new(Credentials::login("user", "password1")),
        vec![Next::Fail(TransportFailure::TimedOutBeforeAnswer)],
        decline,
    );
    assert_eq!(
        (t.gave_up, t.log.len()),
        (Some(TransportFailure::TimedOutBeforeAnswer), 1)
    );
}

#[test]
fn a_user_session_goes_again_and_a_guest_session_does_not() {
    let mut session = Session::default();
    let t = run(
        RetryPolicy::standard(),
        &mut session,
        CreateSession::new(Credentials::login("user", "password1")),
        vec![status(503), session_ok(1)],
        decline,
    );
    assert_eq!(t.result.unwrap().user_id, Some(5));
    assert_eq!(t.log, ["POST /session", "POST /session"]);
    let mut session = Session::default();
    let t = run(
        RetryPolicy::standard(),
        &mut session,
        CreateSession::new(Credentials::guest(None)),
        vec![status(503)],
        decline,
    );
    assert_eq!((status_of(&t.result), t.log.len()), (Some(503), 1));
    assert_eq!(session.status(T0), SessionStatus::None);
}

#[test]
fn retry_after_is_waited_for_exactly_up_to_the_cap() {
    let mut session = user_session(false);
    let t = run(
        RetryPolicy::standard(),
        &mut session,
        read(),
        vec![retry_after(429, "2"), retry_after(503, "5"), ok(USER_7)],
        decline,
    );
    assert!(t.result.is_ok());
    assert_eq!(
        t.waits,
        [2 * SEC, 5 * SEC],
        "exactly what was asked, 5 s at the cap"
    );
    // One second past the cap: the answer is the result, with its wait.
    let t = run(
        RetryPolicy::standard(),
        &mut session,
        read(),
        vec![retry_after(429, "6")],
        decline,
    );
    let error = t.result.unwrap_err();
    assert!(error.is_rate_limited());
    assert_eq!(error.retry_after(), Some(6 * SEC));
    assert_eq!(t.log.len(), 1);
    // A cap of zero honours only "now".
    let policy = RetryPolicy::standard().with_retry_after_cap(Duration::ZERO);
    let t = run(
        policy,
        &mut session,
        read(),
        vec![retry_after(503, "0"), retry_after(503, "1")],
        decline,
    );
    assert_eq!(
        (t.waits.as_slice(), t.log.len()),
        ([Duration::ZERO].as_slice(), 2)
    );
}

#[test]
fn the_waits_never_add_up_past_the_budget() {
    let policy = RetryPolicy::standard()
        .with_max_attempts(10)
        .with_budget(3 * SEC);
    let mut session = user_session(false);
    // 2 s, then 1 s fills the budget exactly; a third second does not fit.
    let t = run(
        policy,
        &mut session,
        read(),
        vec![
            retry_after(503, "2"),
            retry_after(503, "1"),
            retry_after(503, "1"),
        ],
        decline,
    );
    assert_eq!(t.waits, [2 * SEC, SEC]);
    assert_eq!(status_of(&t.result), Some(503));
    // Backoff is drawn within what is left, and stops once it is spent.
    let policy = RetryPolicy::standard()
        .with_max_attempts(10)
        .with_base_delay(2 * SEC)
        .with_budget(3 * SEC);
    let t = run(
        policy,
        &mut session,
        read(),
        vec![status(503), status(503), status(503), ok(USER_7)],
        decline,
    );
    // Half of 2 s, half of min(4 s, 2 s left), half of the last second.
    assert_eq!(
        t.waits,
        [SEC, SEC, Duration::from_millis(500)],
        "{:?}",
        t.steps
    );
    assert!(t.result.is_ok());
    assert!(t.report.waited <= 3 * SEC);
}

#[test]
fn no_policy_no_resend() {
    let mut session = user_session(false);
    let t = run(
        RetryPolicy::none(),
        &mut session,
        read(),
        vec![status(503)],
        decline,
    );
    assert_eq!((status_of(&t.result), t.log.len()), (Some(503), 1));
    let t = run(
        RetryPolicy::none(),
        &mut session,
        read(),
        vec![Next::Fail(TransportFailure::Refused)],
        decline,
    );
    assert_eq!(t.gave_up, Some(TransportFailure::Refused));
}

#[test]
fn a_transient_answer_without_a_deadline_does_not_re_arm_the_session() {
    let mut session = user_session(false);
    let deadline = session.expires_at();
    run(
        RetryPolicy::none(),
        &mut session,
        read(),
        vec![status(502)],
        decline,
    );
    assert_eq!(session.expires_at(), deadline, "a gateway may have kept it");
    // With the header, the server said the token's new deadline.
    let with_header = Next::Answer(
        503,
        vec![("CB-Token-ExpirationDate", "2026-11-24 12:30:00 UTC".into())],
        String::new(),
    );
    run(
        RetryPolicy::none(),
        &mut session,
        read(),
        vec![with_header],
        decline,
    );
    assert_eq!(session.expires_at(), Some(datetime!(2026-11-24 12:30 UTC)));
    // Any other refusal is a used token, as before.
    run(
        RetryPolicy::none(),
        &mut session,
        read(),
        vec![status(500)],
        decline,
    );
    assert_eq!(session.expires_at(), Some(T0 + time::Duration::hours(2)));
}

#[test]
fn a_resend_plans_again_and_sees_a_session_that_expired_during_the_wait() {
    // A session whose deadline falls inside the server's Retry-After.
    let options = SessionOptions {
        restore: true,
        ..SessionOptions::default()
    };
    let token = IssuedToken::new("short")
        .user(5)
        .expires_at(T0 + time::Duration::seconds(13));
    let mut session = Session::adopted(&config(RetryPolicy::standard()), options, token).unwrap();
    let t = run(
        RetryPolicy::standard(),
        &mut session,
        read(),
        vec![retry_after(503, "5"), session_ok(1), ok(USER_7)],
        || Credentials::login("user", "password1").into(),
    );
    assert!(t.result.is_ok());
    assert_eq!(t.log, ["GET /probe", "POST /session", "GET /probe"]);
    assert_eq!(
        t.steps,
        [
            "send",
            "wait",
            "take turn",
            "ask restore",
            "send",
            "release turn",
            "send",
            "done"
        ]
    );
}

#[test]
fn transient_failures_interleave_with_a_lost_session_and_one_restore() {
    let mut session = user_session(true);
    let t = run(
        RetryPolicy::standard(),
        &mut session,
        read(),
        vec![
            status(503),
            missing(),
            status(502),
            session_ok(1),
            Next::Fail(TransportFailure::ResetAfterSent),
        ],
        || Credentials::login("user", "password1").into(),
    );
    // Three tries were all the policy had: the last failure ends the call.
    assert_eq!(t.gave_up, Some(TransportFailure::ResetAfterSent));
    assert_eq!(
        t.log,
        [
            "GET /probe",
            "GET /probe",
            "POST /session",
            "POST /session",
            "GET /probe"
        ]
    );
    // The restore's session request went again holding the turn.
    assert_eq!(
        t.steps,
        [
            "send",
            "wait",
            "send",
            "take turn",
            "ask restore",
            "send",
            "wait",
            "send",
            "release turn",
            "send",
            "give up"
        ]
    );
    assert_eq!((t.report.resends, t.report.requests), (2, 5));
    // A second lost session is the end, however many tries are left.
    let mut session = user_session(true);
    let policy = RetryPolicy::standard().with_max_attempts(10);
    let t = run(
        policy,
        &mut session,
        read(),
        vec![missing(), session_ok(1), status(503), missing()],
        || Credentials::login("user", "password1").into(),
    );
    assert!(
        matches!(t.result, Err(Error::RestoreFailed(_))),
        "{:?}",
        t.result
    );
    assert_eq!(t.steps.iter().filter(|s| **s == "ask restore").count(), 1);
}

#[test]
fn a_restore_s_session_request_that_keeps_failing_releases_the_turn() {
    let mut session = user_session(true);
    let t = run(
        RetryPolicy::standard(),
        &mut session,
        read(),
        vec![missing(), status(503), status(503), status(503)],
        || Credentials::login("user", "password1").into(),
    );
    assert_eq!(status_of(&t.result), Some(503));
    assert_eq!(t.steps.last(), Some(&"done"));
    assert_eq!(t.steps[t.steps.len() - 2], "release turn");
    assert_eq!(t.report.resends, 2);
}

#[test]
fn handing_in_a_failure_with_nothing_in_flight_is_a_misuse() {
    let mut session = user_session(false);
    let mut call = Call::new(config(RetryPolicy::standard()), read());
    assert!(matches!(
        call.handle_failure(TransportFailure::Refused),
        Err(Error::Misuse(Misuse::FailureWithoutRequest))
    ));
    let Step::Send(_) = call.poll(&mut session, T0, 1) else {
        panic!("a read goes out")
    };
    assert!(matches!(
        call.handle_failure(TransportFailure::Refused),
        Ok(AfterFailure::Retry)
    ));
    // Waiting, not in flight: a second failure is a misuse, and changes nothing.
    assert!(matches!(
        call.handle_failure(TransportFailure::Refused),
        Err(Error::Misuse(Misuse::FailureWithoutRequest))
    ));
    assert!(matches!(call.poll(&mut session, T0, HALF), Step::Wait(_)));
    assert!(matches!(call.poll(&mut session, T0, 1), Step::Send(_)));
}

/// `GET` on another host: a storage URL, answered like the API.
struct Elsewhere;

impl Operation for Elsewhere {
    type Output = ();
    fn access(&self) -> Access {
        Access::Public
    }
    fn build(&self, _: &RequestContext<'_>) -> Result<Request, Error> {
        Ok(http::Request::get("http://storage.test/file")
            .body(Vec::new())
            .unwrap())
    }
    fn parse(&self, _: &Response) -> Result<(), Error> {
        Ok(())
    }
}

#[test]
fn a_request_off_the_api_is_retried_too() {
    let mut session = Session::default();
    let t = run(
        RetryPolicy::standard(),
        &mut session,
        Elsewhere,
        vec![status(503), ok("")],
        decline,
    );
    assert!(t.result.is_ok());
    assert_eq!(t.report.resends, 1);
}
