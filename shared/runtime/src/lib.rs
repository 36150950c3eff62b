//! What every binary of the pipeline runs on, whatever it talks to:
//!
//! - [`config`]: `.env` loading, password redaction, the logging/tracing settings group.
//! - [`secrets`]: settings read from mounted secret files (`DATABASE_URL_FILE`, ...).
//! - [`tls`]: rustls client settings (CA file or system trust, client certificate, verification).
//! - [`failure`]: connection failures as one line naming the service and the cause.
//! - [`telemetry`]: logs (text or JSON) and optional OTLP trace export, W3C trace context.
//! - [`metrics`]: rendering a Prometheus registry, the project's latency buckets.
//! - [`shutdown`]: one stop signal every task can await.
//! - [`pacing`]: even spacing of sends at a rate (governor), with a stall never turned into a burst.

pub mod config;
pub mod failure;
pub mod metrics;
pub mod pacing;
pub mod secrets;
pub mod shutdown;
pub mod telemetry;
pub mod tls;
