//! PostgreSQL storage of orders: the connection pool ([`Db`]), the embedded schema migrations
//! ([`migrate`]) and the write/read repository ([`OrderRepository`]).
//!
//! The schema is normalized (`orders`, `deliveries`, `payments`, `items`, see
//! `migrations/0001_orders.up.sql`); every order also carries the sha256 fingerprint of its
//! canonical JSON, which is how a redelivered order (duplicate) is told from a different order
//! reusing a uid (conflict) without reading the stored order back.
//!
//! Errors are classified by what the caller does about them ([`StoreError`]): outage, transient,
//! rejected, schema behind.

mod config;
mod copy;
mod error;
pub mod migrate;
mod read;
mod repository;
pub mod tls;
mod write;

pub use config::PostgresArgs;
pub use error::StoreError;
pub use migrate::MigrationStatus;
pub use read::OrderSummary;
pub use repository::{OrderRepository, StoreOutcome};

/// Settings a binary may read from a mounted secret file (`DATABASE_URL_FILE`).
pub const SECRET_SETTINGS: &[&str] = &["DATABASE_URL"];

/// A connection taken from [`Db::pool`]; it goes back to the pool when dropped.
pub type PooledClient = deadpool_postgres::Object;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use pipeline_runtime::config::redact_url;
use std::future::Future;
use std::time::Duration;

/// The connection string as it may appear in a message: a URL without its password; nothing of
/// a key=value string, whose quoting a redaction could get wrong.
fn shown(url: &str) -> String {
    if url.contains("://") {
        redact_url(url)
    } else {
        "(key=value string)".into()
    }
}

/// A pool of PostgreSQL connections. Cheap to clone (the pool is reference-counted).
///
/// The pool is lazy: [`Db::connect`] only checks the settings, so a binary starts (and reports
/// not-ready) while PostgreSQL is down instead of crash-looping. Every connection is opened with
/// the configured `statement_timeout`, so a stuck statement becomes a [`StoreError::Transient`]
/// instead of a stalled consumer.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    /// Client-side bound on one repository call; see [`Db::bounded`].
    deadline: Option<Duration>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("status", &self.pool.status())
            .finish()
    }
}

/// The `options` sent at login: those of the URL, then the settings this pipeline relies on
/// (each left out when the URL already sets it, so an operator's choice wins). The server
/// applies them at login, so they cost no extra round trip per connection.
///
/// - `statement_timeout`, when configured.
/// - `plan_cache_mode=force_generic_plan`: every statement here is a lookup by key whose best
///   plan does not depend on the values bound. Without it PostgreSQL re-plans a prepared
///   statement at each execution while custom plans look cheaper than the generic one, which
///   for a `= ANY($1)` read by primary key is always: planning then cost PostgreSQL about as
///   much CPU as the read itself (measured on the miss path, `docs/BENCHMARKS.md`).
/// - `enable_seqscan=off`, `enable_bitmapscan=off`: a generic plan is made once per connection,
///   from the table's size at that moment. Made while the table is small (a fresh deployment, a
///   new database), it scans the whole table, and keeps scanning it as the table grows until an
///   ANALYZE happens to invalidate it: in the freshness benchmark, query-api's reads of orders
///   not yet stored (a fresh database filling at 2,000 orders/s) kept PostgreSQL's CPU busy with
///   sequential scans and pushed ingest's commits to seconds. With both off the plan is the
///   primary-key index scan PostgreSQL picks for a large table, whatever the size.
fn login_options(url_options: Option<&str>, statement_timeout: Option<Duration>) -> String {
    let mut options = url_options.unwrap_or_default().trim().to_owned();
    let mut add = |name: &str, value: String| {
        if !options.contains(name) {
            if !options.is_empty() {
                options.push(' ');
            }
            options.push_str(&format!("-c {name}={value}"));
        }
    };
    if let Some(limit) = statement_timeout {
        add("statement_timeout", limit.as_millis().to_string());
    }
    add("plan_cache_mode", "force_generic_plan".to_owned());
    add("enable_seqscan", "off".to_owned());
    add("enable_bitmapscan", "off".to_owned());
    options
}

impl Db {
    /// Builds the pool from the settings. Fails only on an unusable URL, never because
    /// PostgreSQL is unreachable (connections are opened on first use).
    pub async fn connect(args: &PostgresArgs) -> Result<Db, StoreError> {
        let tls = tls::split(&args.database_url)?;
        let mut config: tokio_postgres::Config = tls.rest.parse().map_err(|err| {
            StoreError::Other(format!(
                "invalid database URL {}: {err}",
                shown(&args.database_url)
            ))
        })?;
        config.ssl_mode(tls.driver_mode());
        let connector = tls.connector()?;
        let timeout = args.connect_timeout();
        config.connect_timeout(timeout);
        if config.get_application_name().is_none() {
            config.application_name(env!("CARGO_PKG_NAME"));
        }
        let options = login_options(config.get_options(), args.statement_timeout());
        config.options(options);
        // The kernel's default keepalive notices a vanished server after two hours; these
        // notice it within about half a minute and close the connection, which the pool drops.
        if config.get_keepalives_idle() == Duration::from_secs(2 * 60 * 60) {
            config.keepalives_idle(Duration::from_secs(10));
            config.keepalives_interval(Duration::from_secs(5));
            config.keepalives_retries(3);
        }
        // `Fast` recycling only checks that the socket is still open: a dead server is noticed
        // by the next statement, which maps to `Unavailable`, without a ping per checkout.
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = Manager::from_config(config, connector, manager_config);
        let pool = Pool::builder(manager)
            .max_size(args.pool_size.max(1))
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|err| StoreError::Other(format!("cannot build the connection pool: {err}")))?;
        // The server ends a statement at `statement_timeout`; no answer well after that means
        // the server or the network is gone, not that the statement is slow.
        let deadline = args
            .statement_timeout()
            .map(|limit| limit + timeout + Duration::from_secs(1));
        Ok(Db { pool, deadline })
    }

    /// The underlying pool, for callers that need a raw connection (migrations, tests, COPY).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Checks that a connection can be obtained and used (readiness probes).
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.bounded(async {
            let client = self.pool.get().await?;
            client.simple_query("SELECT 1").await?;
            Ok(())
        })
        .await
    }

    /// Runs one storage call under the client-side deadline, so a half-open connection (server
    /// host gone without closing the socket) surfaces as an outage instead of a hang. Giving up
    /// on a write whose result is unknown is safe: retrying it reports `Duplicate`.
    pub(crate) async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let Some(limit) = self.deadline else {
            return call.await;
        };
        tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(format!(
                "no answer from the database within {limit:?}"
            )))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_options_add_the_pipelines_settings_after_the_urls() {
        assert_eq!(
            login_options(None, Some(Duration::from_secs(5))),
            "-c statement_timeout=5000 -c plan_cache_mode=force_generic_plan \
             -c enable_seqscan=off -c enable_bitmapscan=off"
        );
        assert_eq!(
            login_options(Some(" -c search_path=orders "), None),
            "-c search_path=orders -c plan_cache_mode=force_generic_plan \
             -c enable_seqscan=off -c enable_bitmapscan=off"
        );
    }

    #[test]
    fn a_setting_the_url_already_makes_is_left_to_it() {
        assert_eq!(
            login_options(
                Some("-c plan_cache_mode=auto -c statement_timeout=100 -c enable_seqscan=on"),
                Some(Duration::from_secs(5))
            ),
            "-c plan_cache_mode=auto -c statement_timeout=100 -c enable_seqscan=on \
             -c enable_bitmapscan=off"
        );
    }
}
