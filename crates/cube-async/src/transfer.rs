//! Uploads streamed from an `AsyncRead` or a file, and downloads streamed
//! to an `AsyncWrite`: never the whole file in memory, bounded by an idle
//! timeout rather than the total timeout of API calls, with progress and
//! cancel (a [`CancelHandle`], the progress callback, or dropping the
//! future). The framing, the redirect rule and the meaning of each answer
//! are cube-proto's; this module moves the bytes.

mod body;

pub use body::CancelHandle;
pub(crate) use body::UploadBody;

use crate::client::Client;
use crate::error::Error;
use crate::trace;
use body::{AbortOnDrop, CHUNK, Capped, Shared, UploadProgress, stalled};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use proto::call::CallReport;
use proto::model::Blob;
use proto::ops::{
    BlobLocation, CreateBlob, DEFAULT_IDLE_TIMEOUT, DownloadBlob, Redirect, StreamedUpload,
    check_file_size, file_answer,
};
use std::fmt;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tracing::{Instrument, Span};

/// The most of an error answer read to find its messages.
const ERROR_BODY: usize = 64 * 1024;

type DownloadProgress = Box<dyn FnMut(u64, Option<u64>) -> ControlFlow<()> + Send>;

/// How a file is uploaded: its content type and visibility, the idle
/// timeout, a progress callback and a cancel handle.
///
/// ```
/// use cube_async::{CancelHandle, UploadOptions};
/// use std::ops::ControlFlow;
/// let cancel = CancelHandle::new();
/// let options = UploadOptions::new()
///     .cancel_handle(cancel.clone())
///     .on_progress(|sent, total| {
///         println!("{sent} of {total} bytes");
///         ControlFlow::Continue(())
///     });
/// // Elsewhere: cancel.cancel();
/// # let _ = options;
/// ```
pub struct UploadOptions {
    content_type: Option<String>,
    public: bool,
    idle_timeout: Duration,
    progress: Option<UploadProgress>,
    cancel: Option<CancelHandle>,
}

impl Default for UploadOptions {
    fn default() -> Self {
        Self {
            content_type: None,
            public: false,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            progress: None,
            cancel: None,
        }
    }
}

impl fmt::Debug for UploadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadOptions")
            .field("content_type", &self.content_type)
            .field("public", &self.public)
            .field("idle_timeout", &self.idle_timeout)
            .field("progress", &self.progress.is_some())
            .field("cancel", &self.cancel)
            .finish()
    }
}

impl UploadOptions {
    /// A private file, its type guessed from its name, the default idle
    /// timeout (30 s), no progress callback, no cancel handle.
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
    /// as the bytes go, last with the size. It runs on the task that sends
    /// the body. Returning `ControlFlow::Break(())` stops the upload as
    /// [`CancelHandle::cancel`] does.
    pub fn on_progress(
        mut self,
        callback: impl FnMut(u64, u64) -> ControlFlow<()> + Send + 'static,
    ) -> Self {
        self.progress = Some(Box::new(callback));
        self
    }

    /// Stops the upload when `handle` is cancelled: the connection is
    /// dropped, the storage keeps nothing, and the call fails with
    /// [`Error::Cancelled`]. Dropping the call's future does the same.
    pub fn cancel_handle(mut self, handle: CancelHandle) -> Self {
        self.cancel = Some(handle);
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

/// How a file is downloaded: the idle timeout, a progress callback and a
/// cancel handle.
pub struct DownloadOptions {
    idle_timeout: Duration,
    progress: Option<DownloadProgress>,
    cancel: Option<CancelHandle>,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        Self {
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            progress: None,
            cancel: None,
        }
    }
}

impl fmt::Debug for DownloadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownloadOptions")
            .field("idle_timeout", &self.idle_timeout)
            .field("progress", &self.progress.is_some())
            .field("cancel", &self.cancel)
            .finish()
    }
}

impl DownloadOptions {
    /// The default idle timeout (30 s), no progress callback, no cancel
    /// handle.
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
        callback: impl FnMut(u64, Option<u64>) -> ControlFlow<()> + Send + 'static,
    ) -> Self {
        self.progress = Some(Box::new(callback));
        self
    }

    /// Stops the download when `handle` is cancelled.
    pub fn cancel_handle(mut self, handle: CancelHandle) -> Self {
        self.cancel = Some(handle);
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
    /// cancelled through the handle or the callback, the record is deleted
    /// again (best effort); a dropped future leaves it incomplete (its
    /// size unset), never complete.
    pub async fn upload_from_path(
        &self,
        path: impl AsRef<Path>,
        options: UploadOptions,
    ) -> Result<Blob, Error> {
        let path = path.as_ref();
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| {
                proto::Error::from(proto::error::InvalidInput::new("path", "names no file"))
            })?;
        let file = tokio::fs::File::open(path).await.map_err(Error::File)?;
        let len = file.metadata().await.map_err(Error::File)?.len();
        self.upload_from_reader(file, len, &file_name, options)
            .await
    }

    /// Uploads `len` bytes read from `reader` as a file named `file_name`:
    /// the same steps as [`upload_from_path`](Self::upload_from_path). The
    /// reader must hold exactly `len` bytes (at most 100 MiB); fewer or
    /// more fails the upload before it completes.
    pub async fn upload_from_reader(
        &self,
        reader: impl AsyncRead + Send + 'static,
        len: u64,
        file_name: &str,
        options: UploadOptions,
    ) -> Result<Blob, Error> {
        // Refused before a file record exists.
        check_file_size(len).map_err(proto::Error::from)?;
        let created = self.create_blob(options.create_blob(file_name)?).await?;
        let uploaded = match self.upload_stream(&created, reader, len, options).await {
            Ok(()) => self.complete_blob(created.id, len).await,
            Err(e) => Err(e),
        };
        match uploaded {
            Ok(()) => Ok(created),
            Err(e) => {
                // The record would stay incomplete and unknown to the caller.
                let _ = self.delete_blob(created.id).await;
                Err(e)
            }
        }
    }

    /// Streams `len` bytes from `reader` to the upload URL of a blob just
    /// created with [`create_blob`](Self::create_blob) (no session involved;
    /// complete it afterwards with [`complete_blob`](Self::complete_blob)).
    /// The content type of `options` is not used: the blob has one. It
    /// runs in a `cube_call` span named `upload_stream`.
    pub async fn upload_stream(
        &self,
        blob: &Blob,
        reader: impl AsyncRead + Send + 'static,
        len: u64,
        options: UploadOptions,
    ) -> Result<(), Error> {
        let span = trace::call_span(StreamedUpload::OPERATION);
        let started = Instant::now();
        let outcome = self
            .send_upload(blob, reader, len, options, &span)
            .instrument(span.clone())
            .await;
        trace::finish(&span, started);
        outcome
    }

    async fn send_upload(
        &self,
        blob: &Blob,
        reader: impl AsyncRead + Send + 'static,
        len: u64,
        options: UploadOptions,
        span: &Span,
    ) -> Result<(), Error> {
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(Error::Random)?;
        let upload = StreamedUpload::for_blob(self.config(), blob, len, random)?;
        let (head, head_bytes, tail_bytes) = upload.into_parts();
        let report = CallReport::for_request(StreamedUpload::OPERATION, &head);
        let shared = Shared::new();
        let _abort = AbortOnDrop(shared.clone());
        let mut body = UploadBody::new(
            (head_bytes, tail_bytes),
            Box::pin(reader),
            len,
            options.progress,
            options.cancel.clone(),
            shared.clone(),
        );
        body.report()?;
        let idle = options.idle_timeout;
        let exchange = async {
            let response = self
                .transport()
                .uploads()
                .request(head.map(|()| body))
                .await
                .map_err(|e| Error::Transport(Box::new(e)))?;
            let status = response.status();
            let answer = read_some(response.into_body(), &shared).await?;
            Ok::<_, Error>((status, answer))
        };
        let outcome = watch(exchange, &shared, idle, options.cancel.as_ref()).await;
        if let Some(failure) = shared.take_failure() {
            return Err(failure);
        }
        let (status, answer) = outcome?;
        trace::record(span, &report.answered(status));
        tracing::debug!(status = status.as_u16(), bytes = len, "cube upload");
        Ok(file_answer(status, &answer)?)
    }

    /// A file's bytes, through the SDK: `GET /blobs/{uid}/download` under
    /// the session (any session of the application reads a private file),
    /// then its one storage redirect, with no second HTTP client. At most
    /// 100 MiB (the storage's limit) is held; larger files go through
    /// [`download_blob_to`](Self::download_blob_to).
    pub async fn download_blob(&self, uid: &str) -> Result<Vec<u8>, Error> {
        let mut bytes = Capped(Vec::new());
        self.download_blob_to(uid, &mut bytes, DownloadOptions::new())
            .await?;
        Ok(bytes.0)
    }

    /// Streams a file's bytes into `writer` (see
    /// [`download_blob`](Self::download_blob)); returns how many were
    /// written. The session token goes only to the API's own host, never to
    /// the host the storage redirects to. The API call runs in a
    /// `cube_call` span named `download_blob`, the storage fetch in one
    /// named `download_file`.
    pub async fn download_blob_to(
        &self,
        uid: &str,
        writer: &mut (impl AsyncWrite + Unpin + Send),
        mut options: DownloadOptions,
    ) -> Result<u64, Error> {
        let op = DownloadBlob::new(uid).map_err(proto::Error::from)?;
        let redirect = match self.execute(op).await? {
            BlobLocation::Here(bytes) => {
                let total = Some(bytes.len() as u64);
                let mut copy = Copy::new(writer, options.progress.as_mut(), total);
                copy.write(&bytes).await?;
                return Ok(copy.done);
            }
            BlobLocation::Redirect(redirect) => redirect,
        };
        let span = trace::call_span(Redirect::OPERATION);
        let started = Instant::now();
        let outcome = self
            .fetch_file(&redirect, writer, options, &span)
            .instrument(span.clone())
            .await;
        trace::finish(&span, started);
        outcome
    }

    /// The storage half of a download: the redirect's one hop, streamed.
    async fn fetch_file(
        &self,
        redirect: &Redirect,
        writer: &mut (impl AsyncWrite + Unpin + Send),
        mut options: DownloadOptions,
        span: &Span,
    ) -> Result<u64, Error> {
        let token = self.session_token();
        let request = redirect.request(self.config(), token.as_ref())?;
        let report = CallReport::for_request(Redirect::OPERATION, &request);
        let idle = options.idle_timeout;
        let shared = Shared::new();
        let cancel = options.cancel.clone();
        let transport = self.transport();
        let exchange = async {
            let request = request.map(|body| Full::new(Bytes::from(body)));
            let response = transport
                .client()
                .request(request)
                .await
                .map_err(|e| Error::Transport(Box::new(e)))?;
            shared.touch();
            let status = response.status();
            trace::record(span, &report.answered(status));
            tracing::debug!(status = status.as_u16(), "cube download");
            let (parts, mut body) = response.into_parts();
            if !status.is_success() {
                let answer = read_some(body, &shared).await?;
                file_answer(status, &answer)?;
                return Ok(0);
            }
            let total = parts
                .headers
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            let mut copy = Copy::new(writer, options.progress.as_mut(), total);
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| Error::Transport(Box::new(e)))?;
                shared.touch();
                if let Ok(data) = frame.into_data() {
                    copy.write(&data).await?;
                }
            }
            copy.writer.flush().await.map_err(Error::File)?;
            Ok(copy.done)
        };
        watch(exchange, &shared, idle, cancel.as_ref()).await
    }
}

/// Runs a transfer until it ends, stalls (no byte for `idle`), or is
/// cancelled through `cancel`.
async fn watch<T>(
    exchange: impl Future<Output = Result<T, Error>>,
    shared: &Shared,
    idle: Duration,
    cancel: Option<&CancelHandle>,
) -> Result<T, Error> {
    let cancelled = async {
        match cancel {
            Some(handle) => handle.cancelled().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        outcome = exchange => outcome,
        () = stalled(shared, idle) => {
            shared.abort();
            Err(Error::Stalled(idle))
        }
        () = cancelled => {
            shared.abort();
            Err(Error::Cancelled)
        }
    }
}

/// The first bytes of an answer (for its error messages); the rest is left.
async fn read_some(mut body: hyper::body::Incoming, shared: &Shared) -> Result<Vec<u8>, Error> {
    shared.touch();
    let mut bytes = Vec::new();
    while bytes.len() < ERROR_BODY {
        let Some(frame) = body.frame().await else {
            break;
        };
        let frame = frame.map_err(|e| Error::Transport(Box::new(e)))?;
        shared.touch();
        if let Ok(data) = frame.into_data() {
            let room = ERROR_BODY - bytes.len();
            bytes.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    Ok(bytes)
}

/// Writes a download out, counting and reporting.
struct Copy<'w, 'p, W> {
    writer: &'w mut W,
    progress: Option<&'p mut DownloadProgress>,
    total: Option<u64>,
    done: u64,
}

impl<'w, 'p, W: AsyncWrite + Unpin> Copy<'w, 'p, W> {
    fn new(
        writer: &'w mut W,
        progress: Option<&'p mut DownloadProgress>,
        total: Option<u64>,
    ) -> Self {
        Self {
            writer,
            progress,
            total,
            done: 0,
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        for chunk in bytes.chunks(CHUNK) {
            self.writer.write_all(chunk).await.map_err(Error::File)?;
            self.done += chunk.len() as u64;
            if let Some(progress) = self.progress.as_mut()
                && progress(self.done, self.total).is_break()
            {
                return Err(Error::Cancelled);
            }
        }
        Ok(())
    }
}
