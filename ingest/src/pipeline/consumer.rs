//! The Kafka consumer's context: rebalance callbacks that settle offsets before a partition
//! changes hands and set the pause state of new ones, and librdkafka's logs, errors and
//! statistics (consumer lag) routed into our telemetry.
//!
//! librdkafka runs these callbacks on the thread that polls the consumer (our consume loop), so
//! they never race the loop itself; they do race the batches in flight, which run on their own
//! tasks, hence the [`Shared`] state behind mutexes. A revoke waits (bounded, handing the
//! runtime worker over meanwhile) for the batches holding records of the revoked partitions, so
//! that every outcome already durable is in the offset committed before the handover.

use super::flow::HoldReason;
use super::lag;
use super::record::TopicPartition;
use super::state::partitions_of;
use crate::health::ConsumerState;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::statistics::Statistics;
use rdkafka::TopicPartitionList;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use super::state::Shared;

pub type IngestConsumer = StreamConsumer<IngestContext>;

/// Our librdkafka callbacks.
pub struct IngestContext {
    pub shared: Arc<Shared>,
    /// The retry topic, whose lag is the retry backlog.
    pub retry_topic: Arc<str>,
    /// Statistics in a row that found no broker up.
    pub brokers_down: AtomicU32,
}

impl IngestContext {
    pub fn new(shared: Arc<Shared>, retry_topic: &str) -> Self {
        Self {
            shared,
            retry_topic: retry_topic.into(),
            brokers_down: AtomicU32::new(0),
        }
    }
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

    fn stats(&self, statistics: Statistics) {
        self.brokers_seen(lag::brokers_up(&statistics));
        let tracker = self.shared.tracker();
        // Only partitions this member owns: the statistics also list ones it merely knows of.
        let owned: Vec<_> = lag::partitions(&statistics)
            .into_iter()
            .filter(|p| {
                let tp = TopicPartition {
                    topic: p.topic.as_str().into(),
                    partition: p.partition,
                };
                tracker.epoch(&tp).is_some()
            })
            .collect();
        drop(tracker);
        let mut retry_backlog = 0;
        for p in owned {
            if let Some(lag) = p.lag {
                self.shared.events.consumer_lag(&p.topic, p.partition, lag);
                if *p.topic == *self.retry_topic {
                    retry_backlog += lag;
                }
            }
            self.shared.events.partition_offsets(&p);
        }
        self.shared.events.retry_backlog(retry_backlog);
    }
}

impl IngestContext {
    /// No broker up in two statistics in a row (one could be a connection being set up) holds
    /// consumption as `kafka_unavailable`; any broker up again ends it.
    fn brokers_seen(&self, up: Option<bool>) {
        let flow = &self.shared.flow;
        match up {
            Some(true) => {
                self.brokers_down.store(0, Ordering::Relaxed);
                flow.set_condition(HoldReason::KafkaUnavailable, None);
            }
            Some(false) if self.brokers_down.fetch_add(1, Ordering::Relaxed) >= 1 => {
                let cause = "Kafka: no broker is reachable (see the librdkafka log lines)";
                flow.set_condition(HoldReason::KafkaUnavailable, Some(cause));
            }
            Some(false) => {}
            None => {}
        }
    }
}

impl ConsumerContext for IngestContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(tpl) = rebalance else {
            return;
        };
        let revoked = partitions_of(tpl);
        // A batch holding records of these partitions may already have made their outcome
        // durable (a dead letter acknowledged, a row committed) without the tracker knowing
        // yet: let it finish so the commit below covers them and the next owner does not redo
        // them. Batches run on their own tasks, so they progress while this thread waits.
        if !consumer.assignment_lost() {
            let started = std::time::Instant::now();
            let open = await_in_flight(&self.shared, &revoked);
            if open > 0 {
                tracing::warn!(
                    records = open,
                    waited = ?started.elapsed(),
                    "revoked partitions still had records in flight; the next owner redoes them"
                );
            }
        }
        // Settle what is done before the partitions move: the next owner starts from here.
        // Records not settled are dropped from the books; the next owner redoes them.
        let mut tracker = self.shared.tracker();
        let offsets: Vec<_> = revoked
            .iter()
            .filter_map(|tp| tracker.revoke(tp).map(|offset| (tp.clone(), offset)))
            .collect();
        drop(tracker);
        self.shared.flow.revoked(&revoked);
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
                self.shared.flow.assigned(consumer, tpl);
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

/// How long a revoke waits for the batches in flight on the revoked partitions to settle.
pub const REVOKE_DRAIN: Duration = Duration::from_secs(5);

/// Waits (bounded) until no record of `partitions` is in flight; returns how many still are.
/// The rebalance callback runs inside the consume loop's task, so on a multi-threaded runtime
/// the worker is handed over while blocking; elsewhere the batches could not progress, so it
/// does not wait.
fn await_in_flight(shared: &Shared, partitions: &[TopicPartition]) -> usize {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|handle| handle.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => {
            tokio::task::block_in_place(|| shared.await_in_flight(partitions, REVOKE_DRAIN))
        }
        Ok(_) => shared.await_in_flight(partitions, Duration::ZERO),
        Err(_) => shared.await_in_flight(partitions, REVOKE_DRAIN),
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
