//! Exponential backoff with full jitter, for every "try again later" in the app.
//!
//! The n-th delay (n = 0, 1, …) is drawn uniformly from `[0, min(max, initial · factor^n)]`
//! ("full jitter", as in the AWS architecture note on backoff): many devices that lost the same
//! service at the same moment spread their retries over the whole window instead of coming back in
//! lock-step. [`Backoff::reset`] starts over after a success (or, for the event stream, after a
//! connection that stayed healthy for a while).
//!
//! The random source is injected ([`Backoff::with_rng`]) so tests are deterministic; the default
//! is a [`StdRng`] seeded from the OS. The event stream uses it for reconnects, and the agent's
//! uploader reuses it for its outbox (combined with a service's `Retry-After` through
//! [`Backoff::next_delay_after`]).

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The shape of a [`Backoff`]: first ceiling, growth factor and cap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffPolicy {
    /// Ceiling of the first delay.
    pub initial: Duration,
    /// Largest ceiling; delays never exceed it (except when a `Retry-After` asks for longer).
    pub max: Duration,
    /// Growth of the ceiling per attempt (values below 1 are treated as 1).
    pub factor: f64,
}

impl BackoffPolicy {
    /// A policy with factor 2.
    #[must_use]
    pub const fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            factor: 2.0,
        }
    }

    /// The ceiling of the delay for attempt `n` (0-based): `min(max, initial · factor^n)`.
    #[must_use]
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = if self.factor.is_finite() {
            self.factor.max(1.0)
        } else {
            1.0
        };
        let exp = i32::try_from(attempt).unwrap_or(i32::MAX);
        let grown = self.initial.as_secs_f64() * factor.powi(exp);
        // Too large (or not a number) for a `Duration` is past any cap.
        Duration::try_from_secs_f64(grown).map_or(self.max, |d| d.min(self.max))
    }
}

impl Default for BackoffPolicy {
    /// 500 ms doubling up to 5 minutes: quick after a blip, gentle on a service that is down.
    fn default() -> Self {
        Self::new(Duration::from_millis(500), Duration::from_secs(300))
    }
}

/// Stateful exponential backoff with full jitter. See the module docs.
#[derive(Debug, Clone)]
pub struct Backoff<R = StdRng> {
    policy: BackoffPolicy,
    attempt: u32,
    rng: R,
}

impl Backoff<StdRng> {
    /// A backoff with an OS-seeded random source.
    #[must_use]
    pub fn new(policy: BackoffPolicy) -> Self {
        Self::with_rng(policy, StdRng::from_os_rng())
    }
}

impl<R: Rng> Backoff<R> {
    /// A backoff drawing its jitter from `rng` (tests pass a seeded one).
    #[must_use]
    pub fn with_rng(policy: BackoffPolicy, rng: R) -> Self {
        Self {
            policy,
            attempt: 0,
            rng,
        }
    }

    /// How many delays were handed out since the last [`reset`](Self::reset).
    #[must_use]
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The ceiling the next delay is drawn under.
    #[must_use]
    pub fn current_ceiling(&self) -> Duration {
        self.policy.ceiling(self.attempt)
    }

    /// The next delay: uniform in `[0, ceiling]`; then the ceiling grows (up to the cap).
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.current_ceiling();
        self.attempt = self.attempt.saturating_add(1);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.rng.random_range(0..=nanos))
    }

    /// The next delay, but at least `retry_after` when the service asked for one (a 429 or 503
    /// `Retry-After`). The service's wish may exceed the cap: it knows its own load.
    pub fn next_delay_after(&mut self, retry_after: Option<Duration>) -> Duration {
        let delay = self.next_delay();
        retry_after.map_or(delay, |wait| delay.max(wait))
    }

    /// Starts over from the first ceiling (after a success).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded(policy: BackoffPolicy, seed: u64) -> Backoff<StdRng> {
        Backoff::with_rng(policy, StdRng::seed_from_u64(seed))
    }

    #[test]
    fn ceilings_grow_exponentially_and_are_capped() {
        let p = BackoffPolicy::new(Duration::from_millis(100), Duration::from_secs(2));
        let ceilings: Vec<u128> = (0..8).map(|n| p.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1600, 2000, 2000, 2000]);
        // Absurd attempt counts neither overflow nor panic.
        assert_eq!(p.ceiling(u32::MAX), Duration::from_secs(2));
        let flat = BackoffPolicy { factor: 0.5, ..p };
        assert_eq!(flat.ceiling(5), Duration::from_millis(100));
        let nan = BackoffPolicy {
            factor: f64::NAN,
            ..p
        };
        assert_eq!(nan.ceiling(5), Duration::from_millis(100));
    }

    #[test]
    fn delays_are_jittered_within_the_ceiling() {
        let p = BackoffPolicy::new(Duration::from_millis(100), Duration::from_secs(2));
        let mut b = seeded(p, 7);
        for n in 0..50 {
            let ceiling = b.current_ceiling();
            assert_eq!(ceiling, p.ceiling(n));
            let d = b.next_delay();
            assert!(d <= ceiling, "attempt {n}: {d:?} > {ceiling:?}");
        }
        assert_eq!(b.attempt(), 50);
        // Jitter really varies: capped draws are not all the same.
        let capped: Vec<Duration> = (0..20).map(|_| b.next_delay()).collect();
        assert!(capped.iter().any(|d| *d != capped[0]));
        assert!(capped.iter().all(|d| *d <= p.max));
    }

    #[test]
    fn delays_grow_on_average() {
        let p = BackoffPolicy::new(Duration::from_millis(10), Duration::from_secs(60));
        let mut sums = [Duration::ZERO; 6];
        for seed in 0..200 {
            let mut b = seeded(p, seed);
            for sum in &mut sums {
                *sum += b.next_delay();
            }
        }
        for w in sums.windows(2) {
            assert!(w[1] > w[0], "{sums:?}");
        }
        // The mean of full jitter is half the ceiling: attempt 5 has ceiling 320 ms.
        let mean5 = sums[5].as_secs_f64() / 200.0;
        assert!((0.12..0.2).contains(&mean5), "{mean5}");
    }

    #[test]
    fn same_seed_same_delays_and_reset_starts_over() {
        let p = BackoffPolicy::default();
        let mut a = seeded(p, 42);
        let mut b = seeded(p, 42);
        let da: Vec<Duration> = (0..10).map(|_| a.next_delay()).collect();
        let db: Vec<Duration> = (0..10).map(|_| b.next_delay()).collect();
        assert_eq!(da, db);
        a.reset();
        assert_eq!(a.attempt(), 0);
        assert_eq!(a.current_ceiling(), p.initial);
    }

    #[test]
    fn retry_after_is_a_floor() {
        let p = BackoffPolicy::new(Duration::from_millis(100), Duration::from_secs(1));
        let mut b = seeded(p, 1);
        assert_eq!(
            b.next_delay_after(Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
        assert!(b.next_delay_after(None) <= Duration::from_millis(200));
        assert_eq!(b.attempt(), 2);
    }

    #[test]
    fn os_seeded_constructor_works() {
        let mut b = Backoff::new(BackoffPolicy::default());
        assert!(b.next_delay() <= Duration::from_millis(500));
    }
}
