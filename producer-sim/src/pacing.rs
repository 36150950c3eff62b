//! How producer-sim spaces its records: the pipeline's shared pacer (governor's GCRA), allowed to
//! catch up 20 ms of lateness so the stream keeps its rate, never a stall's worth at once.

use pipeline_runtime::pacing::Pacer;
use std::time::Duration;

/// How far behind schedule the sender may catch up at once: covers a thread's sleep overshoot
/// and a slow record; at 1,000/s that is a burst of at most 21 records.
pub const SLACK: Duration = Duration::from_millis(20);

/// The pacer of a stream at `rate` records per second (`0` or less: as fast as possible).
pub fn pacer(rate: f64) -> Pacer {
    Pacer::new(Some(rate), SLACK)
}
