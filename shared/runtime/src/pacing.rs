//! Even spacing of sends at a target rate, for producer-sim's stream and `ingest dlq replay
//! --rate`: governor's GCRA does the arithmetic, this module only chooses the burst and waits.
//!
//! The burst is the `slack` a caller grants: a sender that wakes up a little late (a thread's
//! sleep overshoots by tens of microseconds, a record takes a moment to build) may catch up that
//! much at once, so the rate holds; after a real stall (a broker election, a slow send) it never
//! bursts more than the slack, so consumers never see a second's worth of records at once.
//! A zero slack is a burst of one: the send after a stall goes at once, the next a full interval
//! later. The clock is a parameter so tests step time instead of sleeping.

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Longest single sleep of [`Pacer::wait_blocking`], so a stop request is noticed promptly even
/// at very low rates.
const MAX_SLEEP: Duration = Duration::from_millis(50);

type Limiter<C> = RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// Releases sends at `rate` per second, or all at once without a rate.
pub struct Pacer<C: Clock = DefaultClock> {
    limiter: Option<Limiter<C>>,
    clock: C,
}

impl<C: Clock> std::fmt::Debug for Pacer<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("limited", &self.limiter.is_some())
            .finish()
    }
}

impl Pacer {
    /// `rate` sends per second (`None`, zero, negative or not finite: unpaced); `slack` how far
    /// behind schedule the sender may catch up at once.
    pub fn new(rate: Option<f64>, slack: Duration) -> Pacer {
        Pacer::with_clock(rate, slack, DefaultClock::default())
    }
}

impl<C: Clock + Clone> Pacer<C> {
    /// [`Pacer::new`] on a given clock (tests use governor's `FakeRelativeClock`).
    pub fn with_clock(rate: Option<f64>, slack: Duration, clock: C) -> Self {
        let limiter = rate
            .filter(|r| r.is_finite() && *r > 0.0)
            .and_then(|r| {
                let period = Duration::from_secs_f64(1.0 / r);
                // GCRA tolerates (burst - 1) periods of lateness: that is the slack.
                let late = slack.as_nanos() / period.as_nanos().max(1);
                let burst = u32::try_from(late.saturating_add(1)).unwrap_or(u32::MAX);
                Quota::with_period(period).map(|quota| {
                    quota.allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
                })
            })
            .map(|quota| RateLimiter::direct_with_clock(quota, clock.clone()));
        Pacer { limiter, clock }
    }

    /// Takes the next slot if it is free now; otherwise says how long until it is.
    pub fn try_take(&self) -> Result<(), Duration> {
        match &self.limiter {
            None => Ok(()),
            Some(limiter) => limiter
                .check()
                .map_err(|not_until| not_until.wait_time_from(self.clock.now())),
        }
    }

    /// Waits (asynchronously) for the next slot and takes it.
    pub async fn wait(&self) {
        while let Err(wait) = self.try_take() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Blocks the thread until the next slot is taken; `false` if `stop` was raised meanwhile.
    pub fn wait_blocking(&self, stop: &AtomicBool) -> bool {
        loop {
            if stop.load(Ordering::Relaxed) {
                return false;
            }
            match self.try_take() {
                Ok(()) => return true,
                Err(wait) => std::thread::sleep(wait.min(MAX_SLEEP)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn without_a_rate_nothing_waits() {
        for rate in [None, Some(0.0), Some(-1.0), Some(f64::NAN)] {
            let pacer = Pacer::with_clock(rate, MS * 20, FakeRelativeClock::default());
            assert!((0..1000).all(|_| pacer.try_take().is_ok()), "{rate:?}");
        }
    }

    #[test]
    fn zero_slack_spaces_sends_evenly_without_catching_up() {
        let clock = FakeRelativeClock::default();
        let pacer = Pacer::with_clock(Some(20.0), Duration::ZERO, clock.clone());
        assert_eq!(pacer.try_take(), Ok(()), "the first send goes at once");
        assert_eq!(pacer.try_take(), Err(MS * 50));
        clock.advance(MS * 30);
        assert_eq!(pacer.try_take(), Err(MS * 20));
        clock.advance(MS * 20);
        assert_eq!(pacer.try_take(), Ok(()));
        // A slow send (a second) earns no burst: one send now, the next a full interval later.
        clock.advance(Duration::from_secs(1));
        assert_eq!(pacer.try_take(), Ok(()));
        assert_eq!(pacer.try_take(), Err(MS * 50));
    }

    #[test]
    fn slack_absorbs_a_late_wake_up_so_the_rate_holds() {
        let clock = FakeRelativeClock::default();
        let pacer = Pacer::with_clock(Some(100.0), MS * 20, clock.clone());
        while pacer.try_take().is_ok() {} // the first slack's worth goes at once
                                          // Each wake-up 3 ms late: over 100 wake-ups the rate holds (a burst of one would lose
                                          // 3 ms per send, 30 % at this rate).
        let mut sent = 0;
        for _ in 0..100 {
            clock.advance(MS * 13);
            while pacer.try_take().is_ok() {
                sent += 1;
            }
        }
        assert_eq!(sent, 130, "sends in 1.3 s at 100/s");
    }

    #[test]
    fn a_stall_releases_no_more_than_the_slack() {
        let clock = FakeRelativeClock::default();
        let pacer = Pacer::with_clock(Some(1000.0), MS * 20, clock.clone());
        while pacer.try_take().is_ok() {}
        // A one-second stall must not release the thousand sends it "owes": the one due now and
        // the slack's 20.
        clock.advance(Duration::from_secs(1));
        let mut released = 0;
        while pacer.try_take().is_ok() {
            released += 1;
        }
        assert_eq!(released, 21);
        assert_eq!(pacer.try_take(), Err(MS));
    }

    #[test]
    fn a_raised_stop_ends_the_blocking_wait() {
        let pacer = Pacer::with_clock(Some(0.001), Duration::ZERO, FakeRelativeClock::default());
        let stop = AtomicBool::new(false);
        assert!(pacer.wait_blocking(&stop), "the first slot is free");
        stop.store(true, Ordering::Relaxed);
        assert!(
            !pacer.wait_blocking(&stop),
            "the second is 1000 s away: stop wins"
        );
    }
}
