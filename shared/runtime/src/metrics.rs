//! Prometheus plumbing shared by the binaries: each binary keeps one typed metrics struct with its
//! own [`Registry`]; this module renders a registry in the text format and builds histograms with
//! the project's buckets.

use prometheus::{Encoder, HistogramOpts, HistogramVec, Registry, TextEncoder};

/// Latency buckets from 0.5 ms to 10 s (reads are sub-millisecond on a hit, batches take longer).
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The registry's metrics in Prometheus text format.
pub fn render(registry: &Registry) -> String {
    let mut buffer = Vec::new();
    if let Err(err) = TextEncoder::new().encode(&registry.gather(), &mut buffer) {
        tracing::warn!(%err, "cannot encode metrics");
    }
    String::from_utf8(buffer).unwrap_or_default()
}

/// A histogram with [`LATENCY_BUCKETS`], registered in `registry`.
pub fn latency_histogram(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<HistogramVec> {
    let histogram = HistogramVec::new(
        HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec()),
        labels,
    )?;
    registry.register(Box::new(histogram.clone()))?;
    Ok(histogram)
}
