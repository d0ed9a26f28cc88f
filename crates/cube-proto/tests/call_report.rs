//! What a call reports for the adapter's span: the operation's name, the
//! attempt that ended it, what it did to the session and the last status.

use cube_proto::call::{Attempt, Call, CallReport, SessionUse, Step};
use cube_proto::ops::{self, Access, Operation};
use cube_proto::search::{GetUser, SearchUsers};
use cube_proto::session::SessionOptions;
use cube_proto::wire::{Request, RequestContext, Response};
use cube_proto::{Config, Credentials, Error, IssuedToken, RestoreAnswer, Session};
use http::StatusCode;
use time::OffsetDateTime;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2026-11-24 10:00:00 UTC);
const MISSING: &str = r#"{"errors":{"base":["Required session does not exist"]}}"#;
const SECRET_TOKEN: &str = "t0ken-that-must-not-show";

fn config() -> Config {
    Config::builder(1, "key")
        .base_url("http://cube.test")
        .build()
        .unwrap()
}

/// `GET /probe` under a chosen access; named by its type.
struct Probe(Access);

impl Operation for Probe {
    type Output = ();
    fn access(&self) -> Access {
        self.0
    }
    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        let mut b = http::Request::get(ctx.config.url("/probe", None));
        if let Some(t) = ctx.token {
            b = b.header("CB-Token", t.expose());
        }
        Ok(b.body(Vec::new()).unwrap())
    }
    fn parse(&self, _: &Response) -> Result<(), Error> {
        Ok(())
    }
}

/// Answers `POST /session` with a new token and `/probe` with the next of
/// `probes` (then 200).
struct Server {
    probes: Vec<u16>,
    sessions: u32,
}

impl Server {
    fn new(probes: &[u16]) -> Self {
        Self {
            probes: probes.to_vec(),
            sessions: 0,
        }
    }

    fn answer(&mut self, request: &Request) -> Response {
        let (status, body) = if request.uri().path() == "/session" {
            self.sessions += 1;
            let n = self.sessions;
            (
                201,
                format!(r#"{{"session":{{"id":{n},"user_id":5,"token":"{SECRET_TOKEN}{n}"}}}}"#),
            )
        } else if self.probes.is_empty() {
            (200, String::new())
        } else {
            match self.probes.remove(0) {
                401 => (401, MISSING.to_owned()),
                other => (other, "{}".to_owned()),
            }
        };
        http::Response::builder()
            .status(status)
            .body(body.into_bytes())
            .unwrap()
    }
}

/// Runs `op` to the end and returns its outcome and its report.
fn run<O: Operation>(
    server: &mut Server,
    session: &mut Session,
    op: O,
    mut restore: impl FnMut() -> RestoreAnswer,
) -> (Result<O::Output, Error>, CallReport) {
    let mut call = Call::new(config(), op);
    for nonce in 0..20 {
        match call.poll(session, T0, nonce) {
            Step::Send(request) => {
                let response = server.answer(&request);
                call.handle_response(session, response).unwrap();
            }
            Step::AskRestore => call.provide_restore(session, restore()).unwrap(),
            Step::TakeRestoreTurn | Step::ReleaseRestoreTurn | Step::Wait(_) => {}
            Step::Done(outcome) => return (outcome, call.report()),
        }
    }
    panic!("the call did not finish in 20 steps");
}

fn decline() -> RestoreAnswer {
    RestoreAnswer::Decline
}

fn login() -> RestoreAnswer {
    Credentials::login("user", "password1").into()
}

/// A user session made by a first call, with or without a restore callback.
fn user_session(server: &mut Server, restore: bool) -> Session {
    let mut session = Session::new(SessionOptions {
        restore,
        ..SessionOptions::default()
    });
    let op = ops::CreateSession::new(Credentials::login("user", "password1"));
    run(server, &mut session, op, decline).0.unwrap();
    session
}

/// The report of a call that sent `requests` requests, none of them again
/// after a transient failure.
fn report(
    operation: &'static str,
    attempt: Attempt,
    session: SessionUse,
    status: Option<u16>,
    requests: u8,
) -> CallReport {
    CallReport {
        operation,
        attempt,
        session,
        status: status.map(|s| StatusCode::from_u16(s).unwrap()),
        requests,
        resends: 0,
        waited: std::time::Duration::ZERO,
        resigned: false,
        failure: None,
    }
}

#[test]
fn the_library_s_operations_name_themselves_in_snake_case_and_a_custom_one_by_its_type() {
    let names = [
        ops::CreateSession::application().name(),
        ops::SignIn::new(Credentials::login("user", "password1")).name(),
        ops::SignOut.name(),
        ops::GetSession.name(),
        ops::DestroySession.name(),
        ops::DestroySessionById::new(3).name(),
        ops::DestroyOtherSessions.name(),
        ops::SignUp::new(ops::NewUser::with_login("user", "password1")).name(),
        GetUser::by_id(1).name(),
        GetUser::by_login("user").name(),
        SearchUsers::by_phone("+1555").unwrap().name(),
        ops::ListUsers::new().name(),
        ops::GetBlob::new(1).name(),
        ops::DeleteBlob::new(1).name(),
        ops::CompleteBlob::new(1, 2).name(),
        ops::DownloadBlob::new("0123456789abcdef").unwrap().name(),
    ];
    assert_eq!(
        names,
        [
            "create_session",
            "sign_in",
            "sign_out",
            "get_session",
            "destroy_session",
            "destroy_session_by_id",
            "destroy_other_sessions",
            "sign_up",
            "get_user",
            "get_user",
            "search_users",
            "list_users_v1",
            "get_blob",
            "delete_blob",
            "complete_blob",
            "download_blob",
        ]
    );
    assert_eq!(Probe(Access::Read).name(), "Probe");
}

#[test]
fn a_session_request_of_its_own_uses_no_session() {
    let mut server = Server::new(&[]);
    let mut session = Session::default();
    let op = ops::CreateSession::new(Credentials::login("user", "password1"));
    let (outcome, got) = run(&mut server, &mut session, op, decline);
    outcome.unwrap();
    let want = report(
        "create_session",
        Attempt::First,
        SessionUse::None,
        Some(201),
        1,
    );
    assert_eq!(got, want);
}

#[test]
fn a_read_on_the_session_in_place_uses_it() {
    let mut server = Server::new(&[]);
    let mut session = user_session(&mut server, false);
    let (outcome, got) = run(&mut server, &mut session, Probe(Access::Read), decline);
    outcome.unwrap();
    let want = report("Probe", Attempt::First, SessionUse::Existing, Some(200), 1);
    assert_eq!(got, want);
}

#[test]
fn a_read_with_no_session_creates_one_and_reports_the_operation_s_status() {
    let mut server = Server::new(&[404]);
    let mut session = Session::default();
    let (outcome, got) = run(&mut server, &mut session, Probe(Access::Read), decline);
    assert!(outcome.is_err());
    let want = report("Probe", Attempt::First, SessionUse::Created, Some(404), 2);
    assert_eq!(got, want);
}

#[test]
fn a_401_mid_call_reports_the_retry_and_the_restore() {
    let mut server = Server::new(&[401]);
    let mut session = user_session(&mut server, true);
    let (outcome, got) = run(&mut server, &mut session, Probe(Access::Read), login);
    outcome.unwrap();
    let want = report("Probe", Attempt::Retry, SessionUse::Restored, Some(200), 3);
    assert_eq!(got, want);
    assert_eq!(server.sessions, 2, "the first session and the restore");
}

#[test]
fn a_ready_session_from_the_callback_is_a_restore_too() {
    let mut server = Server::new(&[401]);
    let mut session = user_session(&mut server, true);
    let ready = || IssuedToken::new("from-backend").user(5).into();
    let (outcome, got) = run(&mut server, &mut session, Probe(Access::Write), ready);
    outcome.unwrap();
    let want = report("Probe", Attempt::Retry, SessionUse::Restored, Some(200), 2);
    assert_eq!(got, want);
    assert_eq!(server.sessions, 1, "no session request for a ready session");
}

#[test]
fn a_server_that_keeps_saying_401_reports_the_retry_and_its_last_status() {
    let mut server = Server::new(&[401, 401]);
    let mut session = user_session(&mut server, true);
    let (outcome, got) = run(&mut server, &mut session, Probe(Access::Read), login);
    assert!(
        matches!(outcome, Err(Error::RestoreFailed(_))),
        "{outcome:?}"
    );
    let want = report("Probe", Attempt::Retry, SessionUse::Restored, Some(401), 3);
    assert_eq!(got, want);
}

#[test]
fn a_declined_restore_ends_the_retry_without_a_session() {
    let mut server = Server::new(&[401]);
    let mut session = user_session(&mut server, true);
    let (outcome, got) = run(&mut server, &mut session, Probe(Access::Write), decline);
    assert!(matches!(outcome, Err(Error::SessionExpired)), "{outcome:?}");
    let want = report("Probe", Attempt::Retry, SessionUse::Existing, Some(401), 1);
    assert_eq!(got, want);
}

#[test]
fn a_call_refused_before_sending_reports_no_status() {
    let mut server = Server::new(&[]);
    let mut session = Session::default();
    let (outcome, got) = run(&mut server, &mut session, Probe(Access::Write), decline);
    assert!(outcome.is_err());
    let want = report("Probe", Attempt::First, SessionUse::None, None, 0);
    assert_eq!(got, want);
    assert_eq!(server.sessions, 0);
}

#[test]
fn a_report_shows_no_token() {
    let mut server = Server::new(&[401]);
    let mut session = user_session(&mut server, true);
    let (_, got) = run(&mut server, &mut session, Probe(Access::Read), login);
    let shown = format!("{got:?}");
    assert!(!shown.contains(SECRET_TOKEN), "{shown}");
    assert!(
        shown.contains("Restored") && shown.contains("Retry"),
        "{shown}"
    );
}

#[test]
fn a_report_s_words_are_the_values_a_span_records() {
    // The rule: the words adapters write into their spans' `attempt` and
    // `session` fields are fixed, one per value, so logs can be searched.
    let attempts = [(Attempt::First, "first"), (Attempt::Retry, "retry")];
    for (attempt, word) in attempts {
        assert_eq!(attempt.as_str(), word);
    }
    let uses = [
        (SessionUse::None, "none"),
        (SessionUse::Existing, "existing"),
        (SessionUse::Created, "created"),
        (SessionUse::Restored, "restored"),
    ];
    for (session_use, word) in uses {
        assert_eq!(session_use.as_str(), word);
    }
}

#[test]
fn a_request_sent_outside_a_call_reports_whether_it_carried_the_token() {
    let bare = http::Request::get("http://cube.test/files/1")
        .body(())
        .unwrap();
    let with_token = http::Request::get("http://cube.test/files/1")
        .header("CB-Token", SECRET_TOKEN)
        .body(())
        .unwrap();
    let upload = CallReport::for_request(ops::StreamedUpload::OPERATION, &bare);
    assert_eq!(
        upload,
        report("upload_stream", Attempt::First, SessionUse::None, None, 1)
    );
    let fetch = CallReport::for_request(ops::Redirect::OPERATION, &with_token);
    assert_eq!(
        fetch.answered(StatusCode::OK),
        report(
            "download_file",
            Attempt::First,
            SessionUse::Existing,
            Some(200),
            1
        )
    );
}
