//! What every binary of the pipeline runs on, whatever it talks to:
//!
//! - [`config`]: `.env` loading, password redaction, the logging/tracing settings group.
//! - [`telemetry`]: logs (text or JSON) and optional OTLP trace export, W3C trace context.
//! - [`metrics`]: rendering a Prometheus registry, the project's latency buckets.
//! - [`shutdown`]: one stop signal every task can await.

pub mod config;
pub mod metrics;
pub mod shutdown;
pub mod telemetry;
