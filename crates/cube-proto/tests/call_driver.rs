//! Transcripts of whole calls through the session state machine: which
//! requests go out, in what order, with which token, and how the session ends.

use cube_proto::call::{Call, Step};
use cube_proto::ops::{
    Access, CreateSession, DestroySession, DestroySessionById, Operation, SignIn, SignOut,
};
use cube_proto::session::{DEFAULT_MARGIN, SessionOptions};
use cube_proto::wire::{Request, RequestContext, Response};
use cube_proto::{Config, Credentials, Error, Session, SessionKind, SessionStatus};
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

/// Runs a call to the end, answering restores with `restore`.
fn drive<O: Operation>(
    server: &mut Server,
    session: &mut Session,
    op: O,
    now: OffsetDateTime,
    restore: &mut dyn FnMut() -> Option<Credentials>,
) -> (Result<O::Output, Error>, u8) {
    let mut call = Call::new(config(), op);
    for nonce in 0..20 {
        match call.poll(session, now, nonce) {
            Step::Send(req) => {
                let resp = server.answer(req, now);
                call.handle_response(session, resp);
            }
            Step::NeedCredentials => call.provide_credentials(restore()),
            Step::Done(r) => return (r, call.retries()),
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
        restore: false,
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
    let Step::Send(req) = call.poll(&session, T0, 1) else {
        panic!()
    };
    // Meanwhile another task restored the session: a new token is in place.
    let mut other = Call::new(
        config(),
        CreateSession::new(Credentials::login("u", "password1")),
    );
    let Step::Send(create) = other.poll(&session, T0, 2) else {
        panic!()
    };
    other.handle_response(&mut session, server.answer(create, T0));
    assert!(matches!(other.poll(&session, T0, 3), Step::Done(Ok(_))));
    // The old request now comes back 401.
    server.probe_401s = 1;
    call.handle_response(&mut session, server.answer(req, T0));
    assert_eq!(
        session.status(T0),
        SessionStatus::User,
        "the new session is untouched"
    );
    let Step::Send(resend) = call.poll(&session, T0, 4) else {
        panic!("a plain resend")
    };
    call.handle_response(&mut session, server.answer(resend, T0));
    assert!(matches!(call.poll(&session, T0, 5), Step::Done(Ok(200))));
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
        &mut || None,
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
    assert!(matches!(call.poll(&session, T0, 1), Step::NeedCredentials));
    call.provide_credentials(Some(Credentials::login("u", "wrong-password")));
    let Step::Send(_) = call.poll(&session, T0, 2) else {
        panic!()
    };
    let unauthorized = http::Response::builder()
        .status(401)
        .body(br#"{"errors":{"base":["Unauthorized"]}}"#.to_vec())
        .unwrap();
    call.handle_response(&mut session, unauthorized);
    match call.poll(&session, T0, 3) {
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
        restore: false,
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

#[test]
fn misuse_is_a_typed_error_not_a_panic() {
    let mut session = Session::default();
    let mut call = Call::new(config(), Probe(Access::Public));
    let Step::Send(_) = call.poll(&session, T0, 1) else {
        panic!()
    };
    // Polling again before handing the response in.
    assert!(matches!(
        call.poll(&session, T0, 2),
        Step::Done(Err(Error::Config(_)))
    ));
    let mut call = Call::new(config(), Probe(Access::Public));
    call.handle_response(&mut session, http::Response::new(Vec::new()));
    assert!(matches!(
        call.poll(&session, T0, 3),
        Step::Done(Err(Error::Config(_)))
    ));
}

#[test]
fn a_second_caller_waiting_for_a_restore_uses_the_restored_session() {
    let mut server = Server::new();
    let mut session = Session::new(SessionOptions {
        margin: Duration::ZERO,
        restore: true,
    });
    let mut first = Call::new(config(), Probe(Access::Read));
    let mut second = Call::new(config(), Probe(Access::Read));
    assert!(matches!(first.poll(&session, T0, 1), Step::NeedCredentials));
    assert!(matches!(
        second.poll(&session, T0, 2),
        Step::NeedCredentials
    ));
    // The first caller restores.
    first.provide_credentials(Some(Credentials::login("u", "password1")));
    let Step::Send(create) = first.poll(&session, T0, 3) else {
        panic!()
    };
    first.handle_response(&mut session, server.answer(create, T0));
    // The second, polled again when its turn comes, just sends.
    let Step::Send(req) = second.poll(&session, T0, 4) else {
        panic!("no second restore")
    };
    second.handle_response(&mut session, server.answer(req, T0));
    assert!(matches!(second.poll(&session, T0, 5), Step::Done(Ok(200))));
    assert_eq!(server.log, ["POST /session -", "GET /probe t1"]);
}
