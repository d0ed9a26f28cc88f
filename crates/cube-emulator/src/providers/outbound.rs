//! The emulator's own HTTP client: how it reaches identity providers (the
//! fake ones it serves itself, or real ones). Every call is bounded in time
//! and in answer size, and a failure is a value, never a panic. URLs and
//! answers are never logged: they carry tokens.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::limits::PROVIDER_ANSWER_MAX_BYTES as MAX_ANSWER;

/// Why a provider could not be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallError {
    /// Not an `http://` or `https://` URL.
    BadUrl,
    /// No answer within the timeout.
    Timeout,
    /// Connection refused, reset, or a malformed answer.
    Unreachable,
    /// An answer over 1 MiB.
    TooLarge,
}

/// A provider's answer.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Bytes,
    /// How long it may be cached, from `Cache-Control` (`max-age=N`;
    /// `no-cache`/`no-store` → 0); `None` when it does not say.
    pub(crate) max_age: Option<Duration>,
}

/// Reads `Cache-Control`.
fn max_age(headers: &http::HeaderMap) -> Option<Duration> {
    let mut age = None;
    for value in headers.get_all(http::header::CACHE_CONTROL) {
        for directive in value.to_str().ok()?.split(',') {
            let directive = directive.trim().to_ascii_lowercase();
            if directive == "no-cache" || directive == "no-store" {
                return Some(Duration::ZERO);
            }
            if let Some(n) = directive.strip_prefix("max-age=") {
                age = n.trim().parse::<u64>().ok().map(Duration::from_secs);
            }
        }
    }
    age
}

impl Answer {
    /// The body as JSON, when the status is 2xx and the body is JSON.
    pub(crate) fn json_if_ok(&self) -> Option<serde_json::Value> {
        if !self.status.is_success() {
            return None;
        }
        serde_json::from_slice(&self.body).ok()
    }
}

/// An HTTP/1.1 client with keep-alive and a per-call deadline: plain
/// HTTP for the fake providers and local stand-ins, HTTPS (rustls with the
/// ring provider, the webpki roots) for real ones. It never follows
/// redirects.
pub(crate) struct Outbound {
    plain: Client<HttpConnector, Full<Bytes>>,
    /// `None` only if TLS could not be set up (then `https` is unreachable).
    tls: Option<Client<HttpsConnector<HttpConnector>, Full<Bytes>>>,
    timeout: Duration,
}

fn connector(timeout: Duration) -> HttpConnector {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(timeout));
    http.set_nodelay(true);
    http
}

impl Outbound {
    pub(crate) fn new(timeout: Duration) -> Self {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = match rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
        {
            Ok(builder) => {
                let config = builder.with_root_certificates(roots).with_no_client_auth();
                let mut http = connector(timeout);
                http.enforce_http(false);
                let https = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(config)
                    .https_only()
                    .enable_http1()
                    .wrap_connector(http);
                Some(Client::builder(TokioExecutor::new()).build(https))
            }
            Err(err) => {
                tracing::warn!(error = %err, "TLS is unavailable to identity providers");
                None
            }
        };
        Self {
            plain: Client::builder(TokioExecutor::new()).build(connector(timeout)),
            tls,
            timeout,
        }
    }

    /// `GET url` with extra headers; the whole exchange (connect, answer,
    /// body) must finish within the timeout.
    pub(crate) async fn get(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
    ) -> Result<Answer, CallError> {
        let uri: Uri = url.parse().map_err(|_| CallError::BadUrl)?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(CallError::BadUrl),
        };
        if uri.host().is_none() {
            return Err(CallError::BadUrl);
        }
        let mut request = Request::get(uri)
            .header(http::header::USER_AGENT, "cube-emulator")
            .header(http::header::ACCEPT, "application/json");
        for (name, value) in headers {
            let value = HeaderValue::from_str(value).map_err(|_| CallError::BadUrl)?;
            request = request.header(*name, value);
        }
        let request = request
            .body(Full::new(Bytes::new()))
            .map_err(|_| CallError::BadUrl)?;
        let exchange = async {
            let response = match (https, &self.tls) {
                (false, _) => self.plain.request(request).await,
                (true, Some(tls)) => tls.request(request).await,
                (true, None) => return Err(CallError::Unreachable),
            }
            .map_err(|_| CallError::Unreachable)?;
            let status = response.status();
            let max_age = max_age(response.headers());
            let mut body = std::pin::pin!(response.into_body());
            let mut bytes = Vec::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|_| CallError::Unreachable)?;
                if let Ok(data) = frame.into_data() {
                    if bytes.len() + data.len() > MAX_ANSWER {
                        return Err(CallError::TooLarge);
                    }
                    bytes.extend_from_slice(&data);
                }
            }
            Ok(Answer {
                status,
                body: Bytes::from(bytes),
                max_age,
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or(Err(CallError::Timeout))
    }
}
