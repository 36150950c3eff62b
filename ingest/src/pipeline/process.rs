//! Settles one batch: decode verdicts and the store step decide each record's fate (the store
//! step also puts stored orders in the cache), dead letters and retries are written and
//! acknowledged. Each record carries its own fate through the batch ([`Entry`]), and is marked
//! settled as soon as its outcome is durable (its row committed, its dead letter or retry
//! acknowledged), not at the end of the batch, so its offset may move right away.
//!
//! Each batch runs on its own task ([`Steps::spawn`]) and holds a [`Claim`] on its records
//! meanwhile: a revoke waits for claimed records of the revoked partitions before committing.

use super::classify::{self, Fate};
use super::consumer::{IngestConsumer, Shared};
use super::record::{Record, TopicPartition};
use super::state::offset_list;
use super::store::StoreStep;
use super::writer::{Outgoing, Writer};
use super::{dead_letter, retry};
use crate::config::Config;
use order_model::{DecodeError, ValidOrder};
use rdkafka::consumer::Consumer;
use std::sync::Arc;
use std::time::Instant;
use tokio::task::JoinSet;
use tracing::Instrument;

#[derive(Clone)]
pub struct Steps {
    pub config: Arc<Config>,
    pub store: StoreStep,
    pub writer: Writer,
    pub shared: Arc<Shared>,
    pub consumer: Arc<IngestConsumer>,
}

/// The records of a batch in flight, as the offset tracker knows them; whatever the batch did
/// not settle is released when it ends, however it ends (finished, aborted, panicked).
pub struct Claim {
    shared: Arc<Shared>,
    records: Vec<(TopicPartition, u64, i64)>,
}

impl Claim {
    pub fn new(shared: Arc<Shared>, batch: &[Record]) -> Self {
        let records = batch
            .iter()
            .map(|r| (r.tp.clone(), r.epoch, r.offset))
            .collect();
        Self { shared, records }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.shared.update_tracker(|tracker| {
            for (tp, epoch, offset) in &self.records {
                tracker.release(tp, *epoch, *offset);
            }
        });
    }
}

/// What a batch task hands back when it ends: its order uids (for [`Assembler::finished`]) and
/// the bytes of its records, no longer held.
///
/// [`Assembler::finished`]: super::batch::Assembler::finished
#[derive(Debug, Default)]
pub struct Finished {
    pub uids: Vec<Arc<str>>,
    pub bytes: usize,
}

/// One record of a batch and what has been decided about it so far.
struct Entry {
    record: Record,
    /// The decoded order, while it waits for the store step and after (for the cache).
    order: Option<ValidOrder>,
    /// `None` until decided: only records waiting for the store step have none.
    fate: Option<Fate>,
}

impl Entry {
    fn new(mut record: Record, config: &Config) -> Self {
        let decoded = std::mem::replace(
            &mut record.decoded,
            Err(DecodeError::Malformed(String::new())),
        );
        match decoded {
            Ok(order) => Entry {
                record,
                order: Some(order),
                fate: None,
            },
            Err(err) => Entry {
                fate: Some(classify::undecodable(&record, &err, config)),
                record,
                order: None,
            },
        }
    }

    /// The order, while the store step has yet to decide about it.
    fn to_store(&self) -> Option<&ValidOrder> {
        self.order.as_ref().filter(|_| self.fate.is_none())
    }

    /// Its row is committed (or already was).
    fn is_stored(&self) -> bool {
        matches!(self.fate, Some(Fate::Stored | Fate::Duplicate))
    }

    /// The dead letter or retry record this entry must write, if any.
    fn outgoing<'a>(&'a self, config: &'a Config) -> Option<Outgoing<'a>> {
        match self.fate.as_ref()? {
            Fate::DeadLetter { failure, attempts } => Some(dead_letter::build(
                &self.record,
                failure,
                *attempts,
                &config.kafka.dlq_topic,
                &config.group,
            )),
            Fate::Retry {
                attempts,
                delay,
                reason,
            } => Some(retry::build(
                &self.record,
                *attempts,
                *delay,
                reason,
                &config.kafka.retry_topic,
            )),
            Fate::Stored | Fate::Duplicate | Fate::Revoked => None,
        }
    }
}

impl Steps {
    /// Settles `batch` (taken by [`Assembler::take`], which marked it in flight) on a task of
    /// its own, so it progresses while the consume loop is inside a rebalance callback.
    /// The task hands the batch's order `uids` back when it ends, for [`Assembler::finished`].
    ///
    /// [`Assembler::take`]: super::batch::Assembler::take
    /// [`Assembler::finished`]: super::batch::Assembler::finished
    pub fn spawn(&self, batch: Vec<Record>, uids: Vec<Arc<str>>, tasks: &mut JoinSet<Finished>) {
        let claim = Claim::new(self.shared.clone(), &batch);
        let bytes = batch.iter().map(|r| r.size).sum();
        let steps = self.clone();
        tasks.spawn(async move {
            let _claim = claim;
            steps.process(batch).await;
            Finished { uids, bytes }
        });
    }

    pub async fn process(&self, batch: Vec<Record>) {
        let span = tracing::info_span!("batch", size = batch.len());
        // A batch serves records of many traces: each record's span links to the batch's span,
        // where the store and cache steps are.
        if pipeline_runtime::telemetry::exporting() {
            for record in &batch {
                record.span.follows_from(&span);
            }
        }
        self.settle_batch(batch).instrument(span).await;
    }

    async fn settle_batch(&self, batch: Vec<Record>) {
        let started = Instant::now();
        let mut entries: Vec<Entry> = batch
            .into_iter()
            .map(|record| Entry::new(record, &self.config))
            .collect();

        let orders: Vec<&ValidOrder> = entries.iter().filter_map(Entry::to_store).collect();
        let verdicts = self.store.store(&orders).await;
        // One verdict per order sent, in the same order.
        let waiting = entries.iter_mut().filter(|e| e.to_store().is_some());
        for (entry, verdict) in waiting.zip(verdicts) {
            entry.fate = Some(classify::stored(&entry.record, verdict, &self.config));
        }
        // Their rows are committed (or were already), and in the cache: durable now, whatever
        // happens next.
        self.settle(entries.iter().filter(|e| e.is_stored()).map(|e| &e.record));

        // Partitions revoked while this batch was stored now belong to another member, which
        // will redo these records: writing their dead letters too would duplicate them.
        {
            let tracker = self.shared.tracker();
            for entry in &mut entries {
                let owned = tracker.epoch(&entry.record.tp) == Some(entry.record.epoch);
                if !owned && !entry.is_stored() {
                    entry.fate = Some(Fate::Revoked);
                }
            }
        }
        // Each one is durable once acknowledged: settled then, not when the last one is.
        let writes = entries.iter().filter_map(|entry| {
            let outgoing = entry.outgoing(&self.config)?;
            Some(async move {
                self.writer.deliver(outgoing).await;
                self.settle([&entry.record]);
            })
        });
        futures::future::join_all(writes).await;

        self.report(&entries);
        // The rest: records of partitions revoked meanwhile are ignored by the tracker.
        self.settle(entries.iter().map(|e| &e.record));
        self.shared
            .events
            .batch_settled(entries.len(), started.elapsed());
    }

    /// Emits each record's outcome once it is durable.
    fn report(&self, entries: &[Entry]) {
        let events = &self.shared.events;
        let (mut stored, mut duplicates, mut skipped) = (0, 0, 0);
        for Entry { record, fate, .. } in entries {
            let _entered = record.span.enter();
            record.span.record("outcome", outcome(fate.as_ref()));
            match fate {
                Some(Fate::Stored) => stored += 1,
                Some(Fate::Duplicate) => duplicates += 1,
                Some(Fate::DeadLetter { failure, attempts }) => {
                    events.dead_lettered(failure.kind, &failure.message, *attempts);
                }
                Some(Fate::Retry {
                    attempts,
                    delay,
                    reason,
                }) => events.retry_scheduled(*attempts, *delay, reason),
                Some(Fate::Revoked) | None => skipped += 1,
            }
        }
        events.stored(stored, duplicates);
        if skipped > 0 {
            events.skipped_revoked(skipped);
        }
    }

    /// Marks the records settled and hands the offsets that became safe to librdkafka, which
    /// auto-commits them.
    fn settle<'r>(&self, records: impl IntoIterator<Item = &'r Record>) {
        let moved = self.shared.update_tracker(|tracker| {
            for record in records {
                tracker.settle(&record.tp, record.epoch, record.offset);
            }
            tracker.advance()
        });
        if moved.is_empty() {
            return;
        }
        let tpl = offset_list(&moved, &self.shared.events, "store");
        // Fails for a partition revoked meanwhile; its new owner has its own offsets, and ours
        // must not overwrite them.
        if let Err(err) = self.consumer.store_offsets(&tpl) {
            tracing::debug!(%err, "offset store skipped partitions no longer assigned");
        }
    }
}

/// A record's outcome as its span shows it.
fn outcome(fate: Option<&Fate>) -> &'static str {
    match fate {
        Some(Fate::Stored) => "stored",
        Some(Fate::Duplicate) => "duplicate",
        Some(Fate::DeadLetter { .. }) => "dead_lettered",
        Some(Fate::Retry { .. }) => "retry_scheduled",
        Some(Fate::Revoked) => "revoked",
        None => "unsettled",
    }
}
