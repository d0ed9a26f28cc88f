//! The session state machine against a small reference model.
//!
//! proptest-state-machine generates random sequences of clock advances,
//! session creations and calls (answered with or without the expiry header,
//! with 401 "Required session does not exist", or with another error) and
//! runs them through the real `Session` + `Call` over HTTP values, and through
//! the model below, which restates the rules of `docs/PROTOCOL.md` over plain integers.
//! After every step both must agree on validity, status, deadline, what every
//! kind of call would do next, the outcome of the call and its retry count.

use cube_proto::call::{Call, Step};
use cube_proto::expiry::format_expiration;
use cube_proto::ops::{Access, CreateSession, DestroySession, Operation, SignIn, SignOut};
use cube_proto::session::{Plan, Refusal, SessionOptions};
use cube_proto::wire::{Request, RequestContext, Response};
use cube_proto::{Config, Credentials, Error, Session, SessionStatus};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-11-24 00:00:00 UTC);
const IDLE: i64 = 2 * 3600;
const GUEST: i64 = 24 * 3600;

// ---------------------------------------------------------------- the model

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    App,
    User,
    Guest,
}

/// How the fake server answers one request of the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    /// 200, with `CB-Token-ExpirationDate` at now + offset seconds, or none.
    Ok(Option<i64>),
    /// 401 Required session does not exist.
    Missing,
    /// 403 with another message (the token still counts as used).
    Forbidden,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Read,
    Write,
    SignIn,
    SignOut,
    Destroy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Transition {
    Advance(i64),
    SetRestore(bool),
    Create {
        kind: Kind,
        header: bool,
    },
    Call {
        op: Op,
        replies: [Reply; 3],
        restore: Option<Kind>,
        session_header: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    NoSession,
    Expired,
    NeedUser,
    RestoreFailed,
    Status(u16),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Send,
    CreateApp,
    Restore,
    Fail(Refusal),
}

#[derive(Debug, Clone, PartialEq)]
struct Model {
    now: i64,
    margin: i64,
    restore: bool,
    /// The session kind, and whether the server said it is gone.
    kind: Option<Kind>,
    gone: bool,
    deadline: i64,
    /// What the last call ended with and how often it resent.
    last: Option<(Outcome, u8)>,
}

impl Model {
    fn valid(&self) -> bool {
        self.kind.is_some() && !self.gone && self.now + self.margin < self.deadline
    }

    fn status(&self) -> SessionStatus {
        match self.kind {
            None => SessionStatus::None,
            Some(_) if self.gone || self.now >= self.deadline => SessionStatus::Expired,
            Some(Kind::App) => SessionStatus::Application,
            Some(Kind::User) => SessionStatus::User,
            Some(Kind::Guest) => SessionStatus::Guest,
        }
    }

    fn next(&self, access: Access) -> Next {
        let valid = self.valid();
        match access {
            Access::Public | Access::Optional => Next::Send,
            Access::Current if valid => Next::Send,
            Access::Current if self.kind.is_none() => Next::Fail(Refusal::NoSession),
            Access::Current => Next::Fail(Refusal::SessionExpired),
            Access::SignIn if valid => Next::Send,
            Access::SignIn => Next::CreateApp,
            Access::Write if valid && self.kind == Some(Kind::App) => Next::Fail(Refusal::NeedUser),
            Access::Read | Access::Write if valid => Next::Send,
            _ if self.restore => Next::Restore,
            Access::Read if matches!(self.kind, None | Some(Kind::App)) => Next::CreateApp,
            Access::Read => Next::Fail(Refusal::SessionExpired),
            _ => match self.kind {
                None => Next::Fail(Refusal::NoSession),
                Some(Kind::App) => Next::Fail(Refusal::NeedUser),
                Some(_) => Next::Fail(Refusal::SessionExpired),
            },
        }
    }

    fn establish(&mut self, kind: Kind, header: bool) {
        let ttl = if kind == Kind::Guest { GUEST } else { IDLE };
        // The fake server announces exactly the protocol's deadline.
        let _ = header;
        self.kind = Some(kind);
        self.gone = false;
        self.deadline = self.now + ttl;
    }

    /// A call, by the rules: plan, send, on a lost session retry once.
    fn call(
        &mut self,
        op: Op,
        replies: [Reply; 3],
        restore: Option<Kind>,
        session_header: bool,
    ) -> (Outcome, u8) {
        let access = access_of(op);
        let (mut sent, mut retries, mut created) = (0usize, 0u8, 0u8);
        loop {
            match self.next(access) {
                Next::Fail(r) => return (refusal(r), retries),
                Next::CreateApp | Next::Restore if created == 2 => {
                    return (Outcome::Expired, retries);
                }
                Next::CreateApp => {
                    created += 1;
                    self.establish(Kind::App, session_header);
                }
                Next::Restore => match restore {
                    None => return (Outcome::Expired, retries),
                    Some(kind) => {
                        created += 1;
                        self.establish(kind, session_header);
                    }
                },
                Next::Send => {
                    let reply = replies[sent];
                    sent += 1;
                    match reply {
                        Reply::Missing => {
                            self.gone = true;
                            if op == Op::SignOut || op == Op::Destroy {
                                return (Outcome::Expired, retries);
                            }
                            if retries == 1 {
                                return (Outcome::RestoreFailed, retries);
                            }
                            retries = 1;
                        }
                        Reply::Forbidden => {
                            self.rearm(None);
                            return (Outcome::Status(403), retries);
                        }
                        Reply::Ok(header) => {
                            self.rearm(header);
                            match op {
                                Op::SignIn => self.kind = Some(Kind::User),
                                Op::SignOut => self.kind = Some(Kind::App),
                                Op::Destroy => self.kind = None,
                                Op::Read | Op::Write => {}
                            }
                            return (Outcome::Ok, retries);
                        }
                    }
                }
            }
        }
    }

    fn rearm(&mut self, header: Option<i64>) {
        match (header, self.kind) {
            (Some(offset), _) => self.deadline = self.now + offset,
            (None, Some(Kind::Guest)) => {}
            (None, _) => self.deadline = self.now + IDLE,
        }
    }
}

fn refusal(r: Refusal) -> Outcome {
    match r {
        Refusal::NoSession => Outcome::NoSession,
        Refusal::SessionExpired => Outcome::Expired,
        Refusal::NeedUser => Outcome::NeedUser,
    }
}

fn access_of(op: Op) -> Access {
    match op {
        Op::Read => Access::Read,
        Op::Write => Access::Write,
        Op::SignIn => Access::SignIn,
        Op::SignOut | Op::Destroy => Access::Current,
    }
}

struct Reference;

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::App), Just(Kind::User), Just(Kind::Guest)]
}

fn reply() -> impl Strategy<Value = Reply> {
    prop_oneof![
        3 => prop_oneof![Just(None), Just(Some(IDLE)), Just(Some(30)), Just(Some(3 * IDLE))].prop_map(Reply::Ok),
        2 => Just(Reply::Missing),
        1 => Just(Reply::Forbidden),
    ]
}

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Transition;

    fn init_state() -> BoxedStrategy<Model> {
        (prop_oneof![Just(0i64), Just(10), Just(60)], any::<bool>())
            .prop_map(|(margin, restore)| Model {
                now: 0,
                margin,
                restore,
                kind: None,
                gone: false,
                deadline: 0,
                last: None,
            })
            .boxed()
    }

    fn transitions(_: &Model) -> BoxedStrategy<Transition> {
        let op = prop_oneof![
            Just(Op::Read),
            Just(Op::Write),
            Just(Op::SignIn),
            Just(Op::SignOut),
            Just(Op::Destroy)
        ];
        prop_oneof![
            3 => prop_oneof![0..120i64, IDLE - 70..IDLE + 70, 0..2 * GUEST].prop_map(Transition::Advance),
            1 => any::<bool>().prop_map(Transition::SetRestore),
            2 => (kind(), any::<bool>()).prop_map(|(kind, header)| Transition::Create { kind, header }),
            6 => (op, [reply(), reply(), reply()], proptest::option::of(kind()), any::<bool>())
                .prop_map(|(op, replies, restore, session_header)| Transition::Call { op, replies, restore, session_header }),
        ]
        .boxed()
    }

    fn apply(mut m: Model, t: &Transition) -> Model {
        m.last = None;
        match *t {
            Transition::Advance(s) => m.now += s,
            Transition::SetRestore(r) => m.restore = r,
            Transition::Create { kind, header } => m.establish(kind, header),
            Transition::Call {
                op,
                replies,
                restore,
                session_header,
            } => {
                m.last = Some(m.call(op, replies, restore, session_header));
            }
        }
        m
    }
}

// ------------------------------------------------------ the real thing, over HTTP

struct Real {
    session: Session,
    config: Config,
    now: OffsetDateTime,
    next_token: u32,
    last: Option<(Outcome, u8)>,
}

/// `GET /probe` with a chosen access.
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

impl Real {
    fn header(&self, offset: i64) -> String {
        format_expiration(self.now + Duration::seconds(offset))
    }

    /// The fake server's answer to a session creation.
    fn session_response(&mut self, req: &Request, header: bool) -> Response {
        let body: serde_json::Value = serde_json::from_slice(req.body()).unwrap();
        let guest = body["user"]["guest"] == 1;
        let user_id = if body.get("user").is_some() { 9 } else { 0 };
        self.next_token += 1;
        let mut resp = http::Response::builder().status(201);
        if header {
            resp = resp.header(
                "CB-Token-ExpirationDate",
                self.header(if guest { GUEST } else { IDLE }),
            );
        }
        let json = format!(
            r#"{{"session":{{"id":{},"user_id":{user_id},"token":"t{}"}}}}"#,
            self.next_token, self.next_token
        );
        resp.body(json.into_bytes()).unwrap()
    }

    fn reply(&self, reply: Reply) -> Response {
        let (status, body) = match reply {
            Reply::Ok(_) => (200, r#"{"user":{"id":9}}"#),
            Reply::Missing => (
                401,
                r#"{"errors":{"base":["Required session does not exist"]}}"#,
            ),
            Reply::Forbidden => (403, r#"{"errors":{"base":["Forbidden"]}}"#),
        };
        let mut resp = http::Response::builder().status(status);
        if let Reply::Ok(Some(offset)) = reply {
            resp = resp.header("CB-Token-ExpirationDate", self.header(offset));
        }
        resp.body(body.as_bytes().to_vec()).unwrap()
    }

    fn run<O: Operation>(
        &mut self,
        op: O,
        replies: [Reply; 3],
        restore: Option<Kind>,
        session_header: bool,
    ) -> (Outcome, u8) {
        let mut call = Call::new(self.config.clone(), op);
        let mut sent = 0;
        for nonce in 0..16 {
            match call.poll(&self.session, self.now, nonce) {
                Step::Send(req) => {
                    let resp =
                        if req.method() == http::Method::POST && req.uri().path() == "/session" {
                            self.session_response(&req, session_header)
                        } else {
                            sent += 1;
                            self.reply(replies[sent - 1])
                        };
                    call.handle_response(&mut self.session, resp);
                }
                Step::NeedCredentials => call.provide_credentials(restore.map(credentials)),
                Step::Done(result) => {
                    let outcome = match result {
                        Ok(_) => Outcome::Ok,
                        Err(Error::NoSession) => Outcome::NoSession,
                        Err(Error::SessionExpired) => Outcome::Expired,
                        Err(Error::NeedUser) => Outcome::NeedUser,
                        Err(Error::RestoreFailed(_)) => Outcome::RestoreFailed,
                        Err(e) => Outcome::Status(e.status().map_or(0, |s| s.as_u16())),
                    };
                    return (outcome, call.retries());
                }
            }
        }
        panic!("a call did not finish in 16 steps");
    }
}

fn credentials(kind: Kind) -> Credentials {
    match kind {
        Kind::App => Credentials::Application,
        Kind::User => Credentials::login("user", "password1"),
        Kind::Guest => Credentials::guest(None),
    }
}

fn plan_of(plan: Plan) -> Next {
    match plan {
        Plan::Send(_) => Next::Send,
        Plan::CreateApplicationSession => Next::CreateApp,
        Plan::Restore => Next::Restore,
        Plan::Fail(r) => Next::Fail(r),
    }
}

struct SessionMachine;

impl StateMachineTest for SessionMachine {
    type SystemUnderTest = Real;
    type Reference = Reference;

    fn init_test(m: &Model) -> Real {
        let options = SessionOptions {
            margin: Duration::seconds(m.margin),
            restore: m.restore,
        };
        let config = Config::builder(1, "key")
            .base_url("http://cube.test")
            .build()
            .unwrap();
        Real {
            session: Session::new(options),
            config,
            now: T0,
            next_token: 0,
            last: None,
        }
    }

    fn apply(mut real: Real, _: &Model, t: Transition) -> Real {
        real.last = None;
        match t {
            Transition::Advance(s) => real.now += Duration::seconds(s),
            Transition::SetRestore(r) => real.session.set_restore(r),
            Transition::Create { kind, header } => {
                let (outcome, _) = real.run(
                    CreateSession::new(credentials(kind)),
                    [Reply::Forbidden; 3],
                    None,
                    header,
                );
                assert_eq!(outcome, Outcome::Ok);
            }
            Transition::Call {
                op,
                replies,
                restore,
                session_header,
            } => {
                let r = &mut real;
                real.last = Some(match op {
                    Op::Read => r.run(Probe(Access::Read), replies, restore, session_header),
                    Op::Write => r.run(Probe(Access::Write), replies, restore, session_header),
                    Op::SignIn => r.run(
                        SignIn::new(credentials(Kind::User)),
                        replies,
                        restore,
                        session_header,
                    ),
                    Op::SignOut => r.run(SignOut, replies, restore, session_header),
                    Op::Destroy => r.run(DestroySession, replies, restore, session_header),
                });
            }
        }
        real
    }

    fn check_invariants(real: &Real, m: &Model) {
        let now = real.now;
        assert_eq!(now, T0 + Duration::seconds(m.now));
        assert_eq!(real.last, m.last, "outcome and retry count");
        assert_eq!(real.session.is_valid(now), m.valid(), "validity");
        assert_eq!(real.session.status(now), m.status(), "status");
        if m.kind.is_some() && !m.gone {
            assert_eq!(
                real.session.expires_at(),
                Some(T0 + Duration::seconds(m.deadline)),
                "deadline"
            );
        }
        for access in [
            Access::Public,
            Access::Optional,
            Access::Read,
            Access::Write,
            Access::Current,
            Access::SignIn,
        ] {
            assert_eq!(
                plan_of(real.session.plan(access, now)),
                m.next(access),
                "next action for {access:?}"
            );
        }
        if let Some((_, retries)) = m.last {
            assert!(retries <= 1, "never more than one retry");
        }
    }
}

prop_state_machine! {
    #![proptest_config(ProptestConfig {
        cases: 1000,
        max_shrink_iters: 4096,
        failure_persistence: None,
        .. ProptestConfig::default()
    })]

    #[test]
    fn session_state_machine_agrees_with_the_model(sequential 1..40 => SessionMachine);
}
