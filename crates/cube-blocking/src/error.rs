//! The adapter's error: the protocol's, or the transport's.

/// What a call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Refused before sending, or answered with an error by the server; see
    /// [`proto::Error`] for the variants.
    #[error(transparent)]
    Proto(#[from] proto::Error),
    /// The request did not get an answer: connection, TLS, timeout.
    #[error("transport error: {0}")]
    Transport(#[source] ureq::Error),
    /// A transfer was cancelled: its progress callback said stop, or its
    /// cancel handle was used. Nothing was completed.
    #[error("the transfer was cancelled")]
    Cancelled,
    /// A transfer moved no byte for the idle timeout.
    #[error("the transfer stalled: no byte moved for {0:?}")]
    Stalled(std::time::Duration),
    /// Reading the file to upload, or writing the downloaded one, failed.
    #[error("file I/O failed: {0}")]
    File(#[source] std::io::Error),
    /// The operating system's random source failed.
    #[error("no randomness for the nonce: {0}")]
    Random(getrandom::Error),
}

impl Error {
    /// The protocol error, if this is one.
    pub fn proto(&self) -> Option<&proto::Error> {
        match self {
            Error::Proto(e) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status of a server's error answer.
    pub fn status(&self) -> Option<http::StatusCode> {
        self.proto().and_then(proto::Error::status)
    }
}
