//! Settings shared by the binaries, one clap `Args` group per dependency. Each binary flattens
//! the groups it needs; every flag also reads the environment variable the contract (§3) names,
//! and [`load_dotenv`] fills the environment from `./.env` first.

use clap::Args;
use std::fmt;
use std::time::Duration;

/// Reads `./.env` when present. Variables already set in the environment win.
pub fn load_dotenv() {
    // A missing file is the normal case; a malformed one is worth a warning, not a crash.
    if let Err(err) = dotenvy::dotenv() {
        if !err.not_found() {
            eprintln!("warning: ignoring .env: {err}");
        }
    }
}

/// Kafka brokers and topic names.
#[derive(Debug, Clone, Args)]
pub struct KafkaArgs {
    /// Comma-separated bootstrap servers.
    #[arg(
        long = "kafka-brokers",
        env = "KAFKA_BROKERS",
        default_value = "localhost:9092"
    )]
    pub brokers: String,
    /// Topic the orders arrive on.
    #[arg(long = "orders-topic", env = "ORDERS_TOPIC", default_value = "orders")]
    pub orders_topic: String,
    /// Topic for delayed retries of records that failed transiently.
    #[arg(
        long = "retry-topic",
        env = "RETRY_TOPIC",
        default_value = "orders.retry"
    )]
    pub retry_topic: String,
    /// Dead-letter topic.
    #[arg(long = "dlq-topic", env = "DLQ_TOPIC", default_value = "orders.dlq")]
    pub dlq_topic: String,
}

/// PostgreSQL connection pool settings.
#[derive(Clone, Args)]
pub struct PostgresArgs {
    /// PostgreSQL connection URL.
    #[arg(
        long = "database-url",
        env = "DATABASE_URL",
        default_value = "postgres://orders:orders@localhost:5432/orders",
        hide_env_values = true
    )]
    pub database_url: String,
    /// Maximum connections in the pool.
    #[arg(long = "db-pool-size", env = "DB_POOL_SIZE", default_value_t = 16)]
    pub pool_size: usize,
    /// Per-statement timeout, in milliseconds (0 = none).
    #[arg(
        long = "db-statement-timeout-ms",
        env = "DB_STATEMENT_TIMEOUT_MS",
        default_value_t = 5000
    )]
    pub statement_timeout_ms: u64,
    /// How long to wait for a pooled connection or a new one, in milliseconds.
    #[arg(
        long = "db-connect-timeout-ms",
        env = "DB_CONNECT_TIMEOUT_MS",
        default_value_t = 2000
    )]
    pub connect_timeout_ms: u64,
}

impl PostgresArgs {
    pub fn statement_timeout(&self) -> Option<Duration> {
        (self.statement_timeout_ms > 0).then(|| Duration::from_millis(self.statement_timeout_ms))
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms.max(1))
    }
}

/// The URL may carry a password: never print it.
impl fmt::Debug for PostgresArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresArgs")
            .field("database_url", &redact_url(&self.database_url))
            .field("pool_size", &self.pool_size)
            .field("statement_timeout_ms", &self.statement_timeout_ms)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .finish()
    }
}

/// Redis read-model settings.
#[derive(Clone, Args)]
pub struct RedisArgs {
    /// Redis connection URL.
    #[arg(
        long = "redis-url",
        env = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379",
        hide_env_values = true
    )]
    pub redis_url: String,
    /// Lifetime of a cached order, in seconds (0 = no expiry).
    #[arg(
        long = "cache-ttl-secs",
        env = "ORDER_CACHE_TTL_SECS",
        default_value_t = 86_400
    )]
    pub ttl_secs: u64,
    /// Prefix for every key (lets several deployments or tests share one Redis).
    #[arg(
        long = "cache-key-prefix",
        env = "ORDER_CACHE_KEY_PREFIX",
        default_value = ""
    )]
    pub key_prefix: String,
    /// Timeout of one Redis call, in milliseconds.
    #[arg(
        long = "redis-timeout-ms",
        env = "REDIS_TIMEOUT_MS",
        default_value_t = 250
    )]
    pub timeout_ms: u64,
}

impl fmt::Debug for RedisArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisArgs")
            .field("redis_url", &redact_url(&self.redis_url))
            .field("ttl_secs", &self.ttl_secs)
            .field("key_prefix", &self.key_prefix)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
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
