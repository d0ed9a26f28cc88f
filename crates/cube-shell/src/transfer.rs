//! What uploads and downloads share in both adapters: their options, the
//! cancel handle, and the progress each byte pump reports.
//!
//! The options are generic over where their callbacks run: [`Local`] (on
//! the calling thread, borrowing what they like: `cube-blocking`) or
//! [`Sendable`] (moving with the transfer's task: `cube-async`). Each
//! adapter names its kind: `cube_blocking::UploadOptions<'a>` is
//! `UploadOptions<'a, Local>`, `cube_async::UploadOptions` is
//! `UploadOptions<'static, Sendable>`.

use crate::error::Error;
use proto::ops::{CreateBlob, DEFAULT_IDLE_TIMEOUT};
use std::fmt;
use std::future::Future;
use std::ops::ControlFlow;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// Where a transfer's progress callbacks run, and so what they may hold.
pub trait Callbacks<'a> {
    /// An upload's callback: (bytes of the file sent, file size).
    type Upload: ?Sized + FnMut(u64, u64) -> ControlFlow<()> + 'a;
    /// A download's callback: (bytes received, size when the server said it).
    type Download: ?Sized + FnMut(u64, Option<u64>) -> ControlFlow<()> + 'a;
}

/// Callbacks that run on the calling thread: any closure living as long as
/// the options (`cube-blocking`).
#[derive(Debug)]
pub enum Local {}

/// Callbacks that move with the transfer, which may run on another thread
/// (`cube-async`): `Send` closures.
#[derive(Debug)]
pub enum Sendable {}

impl<'a> Callbacks<'a> for Local {
    type Upload = dyn FnMut(u64, u64) -> ControlFlow<()> + 'a;
    type Download = dyn FnMut(u64, Option<u64>) -> ControlFlow<()> + 'a;
}

impl<'a> Callbacks<'a> for Sendable {
    type Upload = dyn FnMut(u64, u64) -> ControlFlow<()> + Send + 'a;
    type Download = dyn FnMut(u64, Option<u64>) -> ControlFlow<()> + Send + 'a;
}

/// How a file is uploaded: its content type and visibility, the idle
/// timeout, a progress callback that may stop it, and a cancel handle.
///
/// ```
/// use cube_shell::transfer::{CancelHandle, Local, UploadOptions};
/// use std::ops::ControlFlow;
/// let cancel = CancelHandle::new();
/// let options = UploadOptions::<Local>::new()
///     .public(true)
///     .idle_timeout(std::time::Duration::from_secs(10))
///     .cancel_handle(cancel.clone())
///     .on_progress(|sent, total| {
///         println!("{sent} of {total} bytes");
///         ControlFlow::Continue(())
///     });
/// // Elsewhere: cancel.cancel();
/// # let _ = options;
/// ```
pub struct UploadOptions<'a, K: Callbacks<'a>> {
    content_type: Option<String>,
    public: bool,
    watch: Watch,
    progress: Option<Box<K::Upload>>,
}

/// How a file is downloaded: the idle timeout, a progress callback that
/// may stop it, and a cancel handle.
pub struct DownloadOptions<'a, K: Callbacks<'a>> {
    watch: Watch,
    progress: Option<Box<K::Download>>,
}

/// What stops a transfer other than its end: no byte moving for the idle
/// timeout, or its cancel handle.
#[derive(Debug, Clone)]
pub struct Watch {
    idle_timeout: Duration,
    cancel: Option<CancelHandle>,
}

impl Default for Watch {
    fn default() -> Self {
        Self {
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            cancel: None,
        }
    }
}

impl Watch {
    /// How long the transfer may go without moving a byte.
    pub fn idle(&self) -> Duration {
        self.idle_timeout
    }

    /// The cancel handle, if any.
    pub fn cancel(&self) -> Option<&CancelHandle> {
        self.cancel.as_ref()
    }

    /// Whether the transfer was cancelled through its handle.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(CancelHandle::is_cancelled)
    }

    /// [`Error::Cancelled`] when the progress callback said `stop` or the
    /// handle was cancelled.
    fn check(&self, stop: bool) -> Result<(), Error> {
        if stop || self.is_cancelled() {
            return Err(Error::Cancelled);
        }
        Ok(())
    }
}

impl<'a, K: Callbacks<'a>> Default for UploadOptions<'a, K> {
    fn default() -> Self {
        Self {
            content_type: None,
            public: false,
            watch: Watch::default(),
            progress: None,
        }
    }
}

impl<'a, K: Callbacks<'a>> Default for DownloadOptions<'a, K> {
    fn default() -> Self {
        Self {
            watch: Watch::default(),
            progress: None,
        }
    }
}

impl<'a, K: Callbacks<'a>> fmt::Debug for UploadOptions<'a, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadOptions")
            .field("content_type", &self.content_type)
            .field("public", &self.public)
            .field("watch", &self.watch)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl<'a, K: Callbacks<'a>> fmt::Debug for DownloadOptions<'a, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownloadOptions")
            .field("watch", &self.watch)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl<'a, K: Callbacks<'a>> UploadOptions<'a, K> {
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
        self.watch.idle_timeout = idle;
        self
    }

    /// Stops the upload when `handle` is cancelled: the connection is
    /// dropped, the storage keeps nothing, and the call fails with
    /// [`Error::Cancelled`].
    pub fn cancel_handle(mut self, handle: CancelHandle) -> Self {
        self.watch.cancel = Some(handle);
        self
    }

    /// The idle timeout and the cancel handle.
    pub fn watch(&self) -> &Watch {
        &self.watch
    }

    /// The record to create for a file named `file_name`.
    pub fn create_blob(&self, file_name: &str) -> Result<CreateBlob, proto::Error> {
        let blob = match &self.content_type {
            Some(content_type) => CreateBlob::new(content_type.clone(), file_name)?,
            None => CreateBlob::for_file(file_name)?,
        };
        Ok(blob.public(self.public))
    }

    /// Tells the callback that `sent` of `total` bytes of the file went:
    /// [`Error::Cancelled`] when it says stop or the handle was cancelled.
    pub fn report(&mut self, (sent, total): (u64, u64)) -> Result<(), Error> {
        let stop = self
            .progress
            .as_mut()
            .is_some_and(|progress| progress(sent, total).is_break());
        self.watch.check(stop)
    }
}

impl<'a> UploadOptions<'a, Local> {
    /// Called with (bytes of the file sent, file size): first with 0, then
    /// as the bytes go, last with the size. Returning
    /// `ControlFlow::Break(())` stops the upload as a cancel does.
    pub fn on_progress(mut self, callback: impl FnMut(u64, u64) -> ControlFlow<()> + 'a) -> Self {
        self.progress = Some(Box::new(callback));
        self
    }
}

impl<'a> UploadOptions<'a, Sendable> {
    /// Called with (bytes of the file sent, file size): first with 0, then
    /// as the bytes go, last with the size. It runs on the task that sends
    /// the body. Returning `ControlFlow::Break(())` stops the upload as a
    /// cancel does.
    pub fn on_progress(
        mut self,
        callback: impl FnMut(u64, u64) -> ControlFlow<()> + Send + 'a,
    ) -> Self {
        self.progress = Some(Box::new(callback));
        self
    }
}

impl<'a, K: Callbacks<'a>> DownloadOptions<'a, K> {
    /// The default idle timeout (30 s), no progress callback, no cancel
    /// handle.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long the download may go without moving a byte (default 30 s).
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.watch.idle_timeout = idle;
        self
    }

    /// Tells the callback that `done` bytes arrived, of `total` when the
    /// server said: [`Error::Cancelled`] when it says stop or the handle
    /// was cancelled.
    pub fn report(&mut self, (done, total): (u64, Option<u64>)) -> Result<(), Error> {
        let stop = self
            .progress
            .as_mut()
            .is_some_and(|progress| progress(done, total).is_break());
        self.watch.check(stop)
    }

    /// Stops the download when `handle` is cancelled; the call fails with
    /// [`Error::Cancelled`].
    pub fn cancel_handle(self, handle: CancelHandle) -> Self {
        let watch = Watch {
            cancel: Some(handle),
            ..self.watch
        };
        Self { watch, ..self }
    }

    /// The idle timeout and the cancel handle.
    pub fn watch(&self) -> &Watch {
        &self.watch
    }
}

impl<'a> DownloadOptions<'a, Local> {
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

impl<'a> DownloadOptions<'a, Sendable> {
    /// Called with (bytes received, size when the server said it) as the
    /// bytes arrive. Returning `ControlFlow::Break(())` stops the download
    /// and fails it with [`Error::Cancelled`].
    pub fn on_progress(
        mut self,
        callback: impl FnMut(u64, Option<u64>) -> ControlFlow<()> + Send + 'a,
    ) -> Self {
        self.progress = Some(Box::new(callback));
        self
    }
}

/// The name a file uploaded from `path` is stored under: the path's last
/// component.
pub fn file_name(path: &Path) -> Result<String, Error> {
    let name = path.file_name().ok_or_else(|| {
        proto::Error::from(proto::error::InvalidInput::new("path", "names no file"))
    })?;
    Ok(name.to_string_lossy().into_owned())
}

/// Stops a transfer from anywhere: another thread or task, a UI button.
/// Clones share one state; once cancelled, it stays cancelled.
///
/// ```
/// let handle = cube_shell::transfer::CancelHandle::new();
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
    /// The tasks waiting in [`CancelHandle::cancelled`], by waiter.
    waiting: Mutex<Vec<(u64, Waker)>>,
    next_waiter: AtomicU64,
}

impl CancelHandle {
    /// A handle not yet cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every transfer this handle was given to.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        let waiting = std::mem::take(&mut *self.waiting());
        for (_, waker) in waiting {
            waker.wake();
        }
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Resolves once cancelled.
    pub fn cancelled(&self) -> Cancelled<'_> {
        Cancelled {
            handle: self,
            id: self.inner.next_waiter.fetch_add(1, Ordering::Relaxed),
        }
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, Vec<(u64, Waker)>> {
        self.inner
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The future of [`CancelHandle::cancelled`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Cancelled<'a> {
    handle: &'a CancelHandle,
    id: u64,
}

impl Future for Cancelled<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.handle.is_cancelled() {
            return Poll::Ready(());
        }
        let mut waiting = self.handle.waiting();
        // Checked again under the lock: a cancel in between has already
        // taken the list and would not wake this waiter.
        if self.handle.is_cancelled() {
            return Poll::Ready(());
        }
        match waiting.iter_mut().find(|(id, _)| *id == self.id) {
            Some((_, waker)) => waker.clone_from(cx.waker()),
            None => waiting.push((self.id, cx.waker().clone())),
        }
        Poll::Pending
    }
}

impl Drop for Cancelled<'_> {
    fn drop(&mut self) {
        self.handle.waiting().retain(|(id, _)| *id != self.id);
    }
}
