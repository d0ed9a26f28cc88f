//! The HTTP client: a pooled ureq agent that carries cube-proto's requests.

use cube_shell::trace::RequestLine;
use cube_shell::{Adapter, Error, Roots, Unanswered};
use proto::RestoreAnswer;
use proto::retry::TransportFailure;
use proto::wire::{Request, Response};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;
use ureq::http::Uri;
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

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

/// Finds the addresses of a request's host. ureq's own resolver looks a
/// host up on a new thread for every request once a timeout is set (so as
/// to bound the lookup by it), even a request that then reuses a pooled
/// connection: about as long again as a whole call to a local server. An
/// IP address needs no lookup, so it is read here, on the calling thread;
/// a name still goes to ureq's resolver and its timeout.
#[derive(Debug, Default)]
struct Addresses(DefaultResolver);

impl Resolver for Addresses {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let ip = uri.host().and_then(|host| {
            let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
            bare.unwrap_or(host).parse::<IpAddr>().ok()
        });
        let port = uri.port_u16().or(match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        });
        let (Some(ip), Some(port)) = (ip, port) else {
            return self.0.resolve(uri, config, timeout);
        };
        let mut found = self.empty();
        for addr in config
            .ip_family()
            .keep_wanted([SocketAddr::new(ip, port)].into_iter())
        {
            found.push(addr);
        }
        if found.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        Ok(found)
    }
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
        let agent =
            ureq::Agent::with_parts(config, DefaultConnector::default(), Addresses::default());
        Ok(Self { agent, timeout })
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

    /// Sends one request and reads the whole answer. A failure says how
    /// far the request got: the call decides whether it goes again.
    pub(crate) fn send(&self, request: Request) -> Result<Response, Unanswered> {
        let line = RequestLine::of(&request);
        let response = self.agent.run(request).map_err(|e| Unanswered {
            failure: before_answer(&e),
            error: self.error(e),
        })?;
        let (parts, mut body) = response.into_parts();
        line.answered(parts.status);
        let bytes = body
            .with_config()
            .limit(proto::wire::MAX_ANSWER_BYTES as u64)
            .read_to_vec()
            .map_err(|e| Unanswered {
                // The answer had begun: never sent again.
                failure: TransportFailure::Other,
                error: match e {
                    ureq::Error::BodyExceedsLimit(_) => {
                        proto::wire::answer_too_large(parts.status).into()
                    }
                    other => self.error(other),
                },
            })?;
        Ok(Response::from_parts(parts, bytes))
    }
}

/// How far a request got that failed before its answer's head, in
/// cube-proto's words. ureq does not say whether a reset came before or
/// after the request was written, nor, under its one overall timeout, in
/// which phase time ran out: either is taken as "may have reached the
/// server", so that only a request that may be repeated goes again.
fn before_answer(error: &ureq::Error) -> TransportFailure {
    use std::io::ErrorKind;
    match error {
        ureq::Error::Io(io) => match io.kind() {
            ErrorKind::ConnectionRefused => TransportFailure::Refused,
            ErrorKind::TimedOut => TransportFailure::TimedOutBeforeAnswer,
            ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe
            | ErrorKind::UnexpectedEof => TransportFailure::ResetAfterSent,
            _ => TransportFailure::Other,
        },
        ureq::Error::Timeout(_) => TransportFailure::TimedOutBeforeAnswer,
        _ => TransportFailure::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(url: &str) -> Result<Vec<SocketAddr>, ureq::Error> {
        let config = ureq::Agent::config_builder().build();
        let uri: Uri = url.parse().unwrap();
        let found = Addresses::default().resolve(&uri, &config, NextTimeout::default())?;
        Ok(found.iter().copied().collect())
    }

    #[test]
    fn an_address_is_read_where_it_stands() {
        assert_eq!(
            resolve("http://127.0.0.1:8080/any/path").unwrap(),
            ["127.0.0.1:8080".parse().unwrap()]
        );
        assert_eq!(
            resolve("https://[::1]/").unwrap(),
            ["[::1]:443".parse().unwrap()]
        );
        assert_eq!(
            resolve("http://10.0.0.7/").unwrap(),
            ["10.0.0.7:80".parse().unwrap()]
        );
    }

    #[test]
    fn failures_before_the_answer_say_how_far_the_request_got() {
        use std::io::{Error as Io, ErrorKind};
        let io = |kind| ureq::Error::Io(Io::from(kind));
        let table = [
            (io(ErrorKind::ConnectionRefused), TransportFailure::Refused),
            (
                io(ErrorKind::ConnectionReset),
                TransportFailure::ResetAfterSent,
            ),
            (
                io(ErrorKind::UnexpectedEof),
                TransportFailure::ResetAfterSent,
            ),
            (io(ErrorKind::BrokenPipe), TransportFailure::ResetAfterSent),
            (
                io(ErrorKind::TimedOut),
                TransportFailure::TimedOutBeforeAnswer,
            ),
            (
                ureq::Error::Timeout(ureq::Timeout::Global),
                TransportFailure::TimedOutBeforeAnswer,
            ),
            (io(ErrorKind::PermissionDenied), TransportFailure::Other),
            (ureq::Error::HostNotFound, TransportFailure::Other),
            (ureq::Error::Tls("bad certificate"), TransportFailure::Other),
        ];
        for (error, failure) in table {
            assert_eq!(before_answer(&error), failure, "{error}");
        }
    }

    #[test]
    fn a_name_is_looked_up() {
        let found = resolve("http://localhost:9/").unwrap();
        assert!(
            !found.is_empty() && found.iter().all(|a| a.port() == 9),
            "{found:?}"
        );
        assert!(found.iter().all(|a| a.ip().is_loopback()), "{found:?}");
    }
}
