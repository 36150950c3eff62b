//! Settles one batch: decode verdicts and the store step decide each record's fate, stored
//! orders go to the cache, dead letters and retries are written and acknowledged. Each record is
//! marked settled as soon as its outcome is durable (its row committed, its dead letter or retry
//! acknowledged), not at the end of the batch, so its offset may move right away.
//!
//! Each batch runs on its own task ([`Steps::spawn`]) and holds a [`Claim`] on its records
//! meanwhile: a revoke waits for claimed records of the revoked partitions before committing.

use super::cache::CacheStep;
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
    pub cache: CacheStep,
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

impl Steps {
    /// Settles `batch` (taken by [`Assembler::take`], which marked it in flight) on a task of
    /// its own, so it progresses while the consume loop is inside a rebalance callback.
    ///
    /// [`Assembler::take`]: super::batch::Assembler::take
    /// The task hands the batch's order `uids` back when it ends, for [`Assembler::finished`].
    ///
    /// [`Assembler::finished`]: super::batch::Assembler::finished
    pub fn spawn(
        &self,
        batch: Vec<Record>,
        uids: Vec<Arc<str>>,
        tasks: &mut JoinSet<Vec<Arc<str>>>,
    ) {
        let claim = Claim::new(self.shared.clone(), &batch);
        let steps = self.clone();
        tasks.spawn(async move {
            let _claim = claim;
            steps.process(batch).await;
            uids
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

    async fn settle_batch(&self, mut batch: Vec<Record>) {
        let started = Instant::now();
        let mut fates: Vec<Option<Fate>> = vec![None; batch.len()];
        let mut orders: Vec<ValidOrder> = Vec::with_capacity(batch.len());
        let mut owners: Vec<usize> = Vec::with_capacity(batch.len());
        for (index, record) in batch.iter_mut().enumerate() {
            let decoded = std::mem::replace(
                &mut record.decoded,
                Err(DecodeError::Malformed(String::new())),
            );
            match decoded {
                Ok(order) => {
                    orders.push(order);
                    owners.push(index);
                }
                Err(err) => fates[index] = Some(classify::undecodable(record, &err)),
            }
        }

        let verdicts = self.store.store(&orders).await;
        let mut to_cache: Vec<&ValidOrder> = Vec::with_capacity(orders.len());
        for ((order, &index), verdict) in orders.iter().zip(&owners).zip(verdicts) {
            let fate = classify::stored(&batch[index], verdict, &self.config);
            if matches!(fate, Fate::Stored | Fate::Duplicate) {
                to_cache.push(order);
            }
            fates[index] = Some(fate);
        }
        // Their rows are committed (or were already): durable now, whatever happens next.
        self.settle(
            batch
                .iter()
                .zip(&fates)
                .filter(|(_, fate)| matches!(fate, Some(Fate::Stored | Fate::Duplicate)))
                .map(|(record, _)| record),
        );
        self.cache.put(&to_cache).await;

        // Partitions revoked while this batch was stored now belong to another member, which
        // will redo these records: writing their dead letters too would duplicate them.
        let current: Vec<bool> = {
            let tracker = self.shared.tracker();
            batch
                .iter()
                .map(|r| tracker.epoch(&r.tp) == Some(r.epoch))
                .collect()
        };
        let mut outgoing: Vec<Outgoing<'_>> = Vec::new();
        // The batch index of each outgoing record.
        let mut senders: Vec<usize> = Vec::new();
        for (index, ((record, fate), &current)) in
            batch.iter().zip(&fates).zip(&current).enumerate()
        {
            match fate {
                Some(Fate::DeadLetter { failure, attempts }) if current => {
                    senders.push(index);
                    outgoing.push(dead_letter::build(
                        record,
                        failure,
                        *attempts,
                        &self.config.kafka.dlq_topic,
                        &self.config.group,
                    ))
                }
                Some(Fate::Retry {
                    attempts,
                    delay,
                    reason,
                }) if current => {
                    senders.push(index);
                    outgoing.push(retry::build(
                        record,
                        *attempts,
                        *delay,
                        reason,
                        &self.config.kafka.retry_topic,
                    ));
                }
                _ => {}
            }
        }
        // Each one is durable once acknowledged: settle it then, not when the last one is.
        let acked = |sent: usize| self.settle(senders.get(sent).map(|&index| &batch[index]));
        self.writer.write_all(outgoing, &acked).await;

        self.report(&batch, &fates, &current);
        // The rest: records of partitions revoked meanwhile are ignored by the tracker.
        self.settle(batch.iter());
        self.shared
            .events
            .batch_settled(batch.len(), started.elapsed());
    }

    /// Emits each record's outcome once it is durable.
    fn report(&self, batch: &[Record], fates: &[Option<Fate>], current: &[bool]) {
        let events = &self.shared.events;
        let (mut stored, mut duplicates, mut skipped) = (0, 0, 0);
        for ((record, fate), &current) in batch.iter().zip(fates).zip(current) {
            let _entered = record.span.enter();
            record.span.record("outcome", outcome(fate, current));
            match fate {
                Some(Fate::Stored) => stored += 1,
                Some(Fate::Duplicate) => duplicates += 1,
                Some(Fate::DeadLetter { .. } | Fate::Retry { .. }) | None if !current => {
                    skipped += 1
                }
                Some(Fate::DeadLetter { failure, attempts }) => {
                    events.dead_lettered(failure.kind, &failure.message, *attempts);
                }
                Some(Fate::Retry {
                    attempts,
                    delay,
                    reason,
                }) => events.retry_scheduled(*attempts, *delay, reason),
                None => skipped += 1,
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
fn outcome(fate: &Option<Fate>, current: bool) -> &'static str {
    match fate {
        Some(Fate::Stored) => "stored",
        Some(Fate::Duplicate) => "duplicate",
        _ if !current => "revoked",
        Some(Fate::DeadLetter { .. }) => "dead_lettered",
        Some(Fate::Retry { .. }) => "retry_scheduled",
        None => "unsettled",
    }
}
