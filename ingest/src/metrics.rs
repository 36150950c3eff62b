//! The pipeline's Prometheus metrics as one typed struct with its own registry, so names and
//! labels (contract §6) are declared once and every emitter goes through [`crate::events`].

use order_model::DeadLetterKind;
use pipeline_runtime::metrics::{latency_opts, Registrar};
use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

/// Values of `ingest_records_total{outcome}`.
pub const OUTCOMES: [&str; 4] = ["stored", "duplicate", "retried", "dead_lettered"];

/// Values of `ingest_stalled{reason}`: every reason ingest stops making progress (the same
/// words as `/readyz`). All but `retry_parked` hold every partition.
pub const STALL_REASONS: [&str; 6] = [
    "dependency_unavailable",
    "database_error",
    "produce_failed",
    "kafka_unavailable",
    "batch_stuck",
    "retry_parked",
];

/// The labels of a per-partition series.
const PARTITION: &[&str] = &["topic", "partition"];

const BATCH_SIZE_BUCKETS: &[f64] = &[
    1.0, 5.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
];

#[derive(Debug, Clone)]
pub struct IngestMetrics {
    registry: Registry,
    pub records: IntCounterVec,
    pub dead_letters: IntCounterVec,
    pub batch_duration: Histogram,
    pub store_duration: Histogram,
    pub batch_size: Histogram,
    pub consumer_lag: IntGaugeVec,
    pub cache_errors: IntCounter,
    pub ready: IntGauge,
    pub outage_pauses: IntCounter,
    pub unknown_fields: IntCounter,
    pub stalled: IntGaugeVec,
    pub stalled_since: IntGaugeVec,
    pub produce_errors: IntCounterVec,
    pub retry_backlog: IntGauge,
    pub committed_offset: IntGaugeVec,
    pub log_start_offset: IntGaugeVec,
    pub high_watermark: IntGaugeVec,
    pub held_bytes: IntGaugeVec,
}

impl IngestMetrics {
    pub fn new() -> prometheus::Result<Self> {
        let metrics = Registrar::new()?;
        let records = metrics.add(IntCounterVec::new(
            Opts::new("ingest_records_total", "Records by final outcome"),
            &["outcome"],
        ))?;
        let dead_letters = metrics.add(IntCounterVec::new(
            Opts::new(
                "ingest_dead_letters_total",
                "Records written to the dead-letter topic, by kind",
            ),
            &["kind"],
        ))?;
        let batch_duration = metrics.add(Histogram::with_opts(latency_opts(
            "ingest_batch_duration_seconds",
            "Time to settle one batch",
        )))?;
        let store_duration = metrics.add(Histogram::with_opts(latency_opts(
            "ingest_store_duration_seconds",
            "Time of one batch insert in PostgreSQL",
        )))?;
        let batch_size = metrics.add(Histogram::with_opts(
            HistogramOpts::new("ingest_batch_size", "Records per batch")
                .buckets(BATCH_SIZE_BUCKETS.to_vec()),
        ))?;
        let consumer_lag = metrics.add(IntGaugeVec::new(
            Opts::new(
                "ingest_consumer_lag",
                "Records behind the end of each assigned partition",
            ),
            PARTITION,
        ))?;
        let cache_errors = metrics.add(IntCounter::new(
            "ingest_cache_errors_total",
            "Failed Redis writes of stored orders",
        ))?;
        let ready = metrics.add(IntGauge::new(
            "ingest_ready",
            "1 when ingest is consuming and PostgreSQL answers",
        ))?;
        let outage_pauses = metrics.add(IntCounter::new(
            "ingest_outage_pauses_total",
            "Times consumption paused because a dependency was unavailable",
        ))?;
        let stalled = metrics.add(IntGaugeVec::new(
            Opts::new(
                "ingest_stalled",
                "Active reasons ingest makes no progress: holds on every partition, or parked retry partitions",
            ),
            &["reason"],
        ))?;
        let stalled_since = metrics.add(IntGaugeVec::new(
            Opts::new(
                "ingest_stalled_since_seconds",
                "Unix time the oldest active stall of each reason began; 0 when there is none",
            ),
            &["reason"],
        ))?;
        let produce_errors = metrics.add(IntCounterVec::new(
            Opts::new(
                "ingest_produce_errors_total",
                "Failed writes to the retry or DLQ topic (each is tried again), by target and error",
            ),
            &["target", "error"],
        ))?;
        let retry_backlog = metrics.add(IntGauge::new(
            "ingest_retry_backlog_records",
            "Records waiting in the retry topic partitions this member owns",
        ))?;
        let committed_offset = metrics.add(IntGaugeVec::new(
            Opts::new(
                "ingest_partition_committed_offset",
                "The group's committed offset of each assigned partition",
            ),
            PARTITION,
        ))?;
        let log_start_offset = metrics.add(IntGaugeVec::new(
            Opts::new(
                "ingest_partition_log_start_offset",
                "The first offset the broker still holds (retention deletes below it)",
            ),
            PARTITION,
        ))?;
        let high_watermark = metrics.add(IntGaugeVec::new(
            Opts::new(
                "ingest_partition_high_watermark",
                "The offset the next record of each assigned partition gets",
            ),
            PARTITION,
        ))?;
        let held_bytes = metrics.add(IntGaugeVec::new(
            Opts::new(
                "ingest_held_bytes",
                "Bytes of records ingest holds: waiting for a batch, or in batches in flight",
            ),
            &["stage"],
        ))?;
        let unknown_fields = metrics.add(IntCounter::new(
            "ingest_unknown_fields_total",
            "Orders that carried fields this version does not know (kept: contract §11)",
        ))?;
        // Every label value exists from the start, so dashboards and rate() see a 0, not a gap.
        for outcome in OUTCOMES {
            records.with_label_values(&[outcome]);
        }
        for kind in DeadLetterKind::ALL {
            dead_letters.with_label_values(&[kind.as_str()]);
        }
        for reason in STALL_REASONS {
            stalled.with_label_values(&[reason]);
            stalled_since.with_label_values(&[reason]);
        }
        for stage in ["pending", "in_flight"] {
            held_bytes.with_label_values(&[stage]);
        }
        Ok(Self {
            registry: metrics.into_registry(),
            records,
            dead_letters,
            batch_duration,
            store_duration,
            batch_size,
            consumer_lag,
            cache_errors,
            ready,
            outage_pauses,
            unknown_fields,
            stalled,
            stalled_since,
            produce_errors,
            retry_backlog,
            committed_offset,
            log_start_offset,
            high_watermark,
            held_bytes,
        })
    }

    /// The metrics in Prometheus text format.
    pub fn render(&self) -> String {
        pipeline_runtime::metrics::render(&self.registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contract_series_is_exported() {
        let metrics = IngestMetrics::new().expect("metrics");
        metrics
            .consumer_lag
            .with_label_values(&["orders", "0"])
            .set(3);
        metrics.batch_duration.observe(0.1);
        let text = metrics.render();
        for name in [
            "ingest_records_total{outcome=\"dead_lettered\"} 0",
            "ingest_dead_letters_total{kind=\"retries-exhausted\"} 0",
            "ingest_batch_duration_seconds_bucket",
            "ingest_consumer_lag{partition=\"0\",topic=\"orders\"} 3",
            "ingest_unknown_fields_total 0",
            "ingest_stalled{reason=\"database_error\"} 0",
            "ingest_stalled_since_seconds{reason=\"retry_parked\"} 0",
            "ingest_retry_backlog_records 0",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
    }
}
