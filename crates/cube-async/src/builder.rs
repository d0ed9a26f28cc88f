//! Configuring a [`Client`].

use crate::client::{Client, Parts, RestoreFn};
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::transport::{Roots, Transport};
use proto::snapshot::SessionStart;
use proto::{RestoreAnswer, Session, SessionListener, SessionOptions};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Builds a [`Client`]; see [`Client::builder`].
pub struct ClientBuilder {
    config: proto::config::ConfigBuilder,
    timeout: Duration,
    roots: Roots,
    extra_roots: Vec<Vec<u8>>,
    clock: Arc<dyn Clock>,
    restore: Option<RestoreFn>,
    margin: time::Duration,
    start: SessionStart,
    listener: Option<Arc<SessionListener>>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("config", &self.config)
            .field("timeout", &self.timeout)
            .field("roots", &self.roots)
            .field("extra_roots", &self.extra_roots.len())
            .field("restore", &self.restore.is_some())
            .field("start", &self.start)
            .field("listener", &self.listener.is_some())
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    pub(crate) fn new(config: proto::config::ConfigBuilder) -> Self {
        Self {
            config,
            timeout: Duration::from_secs(30),
            roots: Roots::default(),
            extra_roots: Vec::new(),
            clock: Arc::new(SystemClock),
            restore: None,
            margin: proto::session::DEFAULT_MARGIN,
            start: SessionStart::Empty,
            listener: None,
        }
    }

    proto::client_builder_settings!();

    /// The restore callback: called when the session is missing, expired, or
    /// rejected by the server. It answers with credentials to create a new
    /// session with, a ready session ([`proto::IssuedToken`], e.g. from the
    /// app's backend), or `None` / [`RestoreAnswer::Decline`] to give up.
    /// The failed call is retried once, and tasks waiting on the same
    /// expired session share one restore.
    pub fn restore<F, Fut, R>(mut self, callback: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: Into<RestoreAnswer>,
    {
        self.restore = Some(Box::new(move || {
            let answer = callback();
            Box::pin(async move { answer.await.into() })
        }));
        self
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let config = self.config.build()?;
        let options = SessionOptions {
            margin: self.margin,
            restore: self.restore.is_some(),
            auth_key: config.auth_key().is_some(),
        };
        let session = Session::start(&config, options, self.start)?;
        let transport = Transport::new(self.timeout, &self.roots, &self.extra_roots)?;
        Ok(Client::from_parts(Parts {
            config,
            session,
            transport,
            clock: self.clock,
            restore: self.restore,
            listener: self.listener,
        }))
    }
}
