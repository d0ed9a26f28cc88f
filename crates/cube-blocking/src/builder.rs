//! Configuring a [`Client`].

use crate::client::{Client, RestoreFn};
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::transport::{Roots, Transport};
use proto::{Credentials, Secret, SessionOptions, SignatureAlgorithm};
use std::sync::Arc;
use std::time::Duration;

/// Builds a [`Client`]; see [`Client::builder`].
pub struct ClientBuilder {
    config: proto::config::ConfigBuilder,
    timeout: Duration,
    roots: Roots,
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

    /// Which certificate authorities to trust.
    pub fn roots(mut self, roots: Roots) -> Self {
        self.roots = roots;
        self
    }

    /// Trusts one more DER certificate on top of the current roots.
    pub fn add_root_certificate(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.roots = match self.roots {
            Roots::WebPki => Roots::WebPkiAnd(vec![der.into()]),
            Roots::Platform => Roots::PlatformAnd(vec![der.into()]),
            Roots::WebPkiAnd(mut v) => {
                v.push(der.into());
                Roots::WebPkiAnd(v)
            }
            Roots::PlatformAnd(mut v) => {
                v.push(der.into());
                Roots::PlatformAnd(v)
            }
            Roots::Only(mut v) => {
                v.push(der.into());
                Roots::Only(v)
            }
        };
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
        let transport = Transport::new(self.timeout, &self.roots);
        Ok(Client::from_parts(
            config,
            options,
            transport,
            self.clock,
            self.restore,
        ))
    }
}
