//! The emulator as an application's test bench: start one in a line, seed
//! users, move the clock, end sessions, read the outbox and the request
//! log, make requests fail on purpose — all in process, with no HTTP
//! client of your own.
//!
//! [`TestEmulator`] is for blocking tests (it serves on a runtime of its
//! own thread); [`AsyncTestEmulator`] is for `#[tokio::test]`s (it serves
//! on the test's runtime). Both have the same helpers, blocking in one and
//! `async` in the other. Each helper is a call of the admin API
//! (`docs/EMULATOR.md`) made in process, so it does exactly what the
//! route does; [`TestEmulator::admin`] reaches any admin route, including
//! ones that have no helper yet.
//!
//! The session's life is the hard thing to test: a token ends two hours
//! after its last request (a guest's after a day). Here it ends when the
//! test says so:
//!
//! ```
//! use cube_emulator::testing::{SeedUser, TestEmulator};
//! use serde_json::json;
//!
//! let emulator = TestEmulator::start()?;
//! let ann = emulator.seed_user(SeedUser::with_login("ann_test", "password-1"))?;
//!
//! // The app under test signs in (here by hand; normally through the SDK).
//! let mut answer = ureq::post(&format!("{}/session", emulator.base_url())).send_json(json!({
//!     "application_id": emulator.app_id(),
//!     "auth_key": emulator.auth_key(),
//!     "user": {"login": "ann_test", "password": "password-1"},
//! }))?;
//! let session: serde_json::Value = answer.body_mut().read_json()?;
//! let token = session["session"]["token"].as_str().unwrap_or_default().to_owned();
//!
//! // Its session, as the emulator sees it (never the token itself).
//! let sessions = emulator.sessions_of_user(ann)?;
//! assert_eq!(sessions.len(), 1);
//!
//! // Ended now, as two idle hours would end it: the next call is refused,
//! // which is what makes an SDK run its restore callback.
//! emulator.expire_session(sessions[0].id)?;
//! let refused = ureq::get(&format!("{}/session", emulator.base_url()))
//!     .header("CB-Token", &token)
//!     .call();
//! assert!(matches!(refused, Err(ureq::Error::StatusCode(401))));
//!
//! // What the app sent, newest first: the refused call, then the sign-in.
//! let log = emulator.requests()?;
//! assert_eq!((log[0].method.as_str(), log[0].status), ("GET", 401));
//! assert_eq!(log[0].session, Some(sessions[0].fingerprint.clone()));
//! assert_eq!(log[1].user_id, Some(ann));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! In an async test:
//!
//! ```
//! use cube_emulator::testing::{AsyncTestEmulator, SeedUser};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // #[tokio::test]
//! // async fn my_test() -> Result<(), Box<dyn std::error::Error>> {
//! let emulator = AsyncTestEmulator::start().await?;
//! emulator.seed_user(SeedUser::with_email("bo@example.com", "password-2")).await?;
//! let before = emulator.now().await?;
//! let after = emulator.advance_clock(2 * 3600).await?;
//! assert_eq!(after.duration_since(before)?.as_secs() / 60, 120);
//! assert!(emulator.outbox().await?.is_empty());
//! emulator.stop().await;
//! # Ok(())
//! # }
//! ```
//!
//! Faults on purpose (`docs/EMULATOR.md`, "Faults"): the app under test
//! meets a `503`, a `429` with `Retry-After`, a slow answer or a cut
//! connection exactly when the test says, and the request log shows what
//! was done:
//!
//! ```
//! use cube_emulator::testing::{FaultRule, TestEmulator};
//!
//! let emulator = TestEmulator::start()?;
//! // The next read of a user is answered 503, once.
//! let rule = emulator.add_fault(FaultRule::new("GET", "/users/*").status(503))?;
//!
//! let url = format!("{}/users/1", emulator.base_url());
//! assert!(matches!(ureq::get(&url).call(), Err(ureq::Error::StatusCode(503))));
//! // Spent: the next one is served (here: no session, so 401).
//! assert!(matches!(ureq::get(&url).call(), Err(ureq::Error::StatusCode(401))));
//!
//! let fault = emulator.requests()?[1].fault.clone().expect("faulted");
//! assert_eq!((fault.rule, fault.effect.as_str()), (rule, "status=503"));
//! assert_eq!(emulator.faults()?[0].fired, 1);
//! emulator.clear_faults()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};

use crate::router::{self, Connection};
use crate::state::State;
use crate::{Emulator, EmulatorConfig, RunningEmulator, StartError};

/// Why a helper failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The emulator refused the call (the admin API's answer: `status` and
    /// its JSON errors, as text).
    #[error("the emulator answered {status}: {errors}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The answer's body.
        errors: String,
    },
    /// The emulator is stopping or stopped.
    #[error("the emulator has stopped")]
    Stopped,
    /// The answer was not what this helper reads (a bug: please report it).
    #[error("unexpected answer from the emulator: {0}")]
    Unexpected(String),
}

/// A user to create before a test runs (as `POST
/// /_emulator/apps/{id}/users` takes it): a login or an e-mail, and
/// usually a password to sign in with.
#[derive(Clone, Default)]
pub struct SeedUser {
    login: Option<String>,
    email: Option<String>,
    password: Option<String>,
    full_name: Option<String>,
    phone: Option<String>,
    tags: Vec<String>,
    custom_data: Option<String>,
}

impl fmt::Debug for SeedUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeedUser")
            .field("login", &self.login)
            .field("email", &self.email)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("full_name", &self.full_name)
            .field("tags", &self.tags)
            .finish_non_exhaustive()
    }
}

impl SeedUser {
    /// A user who signs in with `login` and `password`.
    pub fn with_login(login: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            login: Some(login.into()),
            password: Some(password.into()),
            ..Self::default()
        }
    }

    /// A user who signs in with `email` and `password`.
    pub fn with_email(email: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            email: Some(email.into()),
            password: Some(password.into()),
            ..Self::default()
        }
    }

    /// Their e-mail address too.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Their full name.
    pub fn full_name(mut self, name: impl Into<String>) -> Self {
        self.full_name = Some(name.into());
        self
    }

    /// Their phone number.
    pub fn phone(mut self, phone: impl Into<String>) -> Self {
        self.phone = Some(phone.into());
        self
    }

    /// Their tags (at most 5).
    pub fn tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Their `custom_data`.
    pub fn custom_data(mut self, data: impl Into<String>) -> Self {
        self.custom_data = Some(data.into());
        self
    }

    fn to_json(&self) -> Value {
        let mut user = serde_json::Map::new();
        let fields = [
            ("login", &self.login),
            ("email", &self.email),
            ("password", &self.password),
            ("full_name", &self.full_name),
            ("phone", &self.phone),
            ("custom_data", &self.custom_data),
        ];
        for (key, value) in fields {
            if let Some(value) = value {
                user.insert(key.to_owned(), Value::from(value.as_str()));
            }
        }
        if !self.tags.is_empty() {
            user.insert("tag_list".to_owned(), json!(self.tags));
        }
        Value::Object(user)
    }
}

/// What kind of session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionKind {
    /// An application session (no user).
    Application,
    /// A user's session.
    User,
    /// A guest's session (it and its user end a day after it began).
    Guest,
}

/// A live session, as `GET /_emulator/sessions` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LiveSession {
    /// Its id (the `id` of the SDK's session info).
    pub id: i64,
    /// Its application.
    pub app_id: i64,
    /// Its user (`None` for an application session).
    pub user_id: Option<i64>,
    /// Its kind.
    pub kind: SessionKind,
    /// Its token's fingerprint (8 hex digits; never the token), as the
    /// request log names it.
    pub fingerprint: String,
    /// Whether it was created with a signature.
    pub signed: bool,
    /// When it was created, on the emulator's clock.
    pub created_at: SystemTime,
    /// When its last request came.
    pub last_request_at: SystemTime,
    /// When it ends unless a request comes first (a guest's never moves).
    pub deadline: SystemTime,
}

/// An e-mail the emulator "sent" (a password reset).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mail {
    /// The address.
    pub to: String,
    /// The subject.
    pub subject: String,
    /// The text (it holds the link).
    pub text: String,
    /// The reset link.
    pub link: String,
    /// The reset token the link carries.
    pub token: String,
    /// When it was sent, on the emulator's clock.
    pub created_at: SystemTime,
}

impl fmt::Debug for Mail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The link and the text hold the token: a secret.
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A request of the ConnectyCube API, as the request log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoggedRequest {
    /// Its place in the log: one more than the request before it.
    pub seq: u64,
    /// When it arrived, on the emulator's clock.
    pub at: SystemTime,
    /// `GET`, `POST`, …
    pub method: String,
    /// The path and query, with the values that can be secrets replaced
    /// by `[redacted]` (and cut when long).
    pub path: String,
    /// The answer's status.
    pub status: u16,
    /// How long the emulator took to answer.
    pub duration: Duration,
    /// The application of its session, when it had one.
    pub app_id: Option<i64>,
    /// The user of its session, when it had one.
    pub user_id: Option<i64>,
    /// The fingerprint of the token it sent (or of the session it
    /// created), as [`LiveSession::fingerprint`].
    pub session: Option<String>,
    /// What a fault rule did to it, if one did. A connection cut before
    /// the answer's headers is logged with status `0`.
    pub fault: Option<LoggedFault>,
}

/// What a fault rule did to a logged request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoggedFault {
    /// The rule's id ([`ListedFault::id`]).
    pub rule: u64,
    /// What it did, in the rule's text form: `status=503`,
    /// `latency=200ms status=429`, `cut=before-headers`, …
    pub effect: String,
}

/// A fault rule to add ([`TestEmulator::add_fault`]): the method and path
/// it matches, then what it does and when. It is written in the text
/// form of `docs/EMULATOR.md`, "Faults", and checked by the emulator when
/// added (a bad one is [`Error::Refused`] with status `422`).
///
/// ```
/// use std::time::Duration;
/// use cube_emulator::testing::FaultRule;
///
/// let rule = FaultRule::new("POST", "/users").status(429).header("Retry-After", "1").times(2);
/// assert_eq!(rule.as_text(), r#"POST /users status=429 header="Retry-After:1" times=2"#);
/// let slow = FaultRule::new("*", "/blobs/**").latency(Duration::from_millis(300)).probability(0.5, 7);
/// assert_eq!(slow.as_text(), "* /blobs/** latency=300ms probability=0.5 seed=7");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    text: String,
}

impl FaultRule {
    /// A rule for `method` (`GET`, `POST`, … or `*` for any) and `path`, a
    /// path whose segments may be `*` (any one) or, last, `**` (any
    /// number): `/users/*`, `/blobs/**`. Give it an effect: a
    /// [`status`](Self::status), a cut, or a [`latency`](Self::latency).
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            text: format!("{method} {path}"),
        }
    }

    /// A rule written whole in the text form:
    /// `FaultRule::text("GET /users/* status=503 times=2")`.
    pub fn text(rule: impl Into<String>) -> Self {
        Self { text: rule.into() }
    }

    fn with(mut self, key: &str, value: &str) -> Self {
        self.text.push(' ');
        self.text.push_str(key);
        self.text.push('=');
        self.text.push_str(value);
        self
    }

    fn quoted(self, key: &str, value: &str) -> Self {
        let value = Value::from(value).to_string();
        self.with(key, &value)
    }

    /// Answers with this status (200–599) instead of serving the request;
    /// a 4xx or 5xx without a [`body`](Self::body) has the error object.
    pub fn status(self, status: u16) -> Self {
        self.with("status", &status.to_string())
    }

    /// A header of that answer (at most 16).
    pub fn header(self, name: &str, value: &str) -> Self {
        self.quoted("header", &format!("{name}:{value}"))
    }

    /// The body of that answer (at most 64 KiB): JSON text is sent as
    /// `application/json`, anything else as `text/plain`.
    pub fn body(self, body: &str) -> Self {
        self.quoted("body", body)
    }

    /// Waits this long (whole milliseconds, at most 60 s) before the
    /// request is answered, served or cut.
    pub fn latency(self, latency: Duration) -> Self {
        self.with("latency", &format!("{}ms", latency.as_millis()))
    }

    /// Closes the connection before any byte of the answer: the client
    /// sees the connection end with no answer. The request is not served.
    pub fn cut_before_headers(self) -> Self {
        self.with("cut", "before-headers")
    }

    /// Serves the request, sends the answer's status and headers and at
    /// most half of its body, then closes the connection.
    pub fn cut_after_headers(self) -> Self {
        self.with("cut", "after-headers")
    }

    /// Fires from the `n`th request it matches (the first `n - 1` pass).
    pub fn nth(self, n: u64) -> Self {
        self.with("nth", &n.to_string())
    }

    /// Fires `n` times (once by default).
    pub fn times(self, n: u64) -> Self {
        self.with("times", &n.to_string())
    }

    /// Fires on every request it matches, never spent.
    pub fn always(self) -> Self {
        self.with("times", "always")
    }

    /// Fires on each request it matches with this probability (more than
    /// 0, at most 1), drawn from `seed`: the same seed and the same
    /// requests give the same faults. Every time unless
    /// [`times`](Self::times) says otherwise.
    pub fn probability(self, probability: f64, seed: u64) -> Self {
        self.with("probability", &probability.to_string())
            .with("seed", &seed.to_string())
    }

    /// The rule in the text form, as `--fault` takes it.
    pub fn as_text(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for FaultRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A fault rule as the emulator holds it (`GET /_emulator/faults`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListedFault {
    /// Its id (never reused while the emulator runs).
    pub id: u64,
    /// The rule in its canonical text form.
    pub text: String,
    /// How many requests it matched.
    pub matched: u64,
    /// How many of them it acted on.
    pub fired: u64,
    /// Whether it has fired as many times as it may.
    pub spent: bool,
}

/// The admin API, called in process: what every helper is made of.
#[derive(Clone)]
struct Control {
    state: Arc<State>,
    app_id: i64,
}

fn time(value: &Value) -> Result<SystemTime, Error> {
    let text = value
        .as_str()
        .ok_or_else(|| Error::Unexpected(format!("not a time: {value}")))?;
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| Error::Unexpected(format!("{text}: {e}")))?
        .unix_timestamp();
    let magnitude = Duration::from_secs(at.unsigned_abs());
    let result = if at >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    };
    result.ok_or_else(|| Error::Unexpected(format!("time out of range: {text}")))
}

fn text(value: &Value, key: &str) -> Result<String, Error> {
    value[key]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| Error::Unexpected(format!("no {key} in {value}")))
}

fn int(value: &Value, key: &str) -> Result<i64, Error> {
    value[key]
        .as_i64()
        .ok_or_else(|| Error::Unexpected(format!("no {key} in {value}")))
}

fn items(value: &Value) -> Result<&Vec<Value>, Error> {
    value["items"]
        .as_array()
        .ok_or_else(|| Error::Unexpected(format!("no items in {value}")))
}

fn live_session(item: &Value) -> Result<LiveSession, Error> {
    Ok(LiveSession {
        id: int(item, "id")?,
        app_id: int(item, "app_id")?,
        user_id: item["user_id"].as_i64(),
        kind: match item["kind"].as_str() {
            Some("application") => SessionKind::Application,
            Some("guest") => SessionKind::Guest,
            Some("user") => SessionKind::User,
            _ => return Err(Error::Unexpected(format!("kind of {item}"))),
        },
        fingerprint: text(item, "fingerprint")?,
        signed: item["signed"].as_bool().unwrap_or(false),
        created_at: time(&item["created_at"])?,
        last_request_at: time(&item["last_request_at"])?,
        deadline: time(&item["deadline"])?,
    })
}

fn mail(item: &Value) -> Result<Mail, Error> {
    Ok(Mail {
        to: text(item, "to")?,
        subject: text(item, "subject")?,
        text: text(item, "text")?,
        link: text(item, "link")?,
        token: text(item, "token")?,
        created_at: time(&item["created_at"])?,
    })
}

fn logged_request(item: &Value) -> Result<LoggedRequest, Error> {
    Ok(LoggedRequest {
        seq: item["seq"]
            .as_u64()
            .ok_or_else(|| Error::Unexpected(format!("no seq in {item}")))?,
        at: time(&item["at"])?,
        method: text(item, "method")?,
        path: text(item, "path")?,
        status: u16::try_from(int(item, "status")?)
            .map_err(|_| Error::Unexpected(format!("status of {item}")))?,
        duration: Duration::from_micros(item["duration_us"].as_u64().unwrap_or(0)),
        app_id: item["app_id"].as_i64(),
        user_id: item["user_id"].as_i64(),
        session: item["session"].as_str().map(str::to_owned),
        fault: match &item["fault"] {
            Value::Null => None,
            fault => Some(LoggedFault {
                rule: fault["rule"]
                    .as_u64()
                    .ok_or_else(|| Error::Unexpected(format!("no rule in {fault}")))?,
                effect: text(fault, "effect")?,
            }),
        },
    })
}

fn listed_fault(item: &Value) -> Result<ListedFault, Error> {
    let count = |key: &str| {
        item[key]
            .as_u64()
            .ok_or_else(|| Error::Unexpected(format!("no {key} in {item}")))
    };
    Ok(ListedFault {
        id: count("id")?,
        text: text(item, "text")?,
        matched: count("matched")?,
        fired: count("fired")?,
        spent: item["spent"].as_bool().unwrap_or(false),
    })
}

impl Control {
    fn new(running: &RunningEmulator) -> Self {
        Self {
            state: running.state.clone(),
            app_id: running.app_id(),
        }
    }

    /// `METHOD /_emulator{path}` with `body`, as a loopback client with the
    /// admin token would send it; the answer's JSON (`null` when empty).
    async fn call(self, method: Method, path: String, body: Option<Value>) -> Result<Value, Error> {
        let local = self
            .state
            .base_url
            .strip_prefix("http://")
            .and_then(|a| a.parse::<SocketAddr>().ok())
            .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
        let mut request = Request::builder()
            .method(method)
            .uri(format!("/_emulator{path}"))
            .header(http::header::HOST, local.to_string());
        if let Some(token) = &self.state.admin_token {
            request = request.header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", token.expose()),
            );
        }
        let bytes = match &body {
            Some(body) => {
                request = request.header(http::header::CONTENT_TYPE, "application/json");
                Bytes::from(body.to_string())
            }
            None => Bytes::new(),
        };
        let request = request
            .body(Full::new(bytes))
            .map_err(|e| Error::Unexpected(format!("{path}: {e}")))?;
        let connection = Connection {
            remote: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            local,
            activity: None,
        };
        let response = router::handle(self.state.clone(), request, connection).await;
        let status = response.status();
        let text = response
            .into_body()
            .collect()
            .await
            .map_err(|_| Error::Stopped)?
            .to_bytes();
        if !status.is_success() {
            return Err(Error::Refused {
                status: status.as_u16(),
                errors: String::from_utf8_lossy(&text).into_owned(),
            });
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&text).map_err(|e| Error::Unexpected(format!("{path}: {e}")))
    }

    async fn seed_users(self, users: Vec<SeedUser>) -> Result<Vec<i64>, Error> {
        let body = json!({ "users": users.iter().map(SeedUser::to_json).collect::<Vec<_>>() });
        let path = format!("/apps/{}/users", self.app_id);
        let answer = self.call(Method::POST, path, Some(body)).await?;
        answer["ids"]
            .as_array()
            .and_then(|ids| ids.iter().map(Value::as_i64).collect())
            .ok_or_else(|| Error::Unexpected(format!("no ids in {answer}")))
    }

    async fn now(self) -> Result<SystemTime, Error> {
        let answer = self.call(Method::GET, "/clock".into(), None).await?;
        time(&answer["now"])
    }

    async fn advance_clock(self, seconds: i64) -> Result<SystemTime, Error> {
        let body = json!({ "seconds": seconds });
        let answer = self
            .call(Method::POST, "/clock/advance".into(), Some(body))
            .await?;
        time(&answer["now"])
    }

    /// Every live session `query` selects (all its pages).
    async fn sessions(self, query: String) -> Result<Vec<LiveSession>, Error> {
        let mut all = Vec::new();
        loop {
            let path = format!("/sessions?{query}&offset={}&limit=100", all.len());
            let answer = self.clone().call(Method::GET, path, None).await?;
            let page = items(&answer)?;
            for item in page {
                all.push(live_session(item)?);
            }
            let total = usize::try_from(int(&answer, "total_entries")?).unwrap_or(0);
            if page.is_empty() || all.len() >= total {
                return Ok(all);
            }
        }
    }

    async fn end_session(self, id: i64, how: Method) -> Result<(), Error> {
        let path = if how == Method::DELETE {
            format!("/sessions/{id}")
        } else {
            format!("/sessions/{id}/expire")
        };
        self.call(how, path, None).await.map(|_| ())
    }

    async fn expire_all_sessions(self) -> Result<usize, Error> {
        let query = format!("app_id={}", self.app_id);
        let live = self.clone().sessions(query).await?;
        let mut ended = 0;
        for session in live {
            match self.clone().end_session(session.id, Method::POST).await {
                Ok(()) => ended += 1,
                // Ended meanwhile (by its own client): not an error.
                Err(Error::Refused { status: 404, .. }) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(ended)
    }

    async fn outbox(self) -> Result<Vec<Mail>, Error> {
        let answer = self.call(Method::GET, "/outbox".into(), None).await?;
        items(&answer)?.iter().map(mail).collect()
    }

    async fn requests(self, since: u64) -> Result<Vec<LoggedRequest>, Error> {
        let path = format!("/requests?since={since}&limit=1000");
        let answer = self.call(Method::GET, path, None).await?;
        items(&answer)?.iter().map(logged_request).collect()
    }

    async fn add_fault(self, rule: FaultRule) -> Result<u64, Error> {
        let body = json!({ "text": rule.text });
        let answer = self
            .call(Method::POST, "/faults".into(), Some(body))
            .await?;
        answer["fault"]["id"]
            .as_u64()
            .ok_or_else(|| Error::Unexpected(format!("no id in {answer}")))
    }

    async fn faults(self) -> Result<Vec<ListedFault>, Error> {
        let answer = self.call(Method::GET, "/faults".into(), None).await?;
        items(&answer)?.iter().map(listed_fault).collect()
    }

    async fn remove_fault(self, id: u64) -> Result<(), Error> {
        let path = format!("/faults/{id}");
        self.call(Method::DELETE, path, None).await.map(|_| ())
    }

    async fn clear_faults(self) -> Result<usize, Error> {
        let answer = self.call(Method::DELETE, "/faults".into(), None).await?;
        answer["removed"]
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| Error::Unexpected(format!("no count in {answer}")))
    }

    async fn admin(
        self,
        method: String,
        path: String,
        body: Option<Value>,
    ) -> Result<Value, Error> {
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|_| Error::Unexpected(format!("not a method: {method}")))?;
        self.call(method, path, body).await
    }
}

/// An emulator for blocking tests: it serves on a runtime of its own
/// thread, and every helper blocks until the emulator has done it.
/// Dropping it stops the emulator.
///
/// See the [module](self) for an example.
#[derive(Debug)]
pub struct TestEmulator {
    running: RunningEmulator,
}

impl TestEmulator {
    /// Starts an emulator with [`EmulatorConfig::default`]: in memory, on
    /// a free port of 127.0.0.1, application 1.
    pub fn start() -> Result<Self, StartError> {
        Self::start_with(EmulatorConfig::default())
    }

    /// Starts an emulator with `config`.
    pub fn start_with(config: EmulatorConfig) -> Result<Self, StartError> {
        Ok(Self {
            running: Emulator::start_blocking(config)?,
        })
    }

    /// Runs `work` on the emulator's runtime and waits for it. It works
    /// from any thread, an async test's included (the emulator does not
    /// need that thread to make progress).
    fn wait<T, F>(&self, work: F) -> Result<T, Error>
    where
        F: std::future::Future<Output = Result<T, Error>> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.running.runtime.spawn(async move {
            let _ = tx.send(work.await);
        });
        rx.recv().unwrap_or(Err(Error::Stopped))
    }

    fn control(&self) -> Control {
        Control::new(&self.running)
    }

    /// The running emulator: its address and its application's credentials.
    pub fn running(&self) -> &RunningEmulator {
        &self.running
    }

    /// `http://IP:PORT`: the base URL to give the code under test.
    pub fn base_url(&self) -> &str {
        self.running.base_url()
    }

    /// The application's id.
    pub fn app_id(&self) -> i64 {
        self.running.app_id()
    }

    /// The application's auth key.
    pub fn auth_key(&self) -> &str {
        self.running.auth_key()
    }

    /// The application's auth secret.
    pub fn auth_secret(&self) -> &str {
        self.running.auth_secret()
    }

    /// Creates a user of the application; returns their id.
    pub fn seed_user(&self, user: SeedUser) -> Result<i64, Error> {
        let ids = self.seed_users([user])?;
        ids.first()
            .copied()
            .ok_or_else(|| Error::Unexpected("no id".into()))
    }

    /// Creates users of the application, all or none (at most 10,000);
    /// returns their ids in order.
    pub fn seed_users(&self, users: impl IntoIterator<Item = SeedUser>) -> Result<Vec<i64>, Error> {
        self.wait(self.control().seed_users(users.into_iter().collect()))
    }

    /// The emulator's clock now.
    pub fn now(&self) -> Result<SystemTime, Error> {
        self.wait(self.control().now())
    }

    /// Moves the emulator's clock by `seconds` (back when negative); every
    /// deadline, guest lifetime, signature window and reset link follows
    /// it. Returns the new time.
    pub fn advance_clock(&self, seconds: i64) -> Result<SystemTime, Error> {
        self.wait(self.control().advance_clock(seconds))
    }

    /// The application's live sessions, newest first.
    pub fn sessions(&self) -> Result<Vec<LiveSession>, Error> {
        let query = format!("app_id={}", self.app_id());
        self.wait(self.control().sessions(query))
    }

    /// The live sessions of one user, newest first.
    pub fn sessions_of_user(&self, user_id: i64) -> Result<Vec<LiveSession>, Error> {
        let query = format!("app_id={}&user_id={user_id}", self.app_id());
        self.wait(self.control().sessions(query))
    }

    /// Ends a live session as its deadline would: its token is refused
    /// (`401 Required session does not exist`) from now on.
    pub fn expire_session(&self, id: i64) -> Result<(), Error> {
        self.wait(self.control().end_session(id, Method::POST))
    }

    /// Ends every live session of the application as its deadline would;
    /// returns how many were ended.
    pub fn expire_all_sessions(&self) -> Result<usize, Error> {
        self.wait(self.control().expire_all_sessions())
    }

    /// Destroys a live session as its own `DELETE /session` would (a
    /// guest's user goes with it).
    pub fn destroy_session(&self, id: i64) -> Result<(), Error> {
        self.wait(self.control().end_session(id, Method::DELETE))
    }

    /// Every e-mail sent so far, oldest first.
    pub fn outbox(&self) -> Result<Vec<Mail>, Error> {
        self.wait(self.control().outbox())
    }

    /// The newest logged requests (up to 1,000), newest first.
    pub fn requests(&self) -> Result<Vec<LoggedRequest>, Error> {
        self.requests_since(0)
    }

    /// The logged requests after `seq` ([`LoggedRequest::seq`]), newest
    /// first (up to 1,000).
    pub fn requests_since(&self, seq: u64) -> Result<Vec<LoggedRequest>, Error> {
        self.wait(self.control().requests(seq))
    }

    /// Deletes every user, session, file, e-mail and registered provider
    /// token (`DELETE /_emulator/data`): a clean slate between tests.
    pub fn reset_data(&self) -> Result<(), Error> {
        let reset = self.control().call(Method::DELETE, "/data".into(), None);
        self.wait(async move { reset.await.map(|_| ()) })
    }

    /// Adds a fault rule (after those already set); returns its id. The
    /// rule acts on the requests of the ConnectyCube API from now on; a bad
    /// rule is [`Error::Refused`] (`422`, naming what is wrong), and so is
    /// one past the 100 rules the emulator holds.
    pub fn add_fault(&self, rule: FaultRule) -> Result<u64, Error> {
        self.wait(self.control().add_fault(rule))
    }

    /// The fault rules set, oldest first, with how often each fired.
    pub fn faults(&self) -> Result<Vec<ListedFault>, Error> {
        self.wait(self.control().faults())
    }

    /// Removes one fault rule (`Error::Refused` with `404` when there is
    /// none with this id).
    pub fn remove_fault(&self, id: u64) -> Result<(), Error> {
        self.wait(self.control().remove_fault(id))
    }

    /// Removes every fault rule; returns how many there were.
    pub fn clear_faults(&self) -> Result<usize, Error> {
        self.wait(self.control().clear_faults())
    }

    /// Any admin route: `method` `/_emulator{path}` with a JSON `body`
    /// (`docs/EMULATOR.md`); its JSON answer (`null` when empty).
    pub fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, Error> {
        self.wait(
            self.control()
                .admin(method.to_owned(), path.to_owned(), body),
        )
    }
}

/// An emulator for async tests (`#[tokio::test]`): it serves on the
/// test's own runtime, and every helper is `async`. Dropping it stops the
/// emulator; [`AsyncTestEmulator::stop`] also waits for it to finish.
#[derive(Debug)]
pub struct AsyncTestEmulator {
    running: RunningEmulator,
}

impl AsyncTestEmulator {
    /// Starts an emulator with [`EmulatorConfig::default`] on the current
    /// tokio runtime.
    pub async fn start() -> Result<Self, StartError> {
        Self::start_with(EmulatorConfig::default()).await
    }

    /// Starts an emulator with `config` on the current tokio runtime.
    pub async fn start_with(config: EmulatorConfig) -> Result<Self, StartError> {
        Ok(Self {
            running: Emulator::start(config).await?,
        })
    }

    /// Stops the emulator and waits until it has (see
    /// [`RunningEmulator::stop`]).
    pub async fn stop(self) {
        self.running.stop().await;
    }

    fn control(&self) -> Control {
        Control::new(&self.running)
    }

    /// The running emulator: its address and its application's credentials.
    pub fn running(&self) -> &RunningEmulator {
        &self.running
    }

    /// `http://IP:PORT`: the base URL to give the code under test.
    pub fn base_url(&self) -> &str {
        self.running.base_url()
    }

    /// The application's id.
    pub fn app_id(&self) -> i64 {
        self.running.app_id()
    }

    /// The application's auth key.
    pub fn auth_key(&self) -> &str {
        self.running.auth_key()
    }

    /// The application's auth secret.
    pub fn auth_secret(&self) -> &str {
        self.running.auth_secret()
    }

    /// [`TestEmulator::seed_user`].
    pub async fn seed_user(&self, user: SeedUser) -> Result<i64, Error> {
        let ids = self.seed_users([user]).await?;
        ids.first()
            .copied()
            .ok_or_else(|| Error::Unexpected("no id".into()))
    }

    /// [`TestEmulator::seed_users`].
    pub async fn seed_users(
        &self,
        users: impl IntoIterator<Item = SeedUser>,
    ) -> Result<Vec<i64>, Error> {
        self.control().seed_users(users.into_iter().collect()).await
    }

    /// [`TestEmulator::now`].
    pub async fn now(&self) -> Result<SystemTime, Error> {
        self.control().now().await
    }

    /// [`TestEmulator::advance_clock`].
    pub async fn advance_clock(&self, seconds: i64) -> Result<SystemTime, Error> {
        self.control().advance_clock(seconds).await
    }

    /// [`TestEmulator::sessions`].
    pub async fn sessions(&self) -> Result<Vec<LiveSession>, Error> {
        let query = format!("app_id={}", self.app_id());
        self.control().sessions(query).await
    }

    /// [`TestEmulator::sessions_of_user`].
    pub async fn sessions_of_user(&self, user_id: i64) -> Result<Vec<LiveSession>, Error> {
        let query = format!("app_id={}&user_id={user_id}", self.app_id());
        self.control().sessions(query).await
    }

    /// [`TestEmulator::expire_session`].
    pub async fn expire_session(&self, id: i64) -> Result<(), Error> {
        self.control().end_session(id, Method::POST).await
    }

    /// [`TestEmulator::expire_all_sessions`].
    pub async fn expire_all_sessions(&self) -> Result<usize, Error> {
        self.control().expire_all_sessions().await
    }

    /// [`TestEmulator::destroy_session`].
    pub async fn destroy_session(&self, id: i64) -> Result<(), Error> {
        self.control().end_session(id, Method::DELETE).await
    }

    /// [`TestEmulator::outbox`].
    pub async fn outbox(&self) -> Result<Vec<Mail>, Error> {
        self.control().outbox().await
    }

    /// [`TestEmulator::requests`].
    pub async fn requests(&self) -> Result<Vec<LoggedRequest>, Error> {
        self.control().requests(0).await
    }

    /// [`TestEmulator::requests_since`].
    pub async fn requests_since(&self, seq: u64) -> Result<Vec<LoggedRequest>, Error> {
        self.control().requests(seq).await
    }

    /// [`TestEmulator::reset_data`].
    pub async fn reset_data(&self) -> Result<(), Error> {
        self.control()
            .call(Method::DELETE, "/data".into(), None)
            .await
            .map(|_| ())
    }

    /// [`TestEmulator::add_fault`].
    pub async fn add_fault(&self, rule: FaultRule) -> Result<u64, Error> {
        self.control().add_fault(rule).await
    }

    /// [`TestEmulator::faults`].
    pub async fn faults(&self) -> Result<Vec<ListedFault>, Error> {
        self.control().faults().await
    }

    /// [`TestEmulator::remove_fault`].
    pub async fn remove_fault(&self, id: u64) -> Result<(), Error> {
        self.control().remove_fault(id).await
    }

    /// [`TestEmulator::clear_faults`].
    pub async fn clear_faults(&self) -> Result<usize, Error> {
        self.control().clear_faults().await
    }

    /// [`TestEmulator::admin`].
    pub async fn admin(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Error> {
        self.control()
            .admin(method.to_owned(), path.to_owned(), body)
            .await
    }
}
