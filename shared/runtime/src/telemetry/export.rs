//! The OTLP/HTTP span exporter: where spans go, under which service name, and the checks that
//! turn a wrong setting into a startup error instead of traces that silently never arrive.
//!
//! Spans are batched by the SDK's own background thread (`OTEL_BSP_*` tune it); when a
//! collector is slow or down, spans are dropped, never orders. Sampling follows
//! `OTEL_TRACES_SAMPLER` (default: parent-based, always on).
//!
//! An `https://` collector is verified against the system's CAs or the PEM file of the standard
//! `OTEL_EXPORTER_OTLP_CERTIFICATE`; `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` and
//! `OTEL_EXPORTER_OTLP_CLIENT_KEY` add a client certificate (each also in its `_TRACES_` form).

use super::TelemetryError;
use crate::tls::{client_config, TlsFiles, Verification};
use opentelemetry::KeyValue;
use opentelemetry_otlp::{SpanExporter, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::{trace::SdkTracerProvider, Resource};
use std::path::PathBuf;
use std::time::Duration;

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
    // The HTTP client is built with rustls (for https) and needs the process's crypto
    // provider, even for a plain http:// collector.
    crate::tls::provider();
    let mut exporter = SpanExporter::builder().with_http();
    // The signal-specific variable is a full URL and wins, as the OTLP spec says.
    let signal_url = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    if signal_url.is_none() {
        exporter = exporter.with_endpoint(traces_url(base)?);
    }
    let url = signal_url.unwrap_or_else(|| base.to_owned());
    if url.starts_with("https://") {
        exporter = exporter.with_http_client(https_client()?);
    }
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter.build()?)
        .with_resource(resource(service))
        .build())
}

/// `OTEL_EXPORTER_OTLP_ENDPOINT` is a base URL: traces go to its `/v1/traces`.
pub(super) fn traces_url(base: &str) -> Result<String, TelemetryError> {
    if !base.starts_with("http://") && !base.starts_with("https://") {
        return Err(TelemetryError::Endpoint(base.to_owned()));
    }
    Ok(format!("{}/v1/traces", base.trim_end_matches('/')))
}

/// The HTTP client for an `https://` collector: our rustls settings (full verification) from the
/// standard `OTEL_EXPORTER_OTLP_*CERTIFICATE`/`CLIENT_KEY` files, and the standard timeout.
fn https_client() -> Result<reqwest_otlp::blocking::Client, TelemetryError> {
    let files = TlsFiles {
        ca_file: setting("CERTIFICATE").map(PathBuf::from),
        cert_file: setting("CLIENT_CERTIFICATE").map(PathBuf::from),
        key_file: setting("CLIENT_KEY").map(PathBuf::from),
    };
    let tls = client_config(&files, Verification::Full).map_err(TelemetryError::Tls)?;
    let timeout = setting("TIMEOUT")
        .and_then(|ms| ms.trim().parse().ok())
        .map_or(Duration::from_secs(10), Duration::from_millis);
    // The blocking client starts its own runtime, which must not happen on a runtime thread.
    std::thread::spawn(move || {
        reqwest_otlp::blocking::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(timeout)
            .build()
    })
    .join()
    .map_err(|_| TelemetryError::Client("the thread building it panicked".into()))?
    .map_err(|err| TelemetryError::Client(err.to_string()))
}

/// `OTEL_EXPORTER_OTLP_TRACES_{suffix}`, else `OTEL_EXPORTER_OTLP_{suffix}`.
fn setting(suffix: &str) -> Option<String> {
    env(&format!("OTEL_EXPORTER_OTLP_TRACES_{suffix}"))
        .or_else(|| env(&format!("OTEL_EXPORTER_OTLP_{suffix}")))
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
    fn an_https_client_takes_the_standard_ca_variable_and_names_a_missing_file() {
        // The only test of this crate that sets these variables.
        std::env::set_var(
            "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
            "/nonexistent/otlp-ca.pem",
        );
        let err = https_client().expect_err("a missing CA file");
        std::env::remove_var("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE");
        assert!(
            err.to_string().contains("/nonexistent/otlp-ca.pem"),
            "{err}"
        );
        https_client().expect("system CAs when no file is named");
    }

    #[test]
    fn https_is_accepted_and_other_schemes_refused() {
        let url = traces_url("https://collector:4318").expect("valid");
        assert_eq!(url, "https://collector:4318/v1/traces");
        for url in ["collector:4318", "grpc://collector:4317"] {
            let err = traces_url(url).expect_err("refused");
            assert!(err.to_string().contains(url), "{err}");
        }
    }
}
