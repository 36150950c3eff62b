//! Answers "the JSON of order X" as cheaply as possible: this process's memory, then Redis,
//! then PostgreSQL (one round trip; the read replica first when there is one, see [`replica`]),
//! then fills Redis in the background. On a Redis Cluster, Redis failures are tracked per group
//! of hash slots, so a master that is down sends only its own keys to PostgreSQL.
//!
//! Concurrent misses for one uid are coalesced: the first queues a lookup, later ones await the
//! same answer, so a burst for an uncached order costs one Redis read and at most one database
//! read. Lookups run in a task of their own (the batch driver), so a client that disconnects
//! cannot cancel the others' answer. Not-found answers are never cached: the order may be
//! ingested a moment later. Lookups for different uids on one HTTP thread are batched
//! ([`batch`], [`lookup`]): one Redis read, one database statement and one Redis write for all.

mod batch;
mod breaker;
mod lookup;
mod near_cache;
pub mod replica;

use crate::error::ApiError;
use crate::metrics::{ApiMetrics, ReadSource};
use crate::workers::PerWorker;
use batch::Batch;
use breaker::Breaker;
use bytes::Bytes;
use futures::future::{BoxFuture, FutureExt, Shared};
use near_cache::NearCache;
use order_cache::OrderCache;
use order_store::OrderSummary;
use replica::{Databases, DbFailure};
use std::collections::HashMap;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An order as served: the exact JSON bytes and where they came from.
#[derive(Debug, Clone)]
pub struct Served {
    pub body: Bytes,
    pub source: ReadSource,
}

/// Why a lookup failed; cloneable because coalesced waiters share one outcome.
#[derive(Debug, Clone)]
enum Failure {
    Unavailable(Arc<str>),
    Internal(Arc<str>),
}

type Outcome = Result<Option<Served>, Failure>;
type InFlight = Shared<BoxFuture<'static, Outcome>>;

/// Settings of the read path (see `config::ReadArgs`).
#[derive(Debug, Clone)]
pub struct ReadModelSettings {
    pub near_cache_entries: usize,
    pub near_cache_max_bytes: usize,
    pub breaker_failures: u32,
    pub breaker_cooldown: Duration,
    /// Bound on one Redis call, including the wait for its connection.
    pub redis_timeout: Duration,
}

/// Cheap to clone; every clone shares the caches and the in-flight table.
#[derive(Clone)]
pub struct ReadModel {
    inner: Arc<Inner>,
}

struct Inner {
    near: NearCache,
    /// Each HTTP thread's own Redis connection.
    redis: PerWorker<OrderCache>,
    /// One per slot group of the cache (one in all on a single Redis).
    breakers: Vec<Breaker>,
    open_breakers: AtomicI64,
    /// Each HTTP thread's own PostgreSQL pools.
    databases: PerWorker<Databases>,
    /// Each HTTP thread's lookups waiting for their batch.
    batches: PerWorker<Batch<Outcome>>,
    redis_timeout: Duration,
    metrics: ApiMetrics,
    in_flight: Mutex<HashMap<Box<str>, InFlight>>,
}

impl ReadModel {
    pub fn new(
        settings: &ReadModelSettings,
        redis: PerWorker<OrderCache>,
        databases: PerWorker<Databases>,
        metrics: ApiMetrics,
    ) -> Self {
        let breakers = (0..redis.first().shard_groups())
            .map(|_| Breaker::new(settings.breaker_failures, settings.breaker_cooldown))
            .collect();
        let inner = Inner {
            near: NearCache::new(settings.near_cache_entries, settings.near_cache_max_bytes),
            redis,
            breakers,
            open_breakers: AtomicI64::new(0),
            batches: databases.map(|_| Batch::default()),
            databases,
            redis_timeout: settings.redis_timeout,
            metrics,
            in_flight: Mutex::default(),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Sets the gauges read from state: near-cache entries, open Redis connections (called on
    /// each metrics scrape).
    pub fn publish_gauges(&self) {
        self.inner.metrics.near_cache_size(self.inner.near.len());
        let open = self.inner.redis.iter().filter(|redis| redis.is_connected());
        self.inner.metrics.cache_connections_open(open.count());
    }

    /// The order with this (already validated) uid, or `None` when no such order is stored.
    pub async fn order(&self, uid: &str) -> Result<Option<Served>, ApiError> {
        let outcome = match self.inner.near.get(uid) {
            Some(body) => Ok(Some(Served {
                body,
                source: ReadSource::Memory,
            })),
            None => self.coalesced(uid).await,
        };
        match outcome {
            Ok(served) => {
                // A not-found answer was still a lookup that PostgreSQL answered.
                let source = served.as_ref().map_or(ReadSource::Postgres, |s| s.source);
                self.inner.metrics.order_read(source);
                Ok(served)
            }
            Err(Failure::Unavailable(detail)) => Err(ApiError::Unavailable(detail.to_string())),
            Err(Failure::Internal(detail)) => Err(ApiError::Internal(detail.to_string())),
        }
    }

    /// The newest orders (the replica first, like single-order reads).
    pub async fn newest(&self, limit: i64) -> Result<Vec<OrderSummary>, ApiError> {
        self.inner
            .databases
            .current()
            .newest(limit)
            .await
            .map_err(|failure| match failure {
                DbFailure::Store(err) => ApiError::from(err),
                DbFailure::TimedOut(_) => {
                    ApiError::Unavailable("postgres: /orders timed out".into())
                }
            })
    }

    /// The replica's pool, for readiness (`None` without `DATABASE_READ_URL`).
    pub fn replica_db(&self) -> Option<&order_store::Db> {
        self.inner.databases.first().replica_db()
    }

    /// Joins the lookup already running for `uid`, or starts one.
    fn coalesced(&self, uid: &str) -> InFlight {
        let mut in_flight = self
            .inner
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // Checked again under the lock: a lookup fills the near cache *before* it leaves the
        // table, so a uid that is in neither place has no lookup that could answer it.
        if let Some(body) = self.inner.near.get(uid) {
            return futures::future::ready(Ok(Some(Served {
                body,
                source: ReadSource::Memory,
            })))
            .boxed()
            .shared();
        }
        if let Some(running) = in_flight.get(uid) {
            return running.clone();
        }
        // The lookup runs in this thread's batch driver, a task of its own, so a client that
        // disconnects cannot cancel it; the driver fills the near cache, then takes the uid
        // out of the table, then answers.
        let answer = self.inner.start_lookup(uid);
        let inner = Arc::clone(&self.inner);
        let key: Box<str> = uid.into();
        // Under the request that started it; the requests that join it share its result.
        let span = tracing::info_span!("lookup", order_uid = uid, source = tracing::field::Empty);
        let shared = async move {
            let outcome = answer.await.unwrap_or_else(|_| {
                // The driver ended without answering (it panicked, or the runtime is
                // stopping): this lookup leaves the table here instead.
                inner
                    .in_flight
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&key);
                Err(Failure::Internal("the batched lookup was dropped".into()))
            });
            let source = match &outcome {
                Ok(Some(served)) => served.source.as_str(),
                Ok(None) => "not_found",
                Err(_) => "failed",
            };
            span.record("source", source);
            outcome
        }
        .boxed()
        .shared();
        in_flight.insert(uid.into(), shared.clone());
        shared
    }
}
