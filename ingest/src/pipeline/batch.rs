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

/// How much an assembler may hold, in records and bytes.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most records in one batch.
    pub batch_size: usize,
    /// Most bytes in one batch (a single larger record still makes a batch).
    pub batch_bytes: usize,
    /// Most bytes of pending records (parked ones are few: see [`Assembler::has_room`]).
    pub pending_bytes: usize,
    /// The longest a retry record waits, whatever its header says.
    pub retry_max_delay: Duration,
}

#[derive(Debug)]
pub struct Assembler {
    pending: VecDeque<Record>,
    /// Bytes of the pending and parked records.
    held_bytes: usize,
    /// Bytes of the pending records alone.
    pending_bytes: usize,
    /// When the oldest pending record arrived: the batch is ready `linger` after it.
    oldest: Option<Instant>,
    limits: Limits,
    linger: Duration,
    parked: HashMap<TopicPartition, Parked>,
    /// Order uids in batches in flight, with how many of their records each.
    in_flight: HashMap<Arc<str>, usize>,
    /// Everything pending waits for a batch in flight: not ready until one ends or more arrive.
    waiting: bool,
}

impl Assembler {
    pub fn new(limits: Limits, linger: Duration) -> Self {
        Self {
            pending: VecDeque::new(),
            held_bytes: 0,
            pending_bytes: 0,
            oldest: None,
            limits: Limits {
                batch_size: limits.batch_size.max(1),
                ..limits
            },
            linger,
            parked: HashMap::new(),
            in_flight: HashMap::new(),
            waiting: false,
        }
    }

    /// Adds a consumed record to the next batch, or parks it if it is a retry not yet due.
    pub fn push(&mut self, record: Record, shared: &Shared) {
        self.held_bytes += record.size;
        self.enqueue(record, shared);
    }

    fn enqueue(&mut self, mut record: Record, shared: &Shared) {
        if let Some(parked) = self.parked.get_mut(&record.tp) {
            if parked.epoch == record.epoch {
                // Fetched before the pause took effect: it queues behind the parked one.
                parked.records.push_back(record);
                return;
            }
            // The partition was revoked and assigned again since it was parked.
            if let Some(gone) = self.parked.remove(&record.tp) {
                self.held_bytes -= gone.records.iter().map(|r| r.size).sum::<usize>();
            }
        }
        // A record that is no valid order (or no valid retry) is a dead letter now, whatever its
        // due time says: parking it would only hold its partition back. The due time is read
        // once, when the record is first seen, so the cap holds from then on.
        let now = Instant::now();
        if record.decoded.is_ok() && record.due.is_none() {
            let wait = retry::due_in(&record, retry::now_ms(), self.limits.retry_max_delay);
            record.due = Some(wait.map_or(now, |wait| now + wait));
        }
        let wait = record.due.filter(|due| *due > now).map(|due| due - now);
        if let Some(wait) = wait {
            {
                let _entered = record.span.enter();
                shared.events.retry_deferred(
                    &record.tp.topic,
                    record.tp.partition,
                    record.offset,
                    wait,
                );
            }
            let due = now + wait;
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
        self.pending_bytes += record.size;
        self.pending.push_back(record);
        self.waiting = false;
    }

    /// The next batch is full (by records or bytes).
    pub fn is_full(&self) -> bool {
        self.pending.len() >= self.limits.batch_size
            || self.pending_bytes >= self.limits.batch_bytes
    }

    /// Whether to take more records from librdkafka: not while a full batch waits, nor while
    /// the pending records use up their byte budget. Parked records do not count: the loop
    /// must keep polling while a retry partition waits (up to the maximum retry delay, as long
    /// as `max.poll.interval.ms`), and they are few, since librdkafka drops what it prefetched
    /// of a partition once it is paused.
    pub fn has_room(&self) -> bool {
        self.pending.len() < self.limits.batch_size
            && self.pending_bytes < self.limits.pending_bytes
    }

    /// Bytes of records waiting for a batch (pending and parked).
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
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
        let mut batch = Vec::with_capacity(self.pending.len().min(self.limits.batch_size));
        let mut batch_bytes = 0;
        let mut waiting = VecDeque::new();
        // Uids that wait in this pass: their later records must not overtake them.
        let mut waiting_uids: HashSet<Box<str>> = HashSet::new();
        let mut tracker = shared.tracker();
        while batch.len() < self.limits.batch_size {
            let fits = self.pending.front().is_some_and(|r| {
                batch.is_empty() || batch_bytes + r.size <= self.limits.batch_bytes
            });
            if !fits {
                break;
            }
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
            self.held_bytes -= record.size;
            self.pending_bytes -= record.size;
            if tracker.start(&record.tp, record.epoch, record.offset) {
                batch_bytes += record.size;
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
                // Revoked meanwhile: the new owner has these records.
                self.held_bytes -= parked.records.iter().map(|r| r.size).sum::<usize>();
                continue;
            }
            shared.flow.unpark(&tp);
            for record in parked.records {
                self.enqueue(record, shared);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Events;
    use crate::health::Health;
    use crate::metrics::IngestMetrics;
    use crate::pipeline::dead_letter::tests::record;

    const MAX_DELAY: Duration = Duration::from_secs(6);
    const YEAR_3000_MS: &str = "32503680000000";

    fn shared() -> Shared {
        let metrics = Arc::new(IngestMetrics::new().expect("metrics"));
        Shared::new(Events::new(metrics, Arc::new(Health::default())))
    }

    fn assembler() -> Assembler {
        let limits = Limits {
            batch_size: 10,
            batch_bytes: 1 << 20,
            pending_bytes: 1 << 20,
            retry_max_delay: MAX_DELAY,
        };
        Assembler::new(limits, Duration::from_millis(10))
    }

    /// A record read from the retry topic's `partition`, due at `not_before` (ms since the
    /// epoch): the contract's sample order, or bytes that are no order.
    fn retry_record(partition: i32, not_before: &str, valid: bool) -> Record {
        let headers = [("x-retry-not-before", not_before), ("x-attempts", "1")];
        let mut record = record("orders.retry", &headers, true);
        record.tp.partition = partition;
        if valid {
            let json = order_model::SAMPLE_JSON.as_bytes();
            record.payload = Some(json.to_vec());
            record.decoded = order_model::decode(json);
            assert!(record.decoded.is_ok(), "the sample order is valid");
        }
        record
    }

    fn parked_partitions(shared: &Shared) -> Vec<String> {
        shared
            .flow
            .stalls()
            .into_iter()
            .filter(|stall| stall.reason == crate::pipeline::flow::RETRY_PARKED)
            .map(|stall| stall.cause)
            .collect()
    }

    /// What the retry headers test sees end to end, decided here without a clock: a retry that
    /// is no valid order goes to its batch (and from there to the DLQ) at once, whatever its due
    /// time; a valid one due in the year 3000 parks its partition for the maximum delay, no
    /// longer.
    #[test]
    fn only_a_valid_retry_waits_for_its_due_time_and_never_past_the_maximum_delay() {
        let shared = shared();
        let mut assembler = assembler();

        assembler.push(retry_record(1, YEAR_3000_MS, false), &shared);
        assert_eq!(assembler.next_due(), None, "no valid order: not parked");
        assert!(parked_partitions(&shared).is_empty());
        assert!(assembler.deadline().is_some(), "pending for the next batch");

        let before = Instant::now();
        assembler.push(retry_record(0, YEAR_3000_MS, true), &shared);
        let after = Instant::now();
        let due = assembler
            .next_due()
            .expect("a valid order due later is parked");
        assert!(
            before + MAX_DELAY <= due && due <= after + MAX_DELAY,
            "due at the maximum delay from when it was seen"
        );
        let parked = parked_partitions(&shared);
        assert_eq!(parked.len(), 1, "{parked:?}");
        assert!(parked[0].starts_with("orders.retry/0 "), "{parked:?}");

        assembler.push(retry_record(2, "0", true), &shared);
        assert_eq!(
            assembler.next_due(),
            Some(due),
            "a valid order already due is not parked"
        );
        assert_eq!(assembler.held_back(), 3);
    }
}
