//! Configuring a [`Client`].

use crate::client::{Client, Parts, RestoreFn};
use crate::clock::SystemClock;
use crate::error::Error;
use crate::transport::{Roots, Transport};
use proto::surface::{BuilderCore, BuilderSettings};
use proto::{RestoreAnswer, Session, SessionOptions};
use std::future::Future;
use std::sync::Arc;

/// Builds a [`Client`]; see [`Client::builder`].
pub struct ClientBuilder {
    settings: BuilderSettings<Roots>,
    restore: Option<RestoreFn>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("settings", &self.settings)
            .field("restore", &self.restore.is_some())
            .finish()
    }
}

impl BuilderCore for ClientBuilder {
    type Roots = Roots;

    fn settings(&mut self) -> &mut BuilderSettings<Roots> {
        &mut self.settings
    }
}

impl ClientBuilder {
    pub(crate) fn new(config: proto::config::ConfigBuilder) -> Self {
        Self {
            settings: BuilderSettings::new(config, Arc::new(SystemClock)),
            restore: None,
        }
    }

    proto::client_builder_settings!(Roots);

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
        let settings = self.settings;
        let config = settings.config.build()?;
        let options = SessionOptions {
            margin: settings.margin,
            restore: self.restore.is_some(),
            auth_key: config.auth_key().is_some(),
        };
        let session = Session::start(&config, options, settings.start)?;
        let transport = Transport::new(settings.timeout, &settings.roots, &settings.extra_roots)?;
        Ok(Client::from_parts(Parts {
            config,
            session,
            transport,
            clock: settings.clock,
            restore: self.restore,
            listener: settings.listener,
        }))
    }
}
