//! Logs and traces for the binaries, set up once in `main`.
//!
//! - Logs: `RUST_LOG` filters them (not the exported spans), `LOG_FORMAT` picks human text or
//!   JSON lines (one object per event, span fields included, for log collectors; [`json`]). They go to
//!   stderr, written by a thread of their own ([`writer`]: drop and count, never block), so a
//!   binary's stdout stays clean for its output (`producer-sim --print`, `--json`).
//! - Traces: off unless `OTEL_EXPORTER_OTLP_ENDPOINT` names a collector; then every `tracing`
//!   span the filter lets through is also an OpenTelemetry span, exported over OTLP/HTTP, plain
//!   or https ([`export`]). [`continue_trace`] and [`traceparent`] carry W3C trace context across Kafka
//!   records and HTTP requests.
//!
//! With export off, none of the OpenTelemetry machinery is installed: spans cost what they cost
//! for logging alone, and the propagation helpers return at once.

mod export;
mod json;
mod propagation;
mod writer;

pub use propagation::{continue_trace, traceparent, TRACEPARENT};
pub use writer::{dropped_lines, BUFFERED_LINES};

use crate::config::TelemetryArgs;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing_subscriber::{filter::LevelFilter, fmt, prelude::*, EnvFilter, Layer};

/// Set once the OpenTelemetry layer is part of the global subscriber.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether spans are being exported (an OTLP endpoint is configured and installed).
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// Why telemetry could not be set up; the binary stops with this one line.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL, got `{0}`")]
    Endpoint(String),
    #[error("OTLP over https: {0}")]
    Tls(crate::tls::TlsError),
    #[error("cannot build the OTLP HTTP client: {0}")]
    Client(String),
    #[error("OTLP protocol `{0}` is not built in; use http/protobuf (a collector's port 4318)")]
    Protocol(String),
    #[error("cannot build the OTLP trace exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
}

/// Keeps trace export alive; dropping it (or [`Telemetry::shutdown`]) flushes the spans still
/// queued, so hold it until the binary's work is done.
#[must_use = "dropping it stops trace export"]
#[derive(Debug)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    /// Flushes the log lines still queued for the writer thread when dropped.
    _log_writer: tracing_appender::non_blocking::WorkerGuard,
}

impl Telemetry {
    /// Flushes queued log lines and stops trace export. Call before `std::process::exit`, which
    /// skips drops.
    pub fn shutdown(self) {}
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            EXPORTING.store(false, Ordering::Relaxed);
            if let Err(err) = provider.shutdown() {
                eprintln!("trace export did not shut down cleanly: {err}");
            }
        }
    }
}

/// Libraries whose debug lines quote the data they carry, capped whatever `RUST_LOG` says (no
/// customer value in logs): tokio-postgres logs every statement's parameters, that is every
/// order's fields, at debug (`executing statement … with parameters: […]`).
const QUOTING_VALUES: &[&str] = &["tokio_postgres::query=info"];

/// Installs the global subscriber, with trace export when `args` names an endpoint. `service`
/// is the `service.name` spans carry unless `OTEL_SERVICE_NAME` says otherwise. Call once,
/// first thing in `main`; a second call (tests starting several apps in one process) keeps the
/// first subscriber.
pub fn init(args: &TelemetryArgs, service: &'static str) -> Result<Telemetry, TelemetryError> {
    let endpoint = args
        .otlp_endpoint
        .as_deref()
        .map(str::trim)
        .filter(|url| !url.is_empty());
    let provider = endpoint
        .map(|url| export::tracer_provider(url, service))
        .transpose()?;
    // Spans are exported at `info` whatever `RUST_LOG` says: quieter logs must not cut traces.
    let otel_layer = provider.as_ref().map(|provider| {
        use opentelemetry::trace::TracerProvider as _;
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer(service))
            .with_filter(LevelFilter::INFO)
    });

    let log_filter = QUOTING_VALUES
        .iter()
        .filter_map(|directive| directive.parse().ok())
        .fold(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
            EnvFilter::add_directive,
        );
    let (log_writer, log_writer_guard) = writer::stderr();
    let fmt_layer = if args.log_format == "json" {
        fmt::layer()
            .event_format(json::JsonLines)
            .fmt_fields(json::JsonFragment)
            .with_writer(log_writer.clone())
            .boxed()
    } else {
        fmt::layer()
            .with_writer(log_writer.clone())
            .with_target(false)
            // Colour codes only for a person at a terminal: in a file, a pipe or a log
            // collector they are noise, and styling every span's fields costs each request.
            .with_ansi(std::io::stderr().is_terminal())
            .boxed()
    };
    let installed = tracing_subscriber::registry()
        .with(fmt_layer.with_filter(log_filter))
        .with(otel_layer)
        .try_init()
        .is_ok();
    if installed {
        writer::installed(&log_writer);
    }
    if installed && provider.is_some() {
        EXPORTING.store(true, Ordering::Relaxed);
        tracing::info!(
            endpoint = endpoint.unwrap_or_default(),
            "exporting traces over OTLP"
        );
    }
    Ok(Telemetry {
        provider,
        _log_writer: log_writer_guard,
    })
}
