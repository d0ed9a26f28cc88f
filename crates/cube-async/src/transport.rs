//! The HTTP client: pooled hyper connections over rustls (ring provider).

use crate::deadlines::Deadlines;
use crate::transfer::Pump;
use bytes::Bytes;
use cube_shell::trace::RequestLine;
use cube_shell::{Adapter, Error, Roots};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use proto::RestoreAnswer;
use proto::wire::{Request, Response};
use rustls::pki_types::CertificateDer;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// The largest answer read into memory: far above any API answer.
const MAX_BODY: usize = 16 * 1024 * 1024;

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

    /// Sends one request and reads the whole answer, within the timeout.
    pub(crate) async fn send(&self, request: Request) -> Result<Response, Error> {
        let line = RequestLine::of(&request);
        let request = request.map(|body| Full::new(Bytes::from(body)));
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| self.error(Box::new(e)))?;
            let (parts, body) = response.into_parts();
            let bytes = Limited::new(body, MAX_BODY)
                .collect()
                .await
                .map_err(|e| self.error(e))?
                .to_bytes();
            Ok::<_, Error>(Response::from_parts(parts, Vec::from(bytes)))
        };
        let late = self.deadlines.start(self.timeout);
        let response = tokio::select! {
            biased;
            outcome = exchange => outcome?,
            () = late => return Err(Error::Timeout(self.timeout)),
        };
        line.answered(response.status());
        Ok(response)
    }
}
