//! Reading request bodies within [`Limits`]: each body at a minimum pace,
//! and all of them within one memory budget that makes readers wait
//! (back-pressure) instead of buffering once it is spent.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Body;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::conns::Activity;
use crate::error::ApiError;
use crate::limits::{FREE_PER_BODY, Limits};

/// Why a body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// It arrived slower than the minimum pace (`408`).
    TooSlow,
    /// It needs more memory than the whole budget (`413`).
    TooLarge,
    /// It holds a share of the budget and needs more, which is not free
    /// now (`503`): a body never waits for memory while holding some.
    Busy,
    /// The connection failed or the framing was broken (`400`).
    Broken,
}

impl From<BodyError> for ApiError {
    fn from(err: BodyError) -> Self {
        match err {
            BodyError::TooSlow => ApiError::new(
                http::StatusCode::REQUEST_TIMEOUT,
                "The request body arrived too slowly",
            ),
            BodyError::TooLarge => ApiError::too_large(),
            BodyError::Busy => {
                ApiError::unavailable("The emulator is busy with other requests; try again")
            }
            BodyError::Broken => ApiError::bad_request("Unreadable body"),
        }
    }
}

/// The memory all bodies in flight may hold, beyond [`FREE_PER_BODY`]
/// each, counted in bytes.
pub(crate) struct BodyBudget {
    bytes: Arc<Semaphore>,
    total: usize,
}

impl BodyBudget {
    pub(crate) fn new(total: usize) -> Self {
        let total = total.min(Semaphore::MAX_PERMITS);
        Self {
            bytes: Arc::new(Semaphore::new(total)),
            total,
        }
    }

    /// Bytes not held by any body.
    #[cfg(test)]
    pub(crate) fn available(&self) -> usize {
        self.bytes.available_permits()
    }
}

/// The memory one body holds; given back when dropped.
pub(crate) struct BodyMemory {
    budget: Arc<BodyBudget>,
    permit: Option<OwnedSemaphorePermit>,
}

impl BodyMemory {
    pub(crate) fn new(budget: Arc<BodyBudget>) -> Self {
        Self {
            budget,
            permit: None,
        }
    }

    fn held(&self) -> usize {
        self.permit
            .as_ref()
            .map_or(0, OwnedSemaphorePermit::num_permits)
    }

    /// Makes this body's share `bytes` (its first [`FREE_PER_BODY`] are
    /// free). A body that holds no share yet waits while the budget is
    /// spent; one that holds some never waits for more, because bodies
    /// that each hold part of the budget and wait for the rest would wait
    /// for each other forever: if the rest is not free at once, that is
    /// [`BodyError::Busy`]. So callers take a body's whole share at once
    /// where they can. A share larger than the whole budget can never be
    /// had: [`BodyError::TooLarge`].
    pub(crate) async fn reserve(&mut self, bytes: usize) -> Result<(), BodyError> {
        let wanted = bytes.saturating_sub(FREE_PER_BODY);
        let more = wanted.saturating_sub(self.held());
        if more == 0 {
            return Ok(());
        }
        if wanted > self.budget.total {
            return Err(BodyError::TooLarge);
        }
        let more = u32::try_from(more).map_err(|_| BodyError::TooLarge)?;
        let bytes = self.budget.bytes.clone();
        let permit = if self.held() == 0 {
            bytes
                .acquire_many_owned(more)
                .await
                .map_err(|_| BodyError::Broken)?
        } else {
            bytes
                .try_acquire_many_owned(more)
                .map_err(|_| BodyError::Busy)?
        };
        match &mut self.permit {
            Some(held) => held.merge(permit),
            None => self.permit = Some(permit),
        }
        Ok(())
    }

    /// Gives the share back (the body was dropped).
    pub(crate) fn release(&mut self) {
        self.permit = None;
    }
}

/// The minimum pace as a token bucket of time: a body starts with the
/// grace period, each byte buys `1 / rate` seconds more (up to the
/// longest pause), and time spent waiting on the client uses it up.
#[derive(Debug, Clone, Copy)]
struct Pace {
    /// Seconds the client may still take.
    allowance: f64,
    seconds_per_byte: f64,
    longest_pause: f64,
}

impl Pace {
    fn new(limits: &Limits) -> Self {
        Self {
            allowance: limits.body_grace.as_secs_f64(),
            seconds_per_byte: 1.0 / f64::from(limits.min_body_rate.max(1)),
            longest_pause: limits.max_body_pause.as_secs_f64(),
        }
    }

    fn remaining(&self) -> Duration {
        Duration::try_from_secs_f64(self.allowance.max(0.0)).unwrap_or(Duration::MAX)
    }

    /// `bytes` arrived after the client took `waited`.
    fn record(&mut self, waited: Duration, bytes: usize) {
        #[allow(clippy::cast_precision_loss)] // a frame is far below 2^52 bytes
        let earned = bytes as f64 * self.seconds_per_byte;
        let kept = self.allowance - waited.as_secs_f64();
        self.allowance = (kept + earned).min(self.longest_pause.max(kept));
    }
}

/// A request body read within the limits.
pub(crate) struct Inflow<B> {
    body: Pin<Box<B>>,
    pace: Pace,
    activity: Option<Arc<Activity>>,
    /// The memory this body holds.
    pub(crate) memory: BodyMemory,
}

impl<B> Inflow<B>
where
    B: Body<Data = Bytes>,
{
    pub(crate) fn new(
        body: B,
        limits: &Limits,
        budget: Arc<BodyBudget>,
        activity: Option<Arc<Activity>>,
    ) -> Self {
        Self {
            body: Box::pin(body),
            pace: Pace::new(limits),
            activity,
            memory: BodyMemory::new(budget),
        }
    }

    /// The body's length, when its framing says it (`Content-Length`).
    pub(crate) fn declared_len(&self) -> Option<u64> {
        self.body.size_hint().exact()
    }

    /// The next piece of the body; `None` at its end.
    pub(crate) async fn next(&mut self) -> Result<Option<Bytes>, BodyError> {
        loop {
            self.waiting(true);
            let started = Instant::now();
            let frame = tokio::time::timeout(self.pace.remaining(), self.body.frame()).await;
            self.waiting(false);
            let waited = started.elapsed();
            let frame = match frame {
                Err(_) => return Err(BodyError::TooSlow),
                Ok(None) => return Ok(None),
                Ok(Some(Err(_))) => return Err(BodyError::Broken),
                Ok(Some(Ok(frame))) => frame,
            };
            match frame.into_data() {
                Ok(data) if !data.is_empty() => {
                    self.pace.record(waited, data.len());
                    return Ok(Some(data));
                }
                // Trailers, or an empty frame: time passed, nothing came.
                _ => self.pace.record(waited, 0),
            }
        }
    }

    /// Makes this body's memory `bytes`, waiting (as a body read, so an
    /// emulator that is full may close this connection) while the budget
    /// is spent.
    pub(crate) async fn reserve(&mut self, bytes: usize) -> Result<(), BodyError> {
        self.waiting(true);
        let result = self.memory.reserve(bytes).await;
        self.waiting(false);
        result
    }

    fn waiting(&self, on: bool) {
        if let Some(activity) = &self.activity {
            activity.reading_body(on);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rate: u32, grace_ms: u64, pause_ms: u64) -> Limits {
        Limits {
            min_body_rate: rate,
            body_grace: Duration::from_millis(grace_ms),
            max_body_pause: Duration::from_millis(pause_ms),
            ..Limits::default()
        }
    }

    #[test]
    fn the_pace_allows_the_grace_then_the_rate_then_at_most_the_pause() {
        let ms = Duration::from_millis;
        let mut pace = Pace::new(&limits(1000, 5000, 10_000));
        assert_eq!(pace.remaining(), ms(5000));
        // 2,000 bytes after 1 s: 4 s left, plus 2 s earned.
        pace.record(ms(1000), 2000);
        assert!((pace.remaining().as_secs_f64() - 6.0).abs() < 1e-6);
        // A megabyte earns no more than the longest pause.
        pace.record(ms(0), 1 << 20);
        assert_eq!(pace.remaining(), ms(10_000));
        // Exactly the minimum rate keeps the allowance where it is.
        pace.record(ms(500), 500);
        assert_eq!(pace.remaining(), ms(10_000));
        // Slower uses it up.
        pace.record(ms(10_000), 100);
        assert!(pace.remaining() < ms(200));
        // A grace longer than the longest pause is kept until used.
        let mut pace = Pace::new(&limits(1000, 30_000, 1000));
        pace.record(ms(1000), 10);
        assert!(pace.remaining() >= ms(28_900));
    }

    #[test]
    fn memory_beyond_the_free_share_comes_from_the_budget_and_goes_back() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let budget = Arc::new(BodyBudget::new(100_000));
            let mut a = BodyMemory::new(budget.clone());
            a.reserve(FREE_PER_BODY).await.unwrap();
            assert_eq!(budget.available(), 100_000);
            a.reserve(FREE_PER_BODY + 60_000).await.unwrap();
            assert_eq!(budget.available(), 40_000);
            // Exactly the rest of the budget.
            let mut b = BodyMemory::new(budget.clone());
            b.reserve(FREE_PER_BODY + 40_000).await.unwrap();
            assert_eq!(budget.available(), 0);
            // One byte more waits until someone gives memory back.
            let mut c = BodyMemory::new(budget.clone());
            let waits =
                tokio::time::timeout(Duration::from_millis(50), c.reserve(FREE_PER_BODY + 1)).await;
            assert!(waits.is_err());
            drop(b);
            c.reserve(FREE_PER_BODY + 1).await.unwrap();
            assert_eq!(budget.available(), 39_999);
            // More than the whole budget can never be had.
            assert_eq!(
                c.reserve(FREE_PER_BODY + 100_001).await,
                Err(BodyError::TooLarge)
            );
            a.release();
            assert_eq!(budget.available(), 99_999);
        });
    }

    #[test]
    fn a_body_holding_memory_never_waits_for_more() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            // Two bodies hold the whole budget between them and each wants
            // more: waiting would be forever, so each is told at once.
            let budget = Arc::new(BodyBudget::new(100_000));
            let mut a = BodyMemory::new(budget.clone());
            let mut b = BodyMemory::new(budget.clone());
            a.reserve(FREE_PER_BODY + 50_000).await.unwrap();
            b.reserve(FREE_PER_BODY + 50_000).await.unwrap();
            let wait = Duration::from_secs(5);
            let more = FREE_PER_BODY + 50_001;
            let grown = tokio::time::timeout(wait, a.reserve(more)).await;
            assert_eq!(grown, Ok(Err(BodyError::Busy)));
            let grown = tokio::time::timeout(wait, b.reserve(more)).await;
            assert_eq!(grown, Ok(Err(BodyError::Busy)));
            // What they held is still theirs; once one gives it back, the
            // other grows.
            assert_eq!(budget.available(), 0);
            a.release();
            let grown = tokio::time::timeout(wait, b.reserve(more)).await;
            assert_eq!(grown, Ok(Ok(())));
            assert_eq!(budget.available(), 49_999);
        });
    }
}
