//! Uploads streamed from a reader or a file, and downloads streamed to a
//! writer: never the whole file in memory, bounded by an idle timeout
//! rather than the total timeout of API calls, with progress and cancel.
//! What is sent and what each answer means are cube-proto's flows
//! ([`proto::transfer`]); this module moves the bytes.

use crate::client::Client;
use cube_shell::surface::ClientCore;
use cube_shell::trace::{CallSpan, Exchange};
use cube_shell::transfer::{Local, file_name};
use cube_shell::{Error, random_boundary};
use proto::model::Blob;
use proto::ops::{Redirect, StreamedUpload};
use proto::transfer::{
    BodyStep, DownloadFlow, DownloadStep, FileBody, UploadBody, UploadFlow, UploadStep,
};
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::Duration;

/// How a file is uploaded: its content type and visibility, the idle
/// timeout, a progress callback (called on the uploading thread) and a
/// cancel handle.
pub type UploadOptions<'a> = cube_shell::transfer::UploadOptions<'a, Local>;

/// How a file is downloaded: the idle timeout, a progress callback (called
/// on the downloading thread) and a cancel handle.
pub type DownloadOptions<'a> = cube_shell::transfer::DownloadOptions<'a, Local>;

/// The size of the chunks a download is copied in.
const CHUNK: usize = 64 * 1024;

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
        let name = file_name(path.as_ref())?;
        let file = std::fs::File::open(path).map_err(Error::File)?;
        let len = file.metadata().map_err(Error::File)?.len();
        self.upload_from_reader(file, len, &name, options)
    }

    /// Uploads `len` bytes read from `reader` as a file named `file_name`:
    /// the same steps as [`upload_from_path`](Self::upload_from_path). The
    /// reader must hold exactly `len` bytes (at most 100 MiB); fewer or
    /// more fails the upload before it completes.
    pub fn upload_from_reader(
        &self,
        mut reader: impl Read,
        len: u64,
        file_name: &str,
        mut options: UploadOptions<'_>,
    ) -> Result<Blob, Error> {
        let create = options.create_blob(file_name)?;
        let mut flow =
            UploadFlow::new(create, len, random_boundary()?).map_err(proto::Error::from)?;
        loop {
            match flow.poll(self.config()) {
                UploadStep::Call(call) => flow.handle_call(self.execute(call))?,
                UploadStep::Stream(upload) => {
                    let sent = self.stream(upload, &mut reader, &mut options);
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
    pub fn upload_stream(
        &self,
        blob: &Blob,
        mut reader: impl Read,
        len: u64,
        mut options: UploadOptions<'_>,
    ) -> Result<(), Error> {
        let upload = StreamedUpload::for_blob(self.config(), blob, len, random_boundary()?)?;
        self.stream(upload, &mut reader, &mut options)
    }

    /// Sends a streamed upload, its body pumped from `reader`, in its span.
    fn stream(
        &self,
        upload: StreamedUpload,
        reader: &mut dyn Read,
        options: &mut UploadOptions<'_>,
    ) -> Result<(), Error> {
        let span = CallSpan::open(StreamedUpload::OPERATION);
        let idle = options.watch().idle();
        let (head, body) = UploadBody::of(upload);
        let sent = Exchange::of(StreamedUpload::OPERATION, &head);
        let outcome = span.span().in_scope(|| {
            options.report(body.progress())?;
            let mut pump = Pump {
                body,
                reader,
                options,
                failure: None,
            };
            let agent = self.shell().transport().agent();
            let request = idle_timeouts(
                agent,
                head.map(|()| ureq::SendBody::from_reader(&mut pump)),
                idle,
            );
            let outcome = agent.run(request);
            if let Some(failure) = pump.failure.take() {
                return Err(failure);
            }
            let mut response = outcome.map_err(|e| transport_error(e, idle))?;
            sent.answered(&span, response.status());
            let answer = read_some(response.body_mut(), proto::transfer::ERROR_BODY_LIMIT, idle)?;
            Ok(proto::ops::file_answer(response.status(), &answer)?)
        });
        span.close();
        outcome
    }

    /// A file's bytes, through the SDK: `GET /blobs/{uid}/download` under
    /// the session (any session of the application reads a private file),
    /// then its one storage redirect, with no second HTTP client. At most
    /// 100 MiB (the storage's limit) is held; larger files go through
    /// [`download_blob_to`](Self::download_blob_to).
    pub fn download_blob(&self, uid: &str) -> Result<Vec<u8>, Error> {
        let mut bytes = Vec::new();
        self.download(
            uid,
            DownloadFlow::MEMORY_LIMIT,
            &mut bytes,
            DownloadOptions::new(),
        )?;
        Ok(bytes)
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
        options: DownloadOptions<'_>,
    ) -> Result<u64, Error> {
        self.download(uid, u64::MAX, writer, options)
    }

    fn download(
        &self,
        uid: &str,
        limit: u64,
        writer: &mut dyn Write,
        mut options: DownloadOptions<'_>,
    ) -> Result<u64, Error> {
        let mut flow = DownloadFlow::new(uid, limit).map_err(proto::Error::from)?;
        loop {
            match flow.poll() {
                DownloadStep::Locate(op) => {
                    let location = self.execute(op)?;
                    let token = self.session_token();
                    flow.handle_location(location, self.config(), token.as_ref())?;
                }
                DownloadStep::Write(bytes) => {
                    writer.write_all(&bytes).map_err(Error::File)?;
                    options.report(flow.progress())?;
                }
                DownloadStep::Fetch(request) => {
                    let span = CallSpan::open(Redirect::OPERATION);
                    let fetched = span
                        .span()
                        .in_scope(|| self.fetch(request, &mut flow, writer, &mut options, &span));
                    span.close();
                    fetched?;
                }
                DownloadStep::Done(received) => return Ok(received?),
            }
        }
    }

    /// The storage half of a download: the redirect's one hop, streamed.
    fn fetch(
        &self,
        request: proto::wire::Request,
        flow: &mut DownloadFlow,
        writer: &mut dyn Write,
        options: &mut DownloadOptions<'_>,
        span: &CallSpan,
    ) -> Result<(), Error> {
        let idle = options.watch().idle();
        let sent = Exchange::of(Redirect::OPERATION, &request);
        let agent = self.shell().transport().agent();
        let response = agent
            .run(idle_timeouts(agent, request, idle))
            .map_err(|e| transport_error(e, idle))?;
        sent.answered(span, response.status());
        let (parts, mut body) = response.into_parts();
        if let FileBody::Error(limit) = flow.handle_head(parts.status, &parts.headers)? {
            return Err(flow
                .handle_error_body(&read_some(&mut body, limit, idle)?)
                .into());
        }
        let mut reader = body.into_reader();
        let mut buf = vec![0; CHUNK];
        loop {
            let n = reader.read(&mut buf).map_err(|e| read_error(e, idle))?;
            if n == 0 {
                writer.flush().map_err(Error::File)?;
                return Ok(flow.handle_end()?);
            }
            let progress = flow.received(n)?;
            writer.write_all(&buf[..n]).map_err(Error::File)?;
            options.report(progress)?;
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

/// The first `limit` bytes of an answer (for its error messages).
fn read_some(body: &mut ureq::Body, limit: usize, idle: Duration) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    body.as_reader()
        .take(limit as u64)
        .read_to_end(&mut bytes)
        .map_err(|e| read_error(e, idle))?;
    Ok(bytes)
}

/// The upload body as ureq reads it: the parts [`UploadBody`] names, the
/// file's bytes from the reader, progress after each read. A failure (a
/// cancel, a file of another length) fails the read, so that ureq drops
/// the connection, and is kept to be reported instead of ureq's error.
struct Pump<'b, 'o, 'a> {
    body: UploadBody,
    reader: &'b mut dyn Read,
    options: &'o mut UploadOptions<'a>,
    failure: Option<Error>,
}

impl Pump<'_, '_, '_> {
    fn fail(&mut self, error: Error) -> io::Error {
        let text = error.to_string();
        self.failure = Some(error);
        io::Error::other(text)
    }

    /// Reads once from the file, retrying an interrupted read.
    fn read_file(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.reader.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.fail(Error::File(e))),
                Ok(n) => return Ok(n),
            }
        }
    }
}

impl Read for Pump<'_, '_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.body.poll() {
                BodyStep::Bytes(part) => {
                    let n = buf.len().min(part.len());
                    buf[..n].copy_from_slice(&part[..n]);
                    self.body.sent(n);
                    return Ok(n);
                }
                BodyStep::ReadFile(want) => {
                    let want = want.min(buf.len());
                    let n = self.read_file(&mut buf[..want])?;
                    let counted = self.body.file_read(n).map_err(Error::from);
                    let reported = counted.and_then(|()| self.options.report(self.body.progress()));
                    return reported.map(|()| n).map_err(|e| self.fail(e));
                }
                BodyStep::CheckEnd => {
                    let more = self.read_file(&mut [0u8])? > 0;
                    self.body
                        .end_checked(more)
                        .map_err(|e| self.fail(e.into()))?;
                }
                BodyStep::End => return Ok(0),
            }
        }
    }
}
