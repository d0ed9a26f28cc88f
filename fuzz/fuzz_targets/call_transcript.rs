//! A whole call answered by a hostile server: the access kind, the starting
//! session, the restore callback's answers, every status, header (deadline,
//! `Date`, `Retry-After`) and body, and the transport failures, taken from
//! the input. The call always ends, never panics, resends after a lost
//! session at most once and after transient failures as the policy allows,
//! signs again at most once, never waits past the budget, takes and
//! releases the restore turn in pairs, sends nothing once it is done, and
//! ends with an outcome that fits the statuses it was sent.
#![no_main]

use cube_proto::ops::{Access, Operation};
use cube_proto::retry::{AfterFailure, RetryPolicy, TransportFailure};
use cube_proto::session::SessionOptions;
use cube_proto::wire::{Request, RequestContext, Response};
use cube_proto::{
    Call, Config, Credentials, Error, IssuedToken, Misuse, RestoreAnswer, Session, SessionChange,
    Step,
};
use libfuzzer_sys::fuzz_target;
use time::{Duration, OffsetDateTime};

const BODIES: [&[u8]; 7] = [
    br#"{"session":{"id":1,"user_id":2,"token":"t"}}"#,
    br#"{"session":{"id":1,"user_id":0,"token":"t"}}"#,
    br#"{"errors":{"base":["Required session does not exist"]}}"#,
    br#"{"user":{"id":2}}"#,
    b"<html>",
    b"",
    br#"{"errors":{"timestamp":["invalid timestamp"]}}"#,
];
const STATUSES: [u16; 8] = [200, 201, 401, 403, 422, 500, 503, 429];
const FAILURES: [TransportFailure; 6] = [
    TransportFailure::Refused,
    TransportFailure::ConnectTimedOut,
    TransportFailure::ResetBeforeSent,
    TransportFailure::ResetAfterSent,
    TransportFailure::TimedOutBeforeAnswer,
    TransportFailure::Other,
];
const ACCESSES: [Access; 6] = [
    Access::Public,
    Access::Optional,
    Access::Read,
    Access::Write,
    Access::Current,
    Access::SignIn,
];

/// `GET /probe` under the access the input chose; any 2xx is its answer.
struct Probe(Access);

impl Operation for Probe {
    type Output = u16;
    fn access(&self) -> Access {
        self.0
    }
    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        let mut b = http::Request::get(ctx.config.url("/probe", None));
        if let Some(t) = ctx.token {
            b = b.header("CB-Token", t.expose());
        }
        Ok(b.body(Vec::new()).expect("a plain GET"))
    }
    fn parse(&self, response: &Response) -> Result<u16, Error> {
        Ok(response.status().as_u16())
    }
}

/// What the server was sent and answered, in order.
struct Exchange {
    session_request: bool,
    status: u16,
    session_missing: bool,
}

fuzz_target!(|data: &[u8]| {
    let mut input = data.iter().copied();
    let mut byte = move || input.next().unwrap_or(0);
    let setup = byte();
    let auth_key = setup & 1 == 0;
    let policy = RetryPolicy::standard()
        .with_max_attempts(1 + byte() % RetryPolicy::MAX_ATTEMPTS)
        .with_budget(std::time::Duration::from_millis(u64::from(byte()) * 100));
    let config = if auth_key {
        Config::builder(1, "k").auth_secret("s")
    } else {
        Config::builder_without_auth_key(1)
    }
    .retry_policy(policy)
    .build()
    .expect("a valid configuration");
    let options = SessionOptions {
        restore: setup & 2 != 0,
        auth_key,
        margin: Duration::seconds(i64::from(setup >> 4) * 5),
    };
    let mut now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
    let deadline = now + Duration::seconds(i64::from(byte()) * 60 - 3600);
    let mut session = match (setup >> 2) & 3 {
        0 => Session::for_config(&config, options),
        1 => Session::adopted(&config, options, IssuedToken::new("adopted").user(2))
            .expect("a valid token"),
        2 => Session::adopted(
            &config,
            options,
            IssuedToken::new("adopted").expires_at(deadline),
        )
        .expect("a valid token"),
        _ => {
            let mut s = Session::for_config(&config, options);
            s.adopt(
                &config,
                IssuedToken::new("resumed").guest(2).expires_at(deadline),
            )
            .expect("a valid token");
            let snapshot = s.export().expect("a session");
            Session::resumed(&config, options, snapshot).expect("its own snapshot")
        }
    };
    let access = ACCESSES[usize::from(byte() % 6)];
    let mut call = Call::new(config, Probe(access));
    let mut sent: Vec<Exchange> = Vec::new();
    let mut turn = false;
    let mut waited = std::time::Duration::ZERO;
    for step in 0..96u32 {
        let random = u32::from_le_bytes([byte(), byte(), byte(), byte()]) ^ step;
        match call.poll(&mut session, now, random) {
            Step::Send(request) => {
                let session_request = request.uri().path() == "/session";
                let fate = byte();
                if fate % 5 == 0 {
                    let failure = FAILURES[usize::from(fate / 5) % FAILURES.len()];
                    match call
                        .handle_failure(failure)
                        .expect("a request is in flight")
                    {
                        AfterFailure::Retry => assert!(failure.is_transient()),
                        AfterFailure::GiveUp => {
                            assert!(!turn || session_request, "only a restore holds the turn");
                            assert!(call.is_done());
                            return;
                        }
                    }
                    continue;
                }
                let status = STATUSES[usize::from(byte()) % STATUSES.len()];
                let body = BODIES[usize::from(byte()) % BODIES.len()];
                let mut response = http::Response::builder().status(status);
                let extra = byte();
                if extra & 1 != 0 {
                    let at = now + Duration::seconds(i64::from(extra) * 3600 - 400_000);
                    let date = at
                        .format(time::macros::format_description!(
                            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
                        ))
                        .expect("a date in range");
                    response = response.header("Date", date);
                }
                if extra & 2 != 0 {
                    response = response.header("Retry-After", (extra >> 2).to_string());
                }
                let header_choice = byte();
                if header_choice % 3 == 0 {
                    let at = now + Duration::seconds(i64::from(header_choice) * 60 - 3600);
                    response = response.header(
                        "CB-Token-ExpirationDate",
                        cube_proto::expiry::format_expiration(at),
                    );
                } else if header_choice % 3 == 1 {
                    response = response.header("CB-Token-ExpirationDate", "garbage");
                }
                let response = response.body(body.to_vec()).expect("a response");
                let session_missing = status == 401 && body == BODIES[2];
                sent.push(Exchange {
                    session_request,
                    status,
                    session_missing,
                });
                call.handle_response(&mut session, response)
                    .expect("a response to a request in flight");
                now += Duration::seconds(i64::from(byte()) * 60);
            }
            Step::Wait(pause) => {
                waited += pause;
                assert!(
                    waited <= policy.budget(),
                    "the waits stay within the budget"
                );
                now += pause;
            }
            Step::TakeRestoreTurn => {
                assert!(!turn, "the turn is taken once");
                turn = true;
            }
            Step::AskRestore => {
                assert!(turn, "the callback runs holding the turn");
                let answer = match byte() % 3 {
                    0 => RestoreAnswer::Decline,
                    1 => Credentials::login("a", "b").into(),
                    _ => IssuedToken::new("ready").user(2).into(),
                };
                call.provide_restore(&mut session, answer)
                    .expect("an answer that was asked for");
            }
            Step::ReleaseRestoreTurn => {
                assert!(turn, "only a held turn is released");
                turn = false;
            }
            Step::Done(outcome) => {
                assert!(!turn, "a finished call holds no turn");
                let report = call.report();
                assert_eq!(report.waited, waited);
                assert!(report.resends < policy.max_attempts());
                check_outcome(&outcome, &sent, call.retries(), &report);
                assert!(matches!(
                    call.poll(&mut session, now, 99),
                    Step::Done(Err(Error::Misuse(Misuse::PolledAfterDone)))
                ));
                while let Some(event) = session.poll_event() {
                    assert_eq!(
                        event.snapshot.is_none(),
                        event.change == SessionChange::Destroyed,
                        "only a destroyed session has no snapshot"
                    );
                }
                return;
            }
        }
    }
    panic!("a call did not end within 96 steps");
});

/// The outcome must be what the last answers say.
fn check_outcome(
    outcome: &Result<u16, Error>,
    sent: &[Exchange],
    retries: u8,
    report: &cube_proto::call::CallReport,
) {
    let operations: Vec<&Exchange> = sent.iter().filter(|e| !e.session_request).collect();
    let sessions = sent.len() - operations.len();
    let again = usize::from(report.resends) + usize::from(report.resigned);
    assert!(retries <= 1, "at most one resend after a lost session");
    assert!(
        operations.len() <= 2 + usize::from(report.resends),
        "the operation goes out at most twice, and once per transient resend"
    );
    let created = sent
        .iter()
        .filter(|e| e.session_request && (200..300).contains(&e.status))
        .count();
    assert!(created <= 2, "at most two sessions per call");
    assert!(
        sessions <= 2 + again,
        "a session request goes again only to resend or re-sign"
    );
    let last = sent.last();
    match outcome {
        Ok(status) => {
            let last = last.expect("a success was sent");
            assert!(!last.session_request, "the operation answered last");
            assert_eq!(*status, last.status, "the answer is the last status");
            assert!((200..300).contains(status));
        }
        Err(Error::Api(e)) => {
            let last = last.expect("an API error was sent");
            assert_eq!(
                e.status.as_u16(),
                last.status,
                "the error is the last status"
            );
            assert!(!e.status.is_success());
        }
        Err(Error::RestoreFailed(e)) => {
            assert!(e.is_session_missing());
            assert_eq!(retries, 1);
            // Two lost sessions, the last answer one of them; transient
            // answers may come between.
            let lost = operations.iter().filter(|e| e.session_missing).count();
            assert!(
                lost == 2 && operations.last().is_some_and(|e| e.session_missing),
                "two lost sessions, the second the end"
            );
        }
        Err(Error::Decode(e)) => {
            let last = last.expect("a body was sent");
            assert_eq!(e.status.as_u16(), last.status);
            assert!(
                last.session_request,
                "only session answers can be undecodable here"
            );
        }
        Err(Error::Misuse(m)) => panic!("the driver made no mistake, yet: {m}"),
        Err(Error::SessionExpired) => {
            // Refused, or the session was lost while acting on it, or it
            // expired while the call waited to send again.
            if let Some(last) = last {
                assert!(
                    last.session_missing || last.session_request || transient(last),
                    "expired after a 401, a dead new session or a wait"
                );
            }
        }
        Err(Error::NoSession | Error::NeedUser | Error::NoAuthKey | Error::RestoreOverruled) => {
            // Decided before sending the operation again: the last answer
            // was not a success of the operation.
            if let Some(last) = last {
                assert!(
                    last.session_request || last.session_missing || transient(last),
                    "a refusal follows a new session, a lost one or a wait"
                );
            }
        }
        Err(e) => panic!("an error this call cannot produce: {e:?}"),
    }
}

/// An answer after which the call may have waited to send again.
fn transient(exchange: &Exchange) -> bool {
    matches!(exchange.status, 429 | 503)
}
