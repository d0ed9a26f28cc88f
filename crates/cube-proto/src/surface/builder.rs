//! The settings every adapter's `ClientBuilder` offers.

use crate::clock::Clock;
use crate::config::ConfigBuilder;
use crate::events::SessionListener;
use crate::snapshot::SessionStart;
use std::fmt;
use std::sync::Arc;

/// What every adapter's builder collects before `build`; `R` is the
/// adapter's own choice of trust store.
#[non_exhaustive]
pub struct BuilderSettings<R> {
    /// The configuration being built.
    pub config: ConfigBuilder,
    /// The longest an API call may take, connection included.
    pub timeout: std::time::Duration,
    /// Which certificate authorities to trust.
    pub roots: R,
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
}

impl<R: Default> BuilderSettings<R> {
    /// The defaults: a 30 s timeout, the default roots and no extra ones,
    /// `clock`, the default safety margin, no session, no listener.
    pub fn new(config: ConfigBuilder, clock: Arc<dyn Clock>) -> Self {
        Self {
            config,
            timeout: std::time::Duration::from_secs(30),
            roots: R::default(),
            extra_roots: Vec::new(),
            clock,
            margin: crate::session::DEFAULT_MARGIN,
            start: SessionStart::Empty,
            listener: None,
        }
    }
}

impl<R> BuilderSettings<R> {
    /// Changes the configuration being built.
    pub fn configure(&mut self, change: impl FnOnce(ConfigBuilder) -> ConfigBuilder) {
        self.config = change(self.config.clone());
    }
}

impl<R: fmt::Debug> fmt::Debug for BuilderSettings<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuilderSettings")
            .field("config", &self.config)
            .field("timeout", &self.timeout)
            .field("roots", &self.roots)
            .field("extra_roots", &self.extra_roots.len())
            .field("margin", &self.margin)
            .field("start", &self.start)
            .field("listener", &self.listener.is_some())
            .finish_non_exhaustive()
    }
}

/// Where an adapter's builder keeps its [`BuilderSettings`], for
/// [`client_builder_settings!`](crate::client_builder_settings).
pub trait BuilderCore {
    /// The adapter's choice of trust store.
    type Roots;

    /// The settings, to change one.
    fn settings(&mut self) -> &mut BuilderSettings<Self::Roots>;
}

/// Expands, inside an adapter's `impl ClientBuilder`, to the settings every
/// builder offers. The builder implements
/// [`BuilderCore`](crate::surface::BuilderCore); pass its `Roots` type:
/// `client_builder_settings!(Roots)`.
#[macro_export]
#[doc(hidden)]
macro_rules! client_builder_settings {
    ($roots:ty) => {
        /// Signs session requests with the application's auth secret.
        pub fn auth_secret(mut self, secret: impl ::core::convert::Into<$crate::Secret>) -> Self {
            $crate::surface::BuilderCore::settings(&mut self).configure(|c| c.auth_secret(secret));
            self
        }

        /// HMAC-SHA1 (default) or HMAC-SHA256 signatures.
        pub fn signature_algorithm(mut self, algorithm: $crate::SignatureAlgorithm) -> Self {
            $crate::surface::BuilderCore::settings(&mut self)
                .configure(|c| c.signature_algorithm(algorithm));
            self
        }

        /// The API endpoint (default: the production service).
        pub fn base_url(mut self, url: impl ::core::convert::Into<::std::string::String>) -> Self {
            $crate::surface::BuilderCore::settings(&mut self).configure(|c| c.base_url(url));
            self
        }

        /// Overrides the `CB-SDK` header.
        pub fn sdk_identity(
            mut self,
            identity: impl ::core::convert::Into<::std::string::String>,
        ) -> Self {
            $crate::surface::BuilderCore::settings(&mut self)
                .configure(|c| c.sdk_identity(identity));
            self
        }

        /// The longest an API call may take, connection included (default
        /// 30 s). Uploads and downloads are not bounded by it: they fail only
        /// after an idle timeout without a byte moving (their options'
        /// `idle_timeout`, 30 s by default).
        pub fn timeout(mut self, timeout: ::core::time::Duration) -> Self {
            $crate::surface::BuilderCore::settings(&mut self).timeout = timeout;
            self
        }

        /// Which certificate authorities to trust (default: webpki).
        pub fn roots(mut self, roots: $roots) -> Self {
            $crate::surface::BuilderCore::settings(&mut self).roots = roots;
            self
        }

        /// Trusts one more DER certificate on top of the roots.
        pub fn add_root_certificate(
            mut self,
            der: impl ::core::convert::Into<::std::vec::Vec<u8>>,
        ) -> Self {
            $crate::surface::BuilderCore::settings(&mut self)
                .extra_roots
                .push(der.into());
            self
        }

        /// The clock for expiry and signatures (default: the system clock).
        /// Once the server refuses a signature on it, session requests are
        /// signed on the server's clock, as the answers' `Date` tells it.
        pub fn clock(mut self, clock: impl $crate::Clock) -> Self {
            $crate::surface::BuilderCore::settings(&mut self).clock = ::std::sync::Arc::new(clock);
            self
        }

        /// How a call sends a request again after a transient failure
        /// (a `429`, `502`, `503`, `504`, a refused connection, a reset or
        /// a timeout before the answer). Default: `RetryPolicy::standard()`,
        /// at most 3 tries, with waits of full-jitter backoff or the
        /// server's `Retry-After` (up to 5 s), 10 s of waiting in all;
        /// `RetryPolicy::none()` sends every request once. A request the
        /// server may have acted on goes again only if it may be repeated.
        pub fn retry_policy(mut self, policy: $crate::retry::RetryPolicy) -> Self {
            $crate::surface::BuilderCore::settings(&mut self).configure(|c| c.retry_policy(policy));
            self
        }

        /// How close to its deadline a session stops counting as valid.
        pub fn session_margin(mut self, margin: $crate::time::Duration) -> Self {
            $crate::surface::BuilderCore::settings(&mut self).margin = margin;
            self
        }

        /// Starts the client where a saved session left off (see
        /// `export_session`): no session request is made while it is valid.
        /// A snapshot past its deadline starts expired, so the restore
        /// callback runs at the first call; one of another application or
        /// base URL makes `build` fail with the protocol error
        /// `ForeignSnapshot`.
        pub fn resume_session(mut self, snapshot: $crate::SessionSnapshot) -> Self {
            $crate::surface::BuilderCore::settings(&mut self).start =
                $crate::snapshot::SessionStart::Snapshot(snapshot);
            self
        }

        /// Starts the client with a token minted elsewhere (the app's
        /// backend, another client). Without a deadline, the first response
        /// sets it.
        pub fn adopt_session(mut self, token: $crate::IssuedToken) -> Self {
            $crate::surface::BuilderCore::settings(&mut self).start =
                $crate::snapshot::SessionStart::Token(token);
            self
        }

        /// Called after every change of the session — created, upgraded,
        /// downgraded, restored, expired, destroyed, adopted, resumed — with
        /// the snapshot after it, once per change and in order, outside the
        /// client's locks. What the client is built with is not a change.
        pub fn on_session_change(
            mut self,
            listener: impl Fn(&$crate::SessionEvent)
            + ::core::marker::Send
            + ::core::marker::Sync
            + 'static,
        ) -> Self {
            $crate::surface::BuilderCore::settings(&mut self).listener =
                ::core::option::Option::Some(::std::sync::Arc::new(listener));
            self
        }
    };
}
