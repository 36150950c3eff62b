//! The pipeline's Prometheus metrics as one typed struct with its own registry, so names and
//! labels (contract §6) are declared once and every emitter goes through [`crate::events`].

use order_model::DeadLetterKind;
use pipeline_runtime::metrics::LATENCY_BUCKETS;
use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

/// Values of `ingest_records_total{outcome}`.
pub const OUTCOMES: [&str; 4] = ["stored", "duplicate", "retried", "dead_lettered"];

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
}

impl IngestMetrics {
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        pipeline_runtime::metrics::register_runtime_metrics(&registry)?;
        let records = IntCounterVec::new(
            Opts::new("ingest_records_total", "Records by final outcome"),
            &["outcome"],
        )?;
        let dead_letters = IntCounterVec::new(
            Opts::new(
                "ingest_dead_letters_total",
                "Records written to the dead-letter topic, by kind",
            ),
            &["kind"],
        )?;
        let batch_duration = Histogram::with_opts(
            HistogramOpts::new("ingest_batch_duration_seconds", "Time to settle one batch")
                .buckets(LATENCY_BUCKETS.to_vec()),
        )?;
        let store_duration = Histogram::with_opts(
            HistogramOpts::new(
                "ingest_store_duration_seconds",
                "Time of one batch insert in PostgreSQL",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
        )?;
        let batch_size = Histogram::with_opts(
            HistogramOpts::new("ingest_batch_size", "Records per batch")
                .buckets(BATCH_SIZE_BUCKETS.to_vec()),
        )?;
        let consumer_lag = IntGaugeVec::new(
            Opts::new(
                "ingest_consumer_lag",
                "Records behind the end of each assigned partition",
            ),
            &["topic", "partition"],
        )?;
        let cache_errors = IntCounter::new(
            "ingest_cache_errors_total",
            "Failed Redis writes of stored orders",
        )?;
        let ready = IntGauge::new(
            "ingest_ready",
            "1 when ingest is consuming and PostgreSQL answers",
        )?;
        let outage_pauses = IntCounter::new(
            "ingest_outage_pauses_total",
            "Times consumption paused because a dependency was unavailable",
        )?;
        registry.register(Box::new(records.clone()))?;
        registry.register(Box::new(dead_letters.clone()))?;
        registry.register(Box::new(batch_duration.clone()))?;
        registry.register(Box::new(store_duration.clone()))?;
        registry.register(Box::new(batch_size.clone()))?;
        registry.register(Box::new(consumer_lag.clone()))?;
        registry.register(Box::new(cache_errors.clone()))?;
        registry.register(Box::new(ready.clone()))?;
        registry.register(Box::new(outage_pauses.clone()))?;
        // Every label value exists from the start, so dashboards and rate() see a 0, not a gap.
        for outcome in OUTCOMES {
            records.with_label_values(&[outcome]);
        }
        for kind in DeadLetterKind::ALL {
            dead_letters.with_label_values(&[kind.as_str()]);
        }
        Ok(Self {
            registry,
            records,
            dead_letters,
            batch_duration,
            store_duration,
            batch_size,
            consumer_lag,
            cache_errors,
            ready,
            outage_pauses,
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
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
    }
}
