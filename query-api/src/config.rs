//! The query-api's settings: the shared dependency groups plus what only the read side tunes.
//! Every flag also reads its environment variable (contract §3), so containers configure it
//! through the environment and people through `--help`.

use clap::Parser;
use order_cache::RedisArgs;
use order_store::PostgresArgs;
use pipeline_runtime::config::{redact_url, TelemetryArgs};
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// Serves orders over HTTP from Redis and PostgreSQL.
#[derive(Debug, Clone, Parser)]
#[command(name = "query-api", version, about)]
pub struct Config {
    /// Address the HTTP server listens on (port 0 picks a free port).
    #[arg(long, env = "HTTP_ADDR", default_value = "0.0.0.0:8080")]
    pub http_addr: SocketAddr,

    /// Address of the admin listener: `/metrics`, `/healthz` and `/readyz` (port 0 picks a free
    /// port). Keep it reachable by Prometheus and the kubelet only: `/metrics` is not served on
    /// the public HTTP address.
    #[arg(long, env = "ADMIN_ADDR", default_value = "0.0.0.0:9101")]
    pub admin_addr: SocketAddr,

    #[command(flatten)]
    pub auth: AuthArgs,

    #[command(flatten)]
    pub read: ReadArgs,

    #[command(flatten)]
    pub postgres: PostgresArgs,

    #[command(flatten)]
    pub redis: RedisArgs,

    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

/// Who may read orders, and how fast (contract §8). Checked at start by [`crate::auth::Auth`]:
/// an unusable combination stops query-api with one line naming what to fix. Values are plain
/// strings so that an empty variable (`API_KEYS_FILE=` in a `.env` copied from the template)
/// means "not set" rather than a parse error; [`AuthArgs::value`] reads them.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AuthArgs {
    /// `api-key`, `jwt`, both (`api-key,jwt`), or `off` (anyone may read; for local use only).
    /// Required: there is no default, so nobody serves personal data openly by accident.
    #[arg(long = "auth-mode", env = "AUTH_MODE")]
    pub mode: Option<String>,

    /// API keys (mode `api-key`): one `<key-id> <sha256-hex of the key> <scope>[,<scope>…]` a
    /// line, `#` comments. Changes take effect within 10 seconds, without a restart.
    #[arg(long, env = "API_KEYS_FILE")]
    pub api_keys_file: Option<String>,

    /// JWKS URL of the token issuer (mode `jwt`, http or https): fetched at start, every 5
    /// minutes, and when a token names an unknown key (at most once per 10 seconds).
    #[arg(long = "auth-jwks-url", env = "AUTH_JWKS_URL")]
    pub jwks_url: Option<String>,

    /// JWKS file instead of a URL (mode `jwt`); re-read when it changes.
    #[arg(long = "auth-jwks-file", env = "AUTH_JWKS_FILE")]
    pub jwks_file: Option<String>,

    /// Required `iss` of tokens (mode `jwt`).
    #[arg(long = "auth-issuer", env = "AUTH_ISSUER")]
    pub issuer: Option<String>,

    /// Required `aud` of tokens (mode `jwt`): the string, or one entry of the array.
    #[arg(long = "auth-audience", env = "AUTH_AUDIENCE")]
    pub audience: Option<String>,

    /// Requests per second each caller may make to the order routes (0 = no limit). A caller
    /// is an API key, a token's `sub`, or the client address when auth is off.
    #[arg(long, env = "RATE_LIMIT_PER_SEC", default_value_t = 0)]
    pub rate_limit_per_sec: u32,

    /// Requests a caller may make at once before the per-second rate applies (default: twice
    /// the rate).
    #[arg(long, env = "RATE_LIMIT_BURST")]
    pub rate_limit_burst: Option<String>,
}

impl AuthArgs {
    /// A setting's value, `None` when unset or blank.
    pub fn value(setting: &Option<String>) -> Option<&str> {
        setting
            .as_deref()
            .map(str::trim)
            .filter(|value| !value.is_empty())
    }

    /// Auth off: for tests and local tools that do not exercise access control.
    pub fn off() -> Self {
        Self {
            mode: Some("off".into()),
            ..Self::default()
        }
    }
}

/// How reads are cached and bounded.
#[derive(Debug, Clone, clap::Args)]
pub struct ReadArgs {
    /// PostgreSQL read replica (contract §10): reads go to it first; the primary
    /// (`DATABASE_URL`) answers when it cannot and confirms every not-found. Same pool settings
    /// as the primary.
    #[arg(long, env = "DATABASE_READ_URL", hide_env_values = true)]
    pub database_read_url: Option<SecretUrl>,

    /// Orders kept in this process's memory (0 disables the near cache). Orders never change
    /// once stored, so a cached copy never goes stale. The byte bound below is what usually
    /// binds: 32 MiB hold ~23,000 orders the size of the contract's fixture.
    #[arg(long, env = "NEAR_CACHE_ENTRIES", default_value_t = 50_000)]
    pub near_cache_entries: usize,

    /// Upper bound on the bytes of JSON the near cache holds, so big orders cannot blow the
    /// memory budget.
    #[arg(long, env = "NEAR_CACHE_MAX_BYTES", default_value_t = 32 << 20)]
    pub near_cache_max_bytes: usize,

    /// Upper bound on one PostgreSQL read (pool wait included), in milliseconds.
    #[arg(long, env = "DB_READ_TIMEOUT_MS", default_value_t = 3_000)]
    pub db_read_timeout_ms: u64,

    /// After this many Redis failures in a row, stop asking Redis for a while.
    #[arg(long, env = "REDIS_BREAKER_FAILURES", default_value_t = 3)]
    pub redis_breaker_failures: u32,

    /// How long Redis is skipped once the breaker opens, in milliseconds.
    #[arg(long, env = "REDIS_BREAKER_COOLDOWN_MS", default_value_t = 5_000)]
    pub redis_breaker_cooldown_ms: u64,

    /// HTTP threads, each with its own runtime and listener (0 = one per CPU).
    #[arg(long, env = "HTTP_THREADS", default_value_t = 0)]
    pub http_threads: usize,

    /// Time allowed for in-flight requests to finish after a shutdown signal, in milliseconds.
    #[arg(long, env = "SHUTDOWN_GRACE_MS", default_value_t = 10_000)]
    pub shutdown_grace_ms: u64,

    /// Time a client has to send a request's headers, in milliseconds, counted from when the
    /// server starts waiting for them (a new connection, or the end of the previous response on
    /// a kept-alive one). Past it the connection is closed: slow or silent clients cannot hold
    /// connections open, and idle kept-alive connections are closed after this long too.
    #[arg(long, env = "HTTP_HEADER_TIMEOUT_MS", default_value_t = 10_000)]
    pub http_header_timeout_ms: u64,
}

impl ReadArgs {
    pub fn db_read_timeout(&self) -> Duration {
        Duration::from_millis(self.db_read_timeout_ms.max(1))
    }

    pub fn redis_breaker_cooldown(&self) -> Duration {
        Duration::from_millis(self.redis_breaker_cooldown_ms)
    }

    pub fn http_threads(&self) -> usize {
        match self.http_threads {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        }
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }

    pub fn http_header_timeout(&self) -> Duration {
        Duration::from_millis(self.http_header_timeout_ms.max(1))
    }
}

impl Default for ReadArgs {
    /// The same values as the flags' defaults, for tests that build a [`Config`] by hand.
    fn default() -> Self {
        Self {
            database_read_url: None,
            near_cache_entries: 50_000,
            near_cache_max_bytes: 32 << 20,
            db_read_timeout_ms: 3_000,
            redis_breaker_failures: 3,
            redis_breaker_cooldown_ms: 5_000,
            http_threads: 0,
            shutdown_grace_ms: 10_000,
            http_header_timeout_ms: 10_000,
        }
    }
}

/// Settings of this binary alone that may be read from a mounted secret file
/// (`DATABASE_READ_URL_FILE`); the shared groups list theirs.
pub const SECRET_SETTINGS: &[&str] = &["DATABASE_READ_URL"];

/// A connection URL that may carry a password: `Debug` shows it redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(pub String);

impl std::str::FromStr for SecretUrl {
    type Err = std::convert::Infallible;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        Ok(SecretUrl(url.to_owned()))
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}
