//! Rules of one call that the transcripts of `call_driver.rs` leave open,
//! one per test: when a call counts as done, that only a call holding the
//! restore turn gives it back, and that a call whose restore the
//! application overruled makes no session of its own.

use cube_proto::call::{Call, Step};
use cube_proto::ops::{Access, Operation, Transition};
use cube_proto::session::SessionOptions;
use cube_proto::wire::{Request, RequestContext, Response};
use cube_proto::{Config, Error, IssuedToken, Secret, Session, SessionKind, SessionStatus};
use time::OffsetDateTime;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2026-11-24 10:00:00 UTC);

fn config() -> Config {
    Config::builder(1, "key")
        .base_url("http://cube.test")
        .build()
        .unwrap()
}

/// `GET /probe` under a chosen access; answers with the status.
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
        Ok(b.body(Vec::new()).unwrap())
    }
    fn parse(&self, response: &Response) -> Result<u16, Error> {
        Ok(response.status().as_u16())
    }
}

fn response(status: u16, body: &str) -> Response {
    http::Response::builder()
        .status(status)
        .body(body.as_bytes().to_vec())
        .unwrap()
}

#[test]
fn a_call_is_done_only_once_it_has_returned_done() {
    // The rule: `is_done` says the outcome was handed over, not that it is
    // known: a call in flight, or one whose answer is in but not yet
    // returned, still has a step to give.
    let mut session = Session::default();
    session.apply(
        Transition::Established {
            token: Secret::new("t1"),
            kind: SessionKind::User,
            session_id: 1,
            user_id: Some(5),
        },
        T0,
        None,
    );
    let mut call = Call::new(config(), Probe(Access::Read));
    assert!(!call.is_done(), "a new call");
    let Step::Send(_) = call.poll(&mut session, T0, 1) else {
        panic!("a live session sends at once")
    };
    assert!(!call.is_done(), "a call in flight");
    call.handle_response(&mut session, response(200, ""))
        .unwrap();
    assert!(!call.is_done(), "answered, the outcome not yet returned");
    assert!(matches!(
        call.poll(&mut session, T0, 2),
        Step::Done(Ok(200))
    ));
    assert!(call.is_done());
}

#[test]
fn a_call_that_never_took_the_restore_turn_never_releases_it() {
    // The rule: the turn is released only by the call that holds it; a read
    // whose own application session is refused ends straight away.
    let mut session = Session::default();
    let mut call = Call::new(config(), Probe(Access::Read));
    let Step::Send(create) = call.poll(&mut session, T0, 1) else {
        panic!("a read with no session creates an application session")
    };
    assert_eq!(create.uri().path(), "/session");
    call.handle_response(
        &mut session,
        response(403, r#"{"errors":{"base":["Forbidden"]}}"#),
    )
    .unwrap();
    match call.poll(&mut session, T0, 2) {
        Step::Done(Err(Error::Api(e))) => assert_eq!(e.status.as_u16(), 403),
        other => panic!("the refusal ends the call at once: {other:?}"),
    }
    assert_eq!(session.status(T0), SessionStatus::None);
}

#[test]
fn an_overruled_call_makes_no_session_of_its_own_even_a_read_s_application_session() {
    // The rule: once the application changed the session while this call
    // restored it, the call goes on only with what the application left in
    // place. Here it left nothing and turned its restore callback off, so a
    // read that would otherwise create an application session fails instead.
    let mut session = Session::new(SessionOptions {
        restore: true,
        ..SessionOptions::default()
    });
    let mut call = Call::new(config(), Probe(Access::Read));
    assert!(matches!(
        call.poll(&mut session, T0, 1),
        Step::TakeRestoreTurn
    ));
    assert!(matches!(call.poll(&mut session, T0, 2), Step::AskRestore));
    // While the callback runs, the app adopts a token, forgets it and turns
    // the callback off.
    session
        .adopt(&config(), IssuedToken::new("apps-own"))
        .unwrap();
    session.end();
    session.set_restore(false);
    call.provide_restore(&mut session, IssuedToken::new("late").user(3))
        .unwrap();
    assert!(matches!(
        call.poll(&mut session, T0, 3),
        Step::ReleaseRestoreTurn
    ));
    match call.poll(&mut session, T0, 4) {
        Step::Done(Err(Error::RestoreOverruled)) => {}
        Step::Send(request) => panic!("nothing may be sent: {request:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(session.status(T0), SessionStatus::None);
}
