//! The session's own surface, one rule per test: how a session starts, what
//! its snapshots and tokens say about themselves, which token a generation
//! names, the safety margin, and the turn that delivers its events.

use cube_proto::events::DeliveryTurn;
use cube_proto::ops::Transition;
use cube_proto::snapshot::SessionStart;
use cube_proto::{
    Config, Error, IssuedToken, Secret, Session, SessionChange, SessionKind, SessionOptions,
    SessionStatus,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-11-24 10:00:00 UTC);
/// Neither 0 nor 1, so that a made-up answer cannot pass for it.
const APP: u64 = 7;
const SERVER: &str = "http://cube.test";

fn config() -> Config {
    Config::builder(APP, "key")
        .base_url(SERVER)
        .build()
        .unwrap()
}

fn options() -> SessionOptions {
    SessionOptions {
        margin: Duration::ZERO,
        restore: true,
        auth_key: true,
    }
}

/// A user session of the server's session 42 and user 81, created at `T0`
/// with no expiration header (so it lives until `T0` + 2 h).
fn user_session(token: &str) -> Session {
    let mut session = Session::for_config(&config(), options());
    session.apply(
        Transition::Established {
            token: Secret::new(token),
            kind: SessionKind::User,
            session_id: 42,
            user_id: Some(81),
        },
        T0,
        None,
    );
    session
}

fn changes(session: &mut Session) -> Vec<SessionChange> {
    std::iter::from_fn(|| session.poll_event())
        .map(|e| e.change)
        .collect()
}

#[test]
fn session_start_is_the_same_session_as_the_constructor_it_names() {
    // The rule: `Session::start` is the one door adapters use, and each of
    // its starts is exactly the session its own constructor builds.
    let empty = Session::start(&config(), options(), SessionStart::Empty).unwrap();
    assert_eq!(empty, Session::for_config(&config(), options()));

    let snapshot = user_session("t1").export().unwrap();
    let from_snapshot = Session::start(
        &config(),
        options(),
        SessionStart::Snapshot(snapshot.clone()),
    )
    .unwrap();
    assert_eq!(
        from_snapshot,
        Session::resumed(&config(), options(), snapshot.clone()).unwrap()
    );
    assert_eq!(from_snapshot.export(), Some(snapshot.clone()));

    let token = IssuedToken::new("minted").user(81);
    let from_token =
        Session::start(&config(), options(), SessionStart::Token(token.clone())).unwrap();
    assert_eq!(
        from_token,
        Session::adopted(&config(), options(), token).unwrap()
    );
    assert_eq!(from_token.token().map(Secret::expose), Some("minted"));

    // A snapshot of another application is refused at the start too.
    let other = Config::builder(APP + 1, "key")
        .base_url(SERVER)
        .build()
        .unwrap();
    assert!(matches!(
        Session::start(&other, options(), SessionStart::Snapshot(snapshot)),
        Err(Error::ForeignSnapshot("application id"))
    ));
}

#[test]
fn a_snapshot_names_the_application_server_session_and_user_it_belongs_to() {
    // The rule: a saved session says whose it is, so an app can file it and
    // a client can refuse another application's.
    let session = user_session("t1");
    assert_eq!(session.session_id(), Some(42), "the server's session id");
    let snapshot = session.export().unwrap();
    assert_eq!(snapshot.application_id(), APP);
    assert_eq!(snapshot.base_url(), SERVER);
    assert_eq!(snapshot.session_id(), Some(42));
    assert_eq!(snapshot.user_id(), Some(81));
    assert_eq!(snapshot.kind(), SessionKind::User);
    assert_eq!(snapshot.token().map(Secret::expose), Some("t1"));
    assert_eq!(snapshot.expires_at(), Some(T0 + Duration::hours(2)));
}

#[test]
fn an_issued_token_says_the_user_it_was_issued_for() {
    // The rule: a token is an application session until it is given a user,
    // and then it is that user's (a user's or a guest's).
    let app = IssuedToken::new("t");
    assert_eq!(
        (app.kind(), app.user_id()),
        (SessionKind::Application, None)
    );
    let user = IssuedToken::new("t").user(81);
    assert_eq!((user.kind(), user.user_id()), (SessionKind::User, Some(81)));
    let guest = IssuedToken::new("t").guest(82);
    assert_eq!(
        (guest.kind(), guest.user_id()),
        (SessionKind::Guest, Some(82))
    );
}

#[test]
fn every_new_token_and_the_end_of_one_moves_the_generation_on() {
    // The rule: a generation names one token (or the lack of one after the
    // session ended), so an answer stamped with an older one is recognised.
    let mut session = user_session("t1");
    let saved = session.export().unwrap();
    let mut seen = vec![session.generation()];
    session
        .adopt(&config(), IssuedToken::new("t2").user(81))
        .unwrap();
    seen.push(session.generation());
    session.resume(&config(), saved).unwrap();
    seen.push(session.generation());
    session.end();
    seen.push(session.generation());
    session.apply(
        Transition::Established {
            token: Secret::new("t3"),
            kind: SessionKind::Application,
            session_id: 43,
            user_id: None,
        },
        T0,
        None,
    );
    seen.push(session.generation());
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "each change moves it on: {seen:?}"
    );
}

#[test]
fn an_answer_about_the_token_before_a_resume_never_changes_the_resumed_session() {
    // The rule: a 401 for the token in place before the app resumed a saved
    // session is about that old token, not the resumed one.
    let saved = user_session("saved").export().unwrap();
    let mut session = user_session("t1");
    let before = session.generation();
    session.resume(&config(), saved).unwrap();
    session.observe(before, T0, None, true);
    assert_eq!(session.status(T0), SessionStatus::User);
    assert_eq!(session.token().map(Secret::expose), Some("saved"));
    assert_eq!(changes(&mut session).last(), Some(&SessionChange::Resumed));
    // The same answer about the resumed token is the server's word.
    session.observe(session.generation(), T0, None, true);
    assert_eq!(session.status(T0), SessionStatus::Expired);
}

#[test]
fn a_new_safety_margin_applies_to_the_running_session_at_once() {
    // The rule: `set_margin` moves the moment a live session stops counting
    // as valid, without touching its deadline.
    let mut session = user_session("t1");
    let deadline = session.expires_at().unwrap();
    let near = deadline - Duration::seconds(30);
    assert!(
        session.is_valid(near),
        "no margin: valid until the deadline"
    );
    session.set_margin(Duration::minutes(1));
    assert_eq!(session.options().margin, Duration::minutes(1));
    assert!(!session.is_valid(near), "within a minute of the deadline");
    assert!(session.is_valid(deadline - Duration::minutes(2)));
    assert_eq!(session.expires_at(), Some(deadline));
    session.set_margin(Duration::ZERO);
    assert!(session.is_valid(near));
}

/// Takes every event the holder of `turn` is given, until the turn ends.
fn deliver_all(session: &mut Session, mut turn: DeliveryTurn) -> Vec<SessionChange> {
    let mut seen = Vec::new();
    while let Some((event, next)) = session.next_delivery(turn) {
        seen.push(event.change);
        turn = next;
    }
    seen
}

#[test]
fn one_caller_at_a_time_delivers_and_it_delivers_what_others_queue_meanwhile() {
    // The rule: two callers never deliver events at once; the one holding
    // the turn delivers everything queued until the queue is empty.
    let mut session = Session::for_config(&config(), options());
    assert!(
        session.claim_delivery().is_none(),
        "nothing queued, no turn"
    );
    session.adopt(&config(), IssuedToken::new("t1")).unwrap();
    let turn = session.claim_delivery().expect("one change queued");
    assert!(
        session.claim_delivery().is_none(),
        "a second caller gets no turn while one is out"
    );
    // Another caller changes the session while the first delivers.
    session.end();
    assert!(session.claim_delivery().is_none());
    assert_eq!(
        deliver_all(&mut session, turn),
        [SessionChange::Adopted, SessionChange::Destroyed]
    );
    assert!(session.claim_delivery().is_none(), "the queue is empty");
    // The turn ended with the queue: the next change has a turn again.
    session.adopt(&config(), IssuedToken::new("t2")).unwrap();
    let turn = session.claim_delivery().expect("a new change, a new turn");
    assert_eq!(deliver_all(&mut session, turn), [SessionChange::Adopted]);
}

#[test]
fn a_turn_given_up_early_lets_the_next_caller_deliver_what_is_left() {
    // The rule: a deliverer that fails gives the turn back, and the events
    // it did not deliver are the next caller's, in order.
    let mut session = Session::for_config(&config(), options());
    session.adopt(&config(), IssuedToken::new("t1")).unwrap();
    session.end();
    let turn = session.claim_delivery().unwrap();
    let (first, turn) = session.next_delivery(turn).unwrap();
    assert_eq!(first.change, SessionChange::Adopted);
    session.release_delivery(turn);
    let turn = session
        .claim_delivery()
        .expect("the turn is free again and an event is left");
    assert_eq!(deliver_all(&mut session, turn), [SessionChange::Destroyed]);
}
