//! Uploads streamed from a reader or a file, and downloads streamed to a
//! writer: never the whole file in memory, bounded by an idle timeout
//! rather than the total timeout of API calls, with progress and cancel.
//! The framing, the redirect rule and the meaning of each answer are
//! cube-proto's; this module moves the bytes.

use crate::client::Client;
use crate::error::Error;
use crate::trace;
use proto::call::CallReport;
use proto::model::Blob;
use proto::ops::{
    BlobLocation, CreateBlob, DEFAULT_IDLE_TIMEOUT, DownloadBlob, MAX_UPLOAD, Redirect,
    StreamedUpload, check_file_size, file_answer,
};
use std::fmt;
use std::io::{self, Read, Write};
use std::ops::ControlFlow;
use std::path::Path;
use std::time::{Duration, Instant};
use tracing::Span;

/// The most of an error answer read to find its messages.
const ERROR_BODY: u64 = 64 * 1024;
/// The size of the chunks a download is copied in.
const CHUNK: usize = 64 * 1024;

type UploadProgress<'a> = Box<dyn FnMut(u64, u64) -> ControlFlow<()> + 'a>;
type DownloadProgress<'a> = Box<dyn FnMut(u64, Option<u64>) -> ControlFlow<()> + 'a>;

/// How a file is uploaded: its content type and visibility, the idle
/// timeout, and a progress callback that may stop it.
///
/// ```
/// use cube_blocking::UploadOptions;
/// use std::ops::ControlFlow;
/// let options = UploadOptions::new()
///     .public(true)
///     .idle_timeout(std::time::Duration::from_secs(10))
///     .on_progress(|sent, total| {
///         println!("{sent} of {total} bytes");
///         ControlFlow::Continue(())
///     });
/// # let _ = options;
/// ```
pub struct UploadOptions<'a> {
    content_type: Option<String>,
    public: bool,
    idle_timeout: Duration,
    progress: Option<UploadProgress<'a>>,
}

impl Default for UploadOptions<'_> {
    fn default() -> Self {
        Self {
            content_type: None,
            public: false,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            progress: None,
        }
    }
}

impl fmt::Debug for UploadOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadOptions")
            .field("content_type", &self.content_type)
            .field("public", &self.public)
            .field("idle_timeout", &self.idle_timeout)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl<'a> UploadOptions<'a> {
    /// A private file, its type guessed from its name, the default idle
    /// timeout (30 s), no progress callback.
    pub fn new() -> Self {
        Self::default()
    }

    /// The MIME type, instead of the one guessed from the file name.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Whether the file is readable without a token (default: private).
    pub fn public(mut self, public: bool) -> Self {
        self.public = public;
        self
    }

    /// How long the upload may go without moving a byte (default 30 s).
    /// There is no limit on the total time.
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// Called with (bytes of the file sent, file size): first with 0, then
    /// as the bytes go, last with the size. Returning
    /// `ControlFlow::Break(())` stops the upload: the connection is dropped,
    /// the storage keeps nothing, and the call fails with
    /// [`Error::Cancelled`].
    pub fn on_progress(mut self, callback: impl FnMut(u64, u64) -> ControlFlow<()> + 'a) -> Self {
        self.progress = Some(Box::new(callback));
        self
    }

    fn create_blob(&self, file_name: &str) -> Result<CreateBlob, proto::Error> {
        let blob = match &self.content_type {
            Some(content_type) => CreateBlob::new(content_type.clone(), file_name)?,
            None => CreateBlob::for_file(file_name)?,
        };
        Ok(blob.public(self.public))
    }
}

/// How a file is downloaded: the idle timeout, and a progress callback
/// that may stop it.
pub struct DownloadOptions<'a> {
    idle_timeout: Duration,
    progress: Option<DownloadProgress<'a>>,
}

impl Default for DownloadOptions<'_> {
    fn default() -> Self {
        Self {
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            progress: None,
        }
    }
}

impl fmt::Debug for DownloadOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownloadOptions")
            .field("idle_timeout", &self.idle_timeout)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl<'a> DownloadOptions<'a> {
    /// The default idle timeout (30 s), no progress callback.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long the download may go without moving a byte (default 30 s).
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// Called with (bytes received, size when the server said it) as the
    /// bytes arrive. Returning `ControlFlow::Break(())` stops the download
    /// and fails it with [`Error::Cancelled`].
    pub fn on_progress(
        mut self,
        callback: impl FnMut(u64, Option<u64>) -> ControlFlow<()> + 'a,
    ) -> Self {
        self.progress = Some(Box::new(callback));
        self
    }
}

/// # Storage, streamed
///
/// Files of any size up to the storage's 100 MiB, streamed from a reader or
/// a path and back to a writer, with progress, cancel and an idle timeout.
impl Client {
    /// Uploads a file from disk without reading it into memory: creates the
    /// file record (named after the path's file name, its type guessed from
    /// it unless set), streams the bytes, declares the upload complete.
    /// Returns the completed file's record. If the upload fails or is
    /// cancelled, the record is deleted again (best effort).
    pub fn upload_from_path(
        &self,
        path: impl AsRef<Path>,
        options: UploadOptions<'_>,
    ) -> Result<Blob, Error> {
        let path = path.as_ref();
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| {
                proto::Error::from(proto::error::InvalidInput::new("path", "names no file"))
            })?;
        let file = std::fs::File::open(path).map_err(Error::File)?;
        let len = file.metadata().map_err(Error::File)?.len();
        self.upload_from_reader(file, len, &file_name, options)
    }

    /// Uploads `len` bytes read from `reader` as a file named `file_name`:
    /// the same steps as [`upload_from_path`](Self::upload_from_path). The
    /// reader must hold exactly `len` bytes (at most 100 MiB); fewer or
    /// more fails the upload before it completes.
    pub fn upload_from_reader(
        &self,
        reader: impl Read,
        len: u64,
        file_name: &str,
        options: UploadOptions<'_>,
    ) -> Result<Blob, Error> {
        // Refused before a file record exists.
        check_file_size(len).map_err(proto::Error::from)?;
        let created = self.create_blob(options.create_blob(file_name)?)?;
        let uploaded = self
            .upload_stream(&created, reader, len, options)
            .and_then(|()| self.complete_blob(created.id, len));
        match uploaded {
            Ok(()) => Ok(created),
            Err(e) => {
                // The record would stay incomplete and unknown to the caller.
                let _ = self.delete_blob(created.id);
                Err(e)
            }
        }
    }

    /// Streams `len` bytes from `reader` to the upload URL of a blob just
    /// created with [`create_blob`](Self::create_blob) (no session involved;
    /// complete it afterwards with [`complete_blob`](Self::complete_blob)).
    /// The content type of `options` is not used: the blob has one. It
    /// runs in a `cube_call` span named `upload_stream`.
    pub fn upload_stream(
        &self,
        blob: &Blob,
        reader: impl Read,
        len: u64,
        options: UploadOptions<'_>,
    ) -> Result<(), Error> {
        let span = trace::call_span(StreamedUpload::OPERATION);
        let started = Instant::now();
        let outcome = span.in_scope(|| self.send_upload(blob, reader, len, options));
        trace::finish(&span, started);
        outcome
    }

    fn send_upload(
        &self,
        blob: &Blob,
        mut reader: impl Read,
        len: u64,
        mut options: UploadOptions<'_>,
    ) -> Result<(), Error> {
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(Error::Random)?;
        let upload = StreamedUpload::for_blob(self.config(), blob, len, random)?;
        let (head, head_bytes, tail_bytes) = upload.into_parts();
        let report = CallReport::for_request(StreamedUpload::OPERATION, &head);
        let mut body = UploadBody {
            parts: [head_bytes, Vec::new(), tail_bytes],
            part: 0,
            at: 0,
            file: &mut reader,
            file_len: len,
            sent: 0,
            progress: options.progress.as_mut(),
            failure: None,
        };
        body.report()?;
        let agent = self.transport().agent();
        let idle = options.idle_timeout;
        let request = head.map(|()| ureq::SendBody::from_reader(&mut body));
        let request = idle_timeouts(agent, request, idle);
        let outcome = agent.run(request);
        if let Some(failure) = body.failure.take() {
            return Err(failure);
        }
        let mut response = outcome.map_err(|e| transport_error(e, idle))?;
        trace::record(&Span::current(), &report.answered(response.status()));
        tracing::debug!(
            status = response.status().as_u16(),
            bytes = len,
            "cube upload"
        );
        let status = response.status();
        let answer = read_some(response.body_mut(), idle)?;
        Ok(file_answer(status, &answer)?)
    }

    /// A file's bytes, through the SDK: `GET /blobs/{uid}/download` under
    /// the session (any session of the application reads a private file),
    /// then its one storage redirect, with no second HTTP client. At most
    /// 100 MiB (the storage's limit) is held; larger files go through
    /// [`download_blob_to`](Self::download_blob_to).
    pub fn download_blob(&self, uid: &str) -> Result<Vec<u8>, Error> {
        let mut bytes = Capped(Vec::new());
        self.download_blob_to(uid, &mut bytes, DownloadOptions::new())?;
        Ok(bytes.0)
    }

    /// Streams a file's bytes into `writer` (see
    /// [`download_blob`](Self::download_blob)); returns how many were
    /// written. The session token goes only to the API's own host, never to
    /// the host the storage redirects to. The API call runs in a `cube_call`
    /// span named `download_blob`, the storage fetch in one named
    /// `download_file`.
    pub fn download_blob_to(
        &self,
        uid: &str,
        writer: &mut impl Write,
        mut options: DownloadOptions<'_>,
    ) -> Result<u64, Error> {
        let op = DownloadBlob::new(uid).map_err(proto::Error::from)?;
        let redirect = match self.execute(op)? {
            BlobLocation::Here(bytes) => {
                let total = Some(bytes.len() as u64);
                let mut copy = Copy::new(writer, options.progress.as_mut(), total);
                copy.write(&bytes)?;
                return Ok(copy.done);
            }
            BlobLocation::Redirect(redirect) => redirect,
        };
        let span = trace::call_span(Redirect::OPERATION);
        let started = Instant::now();
        let outcome = span.in_scope(|| self.fetch_file(&redirect, writer, options));
        trace::finish(&span, started);
        outcome
    }

    /// The storage half of a download: the redirect's one hop, streamed.
    fn fetch_file(
        &self,
        redirect: &Redirect,
        writer: &mut impl Write,
        mut options: DownloadOptions<'_>,
    ) -> Result<u64, Error> {
        let token = self.session_token();
        let request = redirect.request(self.config(), token.as_ref())?;
        let report = CallReport::for_request(Redirect::OPERATION, &request);
        let idle = options.idle_timeout;
        let agent = self.transport().agent();
        let request = idle_timeouts(agent, request, idle);
        let response = agent.run(request).map_err(|e| transport_error(e, idle))?;
        let status = response.status();
        trace::record(&Span::current(), &report.answered(status));
        tracing::debug!(status = status.as_u16(), "cube download");
        let (parts, mut body) = response.into_parts();
        if !status.is_success() {
            let answer = read_some(&mut body, idle)?;
            file_answer(status, &answer)?;
        }
        let total = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let mut copy = Copy::new(writer, options.progress.as_mut(), total);
        let mut reader = body.into_reader();
        let mut buf = vec![0; CHUNK];
        loop {
            let n = reader.read(&mut buf).map_err(|e| read_error(e, idle))?;
            if n == 0 {
                copy.writer.flush().map_err(Error::File)?;
                return Ok(copy.done);
            }
            copy.write(&buf[..n])?;
        }
    }
}

/// A request without the API calls' total timeout: only connecting and each
/// read and write are bounded, by `idle`.
fn idle_timeouts<S: ureq::AsSendBody>(
    agent: &ureq::Agent,
    request: http::Request<S>,
    idle: Duration,
) -> http::Request<S> {
    agent
        .configure_request(request)
        .timeout_global(None)
        .timeout_per_call(None)
        .timeout_connect(Some(idle))
        .timeout_per_read(Some(idle))
        .timeout_per_write(Some(idle))
        .build()
}

fn transport_error(e: ureq::Error, idle: Duration) -> Error {
    match e {
        ureq::Error::Timeout(_) => Error::Stalled(idle),
        other => Error::Transport(Box::new(other)),
    }
}

/// A body read's error: ureq hands its own errors (a timeout) back
/// wrapped in an `io::Error`.
fn read_error(e: io::Error, idle: Duration) -> Error {
    if e.get_ref().is_some_and(|inner| inner.is::<ureq::Error>()) {
        let inner = e
            .into_inner()
            .and_then(|inner| inner.downcast::<ureq::Error>().ok());
        return match inner {
            Some(inner) => transport_error(*inner, idle),
            None => Error::Stalled(idle),
        };
    }
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::Stalled(idle),
        _ => Error::Transport(Box::new(e)),
    }
}

/// The first bytes of an answer (for its error messages).
fn read_some(body: &mut ureq::Body, idle: Duration) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    body.as_reader()
        .take(ERROR_BODY)
        .read_to_end(&mut bytes)
        .map_err(|e| read_error(e, idle))?;
    Ok(bytes)
}

/// The upload body: head, exactly `file_len` bytes of the file, tail. It
/// reports progress and, when the callback says stop or the file is not
/// the length announced, fails the read so that ureq drops the connection.
struct UploadBody<'f, 'p, 'a> {
    /// Head, (unused), tail.
    parts: [Vec<u8>; 3],
    /// 0: head, 1: file, 2: tail, 3: done.
    part: usize,
    at: usize,
    file: &'f mut dyn Read,
    file_len: u64,
    sent: u64,
    progress: Option<&'p mut UploadProgress<'a>>,
    failure: Option<Error>,
}

impl UploadBody<'_, '_, '_> {
    fn report(&mut self) -> Result<(), Error> {
        if let Some(progress) = self.progress.as_mut()
            && progress(self.sent, self.file_len).is_break()
        {
            return Err(Error::Cancelled);
        }
        Ok(())
    }

    fn fail(&mut self, error: Error) -> io::Error {
        let text = error.to_string();
        self.failure = Some(error);
        io::Error::other(text)
    }

    fn file_error(&mut self, why: String) -> io::Error {
        let error = io::Error::new(io::ErrorKind::InvalidInput, why);
        self.fail(Error::File(error))
    }

    /// Whether the reader goes on past the announced length.
    fn holds_more(&mut self) -> io::Result<bool> {
        loop {
            match self.file.read(&mut [0u8]) {
                Ok(n) => return Ok(n > 0),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.fail(Error::File(e))),
            }
        }
    }

    fn read_file(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.file_len - self.sent;
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = match self.file.read(&mut buf[..want]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(0),
            Err(e) => return Err(self.fail(Error::File(e))),
        };
        if n == 0 {
            let why = format!(
                "the reader ended after {} of the {} bytes announced",
                self.sent, self.file_len
            );
            return Err(self.file_error(why));
        }
        self.sent += n as u64;
        if self.sent == self.file_len && self.holds_more()? {
            let why = format!(
                "the reader holds more than the {} bytes announced",
                self.file_len
            );
            return Err(self.file_error(why));
        }
        if let Err(e) = self.report() {
            return Err(self.fail(e));
        }
        Ok(n)
    }
}

impl Read for UploadBody<'_, '_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.part {
                1 if self.sent < self.file_len => {
                    let n = self.read_file(buf)?;
                    if n > 0 {
                        return Ok(n);
                    }
                }
                1 => self.part = 2,
                0 | 2 => {
                    let part = &self.parts[self.part];
                    if self.at < part.len() {
                        let n = buf.len().min(part.len() - self.at);
                        buf[..n].copy_from_slice(&part[self.at..self.at + n]);
                        self.at += n;
                        return Ok(n);
                    }
                    self.part += 1;
                    self.at = 0;
                }
                _ => return Ok(0),
            }
        }
    }
}

/// Writes a download out, counting and reporting.
struct Copy<'w, 'p, 'a, W: Write> {
    writer: &'w mut W,
    progress: Option<&'p mut DownloadProgress<'a>>,
    total: Option<u64>,
    done: u64,
}

impl<'w, 'p, 'a, W: Write> Copy<'w, 'p, 'a, W> {
    fn new(
        writer: &'w mut W,
        progress: Option<&'p mut DownloadProgress<'a>>,
        total: Option<u64>,
    ) -> Self {
        Self {
            writer,
            progress,
            total,
            done: 0,
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.writer.write_all(bytes).map_err(Error::File)?;
        self.done += bytes.len() as u64;
        if let Some(progress) = self.progress.as_mut()
            && progress(self.done, self.total).is_break()
        {
            return Err(Error::Cancelled);
        }
        Ok(())
    }
}

/// A `Vec` that takes at most the storage's largest file.
struct Capped(Vec<u8>);

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.0.len() as u64 + buf.len() as u64 > MAX_UPLOAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the file is larger than the storage's 100 MiB limit",
            ));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
