//! The calls' deadlines, watched by one timer task per client.
//!
//! A timer per call (`tokio::time::timeout`) wakes the runtime's timer
//! thread on every call that starts while no earlier timer is pending — on
//! every call of an app that makes one at a time — which costs more than
//! the rest of the call's own work. Here a call only notes its deadline; one
//! task, running while any call is in flight, looks at them every tenth of
//! the timeout (at most 100 ms) and stops the late ones.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::time::Instant;

/// The deadlines of one client's calls in flight.
#[derive(Debug, Clone)]
pub(crate) struct Deadlines {
    shared: Arc<Mutex<Watched>>,
    /// How often the watch looks.
    tick: Duration,
}

#[derive(Debug, Default)]
struct Watched {
    calls: HashMap<u64, Call>,
    next_id: u64,
    /// Whether the watch task runs.
    watching: bool,
}

#[derive(Debug)]
struct Call {
    deadline: Instant,
    late: bool,
    waker: Option<Waker>,
}

impl Deadlines {
    /// Deadlines `timeout` after each call starts, kept to within a tenth of
    /// it (and 100 ms).
    pub(crate) fn new(timeout: Duration) -> Self {
        let tick = (timeout / 10).clamp(Duration::from_millis(1), Duration::from_millis(100));
        Self {
            shared: Arc::default(),
            tick,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Watched> {
        // Each change is a single insert, removal or flag: a poisoned lock
        // still guards a consistent map.
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A call starting now, late after `timeout`: resolves when it is late.
    /// Dropping it forgets the call. It must be polled inside a tokio
    /// runtime (the first call starts the watch there).
    pub(crate) fn start(&self, timeout: Duration) -> Late {
        let mut watched = self.lock();
        let id = watched.next_id;
        watched.next_id += 1;
        let call = Call {
            deadline: Instant::now() + timeout,
            late: false,
            waker: None,
        };
        watched.calls.insert(id, call);
        let start_watch = !watched.watching;
        watched.watching = true;
        drop(watched);
        if start_watch {
            tokio::spawn(self.clone().watch());
        }
        Late {
            deadlines: self.clone(),
            id,
        }
    }

    /// Looks at the deadlines every tick while any call is in flight, and
    /// wakes the late ones.
    async fn watch(self) {
        // Whatever ends this task (no call left, the runtime going away),
        // the next call starts a new one.
        let _stopped = Stopped(self.clone());
        loop {
            tokio::time::sleep(self.tick).await;
            let mut watched = self.lock();
            if watched.calls.is_empty() {
                return;
            }
            let now = Instant::now();
            for call in watched.calls.values_mut() {
                if !call.late && call.deadline <= now {
                    call.late = true;
                    if let Some(waker) = call.waker.take() {
                        waker.wake();
                    }
                }
            }
        }
    }
}

/// Marks the watch as stopped when its task ends or is dropped.
struct Stopped(Deadlines);

impl Drop for Stopped {
    fn drop(&mut self) {
        self.0.lock().watching = false;
    }
}

/// One call's deadline; see [`Deadlines::start`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub(crate) struct Late {
    deadlines: Deadlines,
    id: u64,
}

impl Future for Late {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut watched = self.deadlines.lock();
        match watched.calls.get_mut(&self.id) {
            Some(call) if !call.late => {
                call.waker = Some(cx.waker().clone());
                Poll::Pending
            }
            _ => Poll::Ready(()),
        }
    }
}

impl Drop for Late {
    fn drop(&mut self) {
        self.deadlines.lock().calls.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_call_is_late_after_its_timeout_within_a_tick() {
        let deadlines = Deadlines::new(Duration::from_millis(500));
        let started = Instant::now();
        deadlines.start(Duration::from_millis(500)).await;
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(500) && took <= Duration::from_millis(550),
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_ends_in_time_is_forgotten_and_the_watch_stops() {
        let deadlines = Deadlines::new(Duration::from_secs(1));
        let quick = async { tokio::time::sleep(Duration::from_millis(300)).await };
        tokio::select! {
            () = quick => {}
            () = deadlines.start(Duration::from_secs(1)) => panic!("not late yet"),
        }
        assert!(
            deadlines.lock().calls.is_empty(),
            "the finished call is forgotten"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(
            !deadlines.lock().watching,
            "nothing in flight: the watch stopped"
        );
        // The next call starts it again, and is late in its turn.
        let started = Instant::now();
        deadlines.start(Duration::from_secs(1)).await;
        assert!(started.elapsed() >= Duration::from_secs(1));
    }
}
