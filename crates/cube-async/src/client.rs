//! The client and its one loop: poll the call, send, hand the answer back.

use crate::builder::ClientBuilder;
use crate::clock::Clock;
use crate::error::Error;
use crate::trace;
use crate::transport::Transport;
use proto::ops::Operation;
use proto::surface::{ClientCore, ExecuteAsync};
use proto::{
    Call, Config, IssuedToken, RestoreAnswer, Session, SessionListener, SessionSnapshot, Step,
};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;
use time::OffsetDateTime;
use tracing::Instrument;

/// The restore callback, boxed.
pub(crate) type RestoreFn =
    Box<dyn Fn() -> Pin<Box<dyn Future<Output = RestoreAnswer> + Send>> + Send + Sync>;

/// A ConnectyCube client: cheap to clone, shared by any number of tasks.
/// Clones share one session.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// What a client is made of; see [`ClientBuilder::build`].
pub(crate) struct Parts {
    pub(crate) config: Config,
    pub(crate) session: Session,
    pub(crate) transport: Transport,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) restore: Option<RestoreFn>,
    pub(crate) listener: Option<Arc<SessionListener>>,
}

struct Inner {
    config: Config,
    /// Never held across an `.await`: every change is made between awaits.
    session: Mutex<Session>,
    /// Held by the one task that is restoring the session, so that tasks
    /// waiting on an expired session cause one restore, not one each. The
    /// call says when to take and release it.
    restore_turn: tokio::sync::Mutex<()>,
    restore: Option<RestoreFn>,
    listener: Option<Arc<SessionListener>>,
    clock: Arc<dyn Clock>,
    transport: Transport,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .field("session", &*self.session())
            .finish_non_exhaustive()
    }
}

/// # The client
///
/// Building one, its configuration and clock, the session it holds (saved,
/// resumed, adopted, forgotten) and any operation run through it.
impl Client {
    /// Starts configuring a client for an application.
    pub fn builder(application_id: u64, auth_key: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(proto::Config::builder(application_id, auth_key))
    }

    /// Starts configuring a client with no auth key: it works with a token
    /// minted elsewhere ([`ClientBuilder::adopt_session`]), a saved session
    /// ([`ClientBuilder::resume_session`]) or the ready sessions its restore
    /// callback hands over. A call that would need a new session otherwise
    /// fails with [`proto::Error::NoAuthKey`].
    pub fn builder_without_auth_key(application_id: u64) -> ClientBuilder {
        ClientBuilder::new(proto::Config::builder_without_auth_key(application_id))
    }

    /// A client of the application that uses `token`, minted elsewhere (the
    /// app's backend, for instance), and has no auth key.
    ///
    /// ```no_run
    /// use cube_async::{Client, proto::IssuedToken};
    /// # async fn run() -> Result<(), cube_async::Error> {
    /// let client = Client::with_token(1, IssuedToken::new("token-from-my-backend").user(81))
    ///     .base_url("http://127.0.0.1:8080")
    ///     .build()?;
    /// let me = client.get_user(81).await?;
    /// # Ok(()) }
    /// ```
    pub fn with_token(application_id: u64, token: IssuedToken) -> ClientBuilder {
        Self::builder_without_auth_key(application_id).adopt_session(token)
    }

    pub(crate) fn from_parts(parts: Parts) -> Self {
        let inner = Inner {
            config: parts.config,
            session: Mutex::new(parts.session),
            restore_turn: tokio::sync::Mutex::new(()),
            restore: parts.restore,
            listener: parts.listener,
            clock: parts.clock,
            transport: parts.transport,
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The HTTP client, for the streaming calls of `transfer`.
    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The current time by the client's clock.
    pub fn now(&self) -> OffsetDateTime {
        self.inner.clock.now()
    }

    fn session(&self) -> MutexGuard<'_, Session> {
        // Every change to the session is a single assignment, so a poisoned
        // lock still guards a consistent value.
        self.inner
            .session
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the session under its lock, then delivers what changed.
    fn change<R>(&self, f: impl FnOnce(&mut Session) -> R) -> R {
        let result = f(&mut self.session());
        self.deliver_events();
        result
    }

    /// Hands the queued session events to the listener, outside the lock.
    /// Whoever claims the delivery turn delivers everything queued, so the
    /// listener hears each change once and in order whatever the tasks.
    fn deliver_events(&self) {
        let Some(listener) = &self.inner.listener else {
            let mut session = self.session();
            while let Some(event) = session.poll_event() {
                tracing::debug!(change = ?event.change, "cube session change");
            }
            return;
        };
        let Some(mut turn) = self.session().claim_delivery() else {
            return;
        };
        loop {
            let next = self.session().next_delivery(turn);
            let Some((event, next_turn)) = next else {
                return;
            };
            turn = next_turn;
            tracing::debug!(change = ?event.change, "cube session change");
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| listener(&event))) {
                self.session().release_delivery(turn);
                resume_unwind(panic);
            }
        }
    }

    /// A copy of the whole session state machine.
    pub fn session_snapshot(&self) -> Session {
        self.session().clone()
    }

    /// The session as a snapshot to save (a file, the keychain) and resume
    /// later, in this process or another; `None` when there is none. It holds
    /// the token: store it as a secret.
    pub fn export_session(&self) -> Option<SessionSnapshot> {
        self.session().export()
    }

    /// Replaces the session with a saved one (event `Resumed`). A snapshot
    /// of another application or base URL is refused and changes nothing.
    pub fn resume_session(&self, snapshot: SessionSnapshot) -> Result<(), Error> {
        let config = &self.inner.config;
        Ok(self.change(|s| s.resume(config, snapshot))?)
    }

    /// Replaces the session with a token minted elsewhere (event `Adopted`).
    pub fn adopt_session(&self, token: IssuedToken) -> Result<(), Error> {
        let config = &self.inner.config;
        Ok(self.change(|s| s.adopt(config, token))?)
    }

    /// Forgets the session locally, without telling the server (event
    /// `Destroyed`).
    pub fn forget_session(&self) {
        self.change(Session::end);
    }

    /// Runs any operation of [`proto::ops`] through the shared session, in
    /// a `cube_call` span at debug level: the operation's name, the attempt
    /// (`first` or `retry`), what the call did to the session (`none`,
    /// `existing`, `created`, `restored`), the last status and the elapsed
    /// milliseconds.
    pub async fn execute<O>(&self, op: O) -> Result<O::Output, Error>
    where
        O: Operation + Send,
        O::Output: Send,
    {
        let mut call = Call::new(self.inner.config.clone(), op);
        let span = trace::call_span(call.operation().name());
        let started = Instant::now();
        let outcome = self.drive(&mut call).instrument(span.clone()).await;
        trace::record(&span, &call.report());
        trace::finish(&span, started);
        outcome
    }

    /// Polls the call, sends, hands the answers back, until it is done.
    async fn drive<O>(&self, call: &mut Call<O>) -> Result<O::Output, Error>
    where
        O: Operation + Send,
        O::Output: Send,
    {
        let mut turn: Option<tokio::sync::MutexGuard<'_, ()>> = None;
        loop {
            let nonce = getrandom::u32().map_err(Error::Random)?;
            let now = self.now();
            match self.change(|s| call.poll(s, now, nonce)) {
                Step::Send(request) => {
                    let response = self.inner.transport.send(request).await?;
                    self.change(|s| call.handle_response(s, response))?;
                }
                Step::TakeRestoreTurn => turn = Some(self.inner.restore_turn.lock().await),
                Step::AskRestore => {
                    let answer = match &self.inner.restore {
                        Some(restore) => restore().await,
                        None => RestoreAnswer::Decline,
                    };
                    self.change(|s| call.provide_restore(s, answer))?;
                }
                Step::ReleaseRestoreTurn => drop(turn.take()),
                Step::Wait(pause) => tokio::time::sleep(pause).await,
                Step::Done(result) => return result.map_err(Error::from),
            }
        }
    }
}

impl ClientCore for Client {
    type Error = Error;

    fn config(&self) -> &Config {
        Client::config(self)
    }

    fn now(&self) -> OffsetDateTime {
        Client::now(self)
    }

    fn session_snapshot(&self) -> Session {
        Client::session_snapshot(self)
    }
}

impl ExecuteAsync for Client {
    fn execute<O>(&self, op: O) -> impl Future<Output = Result<O::Output, Error>> + Send
    where
        O: Operation + Send,
        O::Output: Send,
    {
        Client::execute(self, op)
    }
}
