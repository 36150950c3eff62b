//! The PostgreSQL settings group (contract §3), flattened into each binary's clap arguments. The
//! URL may carry a password, so `Debug` redacts it.

use clap::Args;
use pipeline_runtime::config::redact_url;
use std::fmt;
use std::time::Duration;

/// PostgreSQL connection pool settings.
#[derive(Clone, Args)]
pub struct PostgresArgs {
    /// PostgreSQL connection URL.
    #[arg(
        long,
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
