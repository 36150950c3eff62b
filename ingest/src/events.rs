//! Every notable thing the pipeline does is reported here, in one place that writes the log line,
//! the metric and the readiness state together, so they cannot drift apart (Vector's internal
//! events). Per-record events are called inside the record's span, which carries `order_uid`,
//! topic, partition, offset and `traceparent`.

use crate::health::{ConsumerState, Dependency, Health};
use crate::metrics::IngestMetrics;
use order_cache::CacheError;
use order_model::DeadLetterKind;
use order_store::StoreError;
use rdkafka::error::KafkaError;
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
        if state == ConsumerState::Running {
            self.health.set_error(Dependency::Kafka, None);
        }
        tracing::info!(state = ?state, "consumer state");
        self.refresh_ready();
    }

    /// A refusal (wrong password, certificate, TLS) is logged at error level, once per change,
    /// as its own line; other failures as a warning when PostgreSQL goes down.
    pub fn postgres_reachable(&self, up: bool, error: Option<&StoreError>) {
        let text = error.filter(|_| !up).map(ToString::to_string);
        let changed_error = self.health.set_error(Dependency::Postgres, text.as_deref());
        if let Some(err) = error.filter(|err| !up && err.is_refused() && changed_error) {
            tracing::error!("{err}");
        }
        if self.health.set_postgres_up(up) {
            match error {
                Some(error) if !up => tracing::warn!(%error, "PostgreSQL unreachable"),
                _ => tracing::info!(up, "PostgreSQL reachability changed"),
            }
        }
        self.refresh_ready();
    }

    pub fn schema_wait(&self, error: &StoreError, attempt: u32) {
        self.postgres_reachable(false, Some(error));
        if attempt == 1 || attempt % 10 == 0 {
            tracing::warn!(
                %error,
                attempt,
                "waiting for PostgreSQL before starting to consume"
            );
        }
    }

    /// The idle readiness probe of Redis; a refusal is logged at error level once per change.
    pub fn redis_probed(&self, result: &Result<(), CacheError>) {
        self.health.set_redis_up(result.is_ok());
        let error = result.as_ref().err();
        let text = error.map(ToString::to_string);
        let changed = self.health.set_error(Dependency::Redis, text.as_deref());
        if let Some(err) = error.filter(|err| err.is_refused() && changed) {
            tracing::error!("{err}");
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
        self.health.set_error(Dependency::Redis, None);
    }

    pub fn cache_write_failed(&self, orders: usize, error: &dyn std::fmt::Display) {
        self.health.set_redis_up(false);
        self.health
            .set_error(Dependency::Redis, Some(&error.to_string()));
        self.metrics.cache_errors.inc();
        tracing::warn!(orders, %error, "cache write failed; orders are stored, reads repair the cache");
    }

    pub fn outage_started(&self, error: &str) {
        self.metrics.outage_pauses.inc();
        self.health.set_outage(true);
        self.health.set_postgres_up(false);
        self.health.set_error(Dependency::Postgres, Some(error));
        tracing::error!(
            error,
            "dependency outage: consumption paused until it is back"
        );
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

    pub fn outage_ended(&self, lasted: Duration) {
        self.health.set_outage(false);
        self.health.set_postgres_up(true);
        self.health.set_error(Dependency::Postgres, None);
        tracing::info!(
            lasted_ms = lasted.as_millis() as u64,
            "dependency back: consumption resumed"
        );
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

    /// A login or TLS failure is logged once per change as one line naming Kafka and the cause,
    /// and shown in `/readyz` until the consumer is running.
    pub fn kafka_error(&self, error: &KafkaError, reason: &str) {
        match pipeline_kafka::failure::refusal(error, reason) {
            // The consume loop's bare code must not replace the callback's worded diagnosis.
            Some(failure) if self.health.has_error(Dependency::Kafka) => {
                tracing::debug!(%failure, "kafka client error");
            }
            Some(failure) => self.kafka_refused(&failure),
            None => tracing::error!(%error, reason, "kafka client error"),
        }
    }

    fn kafka_refused(&self, failure: &pipeline_runtime::failure::Failure) {
        let line = failure.to_string();
        if self.health.set_error(Dependency::Kafka, Some(&line)) {
            tracing::error!("{line}");
        }
    }

    pub fn shutdown_abandoned(&self, records: usize) {
        tracing::warn!(
            records,
            "shutdown grace expired: batch abandoned uncommitted, it will be redelivered"
        );
    }
}
