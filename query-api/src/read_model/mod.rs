//! Answers "the JSON of order X" as cheaply as possible: this process's memory, then Redis,
//! then PostgreSQL (one round trip; the read replica first when there is one, see [`replica`]),
//! then fills Redis in the background. On a Redis Cluster, Redis failures are tracked per group
//! of hash slots, so a master that is down sends only its own keys to PostgreSQL.
//!
//! Concurrent misses for one uid are coalesced: the first starts a lookup task, later ones
//! await the same task, so a burst for an uncached order costs one Redis GET and at most one
//! database read. The task is spawned so a client that disconnects cannot cancel the others'
//! answer. Not-found answers are never cached: the order may be ingested a moment later.
//! Concurrent misses for different uids on one HTTP thread share one statement ([`batch`]) and
//! one Redis write for their fills.

mod batch;
mod breaker;
mod near_cache;
pub mod replica;

use crate::error::ApiError;
use crate::metrics::{ApiMetrics, ReadSource};
use crate::workers::PerWorker;
use batch::Batch;
use breaker::{Breaker, Transition};
use bytes::Bytes;
use futures::future::{BoxFuture, FutureExt, Shared};
use near_cache::NearCache;
use order_cache::OrderCache;
use order_store::{OrderSummary, StoreError};
use replica::{Databases, DbFailure};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::Instrument;

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

/// What a batched database read gives each waiter: the order's JSON, `None` when it is not
/// stored, or why PostgreSQL did not answer (shared by the whole batch, hence cloneable).
type DbRead = Result<Option<Bytes>, DbError>;

#[derive(Debug, Clone)]
enum DbError {
    Unavailable(Arc<str>),
    Internal(Arc<str>),
}

impl From<DbFailure> for DbError {
    fn from(failure: DbFailure) -> Self {
        match failure {
            DbFailure::Store(
                err @ (StoreError::Unavailable(_)
                | StoreError::Refused(_)
                | StoreError::Transient(_)),
            ) => Self::Unavailable(err.to_string().into()),
            DbFailure::Store(err) => Self::Internal(err.to_string().into()),
            DbFailure::TimedOut(limit) => {
                Self::Unavailable(format!("no answer within {limit:?}").into())
            }
        }
    }
}
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
    /// Each HTTP thread's database misses waiting for their statement.
    db_batches: PerWorker<Batch<DbRead>>,
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
            db_batches: databases.map(|_| Batch::default()),
            databases,
            redis_timeout: settings.redis_timeout,
            metrics,
            in_flight: Mutex::default(),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Sets the near-cache entries gauge to the current count (called on each metrics scrape).
    pub fn publish_near_cache_size(&self) {
        self.inner.near.settle();
        self.inner.metrics.near_cache_size(self.inner.near.len());
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
        let inner = Arc::clone(&self.inner);
        let key: Box<str> = uid.into();
        // Under the request that started it; the requests that join it share its result.
        let span = tracing::info_span!("lookup", order_uid = uid, source = tracing::field::Empty);
        let task = tokio::spawn(async move {
            let outcome = inner.lookup(&key).instrument(span.clone()).await;
            let source = match &outcome {
                Ok(Some(served)) => served.source.as_str(),
                Ok(None) => "not_found",
                Err(_) => "failed",
            };
            span.record("source", source);
            if let Ok(Some(served)) = &outcome {
                inner.near.insert(&key, served.body.clone());
            }
            inner
                .in_flight
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&key);
            outcome
        });
        let shared = async move {
            task.await
                .unwrap_or_else(|err| Err(Failure::Internal(format!("lookup task: {err}").into())))
        }
        .boxed()
        .shared();
        in_flight.insert(uid.into(), shared.clone());
        shared
    }
}

impl Inner {
    /// Redis, then PostgreSQL; fills Redis after a database hit without waiting for it.
    async fn lookup(self: &Arc<Self>, uid: &str) -> Outcome {
        let redis_state = match self.redis_get(uid).await {
            Ok(Some(json)) => {
                return Ok(Some(Served {
                    body: Bytes::from(json),
                    source: ReadSource::Redis,
                }))
            }
            Ok(None) => "no entry",
            Err(state) => state,
        };
        match self.db_read(uid).await {
            Ok(Some(body)) => Ok(Some(Served {
                body,
                source: ReadSource::Postgres,
            })),
            Ok(None) => Ok(None),
            Err(DbError::Unavailable(detail)) => Err(Failure::Unavailable(
                format!("postgres: {detail}; redis: {redis_state}").into(),
            )),
            Err(DbError::Internal(detail)) => {
                Err(Failure::Internal(format!("postgres: {detail}").into()))
            }
        }
    }

    /// The order from PostgreSQL, read in this thread's next batch (and filled into Redis).
    async fn db_read(self: &Arc<Self>, uid: &str) -> DbRead {
        let worker = self.db_batches.current_index();
        let (answer, start_driver) = self.db_batches.at(worker).join(uid);
        if start_driver {
            let inner = Arc::clone(self);
            tokio::spawn(async move { inner.drive_db_reads(worker).await });
        }
        answer
            .await
            .unwrap_or_else(|_| Err(DbError::Internal("the batched read was dropped".into())))
    }

    /// Reads what `worker`'s misses queued, one statement per batch, until none is left.
    async fn drive_db_reads(self: Arc<Self>, worker: usize) {
        let mut batches = self.db_batches.at(worker).drive();
        // Misses already readable on this thread's sockets join the first statement.
        tokio::task::yield_now().await;
        loop {
            let waiters = batches.next();
            if waiters.is_empty() {
                return;
            }
            let uids: Vec<&str> = waiters.iter().map(|(uid, _)| &**uid).collect();
            let read = self.databases.at(worker).orders_json(&uids).await;
            let found: HashMap<String, Bytes> = match read {
                Ok(rows) => rows
                    .into_iter()
                    .map(|(uid, json)| (uid, Bytes::from(json)))
                    .collect(),
                Err(failure) => {
                    let error = DbError::from(failure);
                    for (_, answer) in waiters {
                        let _ = answer.send(Err(error.clone()));
                    }
                    continue;
                }
            };
            let fills = waiters
                .iter()
                .filter_map(|(uid, _)| Some((uid.clone(), found.get(&**uid)?.clone())))
                .collect();
            for (uid, answer) in waiters {
                // The waiter may be gone (its runtime shutting down); the others still get theirs.
                let _ = answer.send(Ok(found.get(&*uid).cloned()));
            }
            self.fill_redis(fills);
        }
    }

    /// `Err` carries a short description of Redis's state for the 503 log line.
    async fn redis_get(&self, uid: &str) -> Result<Option<String>, &'static str> {
        let breaker = self.breaker(uid);
        if !breaker.allow() {
            return Err("skipped (breaker open)");
        }
        // The cache bounds each command, but callers also queue for its lazily opened
        // connection; without this outer bound, concurrent requests against an unreachable
        // Redis wait for each other's connection attempts one after another.
        match tokio::time::timeout(self.redis_timeout, self.redis.current().get(uid)).await {
            Ok(Ok(found)) => {
                self.report(breaker.success());
                Ok(found)
            }
            Ok(Err(err)) => {
                self.metrics.redis_failed("get", &err);
                self.report(breaker.failure());
                Err("failed")
            }
            Err(_) => {
                self.metrics
                    .redis_failed("get", &"timed out waiting for a connection");
                self.report(breaker.failure());
                Err("timed out")
            }
        }
    }

    /// Writes orders read from PostgreSQL to Redis in the background, in one pipelined write,
    /// so other instances find them there. Orders whose slot group's breaker is not closed are
    /// left out.
    fn fill_redis(self: &Arc<Self>, orders: Vec<(Box<str>, Bytes)>) {
        let orders: Vec<_> = orders
            .into_iter()
            .filter(|(uid, _)| self.breaker(uid).is_closed())
            .collect();
        if orders.is_empty() {
            return;
        }
        let inner = Arc::clone(self);
        tokio::spawn(async move {
            // Bodies come from PostgreSQL's text output, so they are UTF-8.
            let entries = orders
                .iter()
                .filter_map(|(uid, body)| Some((&**uid, std::str::from_utf8(body).ok()?)));
            let put = inner.redis.current().put_many(entries);
            let failure = match tokio::time::timeout(inner.redis_timeout, put).await {
                Ok(Ok(_)) => return,
                Ok(Err(err)) => err.to_string(),
                Err(_) => "timed out waiting for a connection".to_owned(),
            };
            inner.metrics.redis_failed("put", &failure);
            // One failure per slot group the write touched.
            let mut groups: Vec<usize> = orders
                .iter()
                .map(|(uid, _)| inner.redis.first().shard_group(uid))
                .collect();
            groups.sort_unstable();
            groups.dedup();
            for group in groups {
                let breaker = &inner.breakers[group.min(inner.breakers.len() - 1)];
                inner.report(breaker.failure());
            }
        });
    }

    /// The breaker of `uid`'s slot group.
    fn breaker(&self, uid: &str) -> &Breaker {
        let group = self.redis.first().shard_group(uid);
        &self.breakers[group.min(self.breakers.len() - 1)]
    }

    fn report(&self, transition: Option<Transition>) {
        let change = match transition {
            Some(Transition::Opened) => 1,
            Some(Transition::Closed) => -1,
            None => return,
        };
        let open = self.open_breakers.fetch_add(change, Ordering::AcqRel) + change;
        self.metrics.redis_breaker(open, self.breakers.len());
    }
}
