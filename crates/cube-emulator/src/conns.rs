//! The client connections being served: how many, and what each is
//! waiting for, so that a full emulator can make room by closing the one
//! that has waited longest on its client.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// What one connection is doing, as far as eviction cares.
#[derive(Debug)]
pub(crate) struct Activity {
    epoch: Instant,
    /// Microseconds after `epoch` of the last byte read or written.
    last_io: AtomicU64,
    /// A request is being handled.
    handling: AtomicBool,
    /// The handler is waiting for its request body (from the client, or
    /// for memory to hold it).
    reading_body: AtomicBool,
    /// Chosen to be closed.
    evicted: AtomicBool,
    close: Notify,
}

impl Activity {
    fn new(epoch: Instant) -> Self {
        let activity = Self {
            epoch,
            last_io: AtomicU64::new(0),
            handling: AtomicBool::new(false),
            reading_body: AtomicBool::new(false),
            evicted: AtomicBool::new(false),
            close: Notify::new(),
        };
        activity.touch();
        activity
    }

    fn touch(&self) {
        let micros = u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.last_io.store(micros, Ordering::Relaxed);
    }

    /// A request starts (`true`) or ends (`false`).
    pub(crate) fn handling(&self, on: bool) {
        self.handling.store(on, Ordering::Relaxed);
    }

    /// The handler starts or stops waiting for its body.
    pub(crate) fn reading_body(&self, on: bool) {
        self.reading_body.store(on, Ordering::Relaxed);
    }

    /// Waiting on the client (idle between requests, reading a request):
    /// the emulator is not working for it.
    fn waits_on_client(&self) -> bool {
        !self.handling.load(Ordering::Relaxed) || self.reading_body.load(Ordering::Relaxed)
    }

    /// Resolves once the connection is chosen to be closed.
    pub(crate) async fn closed(&self) {
        let notified = self.close.notified();
        if self.evicted.load(Ordering::Acquire) {
            return;
        }
        notified.await;
    }
}

/// The live connections and their cap.
pub(crate) struct Connections {
    cap: usize,
    epoch: Instant,
    next_id: AtomicU64,
    live: Mutex<HashMap<u64, Arc<Activity>>>,
}

/// A connection's place in [`Connections`]; dropping it frees the place.
pub(crate) struct Registration {
    connections: Arc<Connections>,
    id: u64,
    pub(crate) activity: Arc<Activity>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.connections.lock().remove(&self.id);
    }
}

impl Connections {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap,
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            live: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Activity>>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes room for one more connection: `true` if there is room (or
    /// now will be, the stalest connection waiting on its client having
    /// been told to close), `false` if every connection is busy.
    pub(crate) fn make_room(&self) -> bool {
        let live = self.lock();
        let closing = live
            .values()
            .filter(|a| a.evicted.load(Ordering::Acquire))
            .count();
        if live.len() - closing < self.cap {
            return true;
        }
        // Of two as stale, the older connection goes: one just accepted,
        // whose request has not arrived yet, is not the idle one to close.
        let stalest = live
            .iter()
            .filter(|(_, a)| !a.evicted.load(Ordering::Acquire) && a.waits_on_client())
            .min_by_key(|(id, a)| (a.last_io.load(Ordering::Relaxed), **id));
        match stalest {
            Some((_, activity)) => {
                activity.evicted.store(true, Ordering::Release);
                activity.close.notify_waiters();
                true
            }
            None => false,
        }
    }

    /// Registers a new connection.
    pub(crate) fn register(self: &Arc<Self>) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity::new(self.epoch));
        self.lock().insert(id, activity.clone());
        Registration {
            connections: self.clone(),
            id,
            activity,
        }
    }

    /// How many connections are registered (closing ones included).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

/// A socket that records on its [`Activity`] every time bytes move.
pub(crate) struct Tracked<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> Tracked<T> {
    pub(crate) fn new(inner: T, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        poll
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_table_closes_the_stalest_connection_waiting_on_its_client() {
        let pause = || std::thread::sleep(std::time::Duration::from_millis(5));
        let evicted = |r: &Registration| r.activity.evicted.load(Ordering::Acquire);
        let connections = Arc::new(Connections::new(3));
        let a = connections.register();
        pause();
        let b = connections.register();
        pause();
        // Below the cap there is room without closing anything.
        assert!(connections.make_room());
        let c = connections.register();
        pause();
        assert!(![&a, &b, &c].iter().any(|r| evicted(r)));
        // At the cap: `a` is the stalest, but busy on the emulator's side.
        a.activity.handling(true);
        assert!(connections.make_room());
        assert!(!evicted(&a) && evicted(&b));
        // `b` is closing, so its place is taken by `d`; the next one
        // closes `c`.
        let d = connections.register();
        pause();
        assert!(connections.make_room());
        assert!(evicted(&c) && !evicted(&d));
        drop(b);
        drop(c);
        let e = connections.register();
        // A handler reading its body waits on its client.
        a.activity.reading_body(true);
        assert!(connections.make_room());
        assert!(evicted(&a));
        drop(a);
        let f = connections.register();
        // Everyone busy: no room.
        for r in [&d, &e, &f] {
            r.activity.handling(true);
        }
        assert!(!connections.make_room());
        assert_eq!(connections.len(), 3);
    }

    #[test]
    fn of_two_as_stale_the_older_connection_is_closed() {
        // Each table orders its connections its own way, so try many.
        for _ in 0..64 {
            let connections = Arc::new(Connections::new(2));
            let older = connections.register();
            let newer = connections.register();
            let now = older.activity.last_io.load(Ordering::Relaxed);
            newer.activity.last_io.store(now, Ordering::Relaxed);
            assert!(connections.make_room());
            assert!(older.activity.evicted.load(Ordering::Acquire));
            assert!(!newer.activity.evicted.load(Ordering::Acquire));
        }
    }

    #[test]
    fn a_connection_learns_it_is_closed_even_after_the_fact() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let connections = Arc::new(Connections::new(1));
        let first = connections.register();
        assert!(connections.make_room());
        // Told before it waits: it still finds out.
        runtime.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(1), first.activity.closed())
                .await
                .expect("closed");
        });
    }
}
