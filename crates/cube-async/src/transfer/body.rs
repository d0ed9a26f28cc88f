//! The moving parts of a transfer: the streamed upload body, the state it
//! shares with the call that started it (cancelled? failed how? when did a
//! byte last move?), and the cancel handle.

use crate::error::Error;
use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::io;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// The size of the chunks a file is read and sent in.
pub(crate) const CHUNK: usize = 64 * 1024;

pub(crate) type UploadProgress = Box<dyn FnMut(u64, u64) -> ControlFlow<()> + Send>;

/// Stops a transfer from anywhere: another task, a UI button. Clones share
/// one state; once cancelled, it stays cancelled. Dropping the transfer's
/// future cancels it too.
///
/// ```
/// let handle = cube_async::CancelHandle::new();
/// let for_button = handle.clone();
/// for_button.cancel();
/// assert!(handle.is_cancelled());
/// ```
#[derive(Debug, Clone, Default)]
pub struct CancelHandle {
    inner: Arc<CancelState>,
}

#[derive(Debug, Default)]
struct CancelState {
    cancelled: AtomicBool,
    notify: Notify,
}

impl CancelHandle {
    /// A handle not yet cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every transfer this handle was given to.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Resolves once cancelled.
    pub(crate) async fn cancelled(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

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
    pub(crate) fn stall_deadline(&self, idle: Duration) -> Instant {
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

/// Head, exactly `file_len` bytes of the file, tail; progress as the file
/// goes, and a failed poll (so the connection is dropped) when cancelled or
/// when the file is not the length announced.
pub(crate) struct UploadBody {
    head: Option<Bytes>,
    tail: Option<Bytes>,
    file: Pin<Box<dyn AsyncRead + Send>>,
    file_len: u64,
    sent: u64,
    probing: bool,
    progress: Option<UploadProgress>,
    cancel: Option<CancelHandle>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for UploadBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadBody")
            .field("file_len", &self.file_len)
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}

impl UploadBody {
    pub(crate) fn new(
        parts: (Vec<u8>, Vec<u8>),
        file: Pin<Box<dyn AsyncRead + Send>>,
        file_len: u64,
        progress: Option<UploadProgress>,
        cancel: Option<CancelHandle>,
        shared: Arc<Shared>,
    ) -> Self {
        Self {
            head: Some(Bytes::from(parts.0)),
            tail: Some(Bytes::from(parts.1)),
            file,
            file_len,
            sent: 0,
            // An empty file: only the check that the reader is empty.
            probing: file_len == 0,
            progress,
            cancel,
            shared,
        }
    }

    /// Reports progress; `Err` when the callback says stop.
    pub(crate) fn report(&mut self) -> Result<(), Error> {
        if let Some(progress) = self.progress.as_mut()
            && progress(self.sent, self.file_len).is_break()
        {
            return Err(Error::Cancelled);
        }
        Ok(())
    }

    fn short_or_long(&self, why: String) -> Error {
        Error::File(io::Error::new(io::ErrorKind::InvalidInput, why))
    }

    fn poll_file(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, Error>> {
        if self.probing {
            // The announced length went out: the reader must be at its end.
            let mut one = [0u8; 1];
            let mut buf = ReadBuf::new(&mut one);
            return match self.file.as_mut().poll_read(cx, &mut buf) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Err(e)) => Poll::Ready(Err(Error::File(e))),
                Poll::Ready(Ok(())) if buf.filled().is_empty() => {
                    self.probing = false;
                    Poll::Ready(Ok(None))
                }
                Poll::Ready(Ok(())) => Poll::Ready(Err(self.short_or_long(format!(
                    "the reader holds more than the {} bytes announced",
                    self.file_len
                )))),
            };
        }
        let left = self.file_len - self.sent;
        let want = CHUNK.min(usize::try_from(left).unwrap_or(CHUNK));
        let mut chunk = vec![0u8; want];
        let mut buf = ReadBuf::new(&mut chunk);
        match self.file.as_mut().poll_read(cx, &mut buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(Error::File(e))),
            Poll::Ready(Ok(())) => {
                let n = buf.filled().len();
                if n == 0 {
                    return Poll::Ready(Err(self.short_or_long(format!(
                        "the reader ended after {} of the {} bytes announced",
                        self.sent, self.file_len
                    ))));
                }
                chunk.truncate(n);
                self.sent += n as u64;
                self.probing = self.sent == self.file_len;
                self.report()?;
                Poll::Ready(Ok(Some(Bytes::from(chunk))))
            }
        }
    }
}

impl Body for UploadBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if this.shared.aborted() || this.cancel.as_ref().is_some_and(CancelHandle::is_cancelled) {
            return Poll::Ready(Some(Err(this.shared.fail(Error::Cancelled))));
        }
        if let Some(head) = this.head.take() {
            this.shared.touch();
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        if this.sent < this.file_len || this.probing {
            match this.poll_file(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(this.shared.fail(e)))),
                Poll::Ready(Ok(Some(chunk))) => {
                    this.shared.touch();
                    return Poll::Ready(Some(Ok(Frame::data(chunk))));
                }
                Poll::Ready(Ok(None)) => {}
            }
        }
        match this.tail.take() {
            Some(tail) => {
                this.shared.touch();
                Poll::Ready(Some(Ok(Frame::data(tail))))
            }
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_none() && self.tail.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        let left = self.head.as_ref().map_or(0, |h| h.len() as u64)
            + (self.file_len - self.sent)
            + self.tail.as_ref().map_or(0, |t| t.len() as u64);
        SizeHint::with_exact(left)
    }
}

/// A `Vec` that takes at most the storage's largest file.
pub(crate) struct Capped(pub(crate) Vec<u8>);

impl tokio::io::AsyncWrite for Capped {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.0.len() as u64 + buf.len() as u64 > proto::ops::MAX_UPLOAD {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the file is larger than the storage's 100 MiB limit",
            )));
        }
        this.0.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
