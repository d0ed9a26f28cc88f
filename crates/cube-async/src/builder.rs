//! Configuring a [`Client`].

use crate::client::{Client, RestoreFn};
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::transport::{Roots, Transport};
use proto::{Credentials, Secret, SessionOptions, SignatureAlgorithm};
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

    /// Signs session requests with the application's auth secret.
    pub fn auth_secret(mut self, secret: impl Into<Secret>) -> Self {
        self.config = self.config.auth_secret(secret);
        self
    }

    /// HMAC-SHA1 (default) or HMAC-SHA256 signatures.
    pub fn signature_algorithm(mut self, algorithm: SignatureAlgorithm) -> Self {
        self.config = self.config.signature_algorithm(algorithm);
        self
    }

    /// The API endpoint (default: the production service).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.config = self.config.base_url(url);
        self
    }

    /// Overrides the `CB-SDK` header.
    pub fn sdk_identity(mut self, identity: impl Into<String>) -> Self {
        self.config = self.config.sdk_identity(identity);
        self
    }

    /// The longest a request may take, connection included (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Which certificate authorities to trust (default: webpki).
    pub fn roots(mut self, roots: Roots) -> Self {
        self.roots = roots;
        self
    }

    /// Trusts one more DER certificate on top of the roots.
    pub fn add_root_certificate(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.extra_roots.push(der.into());
        self
    }

    /// The clock for expiry and signatures (default: the system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How close to its deadline a session stops counting as valid.
    pub fn session_margin(mut self, margin: time::Duration) -> Self {
        self.margin = margin;
        self
    }

    /// The restore callback: called when the session is missing, expired, or
    /// rejected by the server, it returns the credentials to create a new
    /// session with (or `None` to give up). The failed call is retried once,
    /// and tasks waiting on the same expired session share one restore.
    pub fn restore<F, Fut>(mut self, callback: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<Credentials>> + Send + 'static,
    {
        self.restore = Some(Box::new(move || Box::pin(callback())));
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
