//! A circuit breaker for Redis. Without it a dead Redis costs every cache miss a full Redis
//! timeout before PostgreSQL is asked; with it, after a few failures in a row Redis is skipped
//! for a cooldown, then one request at a time probes it until it answers again.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub struct Breaker {
    epoch: Instant,
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
        Self {
            epoch: Instant::now(),
            threshold,
            cooldown,
            consecutive_failures: AtomicU32::new(0),
            open_until_ms: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        // +1 keeps 0 free to mean "closed".
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1
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

    #[test]
    fn opens_after_threshold_and_probes_after_cooldown() {
        let breaker = Breaker::new(2, Duration::from_millis(30));
        assert!(breaker.allow());
        assert_eq!(breaker.failure(), None);
        assert_eq!(breaker.failure(), Some(Transition::Opened));
        assert!(!breaker.allow());
        assert!(!breaker.is_closed());
        std::thread::sleep(Duration::from_millis(40));
        assert!(breaker.allow(), "one probe after the cooldown");
        assert!(!breaker.allow(), "only one");
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
