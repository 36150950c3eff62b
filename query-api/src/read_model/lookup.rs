//! One lookup of an order that is not in memory: Redis, then PostgreSQL, then a Redis fill —
//! done for a batch of uids at a time. The lookups queued on one HTTP thread ([`super::batch`])
//! share one Redis read (MGET), one database statement for the uids Redis did not have, and one
//! Redis write for the orders PostgreSQL returned. Each uid still gets its own outcome: Redis
//! failures are tracked per slot group's breaker, and a uid Redis could not answer is read from
//! PostgreSQL like one it did not have.

use super::batch::MAX_BATCH;
use super::breaker::{Breaker, Transition};
use super::replica::DbFailure;
use super::{Failure, Inner, Outcome, Served};
use crate::metrics::ReadSource;
use bytes::Bytes;
use order_store::StoreError;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::oneshot;

/// At most this many yields before a batch is taken, while each lets more lookups join it.
const MAX_GATHER_YIELDS: usize = 4;

impl Inner {
    /// Queues a lookup of `uid` on this thread's batch (starting its driver when none runs);
    /// the answer comes once the near cache has it and it has left the in-flight table.
    pub(super) fn start_lookup(self: &Arc<Self>, uid: &str) -> oneshot::Receiver<Outcome> {
        let worker = self.batches.current_index();
        let (answer, start_driver) = self.batches.at(worker).join(uid);
        if start_driver {
            let inner = Arc::clone(self);
            tokio::spawn(async move { inner.drive_lookups(worker).await });
        }
        answer
    }

    /// Looks up what `worker`'s thread queued, batch after batch, until nothing is left. Runs
    /// on that thread (spawned from it), with that thread's connections.
    async fn drive_lookups(self: Arc<Self>, worker: usize) {
        let batch = self.batches.at(worker);
        let mut batches = batch.drive();
        loop {
            // Let the lookups this thread is about to queue join: yield (the thread serves its
            // other requests, polling their sockets once it has none ready) for as long as that
            // brings more, a few times at most. Once a yield brings none, the batch goes. A lone
            // lookup thus waits one yield; under load, batches grow and each order costs fewer
            // round trips, wake-ups and statements (docs/BENCHMARKS.md, the miss path).
            let mut queued = batch.queued();
            for _ in 0..MAX_GATHER_YIELDS {
                tokio::task::yield_now().await;
                let now = batch.queued();
                if now == queued || now >= MAX_BATCH {
                    break;
                }
                queued = now;
            }
            let waiters = batches.next();
            if waiters.is_empty() {
                return;
            }
            let uids: Vec<&str> = waiters.iter().map(|(uid, _)| &**uid).collect();
            self.metrics.lookup_batch(uids.len());
            let outcomes = self.lookup_many(worker, &uids).await;
            // In this order: a uid that is in neither the near cache nor the table has no
            // lookup that could answer it (see `ReadModel::coalesced`).
            for (uid, outcome) in uids.iter().zip(&outcomes) {
                if let Ok(Some(served)) = outcome {
                    self.near.insert(uid, served.body.clone());
                }
            }
            let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            for (uid, _) in &waiters {
                in_flight.remove(uid);
            }
            drop(in_flight);
            for ((_, answer), outcome) in waiters.into_iter().zip(outcomes) {
                // Nobody may be waiting any more (every requester gone): nothing to do then.
                let _ = answer.send(outcome);
            }
        }
    }

    /// The outcome of each of `uids`, in order.
    async fn lookup_many(self: &Arc<Self>, worker: usize, uids: &[&str]) -> Vec<Outcome> {
        let cached = self.redis_get_many(worker, uids).await;
        let mut outcomes: Vec<Outcome> = Vec::with_capacity(uids.len());
        // Index, uid and Redis's state (for the 503 line) of each uid left to PostgreSQL.
        let mut misses: Vec<(usize, &str, &'static str)> = Vec::new();
        for (index, (uid, cached)) in uids.iter().zip(cached).enumerate() {
            let redis_state = match cached {
                Ok(Some(json)) => {
                    outcomes.push(Ok(Some(Served {
                        body: Bytes::from(json),
                        source: ReadSource::Redis,
                    })));
                    continue;
                }
                Ok(None) => "no entry",
                Err(state) => state,
            };
            outcomes.push(Ok(None));
            misses.push((index, uid, redis_state));
        }
        if misses.is_empty() {
            return outcomes;
        }
        let miss_uids: Vec<&str> = misses.iter().map(|&(_, uid, _)| uid).collect();
        let mut found = match self.databases.at(worker).orders_json(&miss_uids).await {
            Ok(found) => found,
            Err(failure) => {
                for (index, _, redis_state) in misses {
                    outcomes[index] = Err(db_failure(&failure, redis_state));
                }
                return outcomes;
            }
        };
        let mut fills = Vec::with_capacity(found.len());
        for (index, uid, _) in misses {
            // Not found: `Ok(None)` stays (a not-found answer is never cached).
            if let Some(json) = found.remove(uid) {
                let body = Bytes::from(json);
                fills.push((Box::<str>::from(uid), body.clone()));
                outcomes[index] = Ok(Some(Served {
                    body,
                    source: ReadSource::Postgres,
                }));
            }
        }
        self.fill_redis(worker, fills);
        outcomes
    }

    /// Redis's answer for each uid, in order; `Err` carries a short description of Redis's
    /// state for the 503 log line. Uids whose slot group's breaker is open are not asked.
    async fn redis_get_many(
        &self,
        worker: usize,
        uids: &[&str],
    ) -> Vec<Result<Option<String>, &'static str>> {
        let mut answers = vec![Err("skipped (breaker open)"); uids.len()];
        let asked: Vec<usize> = (0..uids.len())
            .filter(|&index| self.breaker(uids[index]).allow())
            .collect();
        if asked.is_empty() {
            return answers;
        }
        let keys: Vec<&str> = asked.iter().map(|&index| uids[index]).collect();
        // The cache bounds each command, but callers also queue for its lazily opened
        // connection; without this outer bound, lookups against an unreachable Redis wait for
        // each other's connection attempts one after another.
        let read = self.redis.at(worker).get_many(&keys);
        let Ok(read) = tokio::time::timeout(self.redis_timeout, read).await else {
            self.metrics
                .redis_failed("get", &"timed out waiting for a connection");
            for index in asked {
                self.report(self.breaker(uids[index]).failure());
                answers[index] = Err("timed out");
            }
            return answers;
        };
        let mut counted: Option<*const order_cache::CacheError> = None;
        for (index, answer) in asked.into_iter().zip(read) {
            let breaker = self.breaker(uids[index]);
            answers[index] = match answer {
                Ok(found) => {
                    self.report(breaker.success());
                    Ok(found)
                }
                Err(err) => {
                    // One failed command is one failure, whatever number of uids it carried.
                    if counted != Some(Arc::as_ptr(&err)) {
                        counted = Some(Arc::as_ptr(&err));
                        self.metrics.redis_failed("get", &err);
                    }
                    self.report(breaker.failure());
                    Err("failed")
                }
            };
        }
        answers
    }

    /// Writes orders read from PostgreSQL to Redis in the background, in one pipelined write,
    /// so other instances find them there. Orders whose slot group's breaker is not closed are
    /// left out.
    fn fill_redis(self: &Arc<Self>, worker: usize, orders: Vec<(Box<str>, Bytes)>) {
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
            let put = inner.redis.at(worker).put_many(entries);
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
                inner.report(inner.group_breaker(group).failure());
            }
        });
    }

    /// The breaker of `uid`'s slot group.
    pub(super) fn breaker(&self, uid: &str) -> &Breaker {
        self.group_breaker(self.redis.first().shard_group(uid))
    }

    /// The breaker of a slot group.
    fn group_breaker(&self, group: usize) -> &Breaker {
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

/// The 503 (or 500) of a uid whose database read failed, with Redis's state for that uid.
fn db_failure(failure: &DbFailure, redis_state: &str) -> Failure {
    match failure {
        DbFailure::Store(
            err @ (StoreError::Unavailable(_) | StoreError::Refused(_) | StoreError::Transient(_)),
        ) => Failure::Unavailable(format!("postgres: {err}; redis: {redis_state}").into()),
        DbFailure::Store(err) => Failure::Internal(format!("postgres: {err}").into()),
        DbFailure::TimedOut(limit) => Failure::Unavailable(
            format!("postgres: no answer within {limit:?}; redis: {redis_state}").into(),
        ),
    }
}
