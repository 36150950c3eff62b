//! The OTLP/HTTP span exporter: where spans go, under which service name, and the checks that
//! turn a wrong setting into a startup error instead of traces that silently never arrive.
//!
//! Spans are batched by the SDK's own background thread (`OTEL_BSP_*` tune it); when a
//! collector is slow or down, spans are dropped, never orders. Sampling follows
//! `OTEL_TRACES_SAMPLER` (default: parent-based, always on).

use super::TelemetryError;
use opentelemetry::KeyValue;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::{trace::SdkTracerProvider, Resource};

/// A tracer provider exporting to the collector at `base` (an OTLP base URL).
pub(super) fn tracer_provider(
    base: &str,
    service: &'static str,
) -> Result<SdkTracerProvider, TelemetryError> {
    let protocol =
        env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").or_else(|| env("OTEL_EXPORTER_OTLP_PROTOCOL"));
    if let Some(protocol) = protocol.filter(|p| p != "http/protobuf") {
        return Err(TelemetryError::Protocol(protocol));
    }
    let mut exporter = SpanExporter::builder().with_http();
    // The signal-specific variable is a full URL and wins, as the OTLP spec says.
    if env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_none() {
        exporter = exporter.with_endpoint(traces_url(base)?);
    }
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter.build()?)
        .with_resource(resource(service))
        .build())
}

/// `OTEL_EXPORTER_OTLP_ENDPOINT` is a base URL: traces go to its `/v1/traces`.
pub(super) fn traces_url(base: &str) -> Result<String, TelemetryError> {
    if !base.starts_with("http://") {
        return Err(TelemetryError::Endpoint(base.to_owned()));
    }
    Ok(format!("{}/v1/traces", base.trim_end_matches('/')))
}

/// The SDK's detected resource (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`), named after
/// the binary when neither names the service.
fn resource(service: &'static str) -> Resource {
    let version = KeyValue::new("service.version", env!("CARGO_PKG_VERSION"));
    let named = env("OTEL_SERVICE_NAME").is_some()
        || env("OTEL_RESOURCE_ATTRIBUTES").is_some_and(|attrs| attrs.contains("service.name="));
    let builder = Resource::builder().with_attribute(version);
    if named {
        builder.build()
    } else {
        builder.with_service_name(service).build()
    }
}

/// A variable's value, unset when empty (as compose and Kubernetes often leave them).
fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_go_to_the_signal_path_of_the_base_url() {
        let url = traces_url("http://collector:4318/").expect("valid");
        assert_eq!(url, "http://collector:4318/v1/traces");
        let url = traces_url("http://otel.example/prefix").expect("valid");
        assert_eq!(url, "http://otel.example/prefix/v1/traces");
    }

    #[test]
    fn an_endpoint_without_plain_http_is_refused() {
        for url in ["collector:4318", "https://collector:4318"] {
            let err = traces_url(url).expect_err("refused");
            assert!(err.to_string().contains(url), "{err}");
        }
    }
}
