//! Configuration plumbing every binary shares: [`load_dotenv`] fills the environment from `./.env`
//! before clap reads flags and variables, [`redact_url`] keeps passwords out of logs, and
//! [`TelemetryArgs`] is the logging/tracing group. Each dependency's own settings group lives with
//! its client crate (`order_store::PostgresArgs`, `order_cache::RedisArgs`,
//! `pipeline_kafka::KafkaArgs`); binaries flatten the groups they need.

use clap::Args;

/// Reads `./.env` when present. Variables already set in the environment win.
pub fn load_dotenv() {
    // A missing file is the normal case; a malformed one is worth a warning, not a crash.
    if let Err(err) = dotenvy::dotenv() {
        if !err.not_found() {
            eprintln!("warning: ignoring .env: {err}");
        }
    }
}

/// Logging and trace export settings.
#[derive(Debug, Clone, Args)]
pub struct TelemetryArgs {
    /// `text` for people, `json` for log collectors.
    #[arg(long = "log-format", env = "LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// OTLP/HTTP base URL of a trace collector (e.g. `http://otel-collector:4318`); spans go to
    /// `{url}/v1/traces`. Unset or empty: no trace export. The exporter also honours the other
    /// standard `OTEL_*` variables (`OTEL_SERVICE_NAME`, `OTEL_EXPORTER_OTLP_HEADERS`,
    /// `OTEL_TRACES_SAMPLER`, ...).
    #[arg(long = "otlp-endpoint", env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
}

impl Default for TelemetryArgs {
    /// Text logs, no trace export.
    fn default() -> Self {
        Self {
            log_format: "text".into(),
            otlp_endpoint: None,
        }
    }
}

/// `scheme://user:secret@host/db` → `scheme://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    let user = credentials.split(':').next().unwrap_or("");
    format!("{scheme}://{user}:***@{host}")
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact_url("postgres://orders:pw@db:5432/orders"),
            "postgres://orders:***@db:5432/orders"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }
}
