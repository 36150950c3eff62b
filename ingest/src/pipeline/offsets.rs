//! Per-partition bookkeeping of which consumed records are settled, so an offset is stored only
//! up to the highest offset below which *every* record's outcome is durable (contract §2).
//!
//! Records settle out of order (a batch in flight while the next one is assembled, retry records
//! parked until due), so each partition keeps the set of records consumed but not yet safe to
//! pass. The safe position only moves forward. Each assignment of a partition gets a new epoch:
//! results of records consumed under an earlier assignment are ignored, because after a revoke
//! another member owns the partition and its committed offset.
//!
//! A record is `Pending` while it waits in the assembler, `InFlight` once a batch settling it
//! has started, and `Settled` once its outcome is durable. Before a revoked partition is handed
//! over, the rebalance callback waits for its in-flight records (their outcome may already be
//! durable: a dead letter acknowledged, a row committed) so the committed offset includes them;
//! pending ones are simply left to the next owner.

use super::record::TopicPartition;
use std::collections::{BTreeMap, HashMap};

/// Where a consumed record stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Consumed, not yet handed to a batch (pending or parked in the assembler).
    Pending,
    /// In a batch being settled: its outcome may become durable at any moment.
    InFlight,
    /// Its outcome is durable.
    Settled,
}

#[derive(Debug)]
struct PartitionOffsets {
    epoch: u64,
    /// Offsets consumed and not yet passed by `safe`, with where each stands.
    open: BTreeMap<i64, Slot>,
    /// The next offset to consume after a restart: every record below it is settled.
    safe: Option<i64>,
    /// The last value handed to librdkafka's offset store.
    stored: Option<i64>,
}

impl PartitionOffsets {
    /// Moves `safe` over the settled prefix of `open`.
    fn pass_settled(&mut self) {
        while let Some(entry) = self.open.first_entry() {
            if *entry.get() != Slot::Settled {
                break;
            }
            let offset = *entry.key();
            entry.remove();
            self.safe = Some(offset + 1);
        }
    }
}

#[derive(Debug, Default)]
pub struct OffsetTracker {
    partitions: HashMap<TopicPartition, PartitionOffsets>,
    last_epoch: u64,
}

impl OffsetTracker {
    /// Starts a fresh epoch for a newly assigned partition.
    pub fn assign(&mut self, tp: TopicPartition) -> u64 {
        self.last_epoch += 1;
        let state = PartitionOffsets {
            epoch: self.last_epoch,
            open: BTreeMap::new(),
            safe: None,
            stored: None,
        };
        self.partitions.insert(tp, state);
        self.last_epoch
    }

    /// Forgets a revoked partition; returns its safe offset (if any record settled) for a last
    /// synchronous commit before the partition moves to another member.
    /// The safe offset includes every record settled by now, even if [`advance`] has not run
    /// since.
    ///
    /// [`advance`]: OffsetTracker::advance
    pub fn revoke(&mut self, tp: &TopicPartition) -> Option<i64> {
        let mut state = self.partitions.remove(tp)?;
        state.pass_settled();
        state.safe
    }

    /// The current epoch of `tp`, if it is assigned.
    pub fn epoch(&self, tp: &TopicPartition) -> Option<u64> {
        self.partitions.get(tp).map(|state| state.epoch)
    }

    /// Registers a consumed record and returns the epoch it belongs to. A partition we have not
    /// seen assigned (cannot normally happen) gets an epoch so its records are not lost.
    pub fn admit(&mut self, tp: &TopicPartition, offset: i64) -> u64 {
        if !self.partitions.contains_key(tp) {
            self.assign(tp.clone());
        }
        match self.partitions.get_mut(tp) {
            Some(state) => {
                state.open.insert(offset, Slot::Pending);
                state.epoch
            }
            None => 0,
        }
    }

    /// The slot of a record of the current assignment of `tp`, if it is still open.
    fn slot(&mut self, tp: &TopicPartition, epoch: u64, offset: i64) -> Option<&mut Slot> {
        match self.partitions.get_mut(tp) {
            Some(state) if state.epoch == epoch => state.open.get_mut(&offset),
            _ => None,
        }
    }

    /// Marks a pending record as taken into a batch. Returns false when the record belongs to
    /// an earlier assignment (the batch must drop it).
    pub fn start(&mut self, tp: &TopicPartition, epoch: u64, offset: i64) -> bool {
        match self.slot(tp, epoch, offset) {
            Some(slot) => {
                if *slot == Slot::Pending {
                    *slot = Slot::InFlight;
                }
                true
            }
            None => false,
        }
    }

    /// A batch ended (or was abandoned) without settling this record: it is pending again.
    pub fn release(&mut self, tp: &TopicPartition, epoch: u64, offset: i64) {
        if let Some(slot) = self.slot(tp, epoch, offset) {
            if *slot == Slot::InFlight {
                *slot = Slot::Pending;
            }
        }
    }

    /// Marks a record's outcome durable. Returns false (and changes nothing) when the record
    /// belongs to an earlier assignment.
    pub fn settle(&mut self, tp: &TopicPartition, epoch: u64, offset: i64) -> bool {
        match self.slot(tp, epoch, offset) {
            Some(slot) => {
                *slot = Slot::Settled;
                true
            }
            None => false,
        }
    }

    /// Records of `partitions` taken into a batch and not settled yet.
    pub fn in_flight(&self, partitions: &[TopicPartition]) -> usize {
        partitions
            .iter()
            .filter_map(|tp| self.partitions.get(tp))
            .map(|state| {
                state
                    .open
                    .values()
                    .filter(|slot| **slot == Slot::InFlight)
                    .count()
            })
            .sum()
    }

    /// Moves each partition's safe position over its settled prefix and returns the partitions
    /// whose safe offset is now ahead of what was last stored.
    pub fn advance(&mut self) -> Vec<(TopicPartition, i64)> {
        let mut moved = Vec::new();
        for (tp, state) in &mut self.partitions {
            state.pass_settled();
            if let Some(safe) = state.safe {
                if state.stored.is_none_or(|stored| safe > stored) {
                    state.stored = Some(safe);
                    moved.push((tp.clone(), safe));
                }
            }
        }
        moved
    }

    /// Every assigned partition's safe offset, for the final commit on shutdown.
    pub fn safe_offsets(&self) -> Vec<(TopicPartition, i64)> {
        self.partitions
            .iter()
            .filter_map(|(tp, state)| state.safe.map(|safe| (tp.clone(), safe)))
            .collect()
    }

    /// Records consumed but not settled, across partitions.
    pub fn open_records(&self) -> usize {
        self.partitions
            .values()
            .map(|state| {
                state
                    .open
                    .values()
                    .filter(|slot| **slot != Slot::Settled)
                    .count()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(partition: i32) -> TopicPartition {
        TopicPartition {
            topic: "orders".into(),
            partition,
        }
    }

    /// A tracker with `partition` assigned, and the assignment's epoch.
    fn assigned(partition: i32) -> (OffsetTracker, u64) {
        let mut tracker = OffsetTracker::default();
        let epoch = tracker.assign(tp(partition));
        (tracker, epoch)
    }

    #[test]
    fn never_passes_an_unsettled_record() {
        let (mut tracker, epoch) = assigned(0);
        for offset in 10..15 {
            assert_eq!(tracker.admit(&tp(0), offset), epoch);
        }
        assert!(tracker.settle(&tp(0), epoch, 10));
        assert!(tracker.settle(&tp(0), epoch, 12));
        assert_eq!(tracker.advance(), vec![(tp(0), 11)]);
        assert!(tracker.settle(&tp(0), epoch, 11));
        assert_eq!(tracker.advance(), vec![(tp(0), 13)]);
        assert_eq!(tracker.advance(), vec![], "nothing new to store");
        assert_eq!(tracker.open_records(), 2);
    }

    #[test]
    fn results_of_an_earlier_assignment_are_ignored() {
        let (mut tracker, old) = assigned(1);
        tracker.admit(&tp(1), 5);
        tracker.settle(&tp(1), old, 5);
        tracker.admit(&tp(1), 6);
        assert_eq!(
            tracker.revoke(&tp(1)),
            Some(6),
            "what is settled counts, even before advance"
        );
        let new = tracker.assign(tp(1));
        assert_ne!(old, new);
        assert!(!tracker.settle(&tp(1), old, 6));
        tracker.admit(&tp(1), 100);
        assert!(tracker.settle(&tp(1), new, 100));
        assert_eq!(tracker.advance(), vec![(tp(1), 101)]);
        assert_eq!(tracker.revoke(&tp(1)), Some(101));
    }

    #[test]
    fn only_records_taken_into_a_batch_count_as_in_flight() {
        let (mut tracker, epoch) = assigned(3);
        for offset in 0..4 {
            tracker.admit(&tp(3), offset);
        }
        assert_eq!(tracker.in_flight(&[tp(3)]), 0, "pending is not in flight");
        assert!(tracker.start(&tp(3), epoch, 0));
        assert!(tracker.start(&tp(3), epoch, 1));
        assert!(!tracker.start(&tp(3), epoch + 1, 2), "other assignment");
        assert_eq!(tracker.in_flight(&[tp(3)]), 2);
        assert_eq!(tracker.in_flight(&[tp(4)]), 0);
        tracker.settle(&tp(3), epoch, 0);
        tracker.release(&tp(3), epoch, 1);
        tracker.release(&tp(3), epoch, 0); // settled stays settled
        assert_eq!(tracker.in_flight(&[tp(3)]), 0);
        assert_eq!(tracker.advance(), vec![(tp(3), 1)]);
        assert_eq!(tracker.open_records(), 3);
    }

    #[test]
    fn gaps_in_offsets_are_fine() {
        let (mut tracker, epoch) = assigned(2);
        tracker.admit(&tp(2), 3);
        tracker.admit(&tp(2), 7);
        tracker.settle(&tp(2), epoch, 7);
        assert_eq!(tracker.advance(), vec![]);
        tracker.settle(&tp(2), epoch, 3);
        assert_eq!(tracker.advance(), vec![(tp(2), 8)]);
        assert_eq!(tracker.safe_offsets(), vec![(tp(2), 8)]);
    }
}
