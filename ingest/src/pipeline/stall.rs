//! The named reasons ingest stops making progress: each is a `reason` label of
//! `ingest_stalled`, a dependency, and a cause in words, the same in `/readyz`, the metrics and
//! the logs (see [`super::flow`], which holds consumption for them).

use super::record::TopicPartition;
use crate::health::Stall;
use std::time::{Instant, SystemTime};

/// Why every partition is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HoldReason {
    /// PostgreSQL cannot be reached: orders wait for it.
    DependencyUnavailable,
    /// PostgreSQL answers but refuses what is no fault of the orders (a revoked grant, a schema
    /// another tool changed): retried with backoff, named, never dead-lettered.
    DatabaseError,
    /// The broker refuses a write to the retry or DLQ topic (authorization, missing topic,
    /// not enough replicas): the records behind it cannot settle.
    ProduceFailed,
    /// No Kafka broker is reachable.
    KafkaUnavailable,
    /// No batch settled for a long time, for a reason no step named.
    BatchStuck,
}

impl HoldReason {
    /// The `reason` label of `ingest_stalled` and the `reason` of `/readyz`.
    pub fn label(self) -> &'static str {
        match self {
            HoldReason::DependencyUnavailable => "dependency_unavailable",
            HoldReason::DatabaseError => "database_error",
            HoldReason::ProduceFailed => "produce_failed",
            HoldReason::KafkaUnavailable => "kafka_unavailable",
            HoldReason::BatchStuck => "batch_stuck",
        }
    }

    /// Whom it is about.
    pub fn dependency(self) -> &'static str {
        match self {
            HoldReason::DependencyUnavailable | HoldReason::DatabaseError => "postgres",
            HoldReason::ProduceFailed | HoldReason::KafkaUnavailable => "kafka",
            HoldReason::BatchStuck => "ingest",
        }
    }
}

/// The `reason` of a parked retry partition.
pub const RETRY_PARKED: &str = "retry_parked";

/// One active hold.
#[derive(Debug, Clone)]
pub struct Hold {
    pub reason: HoldReason,
    /// What is wrong, in words an operator can act on.
    pub cause: String,
    pub since: SystemTime,
    pub(super) started: Instant,
}

/// A retry partition paused until its head record is due.
#[derive(Debug, Clone)]
pub struct Parked {
    pub due: tokio::time::Instant,
    /// `due` on the wall clock, for people.
    pub due_at: SystemTime,
    pub since: SystemTime,
}

/// The stall of a retry partition parked until `due_at` (not blocking: the other partitions
/// flow, and the retry topic is doing what it is for).
pub fn parked(tp: &TopicPartition, due_at: SystemTime, since: SystemTime) -> Stall {
    let due: chrono::DateTime<chrono::Utc> = due_at.into();
    Stall {
        reason: RETRY_PARKED,
        dependency: "kafka",
        cause: format!(
            "{}/{} paused until its next retry is due at {}",
            tp.topic,
            tp.partition,
            due.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        since,
        blocking: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_is_a_metric_label() {
        let reasons = [
            HoldReason::DependencyUnavailable,
            HoldReason::DatabaseError,
            HoldReason::ProduceFailed,
            HoldReason::KafkaUnavailable,
            HoldReason::BatchStuck,
        ];
        let labels: Vec<&str> = reasons
            .iter()
            .map(|r| r.label())
            .chain([RETRY_PARKED])
            .collect();
        assert_eq!(labels, crate::metrics::STALL_REASONS);
    }
}
