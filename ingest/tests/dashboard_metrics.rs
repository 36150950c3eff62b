//! Every metric the Grafana dashboard and the alert rules query is exported by ingest.

use ingest::metrics::{IngestMetrics, OUTCOMES};
use order_model::DeadLetterKind;

#[test]
fn dashboards_and_alerts_only_use_exported_metrics() {
    let metrics = IngestMetrics::new().expect("metrics");
    // Labelled series appear once they have a value: touch each label value once.
    for outcome in OUTCOMES {
        metrics.records.with_label_values(&[outcome]).inc();
    }
    for kind in DeadLetterKind::ALL {
        metrics
            .dead_letters
            .with_label_values(&[kind.as_str()])
            .inc();
    }
    metrics
        .consumer_lag
        .with_label_values(&["orders", "0"])
        .set(0);
    for gauge in [
        &metrics.committed_offset,
        &metrics.log_start_offset,
        &metrics.high_watermark,
    ] {
        gauge.with_label_values(&["orders", "0"]).set(0);
    }
    metrics
        .produce_errors
        .with_label_values(&["dlq", "msg_size_too_large"])
        .inc();
    metrics.batch_duration.observe(0.01);
    metrics.store_duration.observe(0.01);
    metrics.batch_size.observe(10.0);
    pipeline_testing::dashboards::assert_dashboards_covered(&metrics.render(), &["ingest_"]);
}
