//! The client and its one loop: poll the call, send, hand the answer back.

use crate::builder::ClientBuilder;
use crate::clock::Clock;
use crate::error::Error;
use crate::transport::Transport;
use proto::ops::Operation;
use proto::{Call, Config, Credentials, Session, SessionOptions, Step};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use time::OffsetDateTime;

/// The restore callback, boxed.
pub(crate) type RestoreFn =
    Box<dyn Fn() -> Pin<Box<dyn Future<Output = Option<Credentials>> + Send>> + Send + Sync>;

/// A ConnectyCube client: cheap to clone, shared by any number of tasks.
/// Clones share one session.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    /// Never held across an `.await`: every change is made between awaits.
    session: Mutex<Session>,
    /// Held by the one task that is restoring the session, so that tasks
    /// waiting on an expired session cause one restore, not one each.
    restore_turn: tokio::sync::Mutex<()>,
    restore: Option<RestoreFn>,
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

impl Client {
    /// Starts configuring a client for an application.
    pub fn builder(application_id: u64, auth_key: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(application_id, auth_key.into())
    }

    pub(crate) fn from_parts(
        config: Config,
        options: SessionOptions,
        transport: Transport,
        clock: Arc<dyn Clock>,
        restore: Option<RestoreFn>,
    ) -> Self {
        let inner = Inner {
            config,
            session: Mutex::new(Session::new(options)),
            restore_turn: tokio::sync::Mutex::new(()),
            restore,
            clock,
            transport,
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

    /// A copy of the whole session state machine.
    pub fn session_snapshot(&self) -> Session {
        self.session().clone()
    }

    /// Forgets the session locally, without telling the server.
    pub fn forget_session(&self) {
        self.session().end();
    }

    /// Runs any operation of [`proto::ops`] through the shared session.
    pub async fn execute<O>(&self, op: O) -> Result<O::Output, Error>
    where
        O: Operation + Send,
        O::Output: Send,
    {
        let mut call = Call::new(self.inner.config.clone(), op);
        let mut turn: Option<tokio::sync::MutexGuard<'_, ()>> = None;
        let mut restoring = false;
        loop {
            let nonce = getrandom::u32().map_err(Error::Random)?;
            let step = call.poll(&self.session(), self.now(), nonce);
            match step {
                Step::Send(request) => {
                    if !restoring {
                        // Another task restored the session while this one
                        // waited: a plain request needs no turn.
                        drop(turn.take());
                    }
                    let response = self.inner.transport.send(request).await?;
                    call.handle_response(&mut self.session(), response);
                    // The restore's session request has been answered: let
                    // the next waiting task look at the new session.
                    restoring = false;
                    drop(turn.take());
                }
                Step::NeedCredentials => {
                    if turn.is_none() {
                        turn = Some(self.inner.restore_turn.lock().await);
                        // Poll again holding the turn: another task may have
                        // restored the session while this one waited.
                        continue;
                    }
                    let credentials = match &self.inner.restore {
                        Some(restore) => restore().await,
                        None => None,
                    };
                    call.provide_credentials(credentials);
                    restoring = true;
                }
                Step::Done(result) => return result.map_err(Error::from),
            }
        }
    }
}
