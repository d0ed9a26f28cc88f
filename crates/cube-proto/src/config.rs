//! What identifies the application to the server and where the server is.

use crate::error::Error;
use crate::retry::RetryPolicy;
use crate::secret::Secret;
use crate::sign::Signer;
use http::HeaderValue;
use http::uri::{self, Authority, PathAndQuery, Scheme, Uri};
use std::fmt;
use std::sync::Arc;

/// The HMAC used to sign `POST /session` when an auth secret is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureAlgorithm {
    /// HMAC-SHA1, 40 hex digits: what every official SDK sends.
    #[default]
    HmacSha1,
    /// HMAC-SHA256, 64 hex digits.
    HmacSha256,
}

/// The production API endpoint.
pub const DEFAULT_BASE_URL: &str = "https://api.connectycube.com";

/// The default `CB-SDK` header value.
pub const DEFAULT_SDK_IDENTITY: &str = concat!("Rust ", env!("CARGO_PKG_VERSION"), " - Client");

/// Application credentials and endpoint, fixed for the life of a client.
///
/// ```
/// use cube_proto::{Config, SignatureAlgorithm};
/// let config = Config::builder(1, "29WfrNWdvkhmX6V")
///     .auth_secret("EmulatorSecret42")
///     .signature_algorithm(SignatureAlgorithm::HmacSha256)
///     .base_url("http://127.0.0.1:8080/api")
///     .build()?;
/// assert_eq!(config.url("/session", None), "http://127.0.0.1:8080/api/session");
/// assert!(!format!("{config:?}").contains("EmulatorSecret42"));
/// # Ok::<(), cube_proto::Error>(())
/// ```
#[derive(Clone)]
pub struct Config {
    /// Shared: every call holds the configuration, and copying it is one
    /// count up.
    inner: Arc<Settings>,
}

struct Settings {
    application_id: u64,
    auth_key: Option<String>,
    auth_secret: Option<Secret>,
    algorithm: SignatureAlgorithm,
    base_url: String,
    sdk_identity: String,
    retry: RetryPolicy,
    /// `sdk_identity`, checked once as a header value.
    sdk_header: HeaderValue,
    /// The HMAC keyed with `auth_secret`, when there is one.
    signer: Option<Signer>,
    /// `base_url`'s scheme and authority, parsed once.
    origin: (Scheme, Authority),
    /// `base_url`'s path prefix (empty, or `/v1` for instance).
    prefix: String,
}

impl Config {
    /// Starts a configuration for an application.
    pub fn builder(application_id: u64, auth_key: impl Into<String>) -> ConfigBuilder {
        ConfigBuilder {
            auth_key: Some(auth_key.into()),
            ..Self::builder_without_auth_key(application_id)
        }
    }

    /// Starts a configuration with no auth key: a client of it uses a token
    /// minted elsewhere (a snapshot, an adopted token, or sessions its restore
    /// callback hands over) and cannot create sessions or sign up without one
    /// ([`Error::NoAuthKey`]).
    ///
    /// ```
    /// let config = cube_proto::Config::builder_without_auth_key(1).build()?;
    /// assert_eq!(config.auth_key(), None);
    /// # Ok::<(), cube_proto::Error>(())
    /// ```
    pub fn builder_without_auth_key(application_id: u64) -> ConfigBuilder {
        ConfigBuilder {
            application_id,
            auth_key: None,
            auth_secret: None,
            algorithm: SignatureAlgorithm::default(),
            base_url: DEFAULT_BASE_URL.to_owned(),
            sdk_identity: DEFAULT_SDK_IDENTITY.to_owned(),
            retry: RetryPolicy::standard(),
        }
    }

    /// The application id.
    pub fn application_id(&self) -> u64 {
        self.inner.application_id
    }

    /// The application's auth key (sent in clear on the wire; not a
    /// secret), or `None` for a client that only uses given tokens.
    pub fn auth_key(&self) -> Option<&str> {
        self.inner.auth_key.as_deref()
    }

    /// The auth secret, when session requests are to be signed.
    pub fn auth_secret(&self) -> Option<&Secret> {
        self.inner.auth_secret.as_ref()
    }

    /// The signature algorithm used when an auth secret is set.
    pub fn signature_algorithm(&self) -> SignatureAlgorithm {
        self.inner.algorithm
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The `CB-SDK` header value.
    pub fn sdk_identity(&self) -> &str {
        &self.inner.sdk_identity
    }

    /// The `CB-SDK` header value, ready to send.
    pub(crate) fn sdk_header(&self) -> &HeaderValue {
        &self.inner.sdk_header
    }

    /// The URI of an API path, as [`url`](Self::url) writes it, built from
    /// the parts of the base URL parsed once.
    pub(crate) fn uri(&self, path: &str, query: Option<&str>) -> Result<Uri, Error> {
        let c = &self.inner;
        let mut tail =
            String::with_capacity(c.prefix.len() + path.len() + 1 + query.map_or(0, str::len));
        tail.push_str(&c.prefix);
        tail.push_str(path);
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            tail.push('?');
            tail.push_str(q);
        }
        let mut parts = uri::Parts::default();
        parts.scheme = Some(c.origin.0.clone());
        parts.authority = Some(c.origin.1.clone());
        parts.path_and_query = Some(
            PathAndQuery::from_maybe_shared(tail)
                .map_err(|e| Error::Config(format!("could not build the request URL: {e}")))?,
        );
        Uri::from_parts(parts)
            .map_err(|e| Error::Config(format!("could not build the request URL: {e}")))
    }

    /// What signs session requests, when there is an auth secret.
    pub(crate) fn signer(&self) -> Option<&Signer> {
        self.inner.signer.as_ref()
    }

    /// How calls send a request again after a transient failure.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.inner.retry
    }

    /// Where `uri` leads on the API: its path under the base URL
    /// (`/session`, `/users`, or empty); `None` for a storage URL or
    /// another server. Compares the parts in place: this runs for every
    /// request.
    pub(crate) fn api_path<'u>(&self, uri: &'u http::Uri) -> Option<&'u str> {
        let prefix = self
            .inner
            .base_url
            .strip_prefix(uri.scheme_str()?)?
            .strip_prefix("://")?
            .strip_prefix(uri.authority()?.as_str())?;
        let rest = uri.path().strip_prefix(prefix)?;
        (rest.is_empty() || rest.starts_with('/')).then_some(rest)
    }

    /// The full URL of an API path (which starts with `/`), with an optional
    /// already-encoded query string.
    pub fn url(&self, path: &str, query: Option<&str>) -> String {
        match query {
            Some(q) if !q.is_empty() => format!("{}{path}?{q}", self.inner.base_url),
            _ => format!("{}{path}", self.inner.base_url),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.inner;
        f.debug_struct("Config")
            .field("application_id", &c.application_id)
            .field("auth_key", &c.auth_key)
            .field("auth_secret", &c.auth_secret)
            .field("algorithm", &c.algorithm)
            .field("base_url", &c.base_url)
            .field("sdk_identity", &c.sdk_identity)
            .field("retry", &c.retry)
            .finish()
    }
}

/// Builds a [`Config`]; see [`Config::builder`].
#[derive(Debug, Clone)]
pub struct ConfigBuilder {
    application_id: u64,
    auth_key: Option<String>,
    auth_secret: Option<Secret>,
    algorithm: SignatureAlgorithm,
    base_url: String,
    sdk_identity: String,
    retry: RetryPolicy,
}

impl ConfigBuilder {
    /// Signs session requests with this secret (the signed form).
    pub fn auth_secret(mut self, secret: impl Into<Secret>) -> Self {
        self.auth_secret = Some(secret.into());
        self
    }

    /// Chooses HMAC-SHA1 (default) or HMAC-SHA256.
    pub fn signature_algorithm(mut self, algorithm: SignatureAlgorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Any `http`/`https` URL, with host, optional port and optional path prefix.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Overrides the `CB-SDK` header value.
    pub fn sdk_identity(mut self, identity: impl Into<String>) -> Self {
        self.sdk_identity = identity.into();
        self
    }

    /// How calls send a request again after a transient failure
    /// ([`RetryPolicy::standard`] unless set; [`RetryPolicy::none`] turns
    /// resends off).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Checks the values and returns the configuration.
    pub fn build(self) -> Result<Config, Error> {
        let base_url = validate_base_url(&self.base_url)?;
        match &self.auth_key {
            Some(key) if key.is_empty() => {
                return Err(Error::Config("the auth key is empty".into()));
            }
            None if self.auth_secret.is_some() => {
                return Err(Error::Config(
                    "an auth secret signs session requests, which need an auth key".into(),
                ));
            }
            _ => {}
        }
        if self
            .auth_secret
            .as_ref()
            .is_some_and(|s| s.expose().is_empty())
        {
            return Err(Error::Config("the auth secret is empty".into()));
        }
        if let Some(problem) = self.retry.problem() {
            return Err(Error::Config(problem));
        }
        let sdk_header = HeaderValue::from_str(&self.sdk_identity)
            .map_err(|_| Error::Config("the SDK identity is not a valid header value".into()))?;
        let (origin, prefix) = split_base_url(&base_url)?;
        let signer = self
            .auth_secret
            .as_ref()
            .map(|secret| Signer::new(self.algorithm, secret));
        let settings = Settings {
            origin,
            prefix,
            signer,
            application_id: self.application_id,
            auth_key: self.auth_key,
            auth_secret: self.auth_secret,
            algorithm: self.algorithm,
            base_url,
            sdk_identity: self.sdk_identity,
            retry: self.retry,
            sdk_header,
        };
        Ok(Config {
            inner: Arc::new(settings),
        })
    }
}

/// The scheme and authority of a checked base URL, and its path prefix.
fn split_base_url(base_url: &str) -> Result<((Scheme, Authority), String), Error> {
    let uri: Uri = base_url
        .parse()
        .map_err(|_| Error::Config(format!("base URL {base_url:?}: not a URL")))?;
    let parts = uri.into_parts();
    match (parts.scheme, parts.authority) {
        (Some(scheme), Some(authority)) => {
            let path = parts.path_and_query.as_ref().map_or("", |p| p.path());
            Ok(((scheme, authority), path.trim_end_matches('/').to_owned()))
        }
        _ => Err(Error::Config(format!("base URL {base_url:?}: no host"))),
    }
}

fn validate_base_url(raw: &str) -> Result<String, Error> {
    let trimmed = raw.trim_end_matches('/');
    let bad = |why: &str| Error::Config(format!("base URL {trimmed:?}: {why}"));
    let uri: http::Uri = trimmed.parse().map_err(|_| bad("not a URL"))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => return Err(bad("the scheme must be http or https")),
    }
    if uri.authority().is_none() {
        return Err(bad("no host"));
    }
    if uri.query().is_some() || trimmed.contains('#') {
        return Err(bad("a base URL carries no query or fragment"));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_keeps_prefix_and_drops_trailing_slash() {
        let c = Config::builder(7, "k")
            .base_url("https://cube.example:8443/v1/")
            .build()
            .unwrap();
        assert_eq!(c.base_url(), "https://cube.example:8443/v1");
        assert_eq!(
            c.url("/users/1", Some("a=b")),
            "https://cube.example:8443/v1/users/1?a=b"
        );
    }

    #[test]
    fn request_uris_are_the_urls_written_out() {
        for base in [
            "https://cube.example:8443/v1/",
            "http://127.0.0.1:8080",
            "https://api.connectycube.com/",
        ] {
            let c = Config::builder(7, "k").base_url(base).build().unwrap();
            for (path, query) in [
                ("/users/1", Some("a=b&c[]=d")),
                ("/session", None),
                ("/x", Some("")),
            ] {
                assert_eq!(
                    c.uri(path, query).unwrap().to_string(),
                    c.url(path, query),
                    "{base}"
                );
            }
        }
    }

    #[test]
    fn rejects_bad_base_urls() {
        for url in ["ftp://x", "not a url", "/relative", "http://h/?q=1", ""] {
            let err = Config::builder(1, "k").base_url(url).build().unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{url}");
        }
    }

    #[test]
    fn rejects_empty_key_and_secret() {
        assert!(Config::builder(1, "").build().is_err());
        assert!(Config::builder(1, "k").auth_secret("").build().is_err());
    }

    #[test]
    fn no_auth_key_means_no_secret_either() {
        let c = Config::builder_without_auth_key(3).build().unwrap();
        assert_eq!((c.application_id(), c.auth_key()), (3, None));
        let err = Config::builder_without_auth_key(3)
            .auth_secret("s")
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
    }

    #[test]
    fn the_retry_policy_is_standard_unless_set_and_checked() {
        assert_eq!(
            Config::builder(1, "k").build().unwrap().retry_policy(),
            RetryPolicy::standard()
        );
        let none = Config::builder(1, "k")
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        assert_eq!(none.retry_policy().max_attempts(), 1);
        let ten = RetryPolicy::standard().with_max_attempts(10);
        assert!(Config::builder(1, "k").retry_policy(ten).build().is_ok());
        for bad in [0, 11] {
            let policy = RetryPolicy::standard().with_max_attempts(bad);
            let err = Config::builder(1, "k")
                .retry_policy(policy)
                .build()
                .unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{err}");
        }
    }

    #[test]
    fn only_urls_under_the_base_url_are_the_api() {
        let c = Config::builder(1, "k")
            .base_url("https://cube.example:8443/v1")
            .build()
            .unwrap();
        let api = |url: &str| {
            let uri: http::Uri = url.parse().unwrap();
            c.api_path(&uri).map(str::to_owned)
        };
        assert_eq!(api("https://cube.example:8443/v1").as_deref(), Some(""));
        assert_eq!(
            api("https://cube.example:8443/v1/session?x=1").as_deref(),
            Some("/session")
        );
        assert_eq!(api("https://cube.example:8443/v1?x=1").as_deref(), Some(""));
        assert_eq!(api("https://cube.example:8443/v10/session"), None);
        assert_eq!(api("https://cube.example:8443/session"), None);
        assert_eq!(api("http://cube.example:8443/v1/session"), None);
        assert_eq!(api("https://cube.example:8444/v1/session"), None);
        assert_eq!(api("https://storage.example/v1/session"), None);
        // A base URL without a path: every path of its host.
        let bare = Config::builder(1, "k")
            .base_url("http://cube.test")
            .build()
            .unwrap();
        let uri: http::Uri = bare.url("/session", None).parse().unwrap();
        assert_eq!(bare.api_path(&uri), Some("/session"));
        let root: http::Uri = "http://cube.test".parse().unwrap();
        assert_eq!(bare.api_path(&root), Some("/"));
    }

    #[test]
    fn debug_hides_the_secret() {
        let c = Config::builder(1, "k")
            .auth_secret("s3cr3t-value")
            .build()
            .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t-value"));
        assert!(shown.contains("redacted"));
    }
}
