//! query-api: the read side of the order pipeline (contract §5).
//!
//! - [`config`]: flags and environment.
//! - [`routes`] → [`handlers`]: the HTTP API; [`web`]: the page at `/`; [`openapi`]: the
//!   document and Swagger UI; [`health`]: liveness and readiness.
//! - [`read_model`]: near cache → Redis → PostgreSQL, with request coalescing.
//! - [`input`]: parsing of uids and query strings; [`error`]: the one place for status codes.
//! - [`auth`]: API keys, JWT, scopes and rate limits, checked by [`http`] before routing.
//! - [`http`]: request ids, limits, access log and graceful shutdown; [`workers`]: one runtime
//!   and listener per HTTP thread; [`metrics`]: Prometheus, served by [`admin`] on its own port.
//!
//! [`Application`] is what `main` and the tests start: build it (binding the port), then run it
//! until a [`Shutdown`] fires.

pub mod admin;
pub mod auth;
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
use auth::Auth;
use config::Config;
use handlers::AppState;
use order_cache::OrderCache;
use order_store::{migrate, Db, OrderRepository, StoreError};
use pipeline_runtime::shutdown::Shutdown;
use read_model::{ReadModel, ReadModelSettings};
use std::sync::Arc;
use std::time::Duration;

/// A built, bound, not yet serving query-api.
pub struct Application {
    listeners: Vec<std::net::TcpListener>,
    port: u16,
    admin: std::net::TcpListener,
    admin_port: u16,
    auth: Arc<Auth>,
    state: Arc<AppState>,
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
        // Access control first: a wrong setting stops the start before anything connects.
        install_crypto_provider();
        let auth = Arc::new(Auth::build(&config.auth, metrics.clone()).await?);
        let db = Db::connect(&config.postgres).await?;
        let schema_current = check_schema(&db, config.postgres.connect_timeout()).await?;
        let cache = OrderCache::new(&config.redis).context("invalid Redis settings")?;
        let repository = OrderRepository::new(db.clone());
        let threads = config.read.http_threads();
        let (caches, databases) = read_path_connections(&config, threads, &metrics).await?;
        let settings = ReadModelSettings {
            near_cache_entries: config.read.near_cache_entries,
            near_cache_max_bytes: config.read.near_cache_max_bytes,
            breaker_failures: config.read.redis_breaker_failures,
            breaker_cooldown: config.read.redis_breaker_cooldown(),
            redis_timeout: Duration::from_millis(config.redis.timeout_ms.max(1)),
        };
        let health = health::Health::new(db, cache, schema_current, Arc::clone(&auth))
            .with_replica(databases.first().replica_db().cloned());
        let state = AppState {
            read_model: ReadModel::new(&settings, caches, databases, metrics.clone()),
            repository,
            health,
            metrics,
            db_read_timeout: config.read.db_read_timeout(),
            openapi: openapi::document()?,
        };
        let listeners = workers::bind(config.http_addr, threads)
            .with_context(|| format!("cannot listen on {}", config.http_addr))?;
        let port = listeners
            .first()
            .map(std::net::TcpListener::local_addr)
            .transpose()?
            .map_or(0, |addr| addr.port());
        let admin = admin::bind(config.admin_addr)?;
        let admin_port = admin.local_addr()?.port();
        tracing::info!(addr = %config.http_addr, port, threads, "query-api listening");
        tracing::info!(addr = %config.admin_addr, port = admin_port, "admin endpoints (/metrics, /healthz, /readyz) listening");
        Ok(Self {
            listeners,
            port,
            admin,
            admin_port,
            auth,
            state: Arc::new(state),
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

    /// The bound admin port (useful with `--admin-addr 127.0.0.1:0`).
    pub fn admin_port(&self) -> u16 {
        self.admin_port
    }

    /// Serves until `shutdown` fires, then finishes in-flight requests and returns.
    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let front = http::Front {
            metrics: self.state.metrics.clone(),
            auth: Arc::clone(&self.auth),
        };
        let admin = tokio::spawn(admin::serve(
            self.admin,
            admin::routes(Arc::clone(&self.state)),
            shutdown.clone(),
            self.server.header_timeout,
        ));
        let upkeep = tokio::spawn(Arc::clone(&self.auth).maintain(shutdown.clone()));
        let state = self.state;
        // Each HTTP thread's routes hold their own copy of the state (see `workers::run`).
        let routes = move || routes::routes(Arc::new(AppState::clone(&state)));
        let served = workers::run(self.listeners, routes, front, shutdown, self.server).await;
        if served.is_err() {
            // The HTTP threads failed without a shutdown: nothing else may keep running.
            admin.abort();
            upkeep.abort();
            return served;
        }
        let _ = upkeep.await;
        admin
            .await
            .map_err(|_| anyhow::anyhow!("the admin server panicked"))?
    }
}

/// The read path's connections, one set per HTTP thread ([`workers::PerWorker`]): a Redis
/// connection and PostgreSQL pools (primary and replica) each, `DB_POOL_SIZE` split between the
/// threads. All are lazy: each opens on its own thread's runtime at its first use.
async fn read_path_connections(
    config: &Config,
    threads: usize,
    metrics: &metrics::ApiMetrics,
) -> anyhow::Result<(
    workers::PerWorker<OrderCache>,
    workers::PerWorker<read_model::replica::Databases>,
)> {
    let threads = threads.max(1);
    let postgres = order_store::PostgresArgs {
        pool_size: config.postgres.pool_size.div_ceil(threads).max(1),
        ..config.postgres.clone()
    };
    let (mut caches, mut databases) = (Vec::new(), Vec::new());
    for _ in 0..threads {
        caches.push(OrderCache::new(&config.redis).context("invalid Redis settings")?);
        let primary = OrderRepository::new(Db::connect(&postgres).await?);
        databases.push(
            read_model::replica::Databases::connect(
                primary,
                &postgres,
                &config.read,
                metrics.clone(),
            )
            .await?,
        );
    }
    Ok((
        workers::PerWorker::new(caches)?,
        workers::PerWorker::new(databases)?,
    ))
}

/// jsonwebtoken needs its crypto provider named once per process (it would otherwise infer it
/// from its build features, and refuse when another crate enabled a second one). The JWKS
/// client names rustls' provider itself.
fn install_crypto_provider() {
    // Err: already installed (a second app in the same test process).
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
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
