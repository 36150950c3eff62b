//! Every notable thing the pipeline does is reported here, in one place that writes the log line,
//! the metric and the readiness state together, so they cannot drift apart (Vector's internal
//! events). Per-record events are called inside the record's span, which carries `order_uid`,
//! topic, partition, offset and `traceparent`.

use crate::health::{ConsumerState, Health};
use crate::metrics::IngestMetrics;
use crate::pipeline::flow::HoldReason;
use order_model::DeadLetterKind;
use std::sync::Arc;
use std::time::Duration;

/// Cheap-to-clone handle on the metrics and the health state.
#[derive(Debug, Clone)]
pub struct Events {
    metrics: Arc<IngestMetrics>,
    health: Arc<Health>,
}

impl Events {
    pub fn new(metrics: Arc<IngestMetrics>, health: Arc<Health>) -> Self {
        Self { metrics, health }
    }

    pub fn metrics(&self) -> &IngestMetrics {
        &self.metrics
    }

    pub fn health(&self) -> &Health {
        &self.health
    }

    fn refresh_ready(&self) {
        self.metrics.ready.set(i64::from(self.health.is_ready()));
    }

    pub fn consumer_state(&self, state: ConsumerState) {
        self.health.set_consumer(state);
        tracing::info!(state = ?state, "consumer state");
        self.refresh_ready();
    }

    pub fn postgres_reachable(&self, up: bool, error: Option<&str>) {
        if self.health.set_postgres_up(up) {
            match error {
                Some(error) if !up => tracing::warn!(error, "PostgreSQL unreachable"),
                _ => tracing::info!(up, "PostgreSQL reachability changed"),
            }
        }
        self.refresh_ready();
    }

    pub fn schema_wait(&self, error: &str, attempt: u32) {
        self.postgres_reachable(false, Some(error));
        if attempt == 1 || attempt % 10 == 0 {
            tracing::warn!(
                error,
                attempt,
                "waiting for PostgreSQL before starting to consume"
            );
        }
    }

    pub fn stored(&self, stored: u64, duplicates: u64) {
        self.metrics
            .records
            .with_label_values(&["stored"])
            .inc_by(stored);
        self.metrics
            .records
            .with_label_values(&["duplicate"])
            .inc_by(duplicates);
        if duplicates > 0 {
            tracing::debug!(duplicates, "redelivered orders counted as duplicates");
        }
    }

    pub fn dead_lettered(&self, kind: DeadLetterKind, message: &str, attempts: u32) {
        self.metrics
            .records
            .with_label_values(&["dead_lettered"])
            .inc();
        self.metrics
            .dead_letters
            .with_label_values(&[kind.as_str()])
            .inc();
        tracing::warn!(
            kind = kind.as_str(),
            error = message,
            attempts,
            "record dead-lettered"
        );
    }

    pub fn retry_scheduled(&self, attempt: u32, delay: Duration, reason: &str) {
        self.metrics.records.with_label_values(&["retried"]).inc();
        tracing::warn!(
            attempt,
            delay_ms = delay.as_millis() as u64,
            error = reason,
            "record sent to the retry topic"
        );
    }

    pub fn skipped_revoked(&self, records: usize) {
        tracing::info!(
            records,
            "results dropped for partitions revoked meanwhile; the new owner redoes them"
        );
    }

    pub fn store_timed(&self, elapsed: Duration) {
        self.metrics.store_duration.observe(elapsed.as_secs_f64());
    }

    pub fn batch_settled(&self, size: usize, elapsed: Duration) {
        self.metrics.batch_size.observe(size as f64);
        self.metrics.batch_duration.observe(elapsed.as_secs_f64());
        tracing::debug!(
            size,
            elapsed_ms = elapsed.as_millis() as u64,
            "batch settled"
        );
    }

    pub fn cache_written(&self) {
        self.health.set_redis_up(true);
    }

    pub fn cache_write_failed(&self, orders: usize, error: &dyn std::fmt::Display) {
        self.health.set_redis_up(false);
        self.metrics.cache_errors.inc();
        tracing::warn!(orders, %error, "cache write failed; orders are stored, reads repair the cache");
    }

    /// The first hold of `reason` began: consumption pauses.
    pub fn hold_started(&self, reason: HoldReason, cause: &str) {
        match reason {
            HoldReason::DependencyUnavailable => {
                self.metrics.outage_pauses.inc();
                self.health.set_outage(true);
                self.health.set_postgres_up(false);
                tracing::error!(
                    error = cause,
                    "dependency outage: consumption paused until it is back"
                );
            }
            HoldReason::BatchStuck => {
                tracing::warn!(
                    cause,
                    "batches stopped settling: partitions paused meanwhile"
                );
            }
        }
        self.refresh_ready();
    }

    pub fn outage_persists(&self, error: &str, attempt: u32, next_try: Duration) {
        if attempt % 10 == 0 {
            tracing::warn!(
                error,
                attempt,
                next_try_ms = next_try.as_millis() as u64,
                "dependency still unavailable"
            );
        }
    }

    /// The last hold of `reason` ended after `lasted`.
    pub fn hold_ended(&self, reason: HoldReason, lasted: Duration) {
        let lasted_ms = lasted.as_millis() as u64;
        match reason {
            HoldReason::DependencyUnavailable => {
                self.health.set_outage(false);
                self.health.set_postgres_up(true);
                tracing::info!(lasted_ms, "dependency back: consumption resumed");
            }
            HoldReason::BatchStuck => tracing::info!(lasted_ms, "batches settle again"),
        }
        self.refresh_ready();
    }

    pub fn produce_failed(&self, topic: &str, error: &dyn std::fmt::Display, attempt: u32) {
        tracing::warn!(topic, %error, attempt, "write to Kafka failed; retrying before any offset moves");
    }

    pub fn retry_deferred(&self, topic: &str, partition: i32, offset: i64, due_in: Duration) {
        tracing::debug!(
            topic,
            partition,
            offset,
            due_in_ms = due_in.as_millis() as u64,
            "retry not due yet: partition paused"
        );
    }

    pub fn rebalanced(&self, what: &'static str, partitions: &[(String, i32)], assigned: usize) {
        self.health.set_assigned(assigned);
        tracing::info!(what, partitions = ?partitions, assigned, "rebalance");
    }

    pub fn consumer_lag(&self, topic: &str, partition: i32, lag: i64) {
        let partition = partition.to_string();
        self.metrics
            .consumer_lag
            .with_label_values(&[topic, partition.as_str()])
            .set(lag);
    }

    pub fn consumer_lag_gone(&self, topic: &str, partition: i32) {
        let partition = partition.to_string();
        // Absent series are fine: the partition may never have reported lag.
        let _ = self
            .metrics
            .consumer_lag
            .remove_label_values(&[topic, partition.as_str()]);
    }

    pub fn offsets_committed(&self, reason: &'static str, partitions: usize) {
        tracing::debug!(reason, partitions, "offsets committed");
    }

    pub fn offsets_failed(&self, action: &'static str, error: &dyn std::fmt::Display) {
        tracing::warn!(action, %error, "offset store/commit failed");
    }

    pub fn kafka_error(&self, error: &dyn std::fmt::Display, reason: &str) {
        tracing::error!(%error, reason, "kafka client error");
    }

    pub fn shutdown_abandoned(&self, records: usize) {
        tracing::warn!(
            records,
            "shutdown grace expired: batch abandoned uncommitted, it will be redelivered"
        );
    }
}
