//! Which PostgreSQL answers a read (contract §10). With `DATABASE_READ_URL` the replica answers
//! first, taking the read load off the primary that ingest writes to; the primary answers when
//! the replica cannot, and confirms every not-found, because a replica that lags must never turn
//! a stored order into a 404. A replica that keeps failing is skipped for a cooldown (the Redis
//! breaker's logic), so a dead replica costs a few requests one timeout each, not all of them.

use super::breaker::{Breaker, Transition};
use crate::config::ReadArgs;
use crate::metrics::{ApiMetrics, DbSource};
use anyhow::Context as _;
use order_store::{Db, OrderRepository, OrderSummary, PostgresArgs, StoreError};
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

/// Why PostgreSQL gave no answer.
#[derive(Debug)]
pub enum DbFailure {
    Store(StoreError),
    TimedOut(Duration),
}

/// The primary and, when configured, the replica.
pub struct Databases {
    primary: OrderRepository,
    replica: Option<Replica>,
    read_timeout: Duration,
    metrics: ApiMetrics,
}

struct Replica {
    repository: OrderRepository,
    breaker: Breaker,
}

impl Databases {
    /// The replica's pool (lazy, like the primary's: the replica may be down at start) with the
    /// primary's pool settings; the breaker settings are Redis's.
    pub async fn connect(
        primary: OrderRepository,
        postgres: &PostgresArgs,
        read: &ReadArgs,
        metrics: ApiMetrics,
    ) -> anyhow::Result<Self> {
        let replica = match &read.database_read_url {
            Some(url) => {
                let args = PostgresArgs {
                    database_url: url.0.clone(),
                    ..postgres.clone()
                };
                let db = Db::connect(&args)
                    .await
                    .context("invalid DATABASE_READ_URL")?;
                Some(OrderRepository::new(db))
            }
            None => None,
        };
        let breaker = (read.redis_breaker_failures, read.redis_breaker_cooldown());
        Ok(Self::new(
            primary,
            replica,
            breaker,
            read.db_read_timeout(),
            metrics,
        ))
    }

    /// `replica`: the repository on `DATABASE_READ_URL`, if set. `read_timeout` bounds a read on
    /// the primary; the replica gets half of it, so a hung replica leaves time for the primary.
    pub fn new(
        primary: OrderRepository,
        replica: Option<OrderRepository>,
        breaker: (u32, Duration),
        read_timeout: Duration,
        metrics: ApiMetrics,
    ) -> Self {
        let replica = replica.map(|repository| Replica {
            repository,
            breaker: Breaker::new(breaker.0, breaker.1),
        });
        Self {
            primary,
            replica,
            read_timeout,
            metrics,
        }
    }

    /// The replica's pool, for readiness (`None` without `DATABASE_READ_URL`).
    pub fn replica_db(&self) -> Option<&Db> {
        self.replica.as_ref().map(|replica| replica.repository.db())
    }

    /// The canonical JSON of each of `uids` that is stored, by uid: one statement on the
    /// replica, then one on the primary for the uids the replica did not have (it may lag) or
    /// for all of them when it failed. A uid missing from the answer is not on the primary.
    pub async fn orders_json(&self, uids: &[&str]) -> Result<HashMap<String, String>, DbFailure> {
        let mut found = HashMap::with_capacity(uids.len());
        let mut missing = uids.to_vec();
        if let Some(rows) = self.on_replica(uids.len(), |r| r.get_json_many(uids)).await {
            found.extend(rows);
            missing.retain(|uid| !found.contains_key(*uid));
            if missing.is_empty() {
                return Ok(found);
            }
            self.metrics.replica_fallback("not_found", missing.len());
        }
        let rows = self
            .on_primary(missing.len(), self.primary.get_json_many(&missing))
            .await?;
        found.extend(rows);
        Ok(found)
    }

    /// The newest orders. A replica that lags shows a page a moment old, as any cache would.
    pub async fn newest(&self, limit: i64) -> Result<Vec<OrderSummary>, DbFailure> {
        if let Some(page) = self.on_replica(1, |r| r.newest(limit, None)).await {
            return Ok(page);
        }
        self.on_primary(1, self.primary.newest(limit, None)).await
    }

    /// `reads`: how many orders (or pages) the statement asks for, for the metrics.
    async fn on_primary<T>(
        &self,
        reads: usize,
        read: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, DbFailure> {
        self.metrics.db_read(DbSource::Primary, reads);
        match tokio::time::timeout(self.read_timeout, read).await {
            Ok(result) => result.map_err(DbFailure::Store),
            Err(_) => Err(DbFailure::TimedOut(self.read_timeout)),
        }
    }

    /// The replica's answer, or `None` when there is no replica, it is skipped, or it failed
    /// (the caller then asks the primary).
    async fn on_replica<'a, T, F>(
        &'a self,
        reads: usize,
        read: impl FnOnce(&'a OrderRepository) -> F,
    ) -> Option<T>
    where
        F: Future<Output = Result<T, StoreError>> + 'a,
    {
        let replica = self.replica.as_ref()?;
        if !replica.breaker.allow() {
            self.metrics.replica_fallback("skipped", reads);
            return None;
        }
        self.metrics.db_read(DbSource::Replica, reads);
        let limit = self.read_timeout / 2;
        let error = match tokio::time::timeout(limit, read(&replica.repository)).await {
            Ok(Ok(found)) => {
                self.report(replica.breaker.success());
                return Some(found);
            }
            Ok(Err(err)) => err.to_string(),
            Err(_) => format!("no answer within {limit:?}"),
        };
        self.metrics.replica_fallback("failed", reads);
        tracing::debug!(%error, "replica read failed; asking the primary");
        self.report(replica.breaker.failure());
        None
    }

    fn report(&self, transition: Option<Transition>) {
        match transition {
            Some(Transition::Opened) => self.metrics.replica_breaker(true),
            Some(Transition::Closed) => self.metrics.replica_breaker(false),
            None => {}
        }
    }
}
