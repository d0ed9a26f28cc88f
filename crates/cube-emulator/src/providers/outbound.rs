//! The emulator's own HTTP client: how it reaches identity providers (the
//! fake ones it serves itself, or real ones). Every call is bounded in time
//! and in answer size, and a failure is a value, never a panic. URLs and
//! answers are never logged: they carry tokens.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Largest provider answer read.
const MAX_ANSWER: usize = 1 << 20;

/// Why a provider could not be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallError {
    /// Not an `http://` URL.
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

/// An HTTP/1.1 client with keep-alive and a per-call deadline.
pub(crate) struct Outbound {
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl Outbound {
    pub(crate) fn new(timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(timeout));
        connector.set_nodelay(true);
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
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
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
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
            let response = self
                .client
                .request(request)
                .await
                .map_err(|_| CallError::Unreachable)?;
            let status = response.status();
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
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or(Err(CallError::Timeout))
    }
}
