//! Transcripts of whole calls through the session state machine: which
//! requests go out, in what order, with which token, and how the session ends.

use cube_proto::call::{Call, Step};
use cube_proto::ops::{
    Access, CreateSession, DestroySession, DestroySessionById, Operation, SignIn, SignOut,
};
use cube_proto::session::{DEFAULT_MARGIN, SessionOptions};
use cube_proto::wire::{Request, RequestContext, Response};
use cube_proto::{
    Config, Credentials, Error, ExpiredBy, IssuedToken, Misuse, RestoreAnswer, Session,
    SessionChange, SessionKind, SessionStatus,
};
use http::Method;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-11-24 10:00:00 UTC);
const MISSING: &[u8] = br#"{"errors":{"base":["Required session does not exist"]}}"#;

fn config() -> Config {
    Config::builder(1, "key")
        .base_url("http://cube.test")
        .build()
        .unwrap()
}

/// A stand-in operation with a chosen access: `GET /probe`, answer ignored.
struct Probe(Access);

impl Operation for Probe {
    type Output = u16;
    fn access(&self) -> Access {
        self.0
    }
    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        let mut b = http::Request::builder()
            .method(Method::GET)
            .uri(ctx.config.url("/probe", None));
        if let Some(t) = ctx.token {
            b = b.header("CB-Token", t.expose());
        }
        Ok(b.body(Vec::new()).unwrap())
    }
    fn parse(&self, response: &Response) -> Result<u16, Error> {
        Ok(response.status().as_u16())
    }
}

/// A scripted server: answers each request with the next closure's response
/// and records `METHOD /path token`.
struct Server {
    log: Vec<String>,
    next_token: u32,
    user_id: u64,
    /// Deadline the server announces, relative to the request time.
    header_ttl: Option<Duration>,
    /// When true, every `/probe` answers 401 session missing.
    probe_always_401: bool,
    /// Answer the next N probes with 401 session missing.
    probe_401s: u32,
}

impl Server {
    fn new() -> Self {
        Self {
            log: Vec::new(),
            next_token: 1,
            user_id: 77,
            header_ttl: Some(Duration::hours(2)),
            probe_always_401: false,
            probe_401s: 0,
        }
    }

    fn answer(&mut self, req: Request, now: OffsetDateTime) -> Response {
        let token = req
            .headers()
            .get("CB-Token")
            .map(|v| v.to_str().unwrap().to_owned());
        self.log.push(format!(
            "{} {} {}",
            req.method(),
            req.uri().path(),
            token.as_deref().unwrap_or("-")
        ));
        let mut resp = http::Response::builder();
        if let Some(ttl) = self.header_ttl {
            resp = resp.header(
                "CB-Token-ExpirationDate",
                cube_proto::expiry::format_expiration(now + ttl),
            );
        }
        let (status, body) = match req.uri().path() {
            "/session" if req.method() == Method::POST => {
                let body: serde_json::Value = serde_json::from_slice(req.body()).unwrap();
                let user_id = if body.get("user").is_some() {
                    self.user_id
                } else {
                    0
                };
                let token = format!("t{}", self.next_token);
                self.next_token += 1;
                (
                    201,
                    format!(
                        r#"{{"session":{{"id":{},"user_id":{user_id},"token":"{token}"}}}}"#,
                        self.next_token
                    ),
                )
            }
            "/probe" if self.probe_always_401 || self.probe_401s > 0 => {
                self.probe_401s = self.probe_401s.saturating_sub(1);
                (401, String::from_utf8(MISSING.to_vec()).unwrap())
            }
            "/login" if req.method() == Method::POST => {
                (200, format!(r#"{{"user":{{"id":{}}}}}"#, self.user_id))
            }
            _ => (200, String::new()),
        };
        resp.status(status).body(body.into_bytes()).unwrap()
    }
}

/// Runs a call to the end, answering restores with `restore`, and checks
/// the restore-turn steps come in pairs and a finished call sends nothing.
fn drive<O: Operation, R: Into<RestoreAnswer>>(
    server: &mut Server,
    session: &mut Session,
    op: O,
    now: OffsetDateTime,
    restore: &mut dyn FnMut() -> R,
) -> (Result<O::Output, Error>, u8) {
    let mut call = Call::new(config(), op);
    let mut turn = false;
    for nonce in 0..20 {
        match call.poll(session, now, nonce) {
            Step::Send(req) => {
                let resp = server.answer(req, now);
                call.handle_response(session, resp).unwrap();
            }
            Step::TakeRestoreTurn => {
                assert!(!turn, "the turn is taken once");
                turn = true;
            }
            Step::AskRestore => {
                assert!(turn, "the callback runs holding the turn");
                call.provide_restore(session, restore()).unwrap();
            }
            Step::ReleaseRestoreTurn => {
                assert!(turn, "only a held turn is released");
                turn = false;
            }
            Step::Wait(pause) => panic!("nothing here is transient, yet the call waits {pause:?}"),
            Step::Done(r) => {
                assert!(!turn, "a finished call holds no turn");
                let sent = server.log.len();
                assert!(matches!(
                    call.poll(session, now, 99),
                    Step::Done(Err(Error::Misuse(Misuse::PolledAfterDone)))
                ));
                assert_eq!(
                    server.log.len(),
                    sent,
                    "polling a finished call sends nothing"
                );
                return (r, call.retries());
            }
        }
    }
    panic!("the call did not finish in 20 steps: {:?}", server.log);
}

fn no_restore() -> Option<Credentials> {
    panic!("the restore callback must not be called")
}

fn user_session(server: &mut Server, margin: Duration) -> Session {
    session_with(server, margin, Credentials::login("u", "password1"))
}

/// A session created through a first call, with the server's log cleared.
fn session_with(server: &mut Server, margin: Duration, credentials: Credentials) -> Session {
    let mut s = Session::new(SessionOptions {
        margin,
        ..Default::default()
    });
    let (r, _) = drive(
        server,
        &mut s,
        CreateSession::new(credentials),
        T0,
        &mut no_restore,
    );
    r.unwrap();
    server.log.clear();
    s
}

#[test]
fn a_read_with_no_session_creates_an_application_session_first() {
    let mut server = Server::new();
    let mut session = Session::default();
    let (r, retries) = drive(
        &mut server,
        &mut session,
        Probe(Access::Read),
        T0,
        &mut no_restore,
    );
    assert_eq!(r.unwrap(), 200);
    assert_eq!(retries, 0);
    assert_eq!(server.log, ["POST /session -", "GET /probe t1"]);
    assert_eq!(session.status(T0), SessionStatus::Application);
}

#[test]
fn a_write_on_an_application_session_is_refused_before_sending() {
    let mut server = Server::new();
    let mut session = session_with(&mut server, DEFAULT_MARGIN, Credentials::Application);
    let (r, _) = drive(
        &mut server,
        &mut session,
        Probe(Access::Write),
        T0,
        &mut no_restore,
    );
    assert!(matches!(r, Err(Error::NeedUser)), "{r:?}");
    assert!(server.log.is_empty());
    let (r, _) = drive(
        &mut server,
        &mut Session::default(),
        Probe(Access::Write),
        T0,
        &mut no_restore,
    );
    assert!(matches!(r, Err(Error::NoSession)), "{r:?}");
    assert!(server.log.is_empty());
}

#[test]
fn expiry_follows_the_header_to_the_second() {
    let mut server = Server::new();
    let mut session = user_session(&mut server, Duration::ZERO);
    assert_eq!(session.expires_at(), Some(T0 + Duration::hours(2)));
    // One second before the deadline the call goes out with the token.
    let just_before = T0 + Duration::hours(2) - Duration::seconds(1);
    drive(
        &mut server,
        &mut session,
        Probe(Access::Read),
        just_before,
        &mut no_restore,
    )
    .0
    .unwrap();
    assert_eq!(server.log, ["GET /probe t1"]);
    // That request re-armed the deadline to two hours after it.
    assert_eq!(session.expires_at(), Some(just_before + Duration::hours(2)));
    // At the new deadline the user session is expired; with no restore
    // callback it is not replaced by another kind.
    let deadline = just_before + Duration::hours(2);
    assert_eq!(session.status(deadline), SessionStatus::Expired);
    server.log.clear();
    let (r, _) = drive(
        &mut server,
        &mut session,
        Probe(Access::Read),
        deadline,
        &mut no_restore,
    );
    assert!(matches!(r, Err(Error::SessionExpired)), "{r:?}");
    assert!(server.log.is_empty());
}

#[test]
fn without_the_header_expiry_is_request_time_plus_two_hours() {
    let mut server = Server::new();
    server.header_ttl = None;
    let mut session = user_session(&mut server, Duration::ZERO);
    assert_eq!(session.expires_at(), Some(T0 + Duration::hours(2)));
    let later = T0 + Duration::hours(1);
    drive(
        &mut server,
        &mut session,
        Probe(Access::Read),
        later,
        &mut no_restore,
    )
    .0
    .unwrap();
    assert_eq!(session.expires_at(), Some(T0 + Duration::hours(3)));
}

#[test]
fn the_safety_margin_makes_a_session_invalid_early() {
    let mut server = Server::new();
    let session = user_session(&mut server, Duration::minutes(1));
    let deadline = T0 + Duration::hours(2);
    assert!(session.is_valid(deadline - Duration::seconds(61)));
    assert!(!session.is_valid(deadline - Duration::seconds(60)));
    assert_eq!(
        session.status(deadline - Duration::seconds(60)),
        SessionStatus::User
    );
}

#[test]
fn an_expired_session_is_restored_through_the_callback() {
    let mut server = Server::new();
    let mut session = user_session(&mut server, Duration::ZERO);
    session.set_restore(true);
    let later = T0 + Duration::hours(3);
    let mut asked = 0;
    let (r, retries) = drive(
        &mut server,
        &mut session,
        Probe(Access::Write),
        later,
        &mut || {
            asked += 1;
            Some(Credentials::login("u", "password1"))
        },
    );
    assert_eq!(r.unwrap(), 200);
    assert_eq!((asked, retries), (1, 0));
    assert_eq!(server.log, ["POST /session -", "GET /probe t2"]);
    assert_eq!(session.status(later), SessionStatus::User);
}

#[test]
fn a_401_mid_call_restores_once_and_retries_once() {
    let mut server = Server::new();
    let mut session = user_session(&mut server, Duration::ZERO);
    session.set_restore(true);
    server.probe_401s = 1;
    let mut asked = 0;
    let (r, retries) = drive(
        &mut server,
        &mut session,
        Probe(Access::Read),
        T0,
        &mut || {
            asked += 1;
            Some(Credentials::login("u", "password1"))
        },
    );
    assert_eq!(r.unwrap(), 200);
    assert_eq!((asked, retries), (1, 1));
    assert_eq!(
        server.log,
        ["GET /probe t1", "POST /session -", "GET /probe t2"]
    );
}

#[test]
fn a_server_that_always_says_401_gets_exactly_one_retry() {
    let mut server = Server::new();
    server.probe_always_401 = true;
    let mut session = user_session(&mut server, Duration::ZERO);
    session.set_restore(true);
    let mut asked = 0;
    let (r, retries) = drive(
        &mut server,
        &mut session,
        Probe(Access::Read),
        T0,
        &mut || {
            asked += 1;
            Some(Credentials::login("u", "password1"))
        },
    );
    match r {
        Err(Error::RestoreFailed(e)) => assert!(e.is_session_missing()),
        other => panic!("{other:?}"),
    }
    assert_eq!((asked, retries), (1, 1));
    assert_eq!(
        server.log,
        ["GET /probe t1", "POST /session -", "GET /probe t2"]
    );
    assert_eq!(session.status(T0), SessionStatus::Expired);
}

#[test]
fn without_restore_a_401_on_a_user_session_is_a_typed_error() {
    let mut server = Server::new();
    server.probe_401s = 1;
    let mut session = user_session(&mut server, Duration::ZERO);
    let (r, retries) = drive(
        &mut server,
        &mut session,
        Probe(Access::Read),
        T0,
        &mut no_restore,
    );
    assert!(matches!(r, Err(Error::SessionExpired)), "{r:?}");
    assert_eq!(retries, 1);
    assert_eq!(server.log, ["GET /probe t1"]);
}

#[test]
fn without_restore_a_lost_application_session_is_recreated_for_a_read() {
    let mut server = Server::new();
    let mut session = session_with(&mut server, DEFAULT_MARGIN, Credentials::Application);
    server.probe_401s = 1;
    let (r, retries) = drive(
        &mut server,
        &mut session,
        Probe(Access::Read),
        T0,
        &mut no_restore,
    );
    assert_eq!(r.unwrap(), 200);
    assert_eq!(retries, 1);
    assert_eq!(
        server.log,
        ["GET /probe t1", "POST /session -", "GET /probe t2"]
    );
}

#[test]
fn a_401_for_a_token_already_replaced_is_a_plain_resend() {
    let mut server = Server::new();
    let mut session = user_session(&mut server, Duration::ZERO);
    let mut call = Call::new(config(), Probe(Access::Read));
    let Step::Send(req) = call.poll(&mut session, T0, 1) else {
        panic!()
    };
    // Meanwhile another task restored the session: a new token is in place.
    let mut other = Call::new(
        config(),
        CreateSession::new(Credentials::login("u", "password1")),
    );
    let Step::Send(create) = other.poll(&mut session, T0, 2) else {
        panic!()
    };
    other
        .handle_response(&mut session, server.answer(create, T0))
        .unwrap();
    assert!(matches!(other.poll(&mut session, T0, 3), Step::Done(Ok(_))));
    // The old request now comes back 401.
    server.probe_401s = 1;
    call.handle_response(&mut session, server.answer(req, T0))
        .unwrap();
    assert_eq!(
        session.status(T0),
        SessionStatus::User,
        "the new session is untouched"
    );
    let Step::Send(resend) = call.poll(&mut session, T0, 4) else {
        panic!("a plain resend")
    };
    call.handle_response(&mut session, server.answer(resend, T0))
        .unwrap();
    assert!(matches!(
        call.poll(&mut session, T0, 5),
        Step::Done(Ok(200))
    ));
    assert_eq!(call.retries(), 1);
    // The original request was answered after the new session was made.
    assert_eq!(
        server.log,
        ["POST /session -", "GET /probe t1", "GET /probe t2"]
    );
}

#[test]
fn a_declined_restore_fails_typed() {
    let mut server = Server::new();
    let mut session = Session::new(SessionOptions {
        restore: true,
        ..Default::default()
    });
    let (r, _) = drive(
        &mut server,
        &mut session,
        Probe(Access::Read),
        T0,
        &mut || RestoreAnswer::Decline,
    );
    // There never was a session: that is what the error says.
    assert!(matches!(r, Err(Error::NoSession)), "{r:?}");
    assert!(server.log.is_empty());
    // There was one, and it expired.
    let mut session = user_session(&mut server, Duration::ZERO);
    session.set_restore(true);
    let later = T0 + Duration::hours(3);
    let (r, _) = drive(
        &mut server,
        &mut session,
        Probe(Access::Read),
        later,
        &mut || RestoreAnswer::Decline,
    );
    assert!(matches!(r, Err(Error::SessionExpired)), "{r:?}");
    assert!(server.log.is_empty());
}

#[test]
fn a_failed_restore_reports_the_server_error() {
    let mut session = Session::new(SessionOptions {
        restore: true,
        ..Default::default()
    });
    let mut call = Call::new(config(), Probe(Access::Read));
    assert!(matches!(
        call.poll(&mut session, T0, 1),
        Step::TakeRestoreTurn
    ));
    assert!(matches!(call.poll(&mut session, T0, 2), Step::AskRestore));
    call.provide_restore(&mut session, Credentials::login("u", "wrong-password"))
        .unwrap();
    let Step::Send(_) = call.poll(&mut session, T0, 3) else {
        panic!()
    };
    let unauthorized = http::Response::builder()
        .status(401)
        .body(br#"{"errors":{"base":["Unauthorized"]}}"#.to_vec())
        .unwrap();
    call.handle_response(&mut session, unauthorized).unwrap();
    assert!(matches!(
        call.poll(&mut session, T0, 4),
        Step::ReleaseRestoreTurn
    ));
    match call.poll(&mut session, T0, 5) {
        Step::Done(Err(Error::Api(e))) => assert_eq!(e.messages.base, ["Unauthorized"]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn guest_sessions_live_one_day_from_creation() {
    let mut server = Server::new();
    server.header_ttl = None;
    let mut session = Session::new(SessionOptions {
        margin: Duration::ZERO,
        ..Default::default()
    });
    drive(
        &mut server,
        &mut session,
        CreateSession::new(Credentials::guest(None)),
        T0,
        &mut no_restore,
    )
    .0
    .unwrap();
    assert_eq!(session.kind(), Some(SessionKind::Guest));
    assert_eq!(session.expires_at(), Some(T0 + Duration::days(1)));
    // Activity does not move a guest's deadline.
    drive(
        &mut server,
        &mut session,
        Probe(Access::Write),
        T0 + Duration::hours(23),
        &mut no_restore,
    )
    .0
    .unwrap();
    assert_eq!(session.expires_at(), Some(T0 + Duration::days(1)));
    assert_eq!(
        session.status(T0 + Duration::days(1)),
        SessionStatus::Expired
    );
}

#[test]
fn sign_in_and_sign_out_keep_the_token_and_change_the_kind() {
    let mut server = Server::new();
    let mut session = Session::default();
    // Sign in with no session creates the application session first.
    let (user, _) = drive(
        &mut server,
        &mut session,
        SignIn::new(Credentials::login("u", "password1")),
        T0,
        &mut no_restore,
    );
    assert_eq!(user.unwrap().id, 77);
    assert_eq!(server.log, ["POST /session -", "POST /login t1"]);
    assert_eq!(session.status(T0), SessionStatus::User);
    assert_eq!(session.user_id(), Some(77));
    drive(&mut server, &mut session, SignOut, T0, &mut no_restore)
        .0
        .unwrap();
    assert_eq!(session.status(T0), SessionStatus::Application);
    assert_eq!(session.token().unwrap().expose(), "t1");
    assert_eq!(session.user_id(), None);
}

#[test]
fn destroying_ends_the_session_and_later_calls_need_a_new_one() {
    let mut server = Server::new();
    let mut session = user_session(&mut server, Duration::ZERO);
    drive(
        &mut server,
        &mut session,
        DestroySession,
        T0,
        &mut no_restore,
    )
    .0
    .unwrap();
    assert_eq!(session.status(T0), SessionStatus::None);
    let (r, _) = drive(
        &mut server,
        &mut session,
        DestroySession,
        T0,
        &mut no_restore,
    );
    assert!(matches!(r, Err(Error::NoSession)), "{r:?}");
    let (r, _) = drive(&mut server, &mut session, SignOut, T0, &mut no_restore);
    assert!(matches!(r, Err(Error::NoSession)), "{r:?}");
}

#[test]
fn destroying_the_current_session_by_id_ends_it_and_another_id_does_not() {
    let mut server = Server::new();
    let mut session = user_session(&mut server, Duration::ZERO);
    let current = session.session_id().unwrap();
    drive(
        &mut server,
        &mut session,
        DestroySessionById::new(current + 1000),
        T0,
        &mut no_restore,
    )
    .0
    .unwrap();
    assert_eq!(session.status(T0), SessionStatus::User);
    drive(
        &mut server,
        &mut session,
        DestroySessionById::new(current),
        T0,
        &mut no_restore,
    )
    .0
    .unwrap();
    assert_eq!(session.status(T0), SessionStatus::None);
}

#[test]
fn a_server_whose_new_sessions_are_already_expired_cannot_make_a_call_loop() {
    let mut server = Server::new();
    server.header_ttl = Some(Duration::seconds(-1));
    let mut session = Session::default();
    let (r, _) = drive(
        &mut server,
        &mut session,
        Probe(Access::Read),
        T0,
        &mut no_restore,
    );
    assert!(matches!(r, Err(Error::SessionExpired)), "{r:?}");
    assert!(server.log.len() <= 2, "{:?}", server.log);
}

/// The changes the session has reported since the last look.
fn changes(session: &mut Session) -> Vec<SessionChange> {
    std::iter::from_fn(|| session.poll_event())
        .map(|e| e.change)
        .collect()
}

fn restoring_session(margin: Duration) -> Session {
    Session::new(SessionOptions {
        margin,
        restore: true,
        ..Default::default()
    })
}

#[test]
fn caller_mistakes_are_misuse_errors_and_a_finished_call_never_sends_again() {
    let mut server = Server::new();
    let mut session = Session::default();
    // A sign-up: sent with the auth key, answered, finished.
    let mut call = Call::new(
        config(),
        cube_proto::ops::SignUp::new(cube_proto::ops::NewUser::with_login("ann", "s3cret-pass")),
    );
    assert_eq!(
        call.handle_response(&mut session, http::Response::new(Vec::new()))
            .unwrap_err()
            .to_string(),
        Error::from(Misuse::ResponseWithoutRequest).to_string()
    );
    let Step::Send(req) = call.poll(&mut session, T0, 1) else {
        panic!()
    };
    assert!(matches!(
        call.poll(&mut session, T0, 2),
        Step::Done(Err(Error::Misuse(Misuse::PolledWhileInFlight)))
    ));
    assert!(matches!(
        call.provide_restore(&mut session, Credentials::guest(None)),
        Err(Error::Misuse(Misuse::RestoreNotAsked))
    ));
    // The response is still taken after the mistakes.
    let mut answer = server.answer(req, T0);
    *answer.body_mut() = br#"{"user":{"id":12}}"#.to_vec();
    call.handle_response(&mut session, answer).unwrap();
    assert!(matches!(
        call.poll(&mut session, T0, 3),
        Step::Done(Ok(ref u)) if u.id == 12
    ));
    assert!(call.is_done());
    for nonce in 4..7 {
        assert!(matches!(
            call.poll(&mut session, T0, nonce),
            Step::Done(Err(Error::Misuse(Misuse::PolledAfterDone)))
        ));
    }
    assert_eq!(server.log, ["POST /users -"], "one sign-up, never two");

    // Polling instead of answering the restore callback.
    let mut session = restoring_session(Duration::ZERO);
    let mut call = Call::new(config(), Probe(Access::Read));
    assert!(matches!(
        call.poll(&mut session, T0, 1),
        Step::TakeRestoreTurn
    ));
    assert!(matches!(call.poll(&mut session, T0, 2), Step::AskRestore));
    assert!(matches!(
        call.poll(&mut session, T0, 3),
        Step::Done(Err(Error::Misuse(Misuse::PolledWhileAsked)))
    ));
    call.provide_restore(&mut session, None::<Credentials>)
        .unwrap();
    assert!(matches!(
        call.poll(&mut session, T0, 4),
        Step::ReleaseRestoreTurn
    ));
    assert!(matches!(
        call.poll(&mut session, T0, 5),
        Step::Done(Err(Error::NoSession))
    ));
}

/// The restore-turn rule, in one place: the first caller to find the session
/// expired takes the turn and restores; a caller that gets the turn after the
/// restore releases it at once and sends with the new token; a caller that
/// gets it after a failed restore asks the callback itself.
#[test]
fn the_restore_turn_one_restore_for_every_waiting_caller() {
    let mut server = Server::new();
    let mut session = user_session(&mut server, Duration::ZERO);
    session.set_restore(true);
    let _ = changes(&mut session);
    let later = T0 + Duration::hours(3);
    let mut first = Call::new(config(), Probe(Access::Read));
    let mut second = Call::new(config(), Probe(Access::Write));
    let mut third = Call::new(config(), Probe(Access::Read));
    // All three find the session expired and queue for the turn.
    assert!(matches!(
        first.poll(&mut session, later, 1),
        Step::TakeRestoreTurn
    ));
    assert!(matches!(
        second.poll(&mut session, later, 2),
        Step::TakeRestoreTurn
    ));
    // The first gets the turn and restores...
    assert!(matches!(
        first.poll(&mut session, later, 3),
        Step::AskRestore
    ));
    first
        .provide_restore(&mut session, Credentials::login("u", "password1"))
        .unwrap();
    let Step::Send(create) = first.poll(&mut session, later, 4) else {
        panic!()
    };
    first
        .handle_response(&mut session, server.answer(create, later))
        .unwrap();
    // ...and gives the turn up as soon as the new session is in place.
    assert!(matches!(
        first.poll(&mut session, later, 5),
        Step::ReleaseRestoreTurn
    ));
    // A caller arriving now needs no turn at all.
    assert!(matches!(third.poll(&mut session, later, 6), Step::Send(_)));
    // The second gets the turn, finds a live session, releases and sends.
    assert!(matches!(
        second.poll(&mut session, later, 7),
        Step::ReleaseRestoreTurn
    ));
    let Step::Send(req) = second.poll(&mut session, later, 8) else {
        panic!("no second restore")
    };
    assert_eq!(req.headers()["CB-Token"], "t2");
    let Step::Send(req) = first.poll(&mut session, later, 9) else {
        panic!()
    };
    assert_eq!(req.headers()["CB-Token"], "t2");
    assert_eq!(server.log, ["POST /session -"]);
    assert_eq!(
        changes(&mut session),
        [
            SessionChange::Expired(ExpiredBy::Clock),
            SessionChange::Restored
        ],
        "one expiry, one restore"
    );

    // A declined restore hands the turn on to the next waiting caller, who
    // asks the callback itself.
    let mut session = restoring_session(Duration::ZERO);
    let mut first = Call::new(config(), Probe(Access::Read));
    let mut second = Call::new(config(), Probe(Access::Read));
    assert!(matches!(
        first.poll(&mut session, T0, 1),
        Step::TakeRestoreTurn
    ));
    assert!(matches!(
        second.poll(&mut session, T0, 2),
        Step::TakeRestoreTurn
    ));
    assert!(matches!(first.poll(&mut session, T0, 3), Step::AskRestore));
    first
        .provide_restore(&mut session, RestoreAnswer::Decline)
        .unwrap();
    assert!(matches!(
        first.poll(&mut session, T0, 4),
        Step::ReleaseRestoreTurn
    ));
    assert!(matches!(
        first.poll(&mut session, T0, 5),
        Step::Done(Err(Error::NoSession))
    ));
    assert!(matches!(second.poll(&mut session, T0, 6), Step::AskRestore));
}

#[test]
fn a_restore_may_answer_with_a_ready_session_and_no_session_request_is_made() {
    let mut server = Server::new();
    server.header_ttl = Some(Duration::minutes(90));
    let mut session = restoring_session(Duration::ZERO);
    let (r, retries) = drive(
        &mut server,
        &mut session,
        Probe(Access::Write),
        T0,
        &mut || IssuedToken::new("from-backend").user(81),
    );
    assert_eq!((r.unwrap(), retries), (200, 0));
    assert_eq!(server.log, ["GET /probe from-backend"]);
    assert_eq!(session.user_id(), Some(81));
    // The deadline nobody said is the first response's header.
    assert_eq!(session.expires_at(), Some(T0 + Duration::minutes(90)));
    assert_eq!(changes(&mut session), [SessionChange::Restored]);
    // A token that cannot go in a header is refused, typed, before sending.
    let mut session = restoring_session(Duration::ZERO);
    server.log.clear();
    let (r, _) = drive(
        &mut server,
        &mut session,
        Probe(Access::Read),
        T0,
        &mut || IssuedToken::new("bad\ntoken"),
    );
    assert!(
        matches!(r, Err(Error::InvalidInput(ref e)) if e.field == "token"),
        "{r:?}"
    );
    assert!(server.log.is_empty());
}

fn keyless_config() -> Config {
    Config::builder_without_auth_key(1)
        .base_url("http://cube.test")
        .build()
        .unwrap()
}

#[test]
fn without_an_auth_key_a_call_needing_a_new_session_fails_typed() {
    let mut server = Server::new();
    let options = SessionOptions {
        auth_key: false,
        ..Default::default()
    };
    let mut session = Session::for_config(&keyless_config(), options);
    let run = |session: &mut Session, op: Probe| {
        let mut call = Call::new(keyless_config(), op);
        call.poll(session, T0, 1)
    };
    assert!(matches!(
        run(&mut session, Probe(Access::Read)),
        Step::Done(Err(Error::NoAuthKey))
    ));
    assert!(matches!(
        run(&mut session, Probe(Access::SignIn)),
        Step::Done(Err(Error::NoAuthKey))
    ));
    // Sign-up without a session would need the auth key too.
    let mut call = Call::new(
        keyless_config(),
        cube_proto::ops::SignUp::new(cube_proto::ops::NewUser::with_login("ann", "s3cret-pass")),
    );
    assert!(matches!(
        call.poll(&mut session, T0, 1),
        Step::Done(Err(Error::NoAuthKey))
    ));
    // A restore answered with credentials cannot create a session either,
    // and a declined one says why the call failed.
    session.set_restore(true);
    for answer in [
        RestoreAnswer::Credentials(Credentials::login("u", "password1")),
        RestoreAnswer::Decline,
    ] {
        let mut call = Call::new(keyless_config(), Probe(Access::Read));
        let mut steps = Vec::new();
        let mut answer = Some(answer);
        // Bounded: a call that keeps asking for the turn fails here, not hangs.
        let mut outcome = None;
        for _ in 0..10 {
            match call.poll(&mut session, T0, 1) {
                Step::AskRestore => call
                    .provide_restore(&mut session, answer.take().unwrap())
                    .unwrap(),
                Step::Done(r) => {
                    outcome = Some(r);
                    break;
                }
                Step::Send(req) => panic!("nothing may be sent: {req:?}"),
                other => steps.push(format!("{other:?}")),
            }
        }
        let outcome = outcome.unwrap_or_else(|| panic!("no end in 10 steps: {steps:?}"));
        assert!(matches!(outcome, Err(Error::NoAuthKey)), "{outcome:?}");
        assert_eq!(steps, ["TakeRestoreTurn", "ReleaseRestoreTurn"]);
    }
    // A ready session does it.
    let mut call = Call::new(keyless_config(), Probe(Access::Read));
    assert!(matches!(
        call.poll(&mut session, T0, 1),
        Step::TakeRestoreTurn
    ));
    assert!(matches!(call.poll(&mut session, T0, 2), Step::AskRestore));
    call.provide_restore(&mut session, IssuedToken::new("handed-over"))
        .unwrap();
    assert!(matches!(
        call.poll(&mut session, T0, 3),
        Step::ReleaseRestoreTurn
    ));
    let Step::Send(req) = call.poll(&mut session, T0, 4) else {
        panic!()
    };
    call.handle_response(&mut session, server.answer(req, T0))
        .unwrap();
    assert!(matches!(
        call.poll(&mut session, T0, 5),
        Step::Done(Ok(200))
    ));
    assert_eq!(server.log, ["GET /probe handed-over"]);
}

/// Runs a restore up to its session request and returns the call with the
/// request still unanswered.
fn restore_in_flight(session: &mut Session, op: Probe) -> (Call<Probe>, cube_proto::wire::Request) {
    let mut call = Call::new(config(), op);
    assert!(matches!(call.poll(session, T0, 1), Step::TakeRestoreTurn));
    assert!(matches!(call.poll(session, T0, 2), Step::AskRestore));
    call.provide_restore(session, Credentials::login("u", "password1"))
        .unwrap();
    let Step::Send(create) = call.poll(session, T0, 3) else {
        panic!()
    };
    (call, create)
}

#[test]
fn a_restore_that_completes_after_the_app_spoke_does_not_undo_it() {
    // The app signs in and out while a read restores: the read goes on with
    // the application session the app left, and no user session comes back.
    let mut server = Server::new();
    let mut session = restoring_session(Duration::ZERO);
    let (mut call, create) = restore_in_flight(&mut session, Probe(Access::Read));
    drive(
        &mut server,
        &mut session,
        SignIn::new(Credentials::login("u", "password1")),
        T0,
        &mut no_restore,
    )
    .0
    .unwrap();
    drive(&mut server, &mut session, SignOut, T0, &mut no_restore)
        .0
        .unwrap();
    call.handle_response(&mut session, server.answer(create, T0))
        .unwrap();
    assert!(matches!(
        call.poll(&mut session, T0, 4),
        Step::ReleaseRestoreTurn
    ));
    let Step::Send(req) = call.poll(&mut session, T0, 5) else {
        panic!()
    };
    assert_eq!(req.headers()["CB-Token"], "t1", "the app's token");
    assert_eq!(session.status(T0), SessionStatus::Application);
    assert_eq!(
        changes(&mut session),
        [
            SessionChange::Created(SessionKind::Application),
            SessionChange::Upgraded,
            SessionChange::Downgraded
        ],
        "no restore was reported"
    );

    // The app destroys its session while a write restores: the write fails
    // typed and the session stays gone.
    let mut server = Server::new();
    let mut session = restoring_session(Duration::ZERO);
    let (mut call, create) = restore_in_flight(&mut session, Probe(Access::Write));
    drive(
        &mut server,
        &mut session,
        CreateSession::new(Credentials::login("u", "password1")),
        T0,
        &mut no_restore,
    )
    .0
    .unwrap();
    drive(
        &mut server,
        &mut session,
        DestroySession,
        T0,
        &mut no_restore,
    )
    .0
    .unwrap();
    call.handle_response(&mut session, server.answer(create, T0))
        .unwrap();
    assert!(matches!(
        call.poll(&mut session, T0, 4),
        Step::ReleaseRestoreTurn
    ));
    assert!(matches!(
        call.poll(&mut session, T0, 5),
        Step::Done(Err(Error::RestoreOverruled))
    ));
    assert_eq!(session.status(T0), SessionStatus::None);

    // Same with a ready session: the app forgot the session while the
    // callback ran.
    let mut session = restoring_session(Duration::ZERO);
    let _ = session.adopt(&config(), IssuedToken::new("old").user(3));
    session.end();
    let mut call = Call::new(config(), Probe(Access::Read));
    assert!(matches!(
        call.poll(&mut session, T0, 1),
        Step::TakeRestoreTurn
    ));
    assert!(matches!(call.poll(&mut session, T0, 2), Step::AskRestore));
    session
        .adopt(&config(), IssuedToken::new("apps-own"))
        .unwrap();
    session.end();
    call.provide_restore(&mut session, IssuedToken::new("late").user(3))
        .unwrap();
    assert!(matches!(
        call.poll(&mut session, T0, 3),
        Step::ReleaseRestoreTurn
    ));
    assert!(matches!(
        call.poll(&mut session, T0, 4),
        Step::Done(Err(Error::RestoreOverruled))
    ));
    assert_eq!(session.status(T0), SessionStatus::None);
}

#[test]
fn every_change_is_reported_once_with_its_snapshot() {
    let mut server = Server::new();
    let mut session = Session::for_config(
        &config(),
        SessionOptions {
            margin: Duration::ZERO,
            restore: true,
            ..Default::default()
        },
    );
    let login = || Credentials::login("u", "password1");
    let s = &mut session;
    let app = CreateSession::application();
    drive(&mut server, s, app, T0, &mut no_restore).0.unwrap();
    assert_eq!(
        changes(s),
        [SessionChange::Created(SessionKind::Application)]
    );
    drive(&mut server, s, SignIn::new(login()), T0, &mut no_restore)
        .0
        .unwrap();
    assert_eq!(changes(s), [SessionChange::Upgraded]);
    let later = T0 + Duration::hours(3);
    drive(&mut server, s, Probe(Access::Read), later, &mut || {
        Some(login())
    })
    .0
    .unwrap();
    assert_eq!(
        changes(s),
        [
            SessionChange::Expired(ExpiredBy::Clock),
            SessionChange::Restored
        ]
    );
    let snapshot = s.export().unwrap();
    assert_eq!(snapshot.token().unwrap().expose(), "t2");
    assert_eq!(snapshot.expires_at(), Some(later + Duration::hours(2)));
    drive(&mut server, s, SignOut, later, &mut no_restore)
        .0
        .unwrap();
    assert_eq!(changes(s), [SessionChange::Downgraded]);
    // A 401 is the server's word.
    server.probe_401s = 1;
    let mut call = Call::new(config(), Probe(Access::Current));
    let Step::Send(req) = call.poll(&mut session, later, 1) else {
        panic!()
    };
    call.handle_response(&mut session, server.answer(req, later))
        .unwrap();
    let event = session.poll_event().unwrap();
    assert_eq!(event.change, SessionChange::Expired(ExpiredBy::Server));
    let dead = event.snapshot.unwrap();
    assert_eq!(
        (dead.token(), dead.kind()),
        (None, SessionKind::Application)
    );
    assert!(session.poll_event().is_none(), "exactly one event");
    // Destroyed carries no snapshot; ending nothing reports nothing.
    session.end();
    let event = session.poll_event().unwrap();
    assert_eq!(
        (event.change, event.snapshot),
        (SessionChange::Destroyed, None)
    );
    session.end();
    assert!(session.poll_event().is_none());
}

#[test]
fn a_snapshot_resumes_exactly_where_the_session_was() {
    let mut server = Server::new();
    let mut session = Session::for_config(&config(), SessionOptions::default());
    drive(
        &mut server,
        &mut session,
        CreateSession::new(Credentials::guest(Some("G".into()))),
        T0,
        &mut no_restore,
    )
    .0
    .unwrap();
    let snapshot = session.export().unwrap();
    let json = serde_json::to_string(&snapshot).unwrap();
    assert!(json.contains(r#""kind":"guest""#), "{json}");
    let back: cube_proto::SessionSnapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, snapshot);
    assert!(!format!("{back:?}").contains("t1"), "Debug hides the token");
    let resumed = Session::resumed(&config(), SessionOptions::default(), back.clone()).unwrap();
    let later = T0 + Duration::hours(5);
    for at in [T0, later, T0 + Duration::days(1)] {
        assert_eq!(resumed.status(at), session.status(at));
        assert_eq!(resumed.is_valid(at), session.is_valid(at));
    }
    assert_eq!(resumed.token(), session.token());
    assert_eq!(resumed.user_id(), session.user_id());
    assert_eq!(resumed.session_id(), session.session_id());
    assert_eq!(resumed.expires_at(), session.expires_at());
    assert_eq!(resumed.export().unwrap(), snapshot);

    // Another application or server: refused, named.
    let other_app = Config::builder(2, "key")
        .base_url("http://cube.test")
        .build()
        .unwrap();
    let other_url = Config::builder(1, "key")
        .base_url("http://cube.test/v2")
        .build()
        .unwrap();
    for (config, what) in [(other_app, "application id"), (other_url, "base URL")] {
        match Session::resumed(&config, SessionOptions::default(), back.clone()) {
            Err(Error::ForeignSnapshot(w)) => assert_eq!(w, what),
            other => panic!("{other:?}"),
        }
        let mut running = Session::for_config(&config, SessionOptions::default());
        assert!(running.resume(&config, back.clone()).is_err());
        assert_eq!(running.status(T0), SessionStatus::None);
        assert!(
            running.poll_event().is_none(),
            "a refused resume is no change"
        );
    }

    // A snapshot past its deadline resumes expired: the restore path runs.
    let mut late = Session::for_config(
        &config(),
        SessionOptions {
            restore: true,
            ..Default::default()
        },
    );
    late.resume(&config(), snapshot).unwrap();
    let past = T0 + Duration::days(2);
    assert_eq!(late.status(past), SessionStatus::Expired);
    server.log.clear();
    drive(
        &mut server,
        &mut late,
        Probe(Access::Read),
        past,
        &mut || Some(Credentials::guest(None)),
    )
    .0
    .unwrap();
    assert_eq!(server.log, ["POST /session -", "GET /probe t2"]);
    assert_eq!(
        changes(&mut late),
        [
            SessionChange::Resumed,
            SessionChange::Expired(ExpiredBy::Clock),
            SessionChange::Restored
        ]
    );
    // Unknown versions and impossible combinations are refused.
    let bumped = json.replace(r#""version":1"#, r#""version":2"#);
    assert!(serde_json::from_str::<cube_proto::SessionSnapshot>(&bumped).is_err());
    let userless = json.replace(r#""user_id":77"#, r#""user_id":null"#);
    assert_ne!(userless, json);
    let userless: cube_proto::SessionSnapshot = serde_json::from_str(&userless).unwrap();
    assert!(matches!(
        Session::resumed(&config(), SessionOptions::default(), userless),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn an_adopted_token_is_used_as_it_is_and_learns_its_deadline() {
    let mut server = Server::new();
    server.header_ttl = None;
    let mut session = Session::adopted(
        &keyless_config(),
        SessionOptions {
            auth_key: false,
            margin: Duration::ZERO,
            ..Default::default()
        },
        IssuedToken::new("minted"),
    )
    .unwrap();
    assert_eq!(session.status(T0), SessionStatus::Application);
    assert_eq!(session.expires_at(), None);
    assert!(
        session.is_valid(T0 + Duration::days(30)),
        "no deadline known yet"
    );
    let mut call = Call::new(keyless_config(), Probe(Access::Read));
    let Step::Send(req) = call.poll(&mut session, T0, 1) else {
        panic!()
    };
    call.handle_response(&mut session, server.answer(req, T0))
        .unwrap();
    assert!(matches!(
        call.poll(&mut session, T0, 2),
        Step::Done(Ok(200))
    ));
    assert_eq!(server.log, ["GET /probe minted"]);
    // No header: the request time plus two hours.
    assert_eq!(session.expires_at(), Some(T0 + Duration::hours(2)));
    // An application token cannot write: refused before sending.
    let mut call = Call::new(keyless_config(), Probe(Access::Write));
    assert!(matches!(
        call.poll(&mut session, T0, 3),
        Step::Done(Err(Error::NeedUser))
    ));
    assert!(
        session.poll_event().is_none(),
        "building with a token is not a change"
    );
}
