//! query-api: the read side of the order pipeline (contract §5).
//!
//! - [`config`]: flags and environment.
//! - [`routes`] → [`handlers`]: the HTTP API; [`web`]: the page at `/`; [`openapi`]: the
//!   document and Swagger UI; [`health`]: liveness and readiness.
//! - [`read_model`]: near cache → Redis → PostgreSQL, with request coalescing.
//! - [`input`]: parsing of uids and query strings; [`error`]: the one place for status codes.
//! - [`http`]: request ids, limits, access log and graceful shutdown; [`workers`]: one runtime
//!   and listener per HTTP thread; [`metrics`]: Prometheus.
//!
//! [`Application`] is what `main` and the tests start: build it (binding the port), then run it
//! until a [`Shutdown`] fires.

pub mod config;
pub mod error;
pub mod handlers;
pub mod health;
pub mod http;
pub mod input;
pub mod metrics;
pub mod openapi;
pub mod read_model;
pub mod routes;
pub mod web;
pub mod workers;

use anyhow::Context;
use config::Config;
use handlers::AppState;
use order_cache::OrderCache;
use order_store::{migrate, Db, OrderRepository, StoreError};
use pipeline_runtime::shutdown::Shutdown;
use read_model::{ReadModel, ReadModelSettings};
use std::time::Duration;

/// A built, bound, not yet serving query-api.
pub struct Application {
    listeners: Vec<std::net::TcpListener>,
    port: u16,
    state: std::sync::Arc<AppState>,
    server: http::ServerSettings,
}

impl Application {
    /// Connects the pools, checks the schema and binds the listeners.
    ///
    /// Fails when the schema is behind this build (serving would fail on every read) or the
    /// settings are unusable; starts anyway, not ready, when PostgreSQL is merely unreachable,
    /// because instances must come up independently of their dependencies.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let metrics = metrics::ApiMetrics::new().context("registering metrics")?;
        let db = Db::connect(&config.postgres).await?;
        let schema_current = check_schema(&db, config.postgres.connect_timeout()).await?;
        let cache = OrderCache::new(&config.redis).context("invalid Redis settings")?;
        let repository = OrderRepository::new(db.clone());
        let databases = read_model::replica::Databases::connect(
            repository.clone(),
            &config.postgres,
            &config.read,
            metrics.clone(),
        )
        .await?;
        let settings = ReadModelSettings {
            near_cache_entries: config.read.near_cache_entries,
            near_cache_max_bytes: config.read.near_cache_max_bytes,
            breaker_failures: config.read.redis_breaker_failures,
            breaker_cooldown: config.read.redis_breaker_cooldown(),
            redis_timeout: Duration::from_millis(config.redis.timeout_ms.max(1)),
        };
        let health = health::Health::new(db, cache.clone(), schema_current)
            .with_replica(databases.replica_db().cloned());
        let state = AppState {
            read_model: ReadModel::new(&settings, cache, databases, metrics.clone()),
            repository,
            health,
            metrics,
            db_read_timeout: config.read.db_read_timeout(),
            openapi: openapi::document()?,
        };
        let threads = config.read.http_threads();
        let listeners = workers::bind(config.http_addr, threads)
            .with_context(|| format!("cannot listen on {}", config.http_addr))?;
        let port = listeners
            .first()
            .map(std::net::TcpListener::local_addr)
            .transpose()?
            .map_or(0, |addr| addr.port());
        tracing::info!(addr = %config.http_addr, port, threads, "query-api listening");
        Ok(Self {
            listeners,
            port,
            state: std::sync::Arc::new(state),
            server: http::ServerSettings {
                grace: config.read.shutdown_grace(),
                header_timeout: config.read.http_header_timeout(),
            },
        })
    }

    /// The bound port (useful with `--http-addr 127.0.0.1:0`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until `shutdown` fires, then finishes in-flight requests and returns.
    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let metrics = self.state.metrics.clone();
        let filter = routes::routes(self.state);
        workers::run(self.listeners, filter, metrics, shutdown, self.server).await
    }
}

/// `Ok(true)`: schema current; `Ok(false)`: PostgreSQL unreachable, checked again by readiness.
async fn check_schema(db: &Db, connect_timeout: Duration) -> anyhow::Result<bool> {
    let bound = connect_timeout + Duration::from_secs(1);
    match tokio::time::timeout(bound, migrate::ensure_current(db)).await {
        Ok(Ok(())) => Ok(true),
        Ok(Err(err)) if err.is_refused() => {
            // One line naming PostgreSQL and the cause; /readyz shows it too.
            tracing::error!("{err}");
            Ok(false)
        }
        Ok(Err(err)) if err.is_outage() => {
            tracing::warn!(%err, "postgres unreachable at start; serving as not ready until it is back");
            Ok(false)
        }
        Err(_) => {
            tracing::warn!("postgres did not answer at start; serving as not ready until it does");
            Ok(false)
        }
        Ok(Err(err @ StoreError::SchemaBehind { .. })) => Err(err.into()),
        Ok(Err(err)) => Err(anyhow::Error::new(err).context("checking the database schema")),
    }
}
