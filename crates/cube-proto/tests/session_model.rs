//! The session state machine against a small reference model.
//!
//! proptest-state-machine generates random sequences of clock advances (some
//! landing exactly on the safety margin's edge), session creations (the
//! server's expiration header absent, exact, or skewed into the past or the
//! far future), calls answered with or without the header, with 401
//! "Required session does not exist", with 401 "Token is required" (each in
//! the object and the array form) or with another error, restore answers
//! (credentials, a ready session, a refusal), exports and resumes (through
//! JSON, into a fresh or a running session, or from another application),
//! adopted tokens, a 401 for an old token arriving after the session was
//! replaced (by a created, restored, adopted or resumed one), the
//! application changing the session while a restore is in flight, and
//! transient failures (a `503` without a deadline, a refused connection, a
//! timeout after the request was written) under the standard retry policy,
//! interleaved with all of it. They run through the real `Session` + `Call` over HTTP values,
//! and through the model below, which restates the rules of `docs/PROTOCOL.md` and the
//! SDK's over plain integers. After every step both must agree on validity,
//! status, token, user, deadline, what every kind of call would do next, the
//! outcome of the call, its retry count and its resends, the token each
//! request carried, and the exact session events reported.

use cube_proto::call::{Call, Step};
use cube_proto::expiry::format_expiration;
use cube_proto::ops::{Access, CreateSession, DestroySession, Operation, SignIn, SignOut};
use cube_proto::retry::{AfterFailure, TransportFailure};
use cube_proto::session::{Decision, Refusal, SessionOptions};
use cube_proto::wire::{Request, RequestContext, Response};
use cube_proto::{
    Config, Credentials, Error, ExpiredBy, IssuedToken, Misuse, RestoreAnswer, Session,
    SessionChange, SessionKind, SessionSnapshot, SessionStatus,
};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-11-24 00:00:00 UTC);
const IDLE: i64 = 2 * 3600;
const GUEST: i64 = 24 * 3600;
const YEAR: i64 = 365 * 24 * 3600;
/// The user id the fake server gives every user and guest.
const USER: u64 = 9;

// ---------------------------------------------------------------- the model

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    App,
    User,
    Guest,
}

/// The `CB-Token-ExpirationDate` of a session creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Created {
    /// No header: the client counts from the request.
    Absent,
    /// Exactly the protocol's lifetime of the kind.
    Exact,
    /// Now + this many seconds: a skewed server clock (past or far future).
    Offset(i64),
}

/// The shape of an error body: the public service uses both, and the
/// client must read them alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `{"errors": {"base": [message]}}`.
    Object,
    /// `{"errors": [message]}`.
    Array,
}

/// How the fake server answers one request of the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    /// 200, with `CB-Token-ExpirationDate` at now + offset seconds, or none.
    Ok(Option<i64>),
    /// 401 Required session does not exist.
    Missing(Form),
    /// 401 Token is required: the server saw no token, so the session is
    /// neither used (no new deadline) nor gone, and the call is over.
    TokenRequired(Form),
    /// 403 with another message (the token still counts as used).
    Forbidden,
    /// 503 without `CB-Token-ExpirationDate`: maybe a gateway's, so the
    /// token does not count as used; a read goes again.
    Busy,
    /// No answer: the connection failed this way.
    Cut(Cut),
}

/// How a request failed on the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// Refused: nothing was sent, so any request may go again.
    Refused,
    /// Timed out after the request was written: only a read goes again.
    AfterSent,
}

impl Cut {
    fn failure(self) -> TransportFailure {
        match self {
            Cut::Refused => TransportFailure::Refused,
            Cut::AfterSent => TransportFailure::TimedOutBeforeAnswer,
        }
    }
}

/// Resends a call may make under the standard policy (three tries).
const RESENDS: u8 = 2;

/// What the restore callback answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Decline,
    Credentials(Kind),
    /// A ready token of this kind, with a deadline at now + offset if known.
    Ready(Kind, Option<i64>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Read,
    Write,
    SignIn,
    SignOut,
    Destroy,
}

/// What the application does while a restore is in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AppAction {
    /// Creates a user session and signs out of it.
    CreateThenSignOut,
    /// Creates a user session and destroys it.
    CreateThenDestroy,
    /// Signs in (an application session is created first).
    SignIn,
    /// Forgets the session locally.
    Forget,
}

/// What replaces the session while a request with its token is out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Between {
    /// The app creates a session of this kind.
    Create(Kind),
    /// Another read gets a 401, restores with this answer, and succeeds.
    LostAndRestored(Answer),
    /// The app adopts a token of this kind, its deadline at now + offset
    /// if known.
    Adopt(Kind, Option<i64>),
    /// The app resumes the snapshot it saved before the read went out.
    Resume,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResumeMode {
    /// Into a newly built session (no event).
    Fresh,
    /// Into the running session (event `Resumed`).
    Running,
    /// Into a session of another application: refused.
    Foreign,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Transition {
    Advance(i64),
    /// To the deadline less the margin, plus this (-1, 0 or 1 second).
    Edge(i64),
    SetRestore(bool),
    Create {
        kind: Kind,
        header: Created,
    },
    Call {
        op: Op,
        replies: [Reply; 4],
        answer: Answer,
        header: Created,
    },
    Resume(ResumeMode),
    Adopt {
        kind: Kind,
        deadline: Option<i64>,
    },
    Forget,
    /// A read goes out with the current token; meanwhile the session is
    /// replaced; then the read's answer (`first`) comes back.
    Stale {
        first: Reply,
        second: Reply,
        between: Between,
        header: Created,
    },
    /// A call starts restoring; the app acts while the callback runs (a
    /// ready session) or while the restore's session request is out
    /// (credentials); then the restore completes and the call goes on.
    DuringRestore {
        op: Op,
        answer: Answer,
        app: AppAction,
        reply: Reply,
        header: Created,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    NoSession,
    Expired,
    NeedUser,
    NoAuthKey,
    RestoreFailed,
    Overruled,
    Status(u16),
    /// The adapter's own transport error: the call gave up.
    Cut,
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
    auth_key: bool,
    /// The session kind (None: no session), and whether it is known dead.
    kind: Option<Kind>,
    gone: bool,
    deadline: Option<i64>,
    token: String,
    user: Option<u64>,
    /// Which token the session holds, and how many changes it went through.
    generation: u64,
    revision: u64,
    /// Token counters of the fake server, adopted tokens and ready tokens.
    issued: u32,
    adopted: u32,
    ready: u32,
    /// What the last transition produced: outcome, retries, resends.
    last: Option<(Outcome, u8, u8)>,
    carried: Vec<String>,
    events: Vec<SessionChange>,
}

/// Where a call is in the model's loop.
#[derive(Debug, Default)]
struct CallState {
    sent: usize,
    retries: u8,
    resends: u8,
    created: u8,
    overruled: bool,
}

fn ttl(kind: Kind) -> i64 {
    if kind == Kind::Guest { GUEST } else { IDLE }
}

fn session_kind(kind: Kind) -> SessionKind {
    match kind {
        Kind::App => SessionKind::Application,
        Kind::User => SessionKind::User,
        Kind::Guest => SessionKind::Guest,
    }
}

impl Model {
    fn active(&self) -> bool {
        self.kind.is_some() && !self.gone
    }

    fn valid(&self) -> bool {
        self.active() && self.deadline.is_none_or(|d| self.now + self.margin < d)
    }

    fn status(&self) -> SessionStatus {
        match self.kind {
            None => SessionStatus::None,
            Some(_) if self.gone || self.deadline.is_some_and(|d| self.now >= d) => {
                SessionStatus::Expired
            }
            Some(Kind::App) => SessionStatus::Application,
            Some(Kind::User) => SessionStatus::User,
            Some(Kind::Guest) => SessionStatus::Guest,
        }
    }

    fn event(&mut self, change: SessionChange) {
        self.revision += 1;
        self.events.push(change);
    }

    /// A passed deadline (less the margin) is noticed before every decision.
    fn notice(&mut self) {
        if self.active() && !self.valid() {
            self.gone = true;
            self.event(SessionChange::Expired(ExpiredBy::Clock));
        }
    }

    fn next(&self, access: Access) -> Next {
        let valid = self.valid();
        let create_app = if self.auth_key {
            Next::CreateApp
        } else {
            Next::Fail(Refusal::NoAuthKey)
        };
        match access {
            Access::Public | Access::Optional => Next::Send,
            Access::Current if valid => Next::Send,
            Access::Current if self.kind.is_none() => Next::Fail(Refusal::NoSession),
            Access::Current => Next::Fail(Refusal::SessionExpired),
            Access::SignIn if valid => Next::Send,
            Access::SignIn => create_app,
            Access::Write if valid && self.kind == Some(Kind::App) => Next::Fail(Refusal::NeedUser),
            Access::Read | Access::Write if valid => Next::Send,
            _ if self.restore => Next::Restore,
            Access::Read if matches!(self.kind, None | Some(Kind::App)) => create_app,
            Access::Read => Next::Fail(Refusal::SessionExpired),
            _ => match self.kind {
                None => Next::Fail(Refusal::NoSession),
                Some(Kind::App) => Next::Fail(Refusal::NeedUser),
                Some(_) => Next::Fail(Refusal::SessionExpired),
            },
        }
    }

    fn install(&mut self, kind: Kind, token: String, deadline: Option<i64>) {
        self.generation += 1;
        self.kind = Some(kind);
        self.gone = false;
        self.deadline = deadline;
        self.token = token;
        self.user = (kind != Kind::App).then_some(USER);
    }

    /// The fake server's next session, with its deadline as announced.
    fn establish(&mut self, kind: Kind, header: Created, change: SessionChange) {
        let token = self.issue();
        let deadline = match header {
            Created::Absent | Created::Exact => self.now + ttl(kind),
            Created::Offset(o) => self.now + o,
        };
        self.install(kind, token, Some(deadline));
        self.event(change);
    }

    fn issue(&mut self) -> String {
        self.issued += 1;
        format!("t{}", self.issued)
    }

    fn end(&mut self) {
        self.generation += 1;
        if self.kind.is_some() {
            self.kind = None;
            self.gone = false;
            self.deadline = None;
            self.user = None;
            self.event(SessionChange::Destroyed);
        }
    }

    /// The app adopts the next token minted elsewhere.
    fn adopt(&mut self, kind: Kind, deadline: Option<i64>) {
        self.adopted += 1;
        let token = format!("a{}", self.adopted);
        self.install(kind, token, deadline.map(|o| self.now + o));
        self.event(SessionChange::Adopted);
    }

    /// The app's own `create_session`.
    fn create(&mut self, kind: Kind, header: Created) -> Outcome {
        if !self.auth_key {
            return Outcome::NoAuthKey;
        }
        self.establish(kind, header, SessionChange::Created(session_kind(kind)));
        Outcome::Ok
    }

    fn rearm(&mut self, header: Option<i64>) {
        self.deadline = match (header, self.kind) {
            (Some(offset), _) => Some(self.now + offset),
            (None, Some(Kind::Guest)) => self.deadline.or(Some(self.now + IDLE)),
            (None, _) => Some(self.now + IDLE),
        };
    }

    /// The answer to the operation's request, sent with the token of
    /// `generation`; `Some` when the call is over.
    fn answer(
        &mut self,
        op: Op,
        reply: Reply,
        generation: u64,
        st: &mut CallState,
    ) -> Option<Outcome> {
        let current = generation == self.generation && self.active();
        match reply {
            Reply::Missing(_) => {
                if current {
                    self.gone = true;
                    self.event(SessionChange::Expired(ExpiredBy::Server));
                }
                if op == Op::SignOut || op == Op::Destroy {
                    return Some(Outcome::Expired);
                }
                if st.retries == 1 {
                    return Some(Outcome::RestoreFailed);
                }
                st.retries = 1;
                None
            }
            Reply::TokenRequired(_) => Some(Outcome::Status(401)),
            // The standard policy: reads (the probes) go again, twice at
            // most; a 503 without a deadline re-arms nothing.
            Reply::Busy if idempotent(op) && st.resends < RESENDS => {
                st.resends += 1;
                None
            }
            Reply::Busy => Some(Outcome::Status(503)),
            Reply::Cut(cut) if (idempotent(op) || cut == Cut::Refused) && st.resends < RESENDS => {
                st.resends += 1;
                None
            }
            Reply::Cut(_) => Some(Outcome::Cut),
            Reply::Forbidden => {
                if current {
                    self.rearm(None);
                }
                Some(Outcome::Status(403))
            }
            Reply::Ok(header) => {
                if current {
                    self.rearm(header);
                }
                if generation == self.generation {
                    match op {
                        Op::SignIn if self.active() => {
                            self.kind = Some(Kind::User);
                            self.user = Some(USER);
                            self.event(SessionChange::Upgraded);
                        }
                        Op::SignOut if self.active() => {
                            self.kind = Some(Kind::App);
                            self.user = None;
                            self.event(SessionChange::Downgraded);
                        }
                        Op::Destroy => self.end(),
                        _ => {}
                    }
                }
                Some(Outcome::Ok)
            }
        }
    }

    /// The restore callback's answer, holding the turn; `Some` when the
    /// call is over.
    fn restore_with(
        &mut self,
        answer: Answer,
        header: Created,
        st: &mut CallState,
    ) -> Option<Outcome> {
        match answer {
            Answer::Decline => Some(if !self.auth_key {
                Outcome::NoAuthKey
            } else if self.kind.is_none() {
                Outcome::NoSession
            } else {
                Outcome::Expired
            }),
            Answer::Credentials(_) if !self.auth_key => Some(Outcome::NoAuthKey),
            Answer::Credentials(kind) => {
                st.created += 1;
                self.establish(kind, header, SessionChange::Restored);
                None
            }
            Answer::Ready(kind, deadline) => {
                st.created += 1;
                self.ready += 1;
                let token = format!("r{}", self.ready);
                self.install(kind, token, deadline.map(|o| self.now + o));
                self.event(SessionChange::Restored);
                None
            }
        }
    }

    /// A call, by the rules: decide, send, on a lost session retry once.
    fn call(
        &mut self,
        op: Op,
        replies: &[Reply],
        answer: Answer,
        header: Created,
        mut st: CallState,
    ) -> (Outcome, u8, u8) {
        let access = access_of(op);
        loop {
            self.notice();
            let outcome = match self.next(access) {
                Next::Fail(r) => Some(refusal(r)),
                Next::CreateApp | Next::Restore if st.overruled => Some(Outcome::Overruled),
                Next::CreateApp | Next::Restore if st.created == 2 => Some(Outcome::Expired),
                Next::CreateApp => {
                    st.created += 1;
                    self.establish(
                        Kind::App,
                        header,
                        SessionChange::Created(SessionKind::Application),
                    );
                    None
                }
                Next::Restore => self.restore_with(answer, header, &mut st),
                Next::Send => {
                    let reply = replies[st.sent];
                    st.sent += 1;
                    self.carried.push(self.token.clone());
                    self.answer(op, reply, self.generation, &mut st)
                }
            };
            if let Some(outcome) = outcome {
                return (outcome, st.retries, st.resends);
            }
        }
    }

    fn app(&mut self, action: AppAction) {
        let fine = [Reply::Ok(Some(IDLE)); 3];
        let done = CallState::default;
        match action {
            AppAction::CreateThenSignOut => {
                self.create(Kind::User, Created::Exact);
                self.call(Op::SignOut, &fine, Answer::Decline, Created::Exact, done());
            }
            AppAction::CreateThenDestroy => {
                self.create(Kind::User, Created::Exact);
                self.call(Op::Destroy, &fine, Answer::Decline, Created::Exact, done());
            }
            AppAction::SignIn => {
                self.call(Op::SignIn, &fine, Answer::Decline, Created::Exact, done());
            }
            AppAction::Forget => self.end(),
        }
    }
}

fn refusal(r: Refusal) -> Outcome {
    match r {
        Refusal::NoSession => Outcome::NoSession,
        Refusal::SessionExpired => Outcome::Expired,
        Refusal::NeedUser => Outcome::NeedUser,
        Refusal::NoAuthKey => Outcome::NoAuthKey,
    }
}

/// Whether the operation may go again after the server may have acted on
/// it: the probes are `GET`s; sign-in is a `POST`, sign-out and destroy are
/// `DELETE`s.
fn idempotent(op: Op) -> bool {
    matches!(op, Op::Read | Op::Write)
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

fn created() -> impl Strategy<Value = Created> {
    prop_oneof![
        2 => Just(Created::Absent),
        2 => Just(Created::Exact),
        1 => prop_oneof![Just(-30i64), Just(60), Just(3 * IDLE), Just(YEAR)].prop_map(Created::Offset),
    ]
}

fn form() -> impl Strategy<Value = Form> {
    prop_oneof![Just(Form::Object), Just(Form::Array)]
}

fn reply() -> impl Strategy<Value = Reply> {
    prop_oneof![
        3 => prop_oneof![
            Just(None),
            Just(Some(IDLE)),
            Just(Some(30)),
            Just(Some(3 * IDLE)),
            Just(Some(-30)),
            Just(Some(YEAR)),
        ]
        .prop_map(Reply::Ok),
        2 => form().prop_map(Reply::Missing),
        1 => form().prop_map(Reply::TokenRequired),
        1 => Just(Reply::Forbidden),
        1 => Just(Reply::Busy),
        1 => prop_oneof![Just(Cut::Refused), Just(Cut::AfterSent)].prop_map(Reply::Cut),
    ]
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        1 => Just(Answer::Decline),
        3 => kind().prop_map(Answer::Credentials),
        2 => (kind(), proptest::option::of(prop_oneof![Just(IDLE), Just(-30i64), Just(60)]))
            .prop_map(|(k, d)| Answer::Ready(k, d)),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Read),
        Just(Op::Write),
        Just(Op::SignIn),
        Just(Op::SignOut),
        Just(Op::Destroy)
    ]
}

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Transition;

    fn init_state() -> BoxedStrategy<Model> {
        (
            prop_oneof![Just(0i64), Just(10), Just(60)],
            any::<bool>(),
            prop_oneof![4 => Just(true), 1 => Just(false)],
        )
            .prop_map(|(margin, restore, auth_key)| Model {
                now: 0,
                margin,
                restore,
                auth_key,
                kind: None,
                gone: false,
                deadline: None,
                token: String::new(),
                user: None,
                generation: 0,
                revision: 0,
                issued: 0,
                adopted: 0,
                ready: 0,
                last: None,
                carried: Vec::new(),
                events: Vec::new(),
            })
            .boxed()
    }

    fn transitions(_: &Model) -> BoxedStrategy<Transition> {
        let app = prop_oneof![
            Just(AppAction::CreateThenSignOut),
            Just(AppAction::CreateThenDestroy),
            Just(AppAction::SignIn),
            Just(AppAction::Forget),
        ];
        let mode = prop_oneof![
            Just(ResumeMode::Fresh),
            Just(ResumeMode::Running),
            Just(ResumeMode::Foreign)
        ];
        prop_oneof![
            3 => prop_oneof![0..120i64, IDLE - 70..IDLE + 70, 0..2 * GUEST].prop_map(Transition::Advance),
            1 => (-1i64..=1).prop_map(Transition::Edge),
            1 => any::<bool>().prop_map(Transition::SetRestore),
            2 => (kind(), created()).prop_map(|(kind, header)| Transition::Create { kind, header }),
            6 => (op(), [reply(), reply(), reply(), reply()], answer(), created())
                .prop_map(|(op, replies, answer, header)| Transition::Call { op, replies, answer, header }),
            1 => mode.prop_map(Transition::Resume),
            1 => (kind(), proptest::option::of(prop_oneof![Just(IDLE), Just(30i64)]))
                .prop_map(|(kind, deadline)| Transition::Adopt { kind, deadline }),
            1 => Just(Transition::Forget),
            2 => (reply(), reply(), kind(), created())
                .prop_map(|(first, second, kind, header)| Transition::Stale { first, second, between: Between::Create(kind), header }),
            2 => (reply(), reply(), answer(), created())
                .prop_map(|(first, second, answer, header)| Transition::Stale { first, second, between: Between::LostAndRestored(answer), header }),
            1 => (reply(), reply(), kind(), proptest::option::of(prop_oneof![Just(IDLE), Just(30i64)]), created())
                .prop_map(|(first, second, kind, deadline, header)| Transition::Stale { first, second, between: Between::Adopt(kind, deadline), header }),
            1 => (reply(), reply(), created())
                .prop_map(|(first, second, header)| Transition::Stale { first, second, between: Between::Resume, header }),
            2 => (prop_oneof![Just(Op::Read), Just(Op::Write)], answer(), app, reply(), created())
                .prop_map(|(op, answer, app, reply, header)| Transition::DuringRestore { op, answer, app, reply, header }),
        ]
        .boxed()
    }

    fn apply(mut m: Model, t: &Transition) -> Model {
        m.last = None;
        m.carried.clear();
        m.events.clear();
        match *t {
            Transition::Advance(s) => m.now += s,
            Transition::Edge(d) => {
                if let (true, Some(deadline)) = (m.active(), m.deadline) {
                    m.now = m.now.max(deadline - m.margin + d);
                }
            }
            Transition::SetRestore(r) => m.restore = r,
            Transition::Create { kind, header } => {
                let outcome = m.create(kind, header);
                m.last = Some((outcome, 0, 0));
            }
            Transition::Call {
                op,
                replies,
                answer,
                header,
            } => {
                m.last = Some(m.call(op, &replies, answer, header, CallState::default()));
            }
            Transition::Resume(mode) => {
                if m.kind.is_some() && mode == ResumeMode::Running {
                    m.generation += 1;
                    m.event(SessionChange::Resumed);
                }
            }
            Transition::Adopt { kind, deadline } => m.adopt(kind, deadline),
            Transition::Forget => m.end(),
            Transition::Stale {
                first,
                second,
                between,
                header,
            } => {
                if m.valid() {
                    let mut st = CallState::default();
                    m.notice();
                    m.carried.push(m.token.clone());
                    st.sent = 1;
                    let generation = m.generation;
                    match between {
                        Between::Create(kind) => {
                            m.create(kind, header);
                        }
                        Between::LostAndRestored(answer) => {
                            let replies = [
                                Reply::Missing(Form::Object),
                                Reply::Ok(Some(IDLE)),
                                Reply::Forbidden,
                            ];
                            m.call(Op::Read, &replies, answer, header, CallState::default());
                        }
                        Between::Adopt(kind, deadline) => m.adopt(kind, deadline),
                        // The same token and deadline, put in place anew.
                        Between::Resume => {
                            m.generation += 1;
                            m.event(SessionChange::Resumed);
                        }
                    }
                    let replies = [first, second, Reply::Forbidden];
                    m.last = Some(match m.answer(Op::Read, first, generation, &mut st) {
                        Some(outcome) => (outcome, st.retries, st.resends),
                        None => m.call(Op::Read, &replies, Answer::Decline, header, st),
                    });
                }
            }
            Transition::DuringRestore {
                op,
                answer,
                app,
                reply,
                header,
            } => {
                if m.auth_key && answer != Answer::Decline && {
                    m.notice();
                    m.next(access_of(op)) == Next::Restore
                } {
                    let revision = m.revision;
                    m.app(app);
                    let mut st = CallState::default();
                    let overruled = m.revision != revision;
                    match answer {
                        Answer::Credentials(kind) => {
                            st.created = 1;
                            if overruled {
                                // The server still made the session; it is dropped.
                                m.issue();
                            } else {
                                m.establish(kind, header, SessionChange::Restored);
                            }
                        }
                        // A late ready session is dropped unused.
                        _ if overruled => m.ready += 1,
                        _ => {
                            m.restore_with(answer, header, &mut st);
                        }
                    }
                    st.overruled = overruled;
                    let replies = [reply, Reply::Forbidden, Reply::Forbidden];
                    m.last = Some(m.call(op, &replies, Answer::Decline, header, st));
                }
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
    issued: u32,
    adopted: u32,
    ready: u32,
    last: Option<(Outcome, u8, u8)>,
    /// The `CB-Token` of every operation request of the last transition.
    carried: Vec<String>,
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

fn credentials(kind: Kind) -> Credentials {
    match kind {
        Kind::App => Credentials::Application,
        Kind::User => Credentials::login("user", "password1"),
        Kind::Guest => Credentials::guest(None),
    }
}

fn outcome_of<T>(result: Result<T, Error>) -> Outcome {
    match result {
        Ok(_) => Outcome::Ok,
        Err(Error::NoSession) => Outcome::NoSession,
        Err(Error::SessionExpired) => Outcome::Expired,
        Err(Error::NeedUser) => Outcome::NeedUser,
        Err(Error::NoAuthKey) => Outcome::NoAuthKey,
        Err(Error::RestoreFailed(_)) => Outcome::RestoreFailed,
        Err(Error::RestoreOverruled) => Outcome::Overruled,
        Err(e) => Outcome::Status(e.status().map_or(0, |s| s.as_u16())),
    }
}

impl Real {
    fn at(&self, offset: i64) -> OffsetDateTime {
        self.now + Duration::seconds(offset)
    }

    /// The fake server's answer to a session creation.
    fn session_response(&mut self, req: &Request, header: Created) -> Response {
        let body: serde_json::Value = serde_json::from_slice(req.body()).unwrap();
        let guest = body["user"]["guest"] == 1;
        let user_id = if body.get("user").is_some() { USER } else { 0 };
        self.issued += 1;
        let ttl = if guest { GUEST } else { IDLE };
        let mut resp = http::Response::builder().status(201);
        let deadline = match header {
            Created::Absent => None,
            Created::Exact => Some(self.at(ttl)),
            Created::Offset(o) => Some(self.at(o)),
        };
        if let Some(at) = deadline {
            resp = resp.header("CB-Token-ExpirationDate", format_expiration(at));
        }
        let json = format!(
            r#"{{"session":{{"id":{},"user_id":{user_id},"token":"t{}"}}}}"#,
            self.issued, self.issued
        );
        resp.body(json.into_bytes()).unwrap()
    }

    /// Records the token an operation request carried.
    fn carry(&mut self, req: &Request) {
        let token = req.headers().get("CB-Token").map(|v| v.to_str().unwrap());
        self.carried.push(token.unwrap_or("-").to_owned());
    }

    fn reply(&mut self, req: &Request, reply: Reply) -> Response {
        self.carry(req);
        let in_form = |form: Form, message: &str| match form {
            Form::Object => format!(r#"{{"errors":{{"base":["{message}"]}}}}"#),
            Form::Array => format!(r#"{{"errors":["{message}"]}}"#),
        };
        let (status, body) = match reply {
            Reply::Ok(_) => (200, r#"{"user":{"id":9}}"#.to_owned()),
            Reply::Missing(form) => (401, in_form(form, "Required session does not exist")),
            Reply::TokenRequired(form) => (401, in_form(form, "Token is required")),
            Reply::Forbidden => (403, r#"{"errors":{"base":["Forbidden"]}}"#.to_owned()),
            Reply::Busy => (503, r#"{"errors":["Service Unavailable"]}"#.to_owned()),
            Reply::Cut(_) => unreachable!("a cut connection has no answer"),
        };
        let mut resp = http::Response::builder().status(status);
        if let Reply::Ok(Some(offset)) = reply {
            resp = resp.header(
                "CB-Token-ExpirationDate",
                format_expiration(self.at(offset)),
            );
        }
        resp.body(body.as_bytes().to_vec()).unwrap()
    }

    fn answer(&mut self, answer: Answer) -> RestoreAnswer {
        match answer {
            Answer::Decline => RestoreAnswer::Decline,
            Answer::Credentials(kind) => credentials(kind).into(),
            Answer::Ready(kind, deadline) => {
                self.ready += 1;
                let mut token = IssuedToken::new(format!("r{}", self.ready));
                token = match kind {
                    Kind::App => token,
                    Kind::User => token.user(USER),
                    Kind::Guest => token.guest(USER),
                };
                if let Some(o) = deadline {
                    token = token.expires_at(self.at(o));
                }
                token.into()
            }
        }
    }

    fn is_session_request(req: &Request) -> bool {
        req.method() == http::Method::POST && req.uri().path() == "/session"
    }

    /// Drives `call` to its end; `sent` operation replies were used already.
    /// Checks the restore turn is taken and released in pairs, and that a
    /// finished call sends nothing more.
    fn finish<O: Operation>(
        &mut self,
        call: &mut Call<O>,
        replies: &[Reply],
        mut sent: usize,
        answer: Answer,
        header: Created,
        mut turn: bool,
    ) -> (Outcome, u8, u8) {
        for nonce in 0..32 {
            match call.poll(&mut self.session, self.now, nonce) {
                Step::Send(req) if Self::is_session_request(&req) => {
                    let resp = self.session_response(&req, header);
                    call.handle_response(&mut self.session, resp).unwrap();
                }
                Step::Send(req) => {
                    sent += 1;
                    let reply = replies[sent - 1];
                    let Reply::Cut(cut) = reply else {
                        let resp = self.reply(&req, reply);
                        call.handle_response(&mut self.session, resp).unwrap();
                        continue;
                    };
                    self.carry(&req);
                    if call.handle_failure(cut.failure()).unwrap() == AfterFailure::GiveUp {
                        assert!(!turn, "no operation goes out holding the turn");
                        assert!(call.is_done());
                        return (Outcome::Cut, call.retries(), call.report().resends);
                    }
                }
                Step::TakeRestoreTurn => {
                    assert!(!turn, "the turn is taken once");
                    turn = true;
                }
                Step::AskRestore => {
                    assert!(turn, "the callback runs holding the turn");
                    let answer = self.answer(answer);
                    call.provide_restore(&mut self.session, answer).unwrap();
                }
                Step::ReleaseRestoreTurn => {
                    assert!(turn, "only a held turn is released");
                    turn = false;
                }
                // The clock stands still: a wait changes no session.
                Step::Wait(_) => {}
                Step::Done(result) => {
                    assert!(!turn, "a finished call holds no turn");
                    assert!(matches!(
                        call.poll(&mut self.session, self.now, 99),
                        Step::Done(Err(Error::Misuse(Misuse::PolledAfterDone)))
                    ));
                    return (outcome_of(result), call.retries(), call.report().resends);
                }
            }
        }
        panic!("a call did not finish in 32 steps");
    }

    fn run<O: Operation>(
        &mut self,
        op: O,
        replies: &[Reply],
        answer: Answer,
        header: Created,
    ) -> (Outcome, u8, u8) {
        let mut call = Call::new(self.config.clone(), op);
        self.finish(&mut call, replies, 0, answer, header, false)
    }

    fn run_op(
        &mut self,
        op: Op,
        replies: &[Reply],
        answer: Answer,
        header: Created,
    ) -> (Outcome, u8, u8) {
        match op {
            Op::Read => self.run(Probe(Access::Read), replies, answer, header),
            Op::Write => self.run(Probe(Access::Write), replies, answer, header),
            Op::SignIn => self.run(
                SignIn::new(credentials(Kind::User)),
                replies,
                answer,
                header,
            ),
            Op::SignOut => self.run(SignOut, replies, answer, header),
            Op::Destroy => self.run(DestroySession, replies, answer, header),
        }
    }

    fn create(&mut self, kind: Kind, header: Created) -> Outcome {
        let op = CreateSession::new(credentials(kind));
        self.run(op, &[Reply::Forbidden; 3], Answer::Decline, header)
            .0
    }

    fn app(&mut self, action: AppAction) {
        let fine = [Reply::Ok(Some(IDLE)); 3];
        match action {
            AppAction::CreateThenSignOut => {
                self.create(Kind::User, Created::Exact);
                self.run_op(Op::SignOut, &fine, Answer::Decline, Created::Exact);
            }
            AppAction::CreateThenDestroy => {
                self.create(Kind::User, Created::Exact);
                self.run_op(Op::Destroy, &fine, Answer::Decline, Created::Exact);
            }
            AppAction::SignIn => {
                self.run_op(Op::SignIn, &fine, Answer::Decline, Created::Exact);
            }
            AppAction::Forget => self.session.end(),
        }
    }

    /// Exports the session through JSON, as an app saving it would.
    fn exported(&self) -> Option<SessionSnapshot> {
        let snapshot = self.session.export()?;
        let json = serde_json::to_string(&snapshot).unwrap();
        let back: SessionSnapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back, snapshot, "a snapshot survives JSON");
        Some(back)
    }

    fn resume(&mut self, mode: ResumeMode) {
        let Some(snapshot) = self.exported() else {
            return;
        };
        match mode {
            ResumeMode::Fresh => {
                let options = self.session.options();
                self.session = Session::resumed(&self.config, options, snapshot).unwrap();
            }
            ResumeMode::Running => self.session.resume(&self.config, snapshot).unwrap(),
            ResumeMode::Foreign => {
                let other = Config::builder(self.config.application_id() + 1, "key")
                    .base_url(self.config.base_url())
                    .build()
                    .unwrap();
                let err = self.session.resume(&other, snapshot).unwrap_err();
                assert!(matches!(err, Error::ForeignSnapshot(_)), "{err}");
            }
        }
    }

    /// Adopts the next token minted elsewhere.
    fn adopt(&mut self, kind: Kind, deadline: Option<i64>) {
        self.adopted += 1;
        let mut token = IssuedToken::new(format!("a{}", self.adopted));
        token = match kind {
            Kind::App => token,
            Kind::User => token.user(USER),
            Kind::Guest => token.guest(USER),
        };
        if let Some(o) = deadline {
            token = token.expires_at(self.at(o));
        }
        let config = self.config.clone();
        self.session.adopt(&config, token).unwrap();
    }

    fn stale(&mut self, first: Reply, second: Reply, between: Between, header: Created) {
        if !self.session.is_valid(self.now) {
            return;
        }
        let saved = self.exported();
        let mut call = Call::new(self.config.clone(), Probe(Access::Read));
        let Step::Send(req) = call.poll(&mut self.session, self.now, 1) else {
            panic!("a valid session sends a read")
        };
        // The server answers now; the answer (or the failure) arrives after
        // the replacement.
        let resp = match first {
            Reply::Cut(_) => {
                self.carry(&req);
                None
            }
            _ => Some(self.reply(&req, first)),
        };
        match between {
            Between::Create(kind) => {
                self.create(kind, header);
            }
            Between::LostAndRestored(answer) => {
                let replies = [
                    Reply::Missing(Form::Array),
                    Reply::Ok(Some(IDLE)),
                    Reply::Forbidden,
                ];
                self.run_op(Op::Read, &replies, answer, header);
            }
            Between::Adopt(kind, deadline) => self.adopt(kind, deadline),
            Between::Resume => {
                let saved = saved.expect("a valid session exports");
                self.session.resume(&self.config, saved).unwrap();
            }
        }
        match (resp, first) {
            (Some(resp), _) => call.handle_response(&mut self.session, resp).unwrap(),
            (None, Reply::Cut(cut)) => {
                let after = call.handle_failure(cut.failure()).unwrap();
                assert_eq!(after, AfterFailure::Retry, "a read goes again");
            }
            (None, _) => unreachable!(),
        }
        let replies = [first, second, Reply::Forbidden];
        self.last = Some(self.finish(&mut call, &replies, 1, Answer::Decline, header, false));
    }

    fn during_restore(
        &mut self,
        op: Op,
        answer: Answer,
        app: AppAction,
        reply: Reply,
        header: Created,
    ) {
        let mut call = Call::new(self.config.clone(), Probe(access_of(op)));
        if self.config.auth_key().is_none()
            || answer == Answer::Decline
            || !matches!(
                call.poll(&mut self.session, self.now, 1),
                Step::TakeRestoreTurn
            )
        {
            return;
        }
        assert!(matches!(
            call.poll(&mut self.session, self.now, 2),
            Step::AskRestore
        ));
        if let Answer::Credentials(kind) = answer {
            call.provide_restore(&mut self.session, credentials(kind))
                .unwrap();
            let Step::Send(create) = call.poll(&mut self.session, self.now, 3) else {
                panic!("the restore's session request")
            };
            self.app(app);
            let resp = self.session_response(&create, header);
            call.handle_response(&mut self.session, resp).unwrap();
        } else {
            // The app acts while the callback fetches a ready session.
            self.app(app);
            let answer = self.answer(answer);
            call.provide_restore(&mut self.session, answer).unwrap();
        }
        let replies = [reply, Reply::Forbidden, Reply::Forbidden];
        self.last = Some(self.finish(&mut call, &replies, 0, Answer::Decline, header, true));
    }
}

fn decision_of(decision: Decision) -> Next {
    match decision {
        Decision::Send(_) => Next::Send,
        Decision::CreateApplicationSession => Next::CreateApp,
        Decision::Restore => Next::Restore,
        Decision::Fail(r) => Next::Fail(r),
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
            auth_key: m.auth_key,
        };
        let config = if m.auth_key {
            Config::builder(1, "key")
        } else {
            Config::builder_without_auth_key(1)
        };
        let config = config.base_url("http://cube.test").build().unwrap();
        Real {
            session: Session::for_config(&config, options),
            config,
            now: T0,
            issued: 0,
            adopted: 0,
            ready: 0,
            last: None,
            carried: Vec::new(),
        }
    }

    fn apply(mut real: Real, _: &Model, t: Transition) -> Real {
        real.last = None;
        real.carried.clear();
        // Only this transition's events are compared.
        while real.session.poll_event().is_some() {}
        match t {
            Transition::Advance(s) => real.now += Duration::seconds(s),
            Transition::Edge(d) => {
                if let (true, Some(deadline)) =
                    (real.session.token().is_some(), real.session.expires_at())
                {
                    let margin = real.session.options().margin;
                    real.now = real.now.max(deadline - margin + Duration::seconds(d));
                }
            }
            Transition::SetRestore(r) => real.session.set_restore(r),
            Transition::Create { kind, header } => {
                real.last = Some((real.create(kind, header), 0, 0));
            }
            Transition::Call {
                op,
                replies,
                answer,
                header,
            } => {
                real.last = Some(real.run_op(op, &replies, answer, header));
            }
            Transition::Resume(mode) => real.resume(mode),
            Transition::Adopt { kind, deadline } => real.adopt(kind, deadline),
            Transition::Forget => real.session.end(),
            Transition::Stale {
                first,
                second,
                between,
                header,
            } => real.stale(first, second, between, header),
            Transition::DuringRestore {
                op,
                answer,
                app,
                reply,
                header,
            } => real.during_restore(op, answer, app, reply, header),
        }
        real
    }

    fn check_invariants(real: &Real, m: &Model) {
        let now = real.now;
        assert_eq!(now, T0 + Duration::seconds(m.now));
        assert_eq!(real.last, m.last, "outcome, retry count and resends");
        assert_eq!(real.carried, m.carried, "the token each request carried");
        let mut session = real.session.clone();
        let events: Vec<SessionChange> = std::iter::from_fn(|| session.poll_event())
            .map(|e| e.change)
            .collect();
        assert_eq!(events, m.events, "the changes reported");
        assert_eq!(real.session.is_valid(now), m.valid(), "validity");
        assert_eq!(real.session.status(now), m.status(), "status");
        if m.active() {
            assert_eq!(
                real.session.token().map(|t| t.expose()),
                Some(m.token.as_str()),
                "token"
            );
            assert_eq!(real.session.user_id(), m.user, "user");
            assert_eq!(
                real.session.expires_at(),
                m.deadline.map(|d| T0 + Duration::seconds(d)),
                "deadline"
            );
        } else {
            assert_eq!(real.session.token(), None, "no token");
        }
        assert_eq!(real.session.kind(), m.kind.map(session_kind), "kind");
        for access in [
            Access::Public,
            Access::Optional,
            Access::Read,
            Access::Write,
            Access::Current,
            Access::SignIn,
        ] {
            assert_eq!(
                decision_of(real.session.decide(access, now)),
                m.next(access),
                "next action for {access:?}"
            );
        }
        if let Some((_, retries, resends)) = m.last {
            assert!(retries <= 1, "never more than one retry");
            assert!(
                resends <= RESENDS,
                "never more resends than the policy allows"
            );
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
