//! The Redis settings group (contract §3), flattened into each binary's clap arguments. The URL
//! may carry a password, so `Debug` redacts it.

use clap::Args;
use pipeline_runtime::config::redact_url;
use std::fmt;
use std::path::PathBuf;

/// Redis read-model settings.
#[derive(Clone, Args)]
pub struct RedisArgs {
    /// Redis connection URL.
    #[arg(
        long,
        env = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379",
        hide_env_values = true
    )]
    pub redis_url: String,
    /// Comma-separated seed URLs of a Redis Cluster (`redis://` or `rediss://`); when set, the
    /// cache runs on the cluster and `REDIS_URL` is ignored (contract §10).
    #[arg(
        long = "redis-cluster-urls",
        env = "REDIS_CLUSTER_URLS",
        hide_env_values = true
    )]
    pub cluster_urls: Option<String>,
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
    #[command(flatten)]
    pub tls: RedisTlsArgs,
}

/// Trust and client identity for `rediss://` (contract §9). The server certificate and its host
/// name are always verified.
#[derive(Debug, Clone, Default, Args)]
pub struct RedisTlsArgs {
    /// PEM CA certificates for `rediss://` (default: the system's).
    #[arg(long = "redis-tls-ca-file", env = "REDIS_TLS_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate for Redis mutual TLS (with --redis-tls-key-file).
    #[arg(long = "redis-tls-cert-file", env = "REDIS_TLS_CERT_FILE")]
    pub cert_file: Option<PathBuf>,
    /// PEM key of the client certificate.
    #[arg(long = "redis-tls-key-file", env = "REDIS_TLS_KEY_FILE")]
    pub key_file: Option<PathBuf>,
}

impl fmt::Debug for RedisArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisArgs")
            .field("redis_url", &redact_url(&self.redis_url))
            .field(
                "cluster_urls",
                &self.cluster_urls.as_deref().map(|urls| {
                    crate::cluster::seeds(urls)
                        .iter()
                        .map(|url| redact_url(url))
                        .collect::<Vec<_>>()
                }),
            )
            .field("ttl_secs", &self.ttl_secs)
            .field("key_prefix", &self.key_prefix)
            .field("timeout_ms", &self.timeout_ms)
            .field("tls", &self.tls)
            .finish()
    }
}
