//! Sending a request again after a failure that may pass: the retry policy,
//! the transport failures an adapter reports, and the waits between tries.
//!
//! A call decides every resend itself ([`Call`](crate::Call)); the adapter
//! only reports what happened on the way ([`TransportFailure`], through
//! [`Call::handle_failure`](crate::Call::handle_failure)) and sleeps when
//! told to ([`Step::Wait`](crate::Step::Wait)).
//!
//! * **Transient**: a `429`, `502`, `503` or `504` answer
//!   ([`is_transient_status`]), a refused connection, a connection reset or
//!   timed out before any byte of the answer ([`TransportFailure`]).
//! * **Never twice**: a request the server may have acted on goes out again
//!   only if sending it twice does what sending it once does
//!   ([`Operation::idempotent`](crate::ops::Operation::idempotent): reads,
//!   and the creation of a non-guest session). A sign-up, an update, a
//!   delete, a sign-in or a password reset is resent only after a failure
//!   that proves nothing was sent ([`TransportFailure::nothing_sent`]).
//! * **Bounded**: at most [`RetryPolicy::max_attempts`] tries in all, less
//!   one for every resend the call made; waits of exponential backoff with
//!   full jitter (the randomness comes in from the adapter, like a nonce);
//!   a server's `Retry-After` honoured exactly when it is within
//!   [`RetryPolicy::retry_after_cap`], else the answer is the call's result;
//!   and the waits of a call never add up to more than
//!   [`RetryPolicy::budget`].

use http::StatusCode;
use std::time::Duration;

/// What went wrong on the way to the server, as the adapter saw it. The
/// adapter reports it; the call decides what to do with it.
///
/// ```
/// use cube_proto::retry::TransportFailure;
/// assert!(TransportFailure::Refused.nothing_sent());
/// assert!(TransportFailure::TimedOutBeforeAnswer.is_transient());
/// assert!(!TransportFailure::TimedOutBeforeAnswer.nothing_sent());
/// assert!(!TransportFailure::Other.is_transient());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportFailure {
    /// The server refused the connection: nothing of the request left the
    /// client.
    Refused,
    /// Opening the connection timed out: nothing was sent.
    ConnectTimedOut,
    /// The connection was reset, closed or timed out before the whole
    /// request was written: the server never had a complete request to act
    /// on.
    ResetBeforeSent,
    /// The connection was reset or closed after the request was written,
    /// before any byte of the answer (a kept-alive connection the server
    /// had closed, a proxy restarting): the server may have acted on it.
    ResetAfterSent,
    /// No byte of the answer came within the timeout after the request was
    /// written: the server may have acted on it.
    TimedOutBeforeAnswer,
    /// Anything else: a name that does not resolve, a TLS failure, an
    /// answer cut or malformed after its first byte, a timeout in the
    /// middle of an answer. Never retried.
    Other,
}

impl TransportFailure {
    /// Whether the failure proves that the server never got the request,
    /// so that even a request that must not go out twice may go again.
    pub fn nothing_sent(self) -> bool {
        matches!(
            self,
            Self::Refused | Self::ConnectTimedOut | Self::ResetBeforeSent
        )
    }

    /// Whether another try may go better: every failure but
    /// [`Other`](Self::Other).
    pub fn is_transient(self) -> bool {
        self != Self::Other
    }

    /// `refused`, `connect_timed_out`, `reset_before_sent`,
    /// `reset_after_sent`, `timed_out_before_answer` or `other`: the word a
    /// span records.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refused => "refused",
            Self::ConnectTimedOut => "connect_timed_out",
            Self::ResetBeforeSent => "reset_before_sent",
            Self::ResetAfterSent => "reset_after_sent",
            Self::TimedOutBeforeAnswer => "timed_out_before_answer",
            Self::Other => "other",
        }
    }
}

/// Whether an answer with this status says "try again later": `429 Too
/// Many Requests`, `502 Bad Gateway`, `503 Service Unavailable`, `504
/// Gateway Timeout`. A `500` is not: the server failed on this request,
/// and would likely fail again.
///
/// ```
/// use cube_proto::retry::is_transient_status;
/// use http::StatusCode;
/// assert!(is_transient_status(StatusCode::SERVICE_UNAVAILABLE));
/// assert!(!is_transient_status(StatusCode::INTERNAL_SERVER_ERROR));
/// ```
pub fn is_transient_status(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// What a call does after [`Call::handle_failure`](crate::Call::handle_failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
pub enum AfterFailure {
    /// Poll again: the call waits ([`Step::Wait`](crate::Step::Wait)), then
    /// sends again.
    Retry,
    /// The call is over (polling it again is a misuse): end it with the
    /// transport's own error, releasing the restore turn if it is held.
    GiveUp,
}

/// How a call sends a request again after a transient failure; see the
/// module docs. [`RetryPolicy::standard`] is the default of every
/// [`Config`](crate::Config); [`RetryPolicy::none`] turns resends off.
///
/// ```
/// use cube_proto::{Config, retry::RetryPolicy};
/// use std::time::Duration;
/// let policy = RetryPolicy::standard()
///     .with_max_attempts(5)
///     .with_budget(Duration::from_secs(30));
/// let config = Config::builder(1, "29WfrNWdvkhmX6V").retry_policy(policy).build()?;
/// assert_eq!(config.retry_policy().max_attempts(), 5);
/// assert_eq!(RetryPolicy::none().max_attempts(), 1);
/// # Ok::<(), cube_proto::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RetryPolicy {
    max_attempts: u8,
    base_delay: Duration,
    max_delay: Duration,
    retry_after_cap: Duration,
    budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::standard()
    }
}

/// How the next wait is measured, once a resend is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pause {
    /// Exactly what the server's `Retry-After` asked for.
    Exactly(Duration),
    /// Exponential backoff with full jitter, drawn when the wait begins.
    Backoff,
}

impl RetryPolicy {
    /// The most tries a policy may allow: a call can never be made to send
    /// more than this many times over transient failures.
    pub const MAX_ATTEMPTS: u8 = 10;

    /// The default: at most 3 tries; backoff waits of up to 0.5 s, then
    /// 1 s, … never more than 8 s each; a `Retry-After` of up to 5 s
    /// honoured; at most 10 s of waiting in all.
    pub const fn standard() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            retry_after_cap: Duration::from_secs(5),
            budget: Duration::from_secs(10),
        }
    }

    /// No resend ever: every request goes out once, and a transient failure
    /// is the call's result.
    pub const fn none() -> Self {
        Self::standard().with_max_attempts(1)
    }

    /// At most `attempts` tries in all: the first, and `attempts - 1`
    /// resends shared by every request of the call. From 1 to
    /// [`RetryPolicy::MAX_ATTEMPTS`]; a configuration with any other value
    /// does not build.
    pub const fn with_max_attempts(mut self, attempts: u8) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// The ceiling of the first backoff wait; it doubles with each resend.
    pub const fn with_base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The ceiling no backoff wait goes over, however many resends.
    pub const fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The longest `Retry-After` the call waits for. A server that asks for
    /// more gets no resend: its answer (with the wait it asked for, see
    /// [`Error::retry_after`](crate::Error::retry_after)) is the result.
    pub const fn with_retry_after_cap(mut self, cap: Duration) -> Self {
        self.retry_after_cap = cap;
        self
    }

    /// The most a call waits in all, over every resend. It bounds the
    /// waits, not the tries themselves: each try is bounded by the
    /// adapter's timeout.
    pub const fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// How many tries a call makes at most.
    pub const fn max_attempts(&self) -> u8 {
        self.max_attempts
    }

    /// The ceiling of the first backoff wait.
    pub const fn base_delay(&self) -> Duration {
        self.base_delay
    }

    /// The ceiling of any backoff wait.
    pub const fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The longest `Retry-After` honoured.
    pub const fn retry_after_cap(&self) -> Duration {
        self.retry_after_cap
    }

    /// The most a call waits in all.
    pub const fn budget(&self) -> Duration {
        self.budget
    }

    /// Whether this policy ever resends.
    pub const fn retries(&self) -> bool {
        self.max_attempts > 1
    }

    /// The ceiling of the wait before resend number `resend` (0 for the
    /// first), when `remaining` of the budget is left: the base delay
    /// doubled `resend` times, no more than the largest delay nor what is
    /// left.
    ///
    /// ```
    /// use cube_proto::retry::RetryPolicy;
    /// use std::time::Duration;
    /// let policy = RetryPolicy::standard();
    /// let plenty = Duration::from_secs(60);
    /// assert_eq!(policy.backoff_ceiling(0, plenty), Duration::from_millis(500));
    /// assert_eq!(policy.backoff_ceiling(1, plenty), Duration::from_secs(1));
    /// assert_eq!(policy.backoff_ceiling(9, plenty), Duration::from_secs(8));
    /// assert_eq!(policy.backoff_ceiling(9, Duration::from_secs(2)), Duration::from_secs(2));
    /// ```
    pub fn backoff_ceiling(&self, resend: u8, remaining: Duration) -> Duration {
        let doubled = 2u32
            .checked_pow(u32::from(resend))
            .and_then(|factor| self.base_delay.checked_mul(factor))
            .unwrap_or(Duration::MAX);
        doubled.min(self.max_delay).min(remaining)
    }

    /// The wait before resend number `resend` with `remaining` of the budget
    /// left, "full jitter": `random` (uniform over `u32`) picks a point
    /// between zero and the [ceiling](Self::backoff_ceiling), so clients
    /// that failed together do not come back together.
    ///
    /// ```
    /// use cube_proto::retry::RetryPolicy;
    /// use std::time::Duration;
    /// let policy = RetryPolicy::standard();
    /// let plenty = Duration::from_secs(60);
    /// assert_eq!(policy.backoff(1, plenty, 0), Duration::ZERO);
    /// assert_eq!(policy.backoff(1, plenty, 1 << 31), Duration::from_millis(500));
    /// assert!(policy.backoff(1, plenty, u32::MAX) < Duration::from_secs(1));
    /// ```
    pub fn backoff(&self, resend: u8, remaining: Duration, random: u32) -> Duration {
        let ceiling = self.backoff_ceiling(resend, remaining).as_nanos();
        // ceiling × random / 2³²: below the ceiling, and exact in integers
        // (the product of a u64-seconds duration in nanoseconds and a u32
        // fits in a u128).
        let nanos = (ceiling * u128::from(random)) >> 32;
        let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
        let sub = u32::try_from(nanos % 1_000_000_000).unwrap_or(0);
        Duration::new(secs, sub)
    }

    /// Whether a call that already resent `resends` times and waited
    /// `waited` may send again, and how the wait is measured: `None` when
    /// no try is left, the server asked for a longer wait than the cap or
    /// than the budget has left, or the budget is spent.
    pub(crate) fn next_pause(
        &self,
        resends: u8,
        waited: Duration,
        retry_after: Option<Duration>,
    ) -> Option<Pause> {
        if u16::from(resends) + 1 >= u16::from(self.max_attempts) {
            return None;
        }
        let remaining = self.budget.saturating_sub(waited);
        match retry_after {
            Some(asked) if asked > self.retry_after_cap || asked > remaining => None,
            Some(asked) => Some(Pause::Exactly(asked)),
            None if remaining.is_zero() => None,
            None => Some(Pause::Backoff),
        }
    }

    /// Why this policy cannot be used, if it cannot.
    pub(crate) fn problem(&self) -> Option<String> {
        (!(1..=Self::MAX_ATTEMPTS).contains(&self.max_attempts)).then(|| {
            format!(
                "a retry policy allows from 1 to {} attempts, not {}",
                Self::MAX_ATTEMPTS,
                self.max_attempts
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn the_transient_statuses_are_429_502_503_504_and_no_other() {
        let transient: Vec<u16> = (100..=599)
            .filter(|&s| is_transient_status(StatusCode::from_u16(s).unwrap()))
            .collect();
        assert_eq!(transient, [429, 502, 503, 504]);
    }

    #[test]
    fn each_failure_says_whether_it_sent_and_whether_it_may_pass() {
        use TransportFailure::*;
        let table = [
            (Refused, true, true, "refused"),
            (ConnectTimedOut, true, true, "connect_timed_out"),
            (ResetBeforeSent, true, true, "reset_before_sent"),
            (ResetAfterSent, false, true, "reset_after_sent"),
            (TimedOutBeforeAnswer, false, true, "timed_out_before_answer"),
            (Other, false, false, "other"),
        ];
        for (failure, nothing_sent, transient, word) in table {
            assert_eq!(failure.nothing_sent(), nothing_sent, "{failure:?}");
            assert_eq!(failure.is_transient(), transient, "{failure:?}");
            assert_eq!(failure.as_str(), word);
        }
    }

    #[test]
    fn tries_are_counted_against_the_maximum() {
        let policy = RetryPolicy::standard();
        assert_eq!(
            policy.next_pause(0, Duration::ZERO, None),
            Some(Pause::Backoff)
        );
        assert_eq!(
            policy.next_pause(1, Duration::ZERO, None),
            Some(Pause::Backoff)
        );
        assert_eq!(
            policy.next_pause(2, Duration::ZERO, None),
            None,
            "3 tries made"
        );
        assert_eq!(
            RetryPolicy::none().next_pause(0, Duration::ZERO, None),
            None
        );
        assert!(!RetryPolicy::none().retries() && policy.retries());
        // The largest policy: 10 tries, and not one more.
        let most = policy.with_max_attempts(RetryPolicy::MAX_ATTEMPTS);
        assert!(most.next_pause(8, Duration::ZERO, None).is_some());
        assert_eq!(most.next_pause(9, Duration::ZERO, None), None);
        // A count that overflows u8 arithmetic still refuses.
        let wide = policy.with_max_attempts(u8::MAX);
        assert_eq!(wide.next_pause(u8::MAX, Duration::ZERO, None), None);
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap_and_the_budget() {
        let policy = RetryPolicy::standard()
            .with_retry_after_cap(5 * SEC)
            .with_budget(10 * SEC);
        let pause = |waited: Duration, asked: u64| {
            policy.next_pause(0, waited, Some(Duration::from_secs(asked)))
        };
        assert_eq!(
            pause(Duration::ZERO, 0),
            Some(Pause::Exactly(Duration::ZERO))
        );
        assert_eq!(
            pause(Duration::ZERO, 5),
            Some(Pause::Exactly(5 * SEC)),
            "at the cap"
        );
        assert_eq!(pause(Duration::ZERO, 6), None, "past the cap");
        assert_eq!(
            pause(5 * SEC, 5),
            Some(Pause::Exactly(5 * SEC)),
            "fills the budget"
        );
        assert_eq!(pause(6 * SEC, 5), None, "past the budget");
    }

    #[test]
    fn a_spent_budget_stops_backoff() {
        let policy = RetryPolicy::standard().with_budget(2 * SEC);
        assert_eq!(
            policy.next_pause(0, 2 * SEC - Duration::from_nanos(1), None),
            Some(Pause::Backoff)
        );
        assert_eq!(policy.next_pause(0, 2 * SEC, None), None);
        assert_eq!(policy.next_pause(0, 3 * SEC, None), None);
    }

    #[test]
    fn backoff_doubles_to_the_largest_delay_and_stays_within_the_budget() {
        let policy = RetryPolicy::standard()
            .with_base_delay(Duration::from_millis(100))
            .with_max_delay(SEC);
        let plenty = 60 * SEC;
        let ceilings: Vec<u128> = (0..6)
            .map(|n| policy.backoff_ceiling(n, plenty).as_millis())
            .collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(
            policy
                .backoff_ceiling(3, Duration::from_millis(300))
                .as_millis(),
            300
        );
        // A doubling past every duration is the largest delay, no panic.
        assert_eq!(policy.backoff_ceiling(u8::MAX, plenty), SEC);
        let huge = policy
            .with_base_delay(Duration::MAX)
            .with_max_delay(Duration::MAX);
        assert_eq!(huge.backoff_ceiling(40, Duration::MAX), Duration::MAX);
    }

    #[test]
    fn full_jitter_spans_zero_to_the_ceiling() {
        let policy = RetryPolicy::standard().with_base_delay(SEC);
        let plenty = 60 * SEC;
        assert_eq!(policy.backoff(0, plenty, 0), Duration::ZERO);
        assert_eq!(
            policy.backoff(0, plenty, 1 << 30),
            Duration::from_millis(250)
        );
        assert_eq!(
            policy.backoff(0, plenty, 3 << 30),
            Duration::from_millis(750)
        );
        let top = policy.backoff(0, plenty, u32::MAX);
        assert!(top < SEC && top > Duration::from_millis(999), "{top:?}");
        assert_eq!(policy.backoff(2, plenty, 1 << 31), 2 * SEC);
        // The largest durations do not overflow.
        let huge = policy
            .with_base_delay(Duration::MAX)
            .with_max_delay(Duration::MAX);
        assert!(huge.backoff(0, Duration::MAX, u32::MAX) < Duration::MAX);
    }

    #[test]
    fn a_policy_allows_one_to_ten_attempts() {
        assert_eq!(RetryPolicy::standard().problem(), None);
        assert_eq!(RetryPolicy::none().problem(), None);
        assert_eq!(
            RetryPolicy::standard().with_max_attempts(10).problem(),
            None
        );
        for bad in [0, 11, u8::MAX] {
            let problem = RetryPolicy::standard().with_max_attempts(bad).problem();
            assert!(problem.unwrap().contains(&bad.to_string()), "{bad}");
        }
    }

    #[test]
    fn the_standard_policy_is_the_documented_one() {
        let p = RetryPolicy::default();
        assert_eq!(p, RetryPolicy::standard());
        assert_eq!(
            (
                p.max_attempts(),
                p.base_delay(),
                p.max_delay(),
                p.retry_after_cap(),
                p.budget()
            ),
            (3, Duration::from_millis(500), 8 * SEC, 5 * SEC, 10 * SEC)
        );
    }
}
