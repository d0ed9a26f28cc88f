//! The moving parts of a transfer: the streamed upload body, and the state
//! it shares with the call that started it (failed how? aborted? when did
//! a byte last move?).

use super::UploadOptions;
use bytes::Bytes;
use cube_shell::Error;
use hyper::body::{Body, Frame, SizeHint};
use proto::transfer::{BodyStep, UploadBody};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::time::Instant;

/// The size of the chunks a file is read and sent in.
const CHUNK: usize = 64 * 1024;

/// What a transfer's body and its call share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Set when the call gives up (cancelled, stalled, dropped): the body
    /// fails its next poll, so the connection is dropped mid-body.
    abort: AtomicBool,
    /// Why the body failed, when it failed on its own.
    failure: Mutex<Option<Error>>,
    /// When a byte last moved.
    last: Mutex<Instant>,
}

impl Shared {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            abort: AtomicBool::new(false),
            failure: Mutex::new(None),
            last: Mutex::new(Instant::now()),
        })
    }

    pub(crate) fn abort(&self) {
        self.abort.store(true, Ordering::SeqCst);
    }

    fn aborted(&self) -> bool {
        self.abort.load(Ordering::SeqCst)
    }

    pub(crate) fn touch(&self) {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    /// When the transfer counts as stalled unless a byte moves first.
    fn stall_deadline(&self, idle: Duration) -> Instant {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) + idle
    }

    pub(crate) fn take_failure(&self) -> Option<Error> {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    fn fail(&self, error: Error) -> io::Error {
        let text = error.to_string();
        *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(error);
        io::Error::other(text)
    }
}

/// Aborts the transfer's body when the call's future ends early (dropped,
/// cancelled, stalled) or late (done: the flag is then harmless).
pub(crate) struct AbortOnDrop(pub(crate) Arc<Shared>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Waits out a transfer's idle timeout: resolves once no byte moved for
/// `idle`.
pub(crate) async fn stalled(shared: &Shared, idle: Duration) {
    loop {
        let deadline = shared.stall_deadline(idle);
        if deadline <= Instant::now() {
            return;
        }
        tokio::time::sleep_until(deadline).await;
    }
}

/// The upload body as hyper polls it: the parts [`UploadBody`] names, the
/// file's bytes from the reader, progress after each read. A failure (a
/// cancel, a file of another length) fails the poll, so that hyper drops
/// the connection, and is kept in [`Shared`] to be reported instead of
/// hyper's error.
pub(crate) struct Pump {
    body: UploadBody,
    file: Pin<Box<dyn AsyncRead + Send>>,
    options: UploadOptions,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Pump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pump")
            .field("progress", &self.body.progress())
            .finish_non_exhaustive()
    }
}

impl Pump {
    pub(crate) fn new(
        body: UploadBody,
        file: Pin<Box<dyn AsyncRead + Send>>,
        options: UploadOptions,
        shared: Arc<Shared>,
    ) -> Self {
        Self {
            body,
            file,
            options,
            shared,
        }
    }

    /// The next frame, or the failure to report.
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, Error>> {
        if self.shared.aborted() || self.options.watch().is_cancelled() {
            return Poll::Ready(Err(Error::Cancelled));
        }
        loop {
            match self.body.poll() {
                BodyStep::Bytes(part) => {
                    let bytes = Bytes::copy_from_slice(part);
                    self.body.sent(bytes.len());
                    return Poll::Ready(Ok(Some(bytes)));
                }
                BodyStep::ReadFile(want) => {
                    let mut chunk = vec![0u8; want.min(CHUNK)];
                    let mut buf = ReadBuf::new(&mut chunk);
                    ready!(self.file.as_mut().poll_read(cx, &mut buf)).map_err(Error::File)?;
                    let n = buf.filled().len();
                    self.body.file_read(n)?;
                    self.options.report(self.body.progress())?;
                    chunk.truncate(n);
                    return Poll::Ready(Ok(Some(Bytes::from(chunk))));
                }
                BodyStep::CheckEnd => {
                    let mut one = [0u8; 1];
                    let mut buf = ReadBuf::new(&mut one);
                    ready!(self.file.as_mut().poll_read(cx, &mut buf)).map_err(Error::File)?;
                    self.body.end_checked(!buf.filled().is_empty())?;
                }
                BodyStep::End => return Poll::Ready(Ok(None)),
            }
        }
    }
}

impl Body for Pump {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        match ready!(this.poll_next(cx)) {
            Ok(Some(bytes)) => {
                this.shared.touch();
                Poll::Ready(Some(Ok(Frame::data(bytes))))
            }
            Ok(None) => Poll::Ready(None),
            Err(e) => Poll::Ready(Some(Err(this.shared.fail(e)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.remaining() == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.body.remaining())
    }
}
