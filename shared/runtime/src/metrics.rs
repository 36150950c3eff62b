//! Prometheus plumbing shared by the binaries: each binary keeps one typed metrics struct with its
//! own [`Registry`]; this module declares metrics into a registry ([`Registrar`]), renders a
//! registry in the text format and holds the project's latency buckets.

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Encoder, HistogramOpts, IntCounter, Registry, TextEncoder};

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

/// A binary's registry, holding what every binary exports ([`register_runtime_metrics`]), that
/// registers each metric where it is built ([`Registrar::add`]): no metric is declared without
/// being registered, and no `register` call is written apart from its declaration.
#[derive(Debug)]
pub struct Registrar {
    registry: Registry,
}

impl Registrar {
    /// A fresh registry (one per app, so tests can run several) with the runtime metrics.
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        register_runtime_metrics(&registry)?;
        Ok(Self { registry })
    }

    /// The registry, once every metric is declared.
    pub fn into_registry(self) -> Registry {
        self.registry
    }

    /// Registers `metric`, as its constructor returns it, and hands it back.
    pub fn add<M: Collector + Clone + 'static>(
        &self,
        metric: prometheus::Result<M>,
    ) -> prometheus::Result<M> {
        let metric = metric?;
        self.registry.register(Box::new(metric.clone()))?;
        Ok(metric)
    }
}

/// Histogram options with [`LATENCY_BUCKETS`].
pub fn latency_opts(name: &str, help: &str) -> HistogramOpts {
    HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec())
}

/// Registers what every binary exports about itself: `log_lines_dropped_total` (log lines the
/// non-blocking writer dropped because it could not keep up, see [`crate::telemetry`]).
pub fn register_runtime_metrics(registry: &Registry) -> prometheus::Result<()> {
    let dropped = IntCounter::new(
        "log_lines_dropped_total",
        "Log lines dropped because the log writer could not keep up",
    )?;
    registry.register(Box::new(DroppedLogLines { counter: dropped }))
}

/// A counter read from the log writer when scraped, so nothing on the logging path touches it.
#[derive(Clone)]
struct DroppedLogLines {
    counter: IntCounter,
}

impl Collector for DroppedLogLines {
    fn desc(&self) -> Vec<&Desc> {
        self.counter.desc()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let dropped = crate::telemetry::dropped_lines();
        // The source only grows; catch the counter up to it.
        self.counter
            .inc_by(dropped.saturating_sub(self.counter.get()));
        self.counter.collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registry_exports_the_dropped_log_lines() {
        let registry = Registry::new();
        register_runtime_metrics(&registry).expect("register");
        let text = render(&registry);
        assert!(
            text.lines().any(|line| line == "log_lines_dropped_total 0"),
            "{text}"
        );
    }

    #[test]
    fn added_metrics_are_registered_once() {
        let metrics = Registrar::new().expect("registrar");
        let counter = metrics
            .add(IntCounter::new("things_total", "Things"))
            .expect("add");
        counter.inc();
        assert!(metrics
            .add(IntCounter::new("things_total", "Things again"))
            .is_err());
        let text = render(&metrics.into_registry());
        assert!(text.lines().any(|line| line == "things_total 1"), "{text}");
        assert!(text.contains("log_lines_dropped_total 0"), "{text}");
    }
}
