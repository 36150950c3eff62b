//! The query-api's metrics: one typed struct with its own registry, created once and shared
//! through the app state. Each notable event has one method here that writes both the log line
//! and the metric, so they cannot drift. Labels have few values: a route template, never a uid.
//! The figures every request updates are counted per thread and moved into the registry at each
//! scrape ([`per_thread`]).

mod per_thread;

use per_thread::{PerThread, Targets};
use pipeline_runtime::metrics::{latency_opts, Registrar};
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};
use std::sync::Arc;
use std::time::Duration;
use warp::http::StatusCode;

/// Where an order read was answered from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadSource {
    /// This process's memory.
    Memory,
    /// The shared Redis read model.
    Redis,
    /// PostgreSQL (a cache miss).
    Postgres,
}

impl ReadSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ReadSource::Memory => "memory",
            ReadSource::Redis => "redis",
            ReadSource::Postgres => "postgres",
        }
    }

    /// Contract §5: `x-cache: hit` when any cache answered, `miss` when PostgreSQL did.
    pub fn is_hit(self) -> bool {
        self != ReadSource::Postgres
    }

    /// `hit` or `miss` (contract §5's `x-cache` value, and the `result` label of
    /// `order_cache_requests_total`).
    pub fn cache_result(self) -> &'static str {
        if self.is_hit() {
            "hit"
        } else {
            "miss"
        }
    }
}

/// Which PostgreSQL a read went to (contract §10: the replica with `DATABASE_READ_URL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbSource {
    Primary,
    Replica,
}

impl DbSource {
    pub fn as_str(self) -> &'static str {
        match self {
            DbSource::Primary => "primary",
            DbSource::Replica => "replica",
        }
    }
}

/// Cheap to clone: every clone shares one set of metrics.
#[derive(Debug, Clone)]
pub struct ApiMetrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    cache_requests: IntCounterVec,
    read_sources: IntCounterVec,
    db_reads: IntCounterVec,
    lookup_batch: Histogram,
    replica_fallbacks: IntCounterVec,
    replica_breaker_open: IntGauge,
    near_cache_entries: IntGauge,
    cache_connections_open: IntGauge,
    redis_failures: IntCounter,
    redis_breaker_open: IntGauge,
    auth_failures: IntCounterVec,
    rate_limited_callers: IntGauge,
    /// The per-request counts not yet moved into `http_requests`, `http_duration`,
    /// `cache_requests` and `read_sources`.
    per_thread: PerThread,
}

impl ApiMetrics {
    /// Registers every metric in a fresh registry (one per app, so tests can run several).
    pub fn new() -> prometheus::Result<Self> {
        let metrics = Registrar::new()?;
        let http_requests = metrics.add(IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests answered, by route template and status code.",
            ),
            &["route", "status"],
        ))?;
        let cache_requests = metrics.add(IntCounterVec::new(
            Opts::new(
                "order_cache_requests_total",
                "Order lookups answered from a cache (hit) or from PostgreSQL (miss).",
            ),
            &["result"],
        ))?;
        let read_sources = metrics.add(IntCounterVec::new(
            Opts::new(
                "order_read_source_total",
                "Order lookups by the layer that answered: memory, redis or postgres.",
            ),
            &["source"],
        ))?;
        let http_duration = metrics.add(HistogramVec::new(
            latency_opts(
                "http_request_duration_seconds",
                "Time to answer an HTTP request, by route template.",
            ),
            &["route"],
        ))?;
        let lookup_batch = metrics.add(Histogram::with_opts(
            HistogramOpts::new(
                "order_lookup_batch_size",
                "Lookups (orders in neither this process's memory nor a lookup already \
                 running) one HTTP thread handled together: one Redis read and at most one \
                 PostgreSQL statement per batch.",
            )
            .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]),
        ))?;
        let db_reads = metrics.add(IntCounterVec::new(
            Opts::new(
                "order_db_reads_total",
                "Orders read from PostgreSQL, by database: primary, or replica with \
                 DATABASE_READ_URL (concurrent misses for one uid share one read; the misses \
                 of one HTTP thread share one statement).",
            ),
            &["source"],
        ))?;
        let replica_fallbacks = metrics.add(IntCounterVec::new(
            Opts::new(
                "order_db_replica_fallbacks_total",
                "Orders the primary was asked for in the replica's place: not_found (checked \
                 on the primary, the replica may lag), failed, skipped (replica breaker open).",
            ),
            &["reason"],
        ))?;
        let replica_breaker_open = metrics.add(IntGauge::new(
            "order_db_replica_breaker_open",
            "1 while the read replica is skipped after repeated failures, else 0.",
        ))?;
        let near_cache_entries = metrics.add(IntGauge::new(
            "order_near_cache_entries",
            "Orders held in this process's memory.",
        ))?;
        let cache_connections_open = metrics.add(IntGauge::new(
            "order_cache_connections_open",
            "HTTP threads whose own Redis connection is open; a thread without one reads \
             PostgreSQL (and opens it in the background).",
        ))?;
        let redis_failures = metrics.add(IntCounter::new(
            "order_cache_errors_total",
            "Redis calls that failed or timed out.",
        ))?;
        let redis_breaker_open = metrics.add(IntGauge::new(
            "order_cache_breaker_open",
            "Parts of Redis skipped after repeated failures: 1 while a single Redis is; on a \
             Redis Cluster, the slot groups (of 64) whose master keeps failing.",
        ))?;
        let auth_failures = metrics.add(IntCounterVec::new(
            Opts::new(
                "auth_failures_total",
                "Requests to the order routes refused: missing, invalid or expired \
                 credential, missing scope, or over the caller's rate.",
            ),
            &["reason"],
        ))?;
        // Every reason from the start, so alerts see a 0 rather than no series.
        for reason in ["missing", "invalid", "expired", "scope", "rate"] {
            auth_failures.with_label_values(&[reason]);
        }
        let rate_limited_callers = metrics.add(IntGauge::new(
            "auth_rate_limited_callers",
            "Callers the rate limiter currently tracks (bounded; idle ones are forgotten).",
        ))?;
        let inner = Inner {
            registry: metrics.into_registry(),
            http_requests,
            http_duration,
            cache_requests,
            read_sources,
            db_reads,
            lookup_batch,
            replica_fallbacks,
            replica_breaker_open,
            near_cache_entries,
            cache_connections_open,
            redis_failures,
            redis_breaker_open,
            auth_failures,
            rate_limited_callers,
            per_thread: PerThread::new(),
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The registry's contents in Prometheus text format, with every request answered so far.
    pub fn render(&self) -> String {
        let inner = &self.inner;
        inner.per_thread.drain_into(&Targets {
            http_requests: &inner.http_requests,
            cache_requests: &inner.cache_requests,
            read_sources: &inner.read_sources,
        });
        pipeline_runtime::metrics::render(&inner.registry)
    }

    /// A request was answered (the access log line).
    pub fn request_completed(
        &self,
        method: &str,
        path: &str,
        route: &'static str,
        status: StatusCode,
        elapsed: Duration,
    ) {
        let inner = &self.inner;
        inner
            .per_thread
            .request(route, status, elapsed, &inner.http_duration);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let status = status.as_u16();
        // Paths carry uids (useful when debugging) but are cut short: junk can be long. Fields
        // are only evaluated when the line is enabled.
        let path = path.get(..200).unwrap_or(path);
        if status >= 500 {
            tracing::warn!(method, path, route, status, micros, "request failed");
        } else {
            tracing::info!(method, path, route, status, micros, "request");
        }
    }

    /// An order lookup was answered by `source` (not-found answers come from PostgreSQL).
    pub fn order_read(&self, source: ReadSource) {
        self.inner.per_thread.read(source);
        tracing::debug!(source = source.as_str(), "order read");
    }

    /// One HTTP thread looked up `size` orders together.
    pub fn lookup_batch(&self, size: usize) {
        self.inner.lookup_batch.observe(size as f64);
    }

    /// `orders` were asked of PostgreSQL in one statement (`source`: primary or replica).
    pub fn db_read(&self, source: DbSource, orders: usize) {
        self.inner
            .db_reads
            .with_label_values(&[source.as_str()])
            .inc_by(orders as u64);
        tracing::debug!(source = source.as_str(), orders, "read from postgres");
    }

    /// The primary was asked for `orders` in the replica's place (`reason`: not_found, failed,
    /// skipped).
    pub fn replica_fallback(&self, reason: &'static str, orders: usize) {
        self.inner
            .replica_fallbacks
            .with_label_values(&[reason])
            .inc_by(orders as u64);
    }

    /// The replica breaker opened (`true`) or closed again (`false`).
    pub fn replica_breaker(&self, open: bool) {
        self.inner.replica_breaker_open.set(i64::from(open));
        if open {
            tracing::warn!("the read replica keeps failing; reading from the primary for a while");
        } else {
            tracing::info!("the read replica answers again");
        }
    }

    pub fn near_cache_size(&self, entries: usize) {
        self.inner
            .near_cache_entries
            .set(i64::try_from(entries).unwrap_or(i64::MAX));
    }

    pub fn cache_connections_open(&self, threads: usize) {
        self.inner
            .cache_connections_open
            .set(i64::try_from(threads).unwrap_or(i64::MAX));
    }

    /// A Redis call failed; `operation` is `get` or `put`.
    pub fn redis_failed(&self, operation: &'static str, error: &dyn std::fmt::Display) {
        self.inner.redis_failures.inc();
        tracing::debug!(operation, %error, "redis call failed");
    }

    /// A request to an order route was refused; `reason` is a [`crate::auth::Denial`] reason.
    pub fn auth_failed(&self, reason: &'static str) {
        self.inner.auth_failures.with_label_values(&[reason]).inc();
        tracing::debug!(reason, "request refused by access control");
    }

    pub fn rate_limited_callers(&self, callers: usize) {
        self.inner
            .rate_limited_callers
            .set(i64::try_from(callers).unwrap_or(i64::MAX));
    }

    /// A Redis circuit breaker opened or closed: `open` of `groups` (slot groups on a cluster,
    /// one group for a single Redis) are now skipped.
    pub fn redis_breaker(&self, open: i64, groups: usize) {
        let before = self.inner.redis_breaker_open.get();
        self.inner.redis_breaker_open.set(open);
        if open > before {
            tracing::warn!(
                open,
                groups,
                "redis keeps failing; reading those keys from postgres only for a while"
            );
        } else {
            tracing::info!(open, groups, "redis answers again");
        }
    }
}
