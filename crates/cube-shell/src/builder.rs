//! The settings every adapter's `ClientBuilder` offers, and the one step
//! from them to a [`Shell`]: the configuration checked, the session
//! started, the transport built.

use crate::clock::SystemClock;
use crate::error::Error;
use crate::shell::{Adapter, Parts, Roots, Shell};
use proto::config::ConfigBuilder;
use proto::session::DEFAULT_MARGIN;
use proto::snapshot::SessionStart;
use proto::{Clock, Session, SessionListener, SessionOptions};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// What every adapter's builder collects before `build`.
#[non_exhaustive]
pub struct BuilderSettings<A: Adapter> {
    /// The configuration being built.
    pub config: ConfigBuilder,
    /// The longest an API call may take, connection included.
    pub timeout: Duration,
    /// Which certificate authorities to trust.
    pub roots: Roots,
    /// DER certificates trusted on top of the roots.
    pub extra_roots: Vec<Vec<u8>>,
    /// The clock for expiry and signatures.
    pub clock: Arc<dyn Clock>,
    /// How close to its deadline a session stops counting as valid.
    pub margin: time::Duration,
    /// What the session starts as.
    pub start: SessionStart,
    /// Told of every change of the session.
    pub listener: Option<Arc<SessionListener>>,
    /// The restore callback.
    pub restore: Option<Box<A::Restore>>,
}

impl<A: Adapter> BuilderSettings<A> {
    /// The defaults: a 30 s timeout, the default roots and no extra ones,
    /// the system clock, the default safety margin, no session, no
    /// listener, no restore callback.
    pub fn new(config: ConfigBuilder) -> Self {
        Self {
            config,
            timeout: Duration::from_secs(30),
            roots: Roots::default(),
            extra_roots: Vec::new(),
            clock: Arc::new(SystemClock),
            margin: DEFAULT_MARGIN,
            start: SessionStart::Empty,
            listener: None,
            restore: None,
        }
    }

    /// Changes the configuration being built.
    pub fn configure(&mut self, change: impl FnOnce(ConfigBuilder) -> ConfigBuilder) {
        self.config = change(self.config.clone());
    }

    /// Checks the configuration, starts the session as the settings say
    /// and builds the transport.
    pub fn build(self) -> Result<Shell<A>, Error> {
        let config = self.config.build()?;
        let options = SessionOptions {
            margin: self.margin,
            restore: self.restore.is_some(),
            auth_key: config.auth_key().is_some(),
        };
        let session = Session::start(&config, options, self.start)?;
        let transport = A::build(self.timeout, &self.roots, &self.extra_roots)?;
        Ok(Shell::new(Parts {
            config,
            session,
            listener: self.listener,
            clock: self.clock,
            restore: self.restore,
            transport,
        }))
    }
}

impl<A: Adapter> fmt::Debug for BuilderSettings<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuilderSettings")
            .field("config", &self.config)
            .field("timeout", &self.timeout)
            .field("roots", &self.roots)
            .field("extra_roots", &self.extra_roots.len())
            .field("margin", &self.margin)
            .field("start", &self.start)
            .field("listener", &self.listener.is_some())
            .field("restore", &self.restore.is_some())
            .finish_non_exhaustive()
    }
}

/// Expands, next to an adapter's `Client`, to its `ClientBuilder`: the
/// struct, every setting builders share, and `build`. The adapter adds its
/// own `restore` (a blocking or an async callback) in an `impl` block of
/// its own. `client_builder!(ClientBuilder, Client, Transport);` where
/// `Transport` is the adapter's [`Adapter`] and `Client` has a field `shell:
/// Arc<Shell<Transport>>`.
#[macro_export]
#[doc(hidden)]
macro_rules! client_builder {
    ($builder:ident, $client:ident, $adapter:ty) => {
        /// Builds a client; see the client's `builder`.
        #[derive(Debug)]
        pub struct $builder {
            settings: $crate::builder::BuilderSettings<$adapter>,
        }

        impl $builder {
            fn new(config: $crate::proto::config::ConfigBuilder) -> Self {
                Self {
                    settings: $crate::builder::BuilderSettings::new(config),
                }
            }

            /// Checks the configuration and builds the client.
            pub fn build(self) -> ::core::result::Result<$client, $crate::Error> {
                ::core::result::Result::Ok($client {
                    shell: ::std::sync::Arc::new(self.settings.build()?),
                })
            }

            /// Signs session requests with the application's auth secret.
            pub fn auth_secret(
                mut self,
                secret: impl ::core::convert::Into<$crate::proto::Secret>,
            ) -> Self {
                self.settings.configure(|c| c.auth_secret(secret));
                self
            }

            /// HMAC-SHA1 (default) or HMAC-SHA256 signatures.
            pub fn signature_algorithm(
                mut self,
                algorithm: $crate::proto::SignatureAlgorithm,
            ) -> Self {
                self.settings
                    .configure(|c| c.signature_algorithm(algorithm));
                self
            }

            /// The API endpoint (default: the production service).
            pub fn base_url(
                mut self,
                url: impl ::core::convert::Into<::std::string::String>,
            ) -> Self {
                self.settings.configure(|c| c.base_url(url));
                self
            }

            /// Overrides the `CB-SDK` header.
            pub fn sdk_identity(
                mut self,
                identity: impl ::core::convert::Into<::std::string::String>,
            ) -> Self {
                self.settings.configure(|c| c.sdk_identity(identity));
                self
            }

            /// The longest an API call may take, connection included (default
            /// 30 s). Uploads and downloads are not bounded by it: they fail only
            /// after an idle timeout without a byte moving (their options'
            /// `idle_timeout`, 30 s by default).
            pub fn timeout(mut self, timeout: ::core::time::Duration) -> Self {
                self.settings.timeout = timeout;
                self
            }

            /// Which certificate authorities to trust (default: webpki).
            pub fn roots(mut self, roots: $crate::Roots) -> Self {
                self.settings.roots = roots;
                self
            }

            /// Trusts one more DER certificate on top of the roots.
            pub fn add_root_certificate(
                mut self,
                der: impl ::core::convert::Into<::std::vec::Vec<u8>>,
            ) -> Self {
                self.settings.extra_roots.push(der.into());
                self
            }

            /// The clock for expiry and signatures (default: the system clock).
            /// Once the server refuses a signature on it, session requests are
            /// signed on the server's clock, as the answers' `Date` tells it.
            pub fn clock(mut self, clock: impl $crate::proto::Clock) -> Self {
                self.settings.clock = ::std::sync::Arc::new(clock);
                self
            }

            /// How a call sends a request again after a transient failure
            /// (a `429`, `502`, `503`, `504`, a refused connection, a reset or
            /// a timeout before the answer). Default: `RetryPolicy::standard()`,
            /// at most 3 tries, with waits of full-jitter backoff or the
            /// server's `Retry-After` (up to 5 s), 10 s of waiting in all;
            /// `RetryPolicy::none()` sends every request once. A request the
            /// server may have acted on goes again only if it may be repeated.
            pub fn retry_policy(mut self, policy: $crate::proto::retry::RetryPolicy) -> Self {
                self.settings.configure(|c| c.retry_policy(policy));
                self
            }

            /// How close to its deadline a session stops counting as valid.
            pub fn session_margin(mut self, margin: $crate::proto::time::Duration) -> Self {
                self.settings.margin = margin;
                self
            }

            /// Starts the client where a saved session left off (see
            /// `export_session`): no session request is made while it is valid.
            /// A snapshot past its deadline starts expired, so the restore
            /// callback runs at the first call; one of another application or
            /// base URL makes `build` fail with the protocol error
            /// `ForeignSnapshot`.
            pub fn resume_session(mut self, snapshot: $crate::proto::SessionSnapshot) -> Self {
                self.settings.start = $crate::proto::snapshot::SessionStart::Snapshot(snapshot);
                self
            }

            /// Starts the client with a token minted elsewhere (the app's
            /// backend, another client). Without a deadline, the first response
            /// sets it.
            pub fn adopt_session(mut self, token: $crate::proto::IssuedToken) -> Self {
                self.settings.start = $crate::proto::snapshot::SessionStart::Token(token);
                self
            }

            /// Called after every change of the session — created, upgraded,
            /// downgraded, restored, expired, destroyed, adopted, resumed — with
            /// the snapshot after it, once per change and in order, outside the
            /// client's locks. What the client is built with is not a change.
            pub fn on_session_change(
                mut self,
                listener: impl Fn(&$crate::proto::SessionEvent)
                + ::core::marker::Send
                + ::core::marker::Sync
                + 'static,
            ) -> Self {
                self.settings.listener =
                    ::core::option::Option::Some(::std::sync::Arc::new(listener));
                self
            }

            /// Sets the restore callback, boxed as the adapter keeps it.
            pub(crate) fn set_restore(
                mut self,
                restore: ::std::boxed::Box<<$adapter as $crate::Adapter>::Restore>,
            ) -> Self {
                self.settings.restore = ::core::option::Option::Some(restore);
                self
            }
        }
    };
}
