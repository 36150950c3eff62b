//! Even spacing of records at a target rate. Each record has a due time on a fixed schedule
//! (`start + n / rate`), so sleep overshoot never accumulates into a slower rate; and when the
//! sender falls behind (a broker stall), the schedule restarts instead of bursting to catch up,
//! so consumers never see a second's worth of records at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How far behind schedule we may be before giving up on catching up.
const MAX_LAG: Duration = Duration::from_millis(20);
/// Longest single sleep, so a stop request is noticed promptly even at very low rates.
const MAX_SLEEP: Duration = Duration::from_millis(50);

/// Schedules records at a fixed rate (or not at all, for "as fast as possible").
#[derive(Debug)]
pub struct Pacer {
    interval: Option<Duration>,
    start: Option<Instant>,
    /// Records released since `start`.
    released: u32,
}

impl Pacer {
    /// `rate` records per second; `0` (or less) disables pacing.
    pub fn new(rate: f64) -> Self {
        let interval = (rate > 0.0).then(|| Duration::from_secs_f64(1.0 / rate));
        Self {
            interval,
            start: None,
            released: 0,
        }
    }

    /// `None` if the next record may go at `now` (and counts it as released), otherwise how long
    /// to wait before asking again.
    pub fn poll(&mut self, now: Instant) -> Option<Duration> {
        let interval = self.interval?;
        let start = *self.start.get_or_insert(now);
        let due = start + interval * self.released;
        if now < due {
            return Some(due - now);
        }
        if now - due > MAX_LAG.max(interval * 2) {
            // Too far behind: restart the schedule here rather than burst.
            self.start = Some(now);
            self.released = 0;
        }
        self.released += 1;
        if self.released == u32::MAX {
            // Rebase before `interval * released` could overflow on endless runs.
            self.start = Some(self.start.unwrap_or(now) + interval * self.released);
            self.released = 0;
        }
        None
    }

    /// Blocks until the next record is due. Returns `false` if `stop` was raised meanwhile.
    pub fn wait(&mut self, stop: &AtomicBool) -> bool {
        loop {
            if stop.load(Ordering::Relaxed) {
                return false;
            }
            match self.poll(Instant::now()) {
                None => return true,
                Some(delay) => std::thread::sleep(delay.min(MAX_SLEEP)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_never_waits() {
        let mut pacer = Pacer::new(0.0);
        let now = Instant::now();
        assert!((0..1000).all(|_| pacer.poll(now).is_none()));
    }

    #[test]
    fn spaces_records_evenly() {
        let mut pacer = Pacer::new(100.0);
        let start = Instant::now();
        assert_eq!(pacer.poll(start), None);
        assert_eq!(pacer.poll(start), Some(Duration::from_millis(10)));
        assert_eq!(
            pacer.poll(start + Duration::from_millis(4)),
            Some(Duration::from_millis(6))
        );
        assert_eq!(pacer.poll(start + Duration::from_millis(10)), None);
        // Slightly late (sleep overshoot): released at once, the schedule keeps its origin.
        assert_eq!(pacer.poll(start + Duration::from_millis(21)), None);
        assert_eq!(
            pacer.poll(start + Duration::from_millis(22)),
            Some(Duration::from_millis(8))
        );
    }

    #[test]
    fn does_not_burst_after_a_stall() {
        let mut pacer = Pacer::new(1000.0);
        let start = Instant::now();
        assert_eq!(pacer.poll(start), None);
        // A one-second stall must not release the thousand records it "owes".
        let later = start + Duration::from_secs(1);
        assert_eq!(pacer.poll(later), None);
        assert_eq!(pacer.poll(later), Some(Duration::from_millis(1)));
    }
}
