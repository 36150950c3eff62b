//! The Kafka consumer and its context: rebalance callbacks that settle offsets before a
//! partition changes hands, the pause bookkeeping shared by outage handling and delayed retries,
//! and librdkafka's logs, errors and statistics routed into our telemetry.
//!
//! librdkafka runs these callbacks on the thread that polls the consumer (our consume loop), so
//! they never race the loop itself; the shared state still sits behind a mutex because the
//! context must be `Sync`. The mutex is never held while calling into librdkafka, because a
//! synchronous commit can call `commit_callback` on the same thread.

use super::lag;
use super::offsets::OffsetTracker;
use super::record::TopicPartition;
use crate::events::Events;
use crate::health::ConsumerState;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub type IngestConsumer = StreamConsumer<IngestContext>;

/// State shared by the consume loop and the rebalance callbacks.
#[derive(Debug)]
pub struct Shared {
    tracker: Mutex<OffsetTracker>,
    pauses: Mutex<Pauses>,
    pub events: Events,
}

#[derive(Debug, Default)]
struct Pauses {
    /// Batches currently waiting out a dependency outage.
    outages: usize,
    /// No batch settled for a long time.
    stall: bool,
    /// Retry partitions paused until their next record is due.
    parked: HashSet<TopicPartition>,
}

impl Pauses {
    /// Every assigned partition is paused.
    fn all(&self) -> bool {
        self.outages > 0 || self.stall
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere cannot leave these plain maps half-updated in a harmful way.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn list(partitions: &[TopicPartition]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::with_capacity(partitions.len());
    for tp in partitions {
        tpl.add_partition(&tp.topic, tp.partition);
    }
    tpl
}

fn partitions_of(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
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
            pauses: Mutex::default(),
            events,
        }
    }

    pub fn tracker(&self) -> MutexGuard<'_, OffsetTracker> {
        lock(&self.tracker)
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
        let mut tpl = TopicPartitionList::with_capacity(offsets.len());
        for (tp, offset) in offsets {
            if let Err(err) =
                tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*offset))
            {
                self.events.offsets_failed("commit", &err);
            }
        }
        match consumer.commit(&tpl, CommitMode::Sync) {
            Ok(()) => self.events.offsets_committed(reason, offsets.len()),
            Err(err) => self.events.offsets_failed("commit", &err),
        }
    }

    /// A batch found a dependency unavailable: the first one pauses every partition.
    pub fn enter_outage<C: ConsumerContext, K: Consumer<C>>(&self, consumer: &K, error: &str) {
        let mut pauses = lock(&self.pauses);
        let was_held = pauses.all();
        pauses.outages += 1;
        let first = pauses.outages == 1;
        drop(pauses);
        if first {
            self.events.outage_started(error);
        }
        if !was_held {
            self.pause_assignment(consumer);
        }
    }

    /// A batch got through again: the last one resumes consumption.
    pub fn leave_outage<C: ConsumerContext, K: Consumer<C>>(&self, consumer: &K, lasted: Duration) {
        let mut pauses = lock(&self.pauses);
        pauses.outages = pauses.outages.saturating_sub(1);
        let (over, held) = (pauses.outages == 0, pauses.all());
        drop(pauses);
        if over {
            self.events.outage_ended(lasted);
        }
        if !held {
            self.resume_assignment(consumer);
        }
    }

    /// Pauses everything while batches are stuck; returns false if it already was.
    pub fn hold_stall<C: ConsumerContext, K: Consumer<C>>(&self, consumer: &K) -> bool {
        let mut pauses = lock(&self.pauses);
        if pauses.stall {
            return false;
        }
        let was_held = pauses.all();
        pauses.stall = true;
        drop(pauses);
        if !was_held {
            self.pause_assignment(consumer);
        }
        true
    }

    pub fn release_stall<C: ConsumerContext, K: Consumer<C>>(&self, consumer: &K) {
        let mut pauses = lock(&self.pauses);
        if !pauses.stall {
            return;
        }
        pauses.stall = false;
        let held = pauses.all();
        drop(pauses);
        if !held {
            self.resume_assignment(consumer);
        }
    }

    pub fn is_held(&self) -> bool {
        lock(&self.pauses).all()
    }

    fn pause_assignment<C: ConsumerContext, K: Consumer<C>>(&self, consumer: &K) {
        let result = consumer
            .assignment()
            .and_then(|assignment| consumer.pause(&assignment));
        if let Err(err) = result {
            self.events.offsets_failed("pause", &err);
        }
    }

    /// Resumes every assigned partition except parked retry partitions.
    fn resume_assignment<C: ConsumerContext, K: Consumer<C>>(&self, consumer: &K) {
        let parked = lock(&self.pauses).parked.clone();
        let result = consumer.assignment().and_then(|assignment| {
            let resume: Vec<TopicPartition> = partitions_of(&assignment)
                .into_iter()
                .filter(|tp| !parked.contains(tp))
                .collect();
            consumer.resume(&list(&resume))
        });
        if let Err(err) = result {
            self.events.offsets_failed("resume", &err);
        }
    }

    /// Pauses one retry partition until its head record is due.
    pub fn park<C: ConsumerContext, K: Consumer<C>>(&self, consumer: &K, tp: &TopicPartition) {
        lock(&self.pauses).parked.insert(tp.clone());
        if let Err(err) = consumer.pause(&list(std::slice::from_ref(tp))) {
            self.events.offsets_failed("pause", &err);
        }
    }

    pub fn unpark<C: ConsumerContext, K: Consumer<C>>(&self, consumer: &K, tp: &TopicPartition) {
        let mut pauses = lock(&self.pauses);
        let was_parked = pauses.parked.remove(tp);
        let all = pauses.all();
        drop(pauses);
        if was_parked && !all {
            if let Err(err) = consumer.resume(&list(std::slice::from_ref(tp))) {
                self.events.offsets_failed("resume", &err);
            }
        }
    }
}

/// Our librdkafka callbacks.
pub struct IngestContext {
    pub shared: Arc<Shared>,
}

impl ClientContext for IngestContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(target: "librdkafka", fac, "{message}");
            }
            RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", fac, "{message}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(target: "librdkafka", fac, "{message}")
            }
            RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", fac, "{message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.shared.events.kafka_error(&error, reason);
    }

    fn stats_raw(&self, statistics: &[u8]) {
        let lags = match lag::parse(statistics) {
            Ok(lags) => lags,
            Err(err) => return tracing::debug!(%err, "unreadable librdkafka statistics"),
        };
        let tracker = self.shared.tracker();
        // Only partitions this member owns: the statistics also list ones it merely knows of.
        let owned: Vec<_> = lags
            .into_iter()
            .filter(|(topic, partition, _)| {
                tracker
                    .epoch(&TopicPartition {
                        topic: topic.as_str().into(),
                        partition: *partition,
                    })
                    .is_some()
            })
            .collect();
        drop(tracker);
        for (topic, partition, lag) in owned {
            self.shared.events.consumer_lag(&topic, partition, lag);
        }
    }
}

impl ConsumerContext for IngestContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(tpl) = rebalance else {
            return;
        };
        let revoked = partitions_of(tpl);
        // Settle what is done before the partitions move: the next owner starts from here.
        // Records still in flight are dropped from the books; the next owner redoes them.
        let mut tracker = self.shared.tracker();
        let offsets: Vec<_> = revoked
            .iter()
            .filter_map(|tp| tracker.revoke(tp).map(|offset| (tp.clone(), offset)))
            .collect();
        drop(tracker);
        {
            let mut pauses = lock(&self.shared.pauses);
            for tp in &revoked {
                pauses.parked.remove(tp);
            }
        }
        if !consumer.assignment_lost() {
            self.shared.commit(consumer, &offsets, "revoke");
        }
        for tp in &revoked {
            self.shared
                .events
                .consumer_lag_gone(&tp.topic, tp.partition);
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                let assigned = partitions_of(tpl);
                let mut tracker = self.shared.tracker();
                for tp in &assigned {
                    tracker.assign(tp.clone());
                }
                drop(tracker);
                // librdkafka keeps an application pause across revoke/assign, so set the state
                // explicitly: paused while everything is held, flowing otherwise.
                let result = if self.shared.is_held() {
                    consumer.pause(tpl)
                } else {
                    consumer.resume(tpl)
                };
                if let Err(err) = result {
                    self.shared
                        .events
                        .offsets_failed("pause/resume on assign", &err);
                }
                self.report("assign", &assigned, consumer);
            }
            Rebalance::Revoke(tpl) => self.report("revoke", &partitions_of(tpl), consumer),
            Rebalance::Error(err) => self.shared.events.kafka_error(err, "rebalance"),
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        // Auto-commits land here; a failed one is retried with the next interval.
        if let Err(err) = result {
            if !matches!(
                err,
                KafkaError::ConsumerCommit(rdkafka::types::RDKafkaErrorCode::NoOffset)
            ) {
                self.shared.events.offsets_failed("auto-commit", &err);
            }
        }
    }
}

impl IngestContext {
    fn report(
        &self,
        what: &'static str,
        partitions: &[TopicPartition],
        consumer: &BaseConsumer<Self>,
    ) {
        let names: Vec<(String, i32)> = partitions
            .iter()
            .map(|tp| (tp.topic.to_string(), tp.partition))
            .collect();
        let assigned = consumer.assignment().map(|a| a.count()).unwrap_or(0);
        self.shared.events.rebalanced(what, &names, assigned);
        if self.shared.events.health().consumer_state() == ConsumerState::Starting {
            self.shared.events.consumer_state(ConsumerState::Running);
        }
    }
}
