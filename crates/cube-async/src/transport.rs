//! The HTTP client: pooled hyper connections over rustls (ring provider).

use crate::deadlines::Deadlines;
use crate::transfer::Pump;
use bytes::Bytes;
use cube_shell::trace::RequestLine;
use cube_shell::{Adapter, Error, Roots, Unanswered};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use proto::RestoreAnswer;
use proto::retry::TransportFailure;
use proto::wire::{Request, Response};
use rustls::pki_types::CertificateDer;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The HTTP client an async [`Client`](crate::Client) sends with: pooled
/// hyper connections over rustls that never follow a redirect, built from
/// the builder's timeout and roots.
#[derive(Debug, Clone)]
pub struct Transport {
    client: HyperClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// The same connector, for uploads whose body is streamed.
    uploads: HyperClient<HttpsConnector<HttpConnector>, Pump>,
    timeout: Duration,
    /// When each call in flight runs out of `timeout`.
    deadlines: Deadlines,
}

/// The async client's restore callback answers with a future; tasks
/// waiting for the restore turn wait on a tokio lock, which may be held
/// across awaits (the session lock never is).
impl Adapter for Transport {
    type Restore = dyn Fn() -> Pin<Box<dyn Future<Output = RestoreAnswer> + Send>> + Send + Sync;
    type Turn = tokio::sync::Mutex<()>;

    fn build(timeout: Duration, roots: &Roots, extra: &[Vec<u8>]) -> Result<Self, Error> {
        let mut store = rustls::RootCertStore::empty();
        match roots {
            Roots::WebPki => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Roots::Platform => {
                // Unreadable entries of the system store are skipped, as a
                // browser would; an empty result is caught below.
                let native = rustls_native_certs::load_native_certs();
                store.add_parsable_certificates(native.certs);
            }
            Roots::None => {}
        }
        for der in extra {
            store.add(CertificateDer::from(der.clone())).map_err(|e| {
                proto::Error::Config(format!("an extra root certificate is unusable: {e}"))
            })?;
        }
        if store.is_empty() {
            return Err(proto::Error::Config("no trusted root certificates".into()).into());
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| proto::Error::Config(format!("TLS setup: {e}")))?
            .with_root_certificates(store)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        // hyper never follows redirects, which is what we want: an API answer
        // is never a redirect, and following one could carry the token away.
        let uploads = HyperClient::builder(TokioExecutor::new()).build(connector.clone());
        let client = HyperClient::builder(TokioExecutor::new()).build(connector);
        Ok(Self {
            client,
            uploads,
            timeout,
            deadlines: Deadlines::new(timeout),
        })
    }
}

impl Transport {
    /// The pooled client, for downloads (its bodies are read as they come).
    pub(crate) fn client(&self) -> &HyperClient<HttpsConnector<HttpConnector>, Full<Bytes>> {
        &self.client
    }

    /// The client for streamed uploads.
    pub(crate) fn uploads(&self) -> &HyperClient<HttpsConnector<HttpConnector>, Pump> {
        &self.uploads
    }

    /// A failure as the adapter's error: a connection that timed out is
    /// [`Error::Timeout`], like the overall deadline below.
    fn error(&self, error: Box<dyn std::error::Error + Send + Sync>) -> Error {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error.as_ref());
        while let Some(e) = cause {
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
            {
                return Error::Timeout(self.timeout);
            }
            cause = e.source();
        }
        Error::Transport(error)
    }

    /// Sends one request and reads the whole answer, within the timeout. A
    /// failure says how far the request got: the call decides whether it
    /// goes again.
    pub(crate) async fn send(&self, request: Request) -> Result<Response, Unanswered> {
        let line = RequestLine::of(&request);
        let request = request.map(|body| Full::new(Bytes::from(body)));
        // Whether the answer's head came: a failure after it is never sent
        // again.
        let begun = AtomicBool::new(false);
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| {
                let failure = before_answer(&e);
                Unanswered {
                    failure,
                    error: self.error(Box::new(e)),
                }
            })?;
            begun.store(true, Ordering::Relaxed);
            let (parts, body) = response.into_parts();
            let bytes = Limited::new(body, proto::wire::MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| Unanswered {
                    failure: TransportFailure::Other,
                    error: if e.is::<LengthLimitError>() {
                        proto::wire::answer_too_large(parts.status).into()
                    } else {
                        self.error(e)
                    },
                })?
                .to_bytes();
            Ok::<_, Unanswered>(Response::from_parts(parts, Vec::from(bytes)))
        };
        let late = self.deadlines.start(self.timeout);
        let outcome = tokio::select! {
            biased;
            outcome = exchange => Some(outcome),
            () = late => None,
        };
        let response = match outcome {
            Some(outcome) => outcome?,
            None => {
                let failure = if begun.load(Ordering::Relaxed) {
                    TransportFailure::Other
                } else {
                    TransportFailure::TimedOutBeforeAnswer
                };
                return Err(Unanswered {
                    failure,
                    error: Error::Timeout(self.timeout),
                });
            }
        };
        line.answered(response.status());
        Ok(response)
    }
}

/// How far a request got that failed before its answer's head, in
/// cube-proto's words, from the causes hyper gives. A connection that could
/// not be opened sent nothing; one closed or reset once open may have
/// carried the request (hyper does not say whether it was all written),
/// so only a request that may be repeated goes again.
fn before_answer(error: &hyper_util::client::legacy::Error) -> TransportFailure {
    use std::io::ErrorKind;
    let io_kind = io_kind_of(error);
    if error.is_connect() {
        return match io_kind {
            Some(ErrorKind::ConnectionRefused) => TransportFailure::Refused,
            Some(ErrorKind::TimedOut) => TransportFailure::ConnectTimedOut,
            _ => TransportFailure::Other,
        };
    }
    let closed = hyper_error_of(error).is_some_and(|h| h.is_incomplete_message());
    match io_kind {
        _ if closed => TransportFailure::ResetAfterSent,
        Some(
            ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe
            | ErrorKind::UnexpectedEof,
        ) => TransportFailure::ResetAfterSent,
        Some(ErrorKind::TimedOut) => TransportFailure::TimedOutBeforeAnswer,
        _ => TransportFailure::Other,
    }
}

/// The kind of the first I/O error among an error's causes.
fn io_kind_of(error: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        cause = e.source();
    }
    None
}

/// The first hyper error among an error's causes.
fn hyper_error_of<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e hyper::Error> {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if let Some(hyper) = e.downcast_ref::<hyper::Error>() {
            return Some(hyper);
        }
        cause = e.source();
    }
    None
}
