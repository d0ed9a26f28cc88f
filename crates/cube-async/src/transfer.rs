//! Uploads streamed from an `AsyncRead` or a file, and downloads streamed
//! to an `AsyncWrite`: never the whole file in memory, bounded by an idle
//! timeout rather than the total timeout of API calls, with progress and
//! cancel (a [`CancelHandle`](crate::CancelHandle), the progress callback,
//! or dropping the future). What is sent and what each answer means are
//! cube-proto's flows ([`proto::transfer`]); this module moves the bytes.

mod pump;

pub(crate) use pump::Pump;

use crate::client::Client;
use bytes::Bytes;
use cube_shell::surface::ClientCore;
use cube_shell::trace::{CallSpan, Exchange};
use cube_shell::transfer::{Sendable, Watch, file_name};
use cube_shell::{Error, random_boundary};
use http_body_util::{BodyExt, Full};
use proto::model::Blob;
use proto::ops::{Redirect, StreamedUpload, file_answer};
use proto::transfer::{
    DownloadFlow, DownloadStep, ERROR_BODY_LIMIT, FileBody, UploadBody, UploadFlow, UploadStep,
};
use pump::{AbortOnDrop, Shared, stalled};
use std::path::Path;
use std::pin::Pin;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tracing::Instrument;

/// How a file is uploaded: its content type and visibility, the idle
/// timeout, a progress callback (run on the task that sends the body) and
/// a cancel handle. Dropping the call's future cancels it too.
pub type UploadOptions = cube_shell::transfer::UploadOptions<'static, Sendable>;

/// How a file is downloaded: the idle timeout, a progress callback and a
/// cancel handle.
pub type DownloadOptions = cube_shell::transfer::DownloadOptions<'static, Sendable>;

/// A file to upload and its options, moved into the upload's body.
type Source = (Pin<Box<dyn AsyncRead + Send>>, UploadOptions);

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
        let name = file_name(path.as_ref())?;
        let file = tokio::fs::File::open(path).await.map_err(Error::File)?;
        let len = file.metadata().await.map_err(Error::File)?.len();
        self.upload_from_reader(file, len, &name, options).await
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
        let mut flow = UploadFlow::new(options.create_blob(file_name)?, len, random_boundary()?)?;
        // The flow streams once: the reader and options go into that body.
        let mut source: Option<Source> = Some((Box::pin(reader), options));
        loop {
            match flow.poll(self.config()) {
                UploadStep::Call(call) => flow.handle_call(self.execute(call).await)?,
                UploadStep::Stream(upload) => {
                    let sent = match source.take() {
                        Some(source) => self.stream(upload, source).await,
                        None => Err(proto::Error::from(proto::Misuse::PolledAfterDone).into()),
                    };
                    flow.handle_stream(sent)?;
                }
                UploadStep::Done(result) => return result,
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
        let upload = StreamedUpload::for_blob(self.config(), blob, len, random_boundary()?)?;
        self.stream(upload, (Box::pin(reader), options)).await
    }

    /// Sends a streamed upload, its body pumped from the source, in its span.
    async fn stream(&self, upload: StreamedUpload, source: Source) -> Result<(), Error> {
        let span = CallSpan::open(StreamedUpload::OPERATION);
        let outcome = self
            .send_upload(upload, source, &span)
            .instrument(span.span().clone())
            .await;
        span.close();
        outcome
    }

    async fn send_upload(
        &self,
        upload: StreamedUpload,
        (reader, mut options): Source,
        span: &CallSpan,
    ) -> Result<(), Error> {
        let (head, body) = UploadBody::of(upload);
        let sent = Exchange::of(StreamedUpload::OPERATION, &head);
        options.report(body.progress())?;
        let watch = options.watch().clone();
        let shared = Shared::new();
        let _abort = AbortOnDrop(shared.clone());
        let pump = Pump::new(body, reader, options, shared.clone());
        let exchange = async {
            let uploads = self.shell().transport().uploads();
            let response = uploads
                .request(head.map(|()| pump))
                .await
                .map_err(|e| Error::Transport(Box::new(e)))?;
            let status = response.status();
            let answer = read_some(response.into_body(), ERROR_BODY_LIMIT, &shared).await?;
            Ok::<_, Error>((status, answer))
        };
        let outcome = watch_over(exchange, &shared, &watch).await;
        if let Some(failure) = shared.take_failure() {
            return Err(failure);
        }
        let (status, answer) = outcome?;
        sent.answered(span, status);
        Ok(file_answer(status, &answer)?)
    }

    /// A file's bytes, through the SDK: `GET /blobs/{uid}/download` under
    /// the session (any session of the application reads a private file),
    /// then its one storage redirect, with no second HTTP client. At most
    /// 100 MiB (the storage's limit) is held; larger files go through
    /// [`download_blob_to`](Self::download_blob_to).
    pub async fn download_blob(&self, uid: &str) -> Result<Vec<u8>, Error> {
        let mut bytes = Vec::new();
        let options = DownloadOptions::new();
        self.download(uid, DownloadFlow::MEMORY_LIMIT, &mut bytes, options)
            .await?;
        Ok(bytes)
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
        options: DownloadOptions,
    ) -> Result<u64, Error> {
        self.download(uid, u64::MAX, writer, options).await
    }

    async fn download(
        &self,
        uid: &str,
        limit: u64,
        writer: &mut (dyn AsyncWrite + Unpin + Send),
        mut options: DownloadOptions,
    ) -> Result<u64, Error> {
        let mut flow = DownloadFlow::new(uid, limit)?;
        loop {
            match flow.poll() {
                DownloadStep::Locate(op) => {
                    let location = self.execute(op).await?;
                    let token = self.session_token();
                    flow.handle_location(location, self.config(), token.as_ref())?;
                }
                DownloadStep::Write(bytes) => {
                    writer.write_all(&bytes).await.map_err(Error::File)?;
                    options.report(flow.progress())?;
                }
                DownloadStep::Fetch(request) => {
                    let span = CallSpan::open(Redirect::OPERATION);
                    let fetch = self.fetch(request, &mut flow, writer, &mut options, &span);
                    let fetched = fetch.instrument(span.span().clone()).await;
                    span.close();
                    fetched?;
                }
                DownloadStep::Done(received) => return Ok(received?),
            }
        }
    }

    /// The storage half of a download: the redirect's one hop, streamed.
    async fn fetch(
        &self,
        request: proto::wire::Request,
        flow: &mut DownloadFlow,
        writer: &mut (dyn AsyncWrite + Unpin + Send),
        options: &mut DownloadOptions,
        span: &CallSpan,
    ) -> Result<(), Error> {
        let sent = Exchange::of(Redirect::OPERATION, &request);
        let watch = options.watch().clone();
        let shared = Shared::new();
        let exchange = async {
            let client = self.shell().transport().client();
            let request = request.map(|body| Full::new(Bytes::from(body)));
            let response = client
                .request(request)
                .await
                .map_err(|e| Error::Transport(Box::new(e)))?;
            shared.touch();
            sent.answered(span, response.status());
            let (parts, mut body) = response.into_parts();
            if let FileBody::Error(limit) = flow.handle_head(parts.status, &parts.headers)? {
                let answer = read_some(body, limit, &shared).await?;
                return Err(flow.handle_error_body(&answer).into());
            }
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| Error::Transport(Box::new(e)))?;
                shared.touch();
                match frame.into_data() {
                    Ok(data) if !data.is_empty() => {
                        let progress = flow.received(data.len())?;
                        writer.write_all(&data).await.map_err(Error::File)?;
                        options.report(progress)?;
                    }
                    _ => {}
                }
            }
            writer.flush().await.map_err(Error::File)?;
            Ok(flow.handle_end()?)
        };
        watch_over(exchange, &shared, &watch).await
    }
}

/// Runs a transfer until it ends, stalls (no byte for the idle timeout),
/// or is cancelled through its handle.
async fn watch_over<T>(
    exchange: impl Future<Output = Result<T, Error>>,
    shared: &Shared,
    watch: &Watch,
) -> Result<T, Error> {
    let cancelled = async {
        match watch.cancel() {
            Some(handle) => handle.cancelled().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        outcome = exchange => outcome,
        () = stalled(shared, watch.idle()) => {
            shared.abort();
            Err(Error::Stalled(watch.idle()))
        }
        () = cancelled => {
            shared.abort();
            Err(Error::Cancelled)
        }
    }
}

/// The first `limit` bytes of an answer (for its error messages); the rest
/// is left.
async fn read_some(
    mut body: hyper::body::Incoming,
    limit: usize,
    shared: &Shared,
) -> Result<Vec<u8>, Error> {
    shared.touch();
    let mut bytes = Vec::new();
    while bytes.len() < limit {
        let Some(frame) = body.frame().await else {
            break;
        };
        let frame = frame.map_err(|e| Error::Transport(Box::new(e)))?;
        shared.touch();
        if let Ok(data) = frame.into_data() {
            let room = limit - bytes.len();
            bytes.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    Ok(bytes)
}
