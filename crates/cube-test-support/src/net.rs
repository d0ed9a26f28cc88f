//! Servers that fail on purpose, on 127.0.0.1.

use std::io;
use std::net::{SocketAddr, TcpListener};

/// A server that takes connections and never answers: the operating system
/// completes each connection into the listen queue, nobody reads it. A
/// request to it ends in the client's timeout. It stops when dropped.
#[derive(Debug)]
pub struct SilentServer {
    // Kept open, never accepted from.
    listener: TcpListener,
}

impl SilentServer {
    /// Listens on a free port of 127.0.0.1.
    pub fn start() -> io::Result<Self> {
        Ok(Self {
            listener: TcpListener::bind("127.0.0.1:0")?,
        })
    }

    /// Its address.
    pub fn addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        match self.listener.local_addr() {
            Ok(addr) => format!("http://{addr}"),
            // A bound listener always has an address; an unusable URL makes
            // the test fail loudly rather than pass.
            Err(_) => "http://silent-server-without-address.invalid".into(),
        }
    }
}

/// The URL of a port of 127.0.0.1 where nobody listens (it was free a moment
/// ago): connecting to it is refused.
pub fn refused_url() -> io::Result<String> {
    let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    Ok(format!("http://{addr}"))
}
