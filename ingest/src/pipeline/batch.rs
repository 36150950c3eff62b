//! Batch assembly: consumed records gather until the batch is full or has lingered long enough,
//! and retry-topic records that are not due yet are parked with their partition paused.
//!
//! Several batches may be in flight, and the first stored version of an order wins (a later,
//! different one is a conflict). So that "first" means first consumed, a record whose order is
//! already in a batch in flight waits for that batch to end, and so does every later record of
//! that order; records of other orders pass it.
//!
//! A parked record stays in memory, registered (unsettled) with the offset tracker, together with
//! every later record of its partition that was already consumed, so the partition's offset
//! cannot pass it; [`Flow`] pauses the partition meanwhile. Pausing makes librdkafka fetch that partition from the first record not yet
//! handed to us once resumed, so nothing is fetched twice or skipped; other partitions keep
//! flowing and the loop keeps polling meanwhile.

use super::consumer::Shared;
#[cfg(doc)]
use super::flow::Flow;
use super::record::{Record, TopicPartition};
use super::retry;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug)]
struct Parked {
    epoch: u64,
    due: Instant,
    records: VecDeque<Record>,
}

#[derive(Debug)]
pub struct Assembler {
    pending: VecDeque<Record>,
    /// When the oldest pending record arrived: the batch is ready `linger` after it.
    oldest: Option<Instant>,
    batch_size: usize,
    linger: Duration,
    parked: HashMap<TopicPartition, Parked>,
    /// Order uids in batches in flight, with how many of their records each.
    in_flight: HashMap<Arc<str>, usize>,
    /// Everything pending waits for a batch in flight: not ready until one ends or more arrive.
    waiting: bool,
}

impl Assembler {
    pub fn new(batch_size: usize, linger: Duration) -> Self {
        Self {
            pending: VecDeque::new(),
            oldest: None,
            batch_size: batch_size.max(1),
            linger,
            parked: HashMap::new(),
            in_flight: HashMap::new(),
            waiting: false,
        }
    }

    /// Adds a consumed record to the next batch, or parks it if it is a retry not yet due.
    pub fn push(&mut self, record: Record, shared: &Shared) {
        if let Some(parked) = self.parked.get_mut(&record.tp) {
            if parked.epoch == record.epoch {
                // Fetched before the pause took effect: it queues behind the parked one.
                parked.records.push_back(record);
                return;
            }
            // The partition was revoked and assigned again since it was parked.
            self.parked.remove(&record.tp);
        }
        if let Some(wait) = retry::due_in(&record, retry::now_ms()) {
            {
                let _entered = record.span.enter();
                shared.events.retry_deferred(
                    &record.tp.topic,
                    record.tp.partition,
                    record.offset,
                    wait,
                );
            }
            let due = Instant::now() + wait;
            shared.flow.park(&record.tp, due);
            let parked = Parked {
                epoch: record.epoch,
                due,
                records: VecDeque::from([record]),
            };
            self.parked.insert(parked.records[0].tp.clone(), parked);
            return;
        }
        self.oldest.get_or_insert_with(Instant::now);
        self.pending.push_back(record);
        self.waiting = false;
    }

    pub fn is_full(&self) -> bool {
        self.pending.len() >= self.batch_size
    }

    /// When the pending batch becomes ready by lingering, if anything is pending.
    pub fn deadline(&self) -> Option<Instant> {
        self.oldest
            .filter(|_| !self.waiting)
            .map(|oldest| oldest + self.linger)
    }

    pub fn is_ready(&self, now: Instant) -> bool {
        !self.waiting && (self.is_full() || self.deadline().is_some_and(|deadline| deadline <= now))
    }

    /// Takes the next batch and marks its records in flight with the offset tracker, dropping
    /// records of partitions revoked since they were consumed (their new owner processes them).
    /// Records of orders still in flight stay pending, in order. Returns the batch and its
    /// order uids, to hand back to [`Assembler::finished`] when the batch ends.
    pub fn take(&mut self, shared: &Shared) -> (Vec<Record>, Vec<Arc<str>>) {
        let mut batch = Vec::with_capacity(self.pending.len().min(self.batch_size));
        let mut waiting = VecDeque::new();
        // Uids that wait in this pass: their later records must not overtake them.
        let mut waiting_uids: HashSet<Box<str>> = HashSet::new();
        let mut tracker = shared.tracker();
        while batch.len() < self.batch_size {
            let Some(record) = self.pending.pop_front() else {
                break;
            };
            if let Some(uid) = record.uid() {
                if self.in_flight.contains_key(uid) || waiting_uids.contains(uid) {
                    waiting_uids.insert(uid.into());
                    waiting.push_back(record);
                    continue;
                }
            }
            if tracker.start(&record.tp, record.epoch, record.offset) {
                batch.push(record);
            }
        }
        drop(tracker);
        let uids: Vec<Arc<str>> = batch
            .iter()
            .filter_map(Record::uid)
            .map(Arc::from)
            .collect();
        for uid in &uids {
            *self.in_flight.entry(Arc::clone(uid)).or_default() += 1;
        }
        while let Some(record) = waiting.pop_back() {
            self.pending.push_front(record);
        }
        self.waiting = batch.is_empty() && !self.pending.is_empty();
        self.oldest = (!self.pending.is_empty()).then(Instant::now);
        (batch, uids)
    }

    /// A batch ended: its orders no longer hold back later records of theirs.
    pub fn finished(&mut self, uids: &[Arc<str>]) {
        for uid in uids {
            if let Some(count) = self.in_flight.get_mut(uid) {
                *count -= 1;
                if *count == 0 {
                    self.in_flight.remove(uid);
                }
            }
        }
        self.waiting = false;
    }

    /// Records consumed but not yet in a batch (pending and parked).
    pub fn held_back(&self) -> usize {
        self.pending.len() + self.parked.values().map(|p| p.records.len()).sum::<usize>()
    }

    /// The earliest time a parked partition is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.parked.values().map(|p| p.due).min()
    }

    /// Resumes parked partitions that are due and feeds their records back through [`push`]
    /// (a later record of the same partition may park it again).
    ///
    /// [`push`]: Assembler::push
    pub fn release_due(&mut self, now: Instant, shared: &Shared) {
        let due: Vec<TopicPartition> = self
            .parked
            .iter()
            .filter(|(_, p)| p.due <= now)
            .map(|(tp, _)| tp.clone())
            .collect();
        for tp in due {
            let Some(parked) = self.parked.remove(&tp) else {
                continue;
            };
            if shared.tracker().epoch(&tp) != Some(parked.epoch) {
                continue; // revoked meanwhile: the new owner has these records
            }
            shared.flow.unpark(&tp);
            for record in parked.records {
                self.push(record, shared);
            }
        }
    }
}
