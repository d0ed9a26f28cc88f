//! The client and its one loop: poll the call, send, hand the answer back.

use crate::builder::ClientBuilder;
use crate::clock::Clock;
use crate::error::Error;
use crate::transport::Transport;
use proto::ops::Operation;
use proto::{Call, Config, Credentials, Session, SessionOptions, Step};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use time::OffsetDateTime;

pub(crate) type RestoreFn = Box<dyn Fn() -> Option<Credentials> + Send + Sync>;

/// A ConnectyCube client: cheap to clone, safe to share between threads.
/// Clones share one session.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    session: Mutex<Session>,
    /// Held by the one caller that is restoring the session, so that callers
    /// waiting on an expired session cause one restore, not one each.
    restore_turn: Mutex<()>,
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
            restore_turn: Mutex::new(()),
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
        // A panic elsewhere while holding the lock leaves a Session that is
        // still consistent (every change is a single assignment).
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

    /// Runs any operation of [`proto::ops`] through the session.
    pub fn execute<O: Operation>(&self, op: O) -> Result<O::Output, Error> {
        let mut call = Call::new(self.inner.config.clone(), op);
        let mut turn: Option<MutexGuard<'_, ()>> = None;
        let mut restoring = false;
        loop {
            let nonce = getrandom::u32().map_err(Error::Random)?;
            let step = call.poll(&self.session(), self.now(), nonce);
            match step {
                Step::Send(request) => {
                    if !restoring {
                        // Someone else restored the session while this caller
                        // waited: no need to hold the turn for a plain request.
                        drop(turn.take());
                    }
                    let response = self.inner.transport.send(request)?;
                    call.handle_response(&mut self.session(), response);
                    // The restore's session request has been answered: let the
                    // next waiting caller look at the new session.
                    restoring = false;
                    drop(turn.take());
                }
                Step::NeedCredentials => match (&turn, &self.inner.restore) {
                    (None, _) => {
                        turn = Some(
                            self.inner
                                .restore_turn
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner),
                        );
                        // Poll again holding the turn: someone else may have
                        // restored the session while this caller waited.
                    }
                    (Some(_), restore) => {
                        call.provide_credentials(restore.as_ref().and_then(|r| r()));
                        restoring = true;
                    }
                },
                Step::Done(result) => return result.map_err(Error::from),
            }
        }
    }
}
