//! The HTTP client: a pooled ureq agent that carries cube-proto's requests.

use cube_shell::{Adapter, Error, Roots};
use proto::RestoreAnswer;
use proto::wire::{Request, Response};
use std::sync::Mutex;
use std::time::Duration;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

/// The largest answer read into memory: far above any API answer.
const MAX_BODY: u64 = 16 * 1024 * 1024;

/// The system's trusted certificates; unreadable entries are skipped, as a
/// browser would.
fn platform_roots() -> impl Iterator<Item = Certificate<'static>> {
    rustls_native_certs::load_native_certs()
        .certs
        .into_iter()
        .map(|c| Certificate::from_der(c.as_ref()).to_owned())
}

/// The HTTP client a blocking [`Client`](crate::Client) sends with: a
/// pooled ureq agent that never follows a redirect, built from the
/// builder's timeout and roots.
#[derive(Debug, Clone)]
pub struct Transport {
    agent: ureq::Agent,
    timeout: Duration,
}

/// The blocking client's restore callback: it answers on the calling
/// thread. Waiting callers wait for the restore turn on a thread lock.
impl Adapter for Transport {
    type Restore = dyn Fn() -> RestoreAnswer + Send + Sync;
    type Turn = Mutex<()>;

    fn build(timeout: Duration, roots: &Roots, extra: &[Vec<u8>]) -> Result<Self, Error> {
        let extra = extra
            .iter()
            .map(|der| Certificate::from_der(der).to_owned());
        let root_certs = match roots {
            Roots::WebPki if extra.len() == 0 => RootCerts::WebPki,
            Roots::WebPki => RootCerts::from(
                webpki_root_certs::TLS_SERVER_ROOT_CERTS
                    .iter()
                    .map(|c| Certificate::from_der(c.as_ref()).to_owned())
                    .chain(extra),
            ),
            Roots::Platform => RootCerts::from(platform_roots().chain(extra)),
            Roots::None if extra.len() == 0 => {
                return Err(proto::Error::Config("no trusted root certificates".into()).into());
            }
            Roots::None => RootCerts::from(extra),
        };
        let config = ureq::Agent::config_builder()
            // Error statuses are answers to parse, not transport failures.
            .http_status_as_error(false)
            // Never follow redirects: an API answer is never a redirect, and
            // following one could carry the token to another host.
            .max_redirects(0)
            .timeout_global(Some(timeout))
            .tls_config(TlsConfig::builder().root_certs(root_certs).build())
            .build();
        Ok(Self {
            agent: config.into(),
            timeout,
        })
    }
}

impl Transport {
    /// A ureq failure as the adapter's error: any of ureq's timeouts (or a
    /// socket that timed out) is [`Error::Timeout`], as in `cube-async`.
    fn error(&self, error: ureq::Error) -> Error {
        match error {
            ureq::Error::Timeout(_) => Error::Timeout(self.timeout),
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                Error::Timeout(self.timeout)
            }
            other => Error::Transport(Box::new(other)),
        }
    }

    /// The pooled agent, for streamed uploads and downloads.
    pub(crate) fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// Sends one request and reads the whole answer.
    pub(crate) fn send(&self, request: Request) -> Result<Response, Error> {
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let response = self.agent.run(request).map_err(|e| self.error(e))?;
        let (parts, mut body) = response.into_parts();
        // Only the method, path and status are logged: never headers (the
        // token), bodies (passwords) or queries.
        tracing::debug!(%method, %path, status = parts.status.as_u16(), "cube request");
        let bytes = body
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| self.error(e))?;
        Ok(Response::from_parts(parts, bytes))
    }
}
