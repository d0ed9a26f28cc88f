//! Configuring a [`Client`].

use crate::client::{Client, RestoreFn};
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::transport::{Roots, Transport};
use proto::{Credentials, SessionOptions};
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
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("config", &self.config)
            .field("timeout", &self.timeout)
            .field("roots", &self.roots)
            .field("extra_roots", &self.extra_roots.len())
            .field("restore", &self.restore.is_some())
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    pub(crate) fn new(application_id: u64, auth_key: String) -> Self {
        Self {
            config: proto::Config::builder(application_id, auth_key),
            timeout: Duration::from_secs(30),
            roots: Roots::default(),
            extra_roots: Vec::new(),
            clock: Arc::new(SystemClock),
            restore: None,
            margin: proto::session::DEFAULT_MARGIN,
        }
    }

    proto::client_builder_settings!();

    /// The restore callback: called when the session is missing, expired, or
    /// rejected by the server, it returns the credentials to create a new
    /// session with (or `None` to give up). The failed call is retried once.
    pub fn restore(
        mut self,
        callback: impl Fn() -> Option<Credentials> + Send + Sync + 'static,
    ) -> Self {
        self.restore = Some(Box::new(callback));
        self
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let config = self.config.build()?;
        let options = SessionOptions {
            margin: self.margin,
            restore: self.restore.is_some(),
        };
        let transport = Transport::new(self.timeout, &self.roots, &self.extra_roots)?;
        Ok(Client::from_parts(
            config,
            options,
            transport,
            self.clock,
            self.restore,
        ))
    }
}
