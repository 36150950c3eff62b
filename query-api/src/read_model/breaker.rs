//! A circuit breaker for Redis. Without it a dead Redis costs every cache miss a full Redis
//! timeout before PostgreSQL is asked; with it, after a few failures in a row Redis is skipped
//! for a cooldown, then one request at a time probes it until it answers again. Time comes from
//! a governor clock (the rate limiter's), so tests step it instead of sleeping.

use governor::clock::{Clock, DefaultClock, Reference};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

pub struct Breaker<C: Clock = DefaultClock> {
    clock: C,
    epoch: C::Instant,
    threshold: u32,
    cooldown: Duration,
    consecutive_failures: AtomicU32,
    /// Milliseconds since `epoch` until which calls are skipped; 0 = closed.
    open_until_ms: AtomicU64,
}

/// A state change the caller reports (log + metric) exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Opened,
    Closed,
}

impl Breaker {
    /// `threshold == 0` disables the breaker (Redis is always asked).
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Breaker::with_clock(threshold, cooldown, DefaultClock::default())
    }
}

impl<C: Clock> Breaker<C> {
    /// [`Breaker::new`] on a given clock.
    pub fn with_clock(threshold: u32, cooldown: Duration, clock: C) -> Self {
        Self {
            epoch: clock.now(),
            clock,
            threshold,
            cooldown,
            consecutive_failures: AtomicU32::new(0),
            open_until_ms: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        // +1 keeps 0 free to mean "closed".
        let elapsed = Duration::from(self.clock.now().duration_since(self.epoch));
        u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX - 1) + 1
    }

    fn cooldown_ms(&self) -> u64 {
        u64::try_from(self.cooldown.as_millis()).unwrap_or(u64::MAX / 2)
    }

    /// Whether this call may go to Redis. While open, the first caller after each cooldown wins
    /// the right to probe (and re-arms the cooldown, so a probe that never reports back cannot
    /// keep the breaker stuck).
    pub fn allow(&self) -> bool {
        let until = self.open_until_ms.load(Ordering::Acquire);
        if until == 0 {
            return true;
        }
        let now = self.now_ms();
        now >= until
            && self
                .open_until_ms
                .compare_exchange(
                    until,
                    now + self.cooldown_ms(),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
    }

    /// Whether Redis is considered healthy (for optional work like cache fills: no probing).
    pub fn is_closed(&self) -> bool {
        self.open_until_ms.load(Ordering::Acquire) == 0
    }

    pub fn success(&self) -> Option<Transition> {
        self.consecutive_failures.store(0, Ordering::Release);
        (self.open_until_ms.swap(0, Ordering::AcqRel) != 0).then_some(Transition::Closed)
    }

    pub fn failure(&self) -> Option<Transition> {
        let failures = self
            .consecutive_failures
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1);
        if self.threshold == 0 || failures < self.threshold {
            return None;
        }
        let until = self.now_ms() + self.cooldown_ms();
        (self.open_until_ms.swap(until, Ordering::AcqRel) == 0).then_some(Transition::Opened)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    #[test]
    fn opens_after_threshold_and_probes_after_cooldown() {
        let clock = FakeRelativeClock::default();
        let breaker = Breaker::with_clock(2, Duration::from_millis(30), clock.clone());
        assert!(breaker.allow());
        assert_eq!(breaker.failure(), None);
        assert_eq!(breaker.failure(), Some(Transition::Opened));
        assert!(!breaker.allow());
        assert!(!breaker.is_closed());
        clock.advance(Duration::from_millis(29));
        assert!(!breaker.allow(), "still cooling down");
        clock.advance(Duration::from_millis(1));
        assert!(breaker.allow(), "one probe after the cooldown");
        assert!(!breaker.allow(), "only one");
        clock.advance(Duration::from_millis(30));
        assert!(
            breaker.allow(),
            "a probe that never reported back re-arms the cooldown"
        );
        assert_eq!(breaker.success(), Some(Transition::Closed));
        assert!(breaker.allow());
        assert_eq!(breaker.success(), None);
    }

    #[test]
    fn zero_threshold_never_opens() {
        let breaker = Breaker::new(0, Duration::from_secs(60));
        for _ in 0..10 {
            assert_eq!(breaker.failure(), None);
        }
        assert!(breaker.allow());
    }
}
