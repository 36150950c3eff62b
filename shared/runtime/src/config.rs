//! Configuration plumbing every binary shares: [`load_environment`] fills the environment from
//! `./.env` and secret files before clap reads flags and variables, [`redact_url`] keeps passwords out of logs, and
//! [`TelemetryArgs`] is the logging/tracing group. Each dependency's own settings group lives with
//! its client crate (`order_store::PostgresArgs`, `order_cache::RedisArgs`,
//! `pipeline_kafka::KafkaArgs`); binaries flatten the groups they need.

use clap::Args;

/// Prepares the environment that clap reads the settings from; call first thing in `main`:
/// `./.env` ([`load_dotenv`]), then empty variables dropped (an empty value means unset, the way
/// compose files, `.env` templates and Kubernetes leave optional settings), then settings read
/// from their `X_FILE` ([`crate::secrets`]). Fails, naming the variables, when a secret cannot be
/// read or is set twice.
pub fn load_environment(secret_settings: &[&str]) -> Result<(), crate::secrets::SecretError> {
    load_dotenv();
    for (name, value) in std::env::vars_os() {
        if value.is_empty() {
            // Before any other thread reads the environment (see `load_secret_files`).
            std::env::remove_var(name);
        }
    }
    crate::secrets::load_secret_files(secret_settings)
}

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

/// `scheme://user:secret@host/db?password=x` → `scheme://user:***@host/db?password=***`: the
/// URL as it may appear in a message, without its passwords.
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut redacted = match base.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((credentials, host)) => {
                let user = credentials.split(':').next().unwrap_or("");
                format!("{scheme}://{user}:***@{host}")
            }
            None => base.to_owned(),
        },
        None => base.to_owned(),
    };
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => param.to_owned(),
            })
            .collect();
        redacted.push('?');
        redacted.push_str(&params.join("&"));
    }
    redacted
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
        assert_eq!(
            redact_url("postgres://db/orders?sslmode=verify-full&password=pw&user=u"),
            "postgres://db/orders?sslmode=verify-full&password=***&user=u"
        );
        assert_eq!(
            redact_url("rediss://orders:p@ss@cache:6380/0"),
            "rediss://orders:***@cache:6380/0"
        );
    }
}
