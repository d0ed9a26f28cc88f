//! Servers scripted by the test, on 127.0.0.1: [`FakeServer`] records every
//! request and answers it with a closure (one request per connection, which
//! the closure may cut instead of answering: [`Reply::cut`]), and
//! [`tls_server`] answers a session request over HTTPS with a self-signed
//! certificate. [`Probe`] is an operation of the test's own.

use proto::ops::{Access, Operation};
use proto::wire::{Request, RequestContext, Response};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::thread;

/// A request as the server read it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path with its query.
    pub path: String,
    /// The headers, in order, as sent.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Recorded {
    /// The first header of this name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The answer to one request.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Headers besides `Content-Length` and `Connection: close`.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
    /// Close the connection once the request is read, answering nothing
    /// (a server that went down, a proxy restarting).
    pub cut: bool,
}

impl Reply {
    /// `status` with `body` and no extra header.
    pub fn new(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.to_owned(),
            cut: false,
        }
    }

    /// No answer: the connection is closed once the request is read.
    pub fn cut() -> Self {
        Self {
            cut: true,
            ..Self::new(0, "")
        }
    }

    /// The same answer with one more header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// A server whose answers a closure writes; see the module docs. Its
/// threads end with the test process.
#[derive(Debug)]
pub struct FakeServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Every request answered so far.
    pub log: Arc<Mutex<Vec<Recorded>>>,
}

impl FakeServer {
    /// Listens on a free port and answers each request with `handler`.
    pub fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler = Arc::new(handler);
        let log2 = log.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let handler = handler.clone();
                let log = log2.clone();
                thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut parts = line.split_whitespace();
                    let method = parts.next().unwrap_or("").to_owned();
                    let path = parts.next().unwrap_or("").to_owned();
                    let mut headers = Vec::new();
                    let mut length = 0usize;
                    loop {
                        let mut h = String::new();
                        reader.read_line(&mut h).unwrap();
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        let (k, v) = h.split_once(':').unwrap();
                        if k.eq_ignore_ascii_case("content-length") {
                            length = v.trim().parse().unwrap();
                        }
                        headers.push((k.to_owned(), v.trim().to_owned()));
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    let req = Recorded {
                        method,
                        path,
                        headers,
                        body,
                    };
                    let reply = handler(&req);
                    log.lock().unwrap().push(req);
                    if reply.cut {
                        let _ = stream.shutdown(std::net::Shutdown::Both);
                        return;
                    }
                    let mut out = format!(
                        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                        reply.status,
                        reply.body.len()
                    );
                    for (k, v) in &reply.headers {
                        out.push_str(&format!("{k}: {v}\r\n"));
                    }
                    out.push_str("\r\n");
                    out.push_str(&reply.body);
                    let _ = stream.write_all(out.as_bytes());
                });
            }
        });
        Self { addr, log }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests answered so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }
}

/// Serves `POST /session` over TLS with a fresh self-signed certificate for
/// `localhost`; returns the port and the certificate (DER).
pub fn tls_server() -> (u16, Vec<u8>) {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_der = key.cert.der().to_vec();
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.signing_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![CertificateDer::from(cert_der.clone())], private)
    .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let config = config.clone();
            std::thread::spawn(move || {
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut reader = BufReader::new(&mut tls);
                let mut length = 0;
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return; // the client refused the certificate
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let answer = r#"{"session":{"id":1,"user_id":0,"token":"tls-token"}}"#;
                let _ = write!(
                    tls,
                    "HTTP/1.1 201 Created\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = tls.flush();
            });
        }
    });
    (port, cert_der)
}

/// `GET /probe` under the chosen access; its answer is ignored.
#[derive(Debug, Clone, Copy)]
pub struct Probe(pub Access);

impl Operation for Probe {
    type Output = ();
    fn access(&self) -> Access {
        self.0
    }
    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, proto::Error> {
        let mut b = http::Request::get(ctx.config.url("/probe", None));
        if let Some(t) = ctx.token {
            b = b.header("CB-Token", t.expose());
        }
        b.body(Vec::new())
            .map_err(|e| proto::Error::Config(format!("the probe request: {e}")))
    }
    fn parse(&self, _: &Response) -> Result<(), proto::Error> {
        Ok(())
    }
}

/// The body of a `GET /users/v2` page of one user, padded to exactly `len`
/// bytes with the user's login.
pub fn page_of_length(len: usize) -> String {
    const HEAD: &str = r#"{"skip":0,"limit":1,"total_entries":1,"items":[{"id":5,"login":""#;
    const TAIL: &str = r#""}]}"#;
    let pad = len.saturating_sub(HEAD.len() + TAIL.len());
    let mut body = String::with_capacity(len);
    body.push_str(HEAD);
    body.extend(std::iter::repeat_n('a', pad));
    body.push_str(TAIL);
    body
}
