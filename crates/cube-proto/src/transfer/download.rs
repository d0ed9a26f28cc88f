//! A file's download from start to end: ask the API where the bytes are,
//! follow its one storage redirect, and count what arrives against a
//! limit.

use crate::config::Config;
use crate::error::{ApiError, Error, InvalidInput, Misuse};
use crate::ops::{BlobLocation, DownloadBlob, MAX_UPLOAD};
use crate::secret::Secret;
use crate::wire::Request;
use http::{HeaderMap, StatusCode, header};
use std::mem;

/// The most of a storage's error answer read to find its messages.
pub const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// What the adapter must do next for a download; see [`DownloadFlow`].
#[derive(Debug)]
#[must_use]
pub enum DownloadStep {
    /// Run this call through the session (a [`Call`](crate::Call)) and
    /// hand its answer to [`DownloadFlow::handle_location`].
    Locate(DownloadBlob),
    /// The API sent the bytes itself: write them out (they are counted
    /// already, see [`DownloadFlow::progress`]), then poll again.
    Write(Vec<u8>),
    /// Fetch the file from storage: send this request (no session: it
    /// carries the token only when it stays on the API's own origin) and
    /// hand the answer's status and headers to
    /// [`DownloadFlow::handle_head`].
    Fetch(Request),
    /// The download is over: how many bytes were received.
    Done(Result<u64, Error>),
}

/// What to do with the body of the storage's answer; see
/// [`DownloadFlow::handle_head`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileBody {
    /// The file: write it out as it comes, handing each chunk's length to
    /// [`DownloadFlow::received`], then call [`DownloadFlow::handle_end`].
    File,
    /// An error answer: read at most this many bytes of it and hand them to
    /// [`DownloadFlow::handle_error_body`].
    Error(usize),
}

#[derive(Debug)]
enum Phase {
    Start(DownloadBlob),
    Locating,
    Writing(Vec<u8>),
    Fetch(Request),
    Fetching,
    Receiving,
    ReadingError(StatusCode),
    Finished(Result<u64, Error>),
    Spent,
}

/// A download, as a state machine an adapter drives like a
/// [`Call`](crate::Call): `GET /blobs/{uid}/download` under the session,
/// then the one storage redirect it answers with (never a second), the
/// bytes counted against a limit as they arrive. The adapter writes them
/// out and reports progress.
///
/// ```
/// use cube_proto::transfer::{DownloadFlow, DownloadStep, FileBody};
/// use cube_proto::{Config, Secret, ops::{DownloadBlob, Operation}};
///
/// let config = Config::builder(1, "key").base_url("https://api.example").build()?;
/// let mut flow = DownloadFlow::new("a1b2c3", DownloadFlow::MEMORY_LIMIT)?;
/// let DownloadStep::Locate(op) = flow.poll() else { unreachable!() };
/// let answer = http::Response::builder().status(302)
///     .header("Location", "https://files.example/a1b2c3?sig=s").body(Vec::new())?;
/// flow.handle_location(op.parse(&answer)?, &config, Some(&Secret::new("t0k")))?;
/// let DownloadStep::Fetch(request) = flow.poll() else { unreachable!() };
/// assert!(request.headers().get("CB-Token").is_none(), "another origin: no token");
/// let head = http::HeaderMap::from_iter([(http::header::CONTENT_LENGTH, "5".parse()?)]);
/// assert_eq!(flow.handle_head(http::StatusCode::OK, &head)?, FileBody::File);
/// assert_eq!(flow.received(5)?, (5, Some(5)));
/// flow.handle_end()?;
/// let DownloadStep::Done(Ok(5)) = flow.poll() else { unreachable!() };
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct DownloadFlow {
    phase: Phase,
    limit: u64,
    received: u64,
    total: Option<u64>,
}

impl DownloadFlow {
    /// The limit of a download held in memory: the storage's largest file.
    pub const MEMORY_LIMIT: u64 = MAX_UPLOAD;

    /// The download of file `uid`, of at most `limit` bytes (`u64::MAX`
    /// when streamed to a writer: the storage bounds the size itself).
    pub fn new(uid: &str, limit: u64) -> Result<Self, InvalidInput> {
        Ok(Self {
            phase: Phase::Start(DownloadBlob::new(uid)?),
            limit,
            received: 0,
            total: None,
        })
    }

    /// The bytes received so far and the size, when the answer said it.
    pub fn progress(&self) -> (u64, Option<u64>) {
        (self.received, self.total)
    }

    /// Whether [`DownloadStep::Done`] has been returned.
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Spent)
    }

    /// The next step. Polling while a request is out or a body is due, or
    /// after `Done`, is a [`Misuse`] and changes nothing.
    pub fn poll(&mut self) -> DownloadStep {
        match mem::replace(&mut self.phase, Phase::Spent) {
            Phase::Start(op) => {
                self.phase = Phase::Locating;
                DownloadStep::Locate(op)
            }
            Phase::Writing(bytes) => {
                self.phase = Phase::Finished(Ok(self.received));
                DownloadStep::Write(bytes)
            }
            Phase::Fetch(request) => {
                self.phase = Phase::Fetching;
                DownloadStep::Fetch(request)
            }
            Phase::Finished(outcome) => DownloadStep::Done(outcome),
            Phase::Spent => DownloadStep::Done(Err(Misuse::PolledAfterDone.into())),
            busy @ (Phase::Locating
            | Phase::Fetching
            | Phase::Receiving
            | Phase::ReadingError(_)) => {
                self.phase = busy;
                DownloadStep::Done(Err(Misuse::PolledWhileInFlight.into()))
            }
        }
    }

    /// Where the API said the bytes are. A redirect becomes the storage
    /// request, with the token only if it stays on the API's origin
    /// (scheme, host and port of `config`'s base URL). An error — a
    /// redirect the rules refuse (another scheme, HTTPS to HTTP), bytes
    /// over the limit — ends the download.
    pub fn handle_location(
        &mut self,
        location: BlobLocation,
        config: &Config,
        token: Option<&Secret>,
    ) -> Result<(), Error> {
        self.expect(|phase| matches!(phase, Phase::Locating))?;
        self.phase = match location {
            BlobLocation::Here(bytes) => {
                self.total = Some(bytes.len() as u64);
                self.count(bytes.len() as u64)?;
                Phase::Writing(bytes)
            }
            BlobLocation::Redirect(redirect) => Phase::Fetch(redirect.request(config, token)?),
        };
        Ok(())
    }

    /// The status and headers of the storage's answer: what to do with its
    /// body. A 2xx is the file (its `Content-Length`, when given, must fit
    /// the limit, or the download ends); anything else is an error whose
    /// messages are in the first bytes of the body (a second redirect is
    /// not followed).
    pub fn handle_head(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> Result<FileBody, Error> {
        self.expect(|phase| matches!(phase, Phase::Fetching))?;
        if !status.is_success() {
            self.phase = Phase::ReadingError(status);
            return Ok(FileBody::Error(ERROR_BODY_LIMIT));
        }
        self.total = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        if self.total.is_some_and(|total| total > self.limit) {
            return Err(self.too_large());
        }
        self.phase = Phase::Receiving;
        Ok(FileBody::File)
    }

    /// `n` more bytes of the file arrived: the bytes received so far and
    /// the size, for progress. Past the limit, the download ends.
    pub fn received(&mut self, n: usize) -> Result<(u64, Option<u64>), Error> {
        self.expect(|phase| matches!(phase, Phase::Receiving))?;
        self.count(n as u64)?;
        self.phase = Phase::Receiving;
        Ok(self.progress())
    }

    /// The file's body ended: the next poll is `Done`.
    pub fn handle_end(&mut self) -> Result<(), Error> {
        self.expect(|phase| matches!(phase, Phase::Receiving))?;
        self.phase = Phase::Finished(Ok(self.received));
        Ok(())
    }

    /// The first bytes of an error answer: the error the download ends
    /// with.
    pub fn handle_error_body(&mut self, body: &[u8]) -> Error {
        match mem::replace(&mut self.phase, Phase::Spent) {
            Phase::ReadingError(status) => ApiError::from_parts(status, body).into(),
            other => {
                self.phase = other;
                Misuse::ResponseWithoutRequest.into()
            }
        }
    }

    /// Checks that the flow waits for what is handed in, and leaves it
    /// spent: an error from here on ends the download.
    fn expect(&mut self, waiting: impl FnOnce(&Phase) -> bool) -> Result<(), Error> {
        if !waiting(&self.phase) {
            return Err(Misuse::ResponseWithoutRequest.into());
        }
        self.phase = Phase::Spent;
        Ok(())
    }

    fn count(&mut self, n: u64) -> Result<(), Error> {
        let received = self.received.saturating_add(n);
        if received > self.limit {
            return Err(self.too_large());
        }
        self.received = received;
        Ok(())
    }

    fn too_large(&self) -> Error {
        InvalidInput::new(
            "file",
            format!("larger than the {} bytes this download holds", self.limit),
        )
        .into()
    }
}
