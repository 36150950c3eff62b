//! State shared by the consume loop, the batches in flight and the rebalance callbacks: the
//! offset tracker, synchronous commits, and flow control ([`Flow`]: why partitions are paused).
//!
//! The mutexes are never held while calling into librdkafka, because a synchronous commit can
//! run our `commit_callback` on the same thread.

use super::flow::Flow;
use super::offsets::OffsetTracker;
use super::record::TopicPartition;
use crate::events::Events;
use rdkafka::consumer::{CommitMode, Consumer, ConsumerContext};
use rdkafka::{Offset, TopicPartitionList};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// State shared by the consume loop and the rebalance callbacks.
#[derive(Debug)]
pub struct Shared {
    tracker: Mutex<OffsetTracker>,
    /// Signalled whenever records stop being in flight (settled, or released by their batch).
    landed: Condvar,
    pub flow: Flow,
    pub events: Events,
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere cannot leave these plain maps half-updated in a harmful way.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(super) fn list(partitions: &[TopicPartition]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::with_capacity(partitions.len());
    for tp in partitions {
        tpl.add_partition(&tp.topic, tp.partition);
    }
    tpl
}

/// `offsets` as a list for librdkafka; an entry it refuses is reported as a failed `action`.
pub(super) fn offset_list(
    offsets: &[(TopicPartition, i64)],
    events: &Events,
    action: &'static str,
) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::with_capacity(offsets.len());
    for (tp, offset) in offsets {
        if let Err(err) = tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*offset))
        {
            events.offsets_failed(action, &err);
        }
    }
    tpl
}

pub(super) fn partitions_of(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements()
        .iter()
        .map(|e| TopicPartition {
            topic: e.topic().into(),
            partition: e.partition(),
        })
        .collect()
}

impl Shared {
    pub fn new(events: Events) -> Self {
        Self {
            tracker: Mutex::default(),
            landed: Condvar::new(),
            flow: Flow::new(events.clone()),
            events,
        }
    }

    pub fn tracker(&self) -> MutexGuard<'_, OffsetTracker> {
        lock(&self.tracker)
    }

    /// Runs `f` on the tracker, then wakes a rebalance callback waiting for records in flight.
    pub fn update_tracker<R>(&self, f: impl FnOnce(&mut OffsetTracker) -> R) -> R {
        let result = f(&mut self.tracker());
        self.landed.notify_all();
        result
    }

    /// Blocks until no record of `partitions` is in flight or `timeout` passes; returns how many
    /// still are. Batches settle on other threads, so this must not run where they are polled.
    pub fn await_in_flight(&self, partitions: &[TopicPartition], timeout: Duration) -> usize {
        let give_up = Instant::now() + timeout;
        let mut tracker = self.tracker();
        loop {
            let open = tracker.in_flight(partitions);
            let left = give_up.saturating_duration_since(Instant::now());
            if open == 0 || left.is_zero() {
                return open;
            }
            tracker = self
                .landed
                .wait_timeout(tracker, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Commits `offsets` synchronously (revoke, shutdown).
    pub fn commit<C: ConsumerContext, K: Consumer<C>>(
        &self,
        consumer: &K,
        offsets: &[(TopicPartition, i64)],
        reason: &'static str,
    ) {
        if offsets.is_empty() {
            return;
        }
        let tpl = offset_list(offsets, &self.events, "commit");
        match consumer.commit(&tpl, CommitMode::Sync) {
            Ok(()) => self.events.offsets_committed(reason, offsets.len()),
            Err(err) => self.events.offsets_failed("commit", &err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Health;
    use crate::metrics::IngestMetrics;
    use std::sync::Arc;

    fn shared() -> Arc<Shared> {
        let metrics = Arc::new(IngestMetrics::new().expect("metrics"));
        Arc::new(Shared::new(Events::new(
            metrics,
            Arc::new(Health::default()),
        )))
    }

    /// How long a test waits for an answer before calling the code under test hung (a bound on a
    /// hang, not a speed check).
    const GUARD: Duration = Duration::from_secs(60);

    /// `await_in_flight` on `partition` with `timeout`, on a thread of its own: its answer
    /// arrives on the receiver.
    fn await_on_a_thread(
        shared: &Arc<Shared>,
        partition: i32,
        timeout: Duration,
    ) -> std::sync::mpsc::Receiver<usize> {
        let (answer, answered) = std::sync::mpsc::channel();
        let shared = Arc::clone(shared);
        std::thread::spawn(move || {
            let _ = answer.send(shared.await_in_flight(&[tp(partition)], timeout));
        });
        answered
    }

    fn tp(partition: i32) -> TopicPartition {
        TopicPartition {
            topic: "orders".into(),
            partition,
        }
    }

    #[test]
    fn a_revoke_waits_for_records_in_flight_on_its_partitions_only() {
        let shared = shared();
        let epoch = {
            let mut tracker = shared.tracker();
            let epoch = tracker.assign(tp(0));
            let other = tracker.assign(tp(1));
            tracker.admit(&tp(0), 7);
            tracker.admit(&tp(0), 8); // pending: not waited for
            tracker.admit(&tp(1), 3);
            assert!(tracker.start(&tp(0), epoch, 7));
            assert!(tracker.start(&tp(1), other, 3));
            epoch
        };
        // A bound no test waits out: only the settle can end this wait (with 0 in flight).
        let waiting = await_on_a_thread(&shared, 0, Duration::from_secs(24 * 3600));
        let settler = {
            let shared = shared.clone();
            std::thread::spawn(move || {
                // A moment for the wait to begin (begun later, it finds the record settled).
                std::thread::sleep(Duration::from_millis(100));
                shared.update_tracker(|tracker| tracker.settle(&tp(0), epoch, 7));
            })
        };
        let open = waiting
            .recv_timeout(GUARD)
            .expect("the wait did not end within a minute of the settle: not woken by it");
        assert_eq!(open, 0);
        settler.join().expect("settler");
        assert_eq!(shared.tracker().revoke(&tp(0)), Some(8));

        // Nothing settles partition 1: the wait gives up at its bound, the record still in flight.
        let gave_up = await_on_a_thread(&shared, 1, Duration::from_millis(100));
        let open = gave_up
            .recv_timeout(GUARD)
            .expect("the wait did not give up at its bound");
        assert_eq!(open, 1);
    }
}
