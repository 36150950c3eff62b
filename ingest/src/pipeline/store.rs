//! The store step: one `store_batch` round trip per batch in the normal case, narrowed down by
//! bisection when the database refuses the batch because of some of its rows, and held (not
//! failed) while the database is unavailable.
//!
//! `store_batch` is atomic, so after an error nothing of that call is stored and its orders can
//! be tried again in smaller calls. Verdicts already obtained are kept across an outage, so an
//! order stored before the outage is not reported as a duplicate of itself afterwards.
//!
//! Each call's orders go to the cache while PostgreSQL makes the call's commit durable, not
//! after: the read side finds them one `fsync` sooner, and the `fsync` is what waits when the
//! disk is busy (`docs/BENCHMARKS.md`, freshness). Kafka, where every order already is, stays
//! the record: an order is acknowledged there only after its commit, and should a commit fail
//! after its orders were announced, their cache entries are taken back before the retry.

use super::cache::CacheStep;
use super::classify::{error_class, ErrorClass, Verdict};
use super::consumer::Shared;
use super::flow::{HoldGuard, HoldReason};
use backon::{BackoffBuilder, ExponentialBuilder};
use order_model::ValidOrder;
use order_store::{Db, OrderRepository, StoreOutcome};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Between tries while the database is unavailable: 200 ms doubling up to 5 s, jittered so
/// several instances do not hammer a recovering server in step; never giving up.
const OUTAGE_BACKOFF: ExponentialBuilder = super::endless_backoff(Duration::from_millis(200));

#[derive(Clone)]
pub struct StoreStep {
    pub repository: OrderRepository,
    pub db: Db,
    /// Where stored orders are announced, alongside each commit.
    pub cache: CacheStep,
    pub shared: Arc<Shared>,
}

/// Why a round of calls stopped early: the reason to hold consumption, and the cause.
struct Outage(HoldReason, String);

impl StoreStep {
    /// One verdict per order, in order. Returns only when every order has one: while the
    /// database is unavailable it holds consumption ([`Flow`]) and keeps trying.
    ///
    /// [`Flow`]: super::flow::Flow
    #[tracing::instrument(name = "store", skip_all, fields(orders = orders.len()))]
    pub async fn store(&self, orders: &[&ValidOrder]) -> Vec<Verdict> {
        let mut verdicts: Vec<Option<Verdict>> = vec![None; orders.len()];
        let mut todo: Vec<Range<usize>> = Vec::new();
        if !orders.is_empty() {
            todo.push(0..orders.len());
        }
        let mut hold: Option<HoldGuard<'_>> = None;
        let mut backoff = OUTAGE_BACKOFF.build();
        let mut attempt = 0;
        loop {
            let Err(Outage(reason, error)) = self.round(orders, &mut todo, &mut verdicts).await
            else {
                break;
            };
            match &hold {
                Some(held) if held.reason() == Some(reason) => held.update(&error),
                // Another reason (e.g. reachable again, but refused): the new hold first, so
                // consumption never resumes in between.
                _ => {
                    let new = self.shared.flow.hold(reason, &error);
                    hold = Some(new);
                }
            }
            attempt += 1;
            let mut wait = backoff.next().unwrap_or(Duration::from_secs(5));
            self.shared.events.outage_persists(&error, attempt, wait);
            tokio::time::sleep(wait).await;
            // Cheap probe first: no point sending a whole batch to a dead server.
            while self.db.ping().await.is_err() {
                wait = backoff.next().unwrap_or(wait);
                tokio::time::sleep(wait).await;
            }
            todo = coalesce(todo);
        }
        // Dropping the hold resumes consumption once no other batch holds it.
        drop(hold);
        verdicts
            .into_iter()
            .map(|v| v.unwrap_or_else(|| Verdict::Transient("no verdict".into())))
            .collect()
    }

    /// Works through `todo` until it is empty or the database looks unavailable.
    async fn round(
        &self,
        orders: &[&ValidOrder],
        todo: &mut Vec<Range<usize>>,
        verdicts: &mut [Option<Verdict>],
    ) -> Result<(), Outage> {
        // One bad row costs about log2(n)+1 failed calls to isolate; many more than that for
        // timeouts means the database as a whole is struggling, not a few rows.
        let budget = 4 * (orders.len().max(1).ilog2() as usize + 1);
        let mut transient_calls = 0;
        while let Some(range) = todo.pop() {
            let started = Instant::now();
            let result = self.store_and_announce(&orders[range.clone()]).await;
            self.shared.events.store_timed(started.elapsed());
            let err = match result {
                Ok(outcomes) => {
                    self.shared.events.postgres_reachable(true, None);
                    for (slot, outcome) in verdicts[range.clone()].iter_mut().zip(outcomes) {
                        *slot = Some(Verdict::Stored(outcome));
                    }
                    continue;
                }
                Err(err) => err,
            };
            match error_class(err) {
                ErrorClass::Outage(reason, cause) => {
                    todo.push(range);
                    return Err(Outage(reason, cause));
                }
                ErrorClass::Transient(error) => {
                    transient_calls += 1;
                    if transient_calls > budget || self.db.ping().await.is_err() {
                        todo.push(range);
                        let cause = format!("PostgreSQL: {error}");
                        return Err(Outage(HoldReason::DependencyUnavailable, cause));
                    }
                    self.narrow(range, Verdict::Transient(error), todo, verdicts);
                }
                ErrorClass::Rejected(error) => {
                    self.narrow(range, Verdict::Rejected(error), todo, verdicts)
                }
            }
        }
        // Most of the batch failing the same transient way is the database, not the records.
        let transient: Vec<usize> = (0..verdicts.len())
            .filter(|&i| matches!(verdicts[i], Some(Verdict::Transient(_))))
            .collect();
        if transient.len() >= 3 && transient.len() * 2 > orders.len() {
            for &i in &transient {
                verdicts[i] = None;
                todo.push(i..i + 1);
            }
            return Err(Outage(
                HoldReason::DependencyUnavailable,
                format!(
                    "PostgreSQL: {} of {} orders failed transiently",
                    transient.len(),
                    orders.len()
                ),
            ));
        }
        Ok(())
    }

    /// One `store_batch` call whose stored orders (and duplicates, to repair a lost or expired
    /// entry) are written to the cache while the commit is made durable; conflicts never are.
    /// When the call fails after announcing them, the entries are removed again: the batch is
    /// retried, and should another writer store a different order under one of these uids
    /// meanwhile, the cache must not keep serving this one.
    async fn store_and_announce(
        &self,
        orders: &[&ValidOrder],
    ) -> Result<Vec<StoreOutcome>, order_store::StoreError> {
        let announced = AtomicBool::new(false);
        let result = self
            .repository
            .store_batch_alongside(orders, |outcomes| {
                let cacheable: Vec<&ValidOrder> = orders
                    .iter()
                    .zip(outcomes)
                    .filter(|(_, outcome)| *outcome != StoreOutcome::Conflict)
                    .map(|(order, _)| *order)
                    .collect();
                announced.store(!cacheable.is_empty(), Ordering::Relaxed);
                async move { self.cache.put(&cacheable).await }
            })
            .await;
        if result.is_err() && announced.load(Ordering::Relaxed) {
            self.cache.remove(orders).await;
        }
        result
    }

    /// A single order takes the verdict; a larger range is split in two.
    fn narrow(
        &self,
        range: Range<usize>,
        verdict: Verdict,
        todo: &mut Vec<Range<usize>>,
        verdicts: &mut [Option<Verdict>],
    ) {
        if range.len() == 1 {
            verdicts[range.start] = Some(verdict);
        } else {
            let middle = range.start + range.len() / 2;
            todo.push(middle..range.end);
            todo.push(range.start..middle);
        }
    }
}

/// Merges adjacent ranges, so a batch interrupted by an outage is retried in as few calls as
/// possible.
fn coalesce(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if last.end == range.start => last.end = range.end,
            _ => merged.push(range),
        }
    }
    // Popped from the end: keep the earliest orders first.
    merged.reverse();
    merged
}

#[cfg(test)]
mod tests {
    use super::coalesce;

    #[test]
    fn adjacent_ranges_merge() {
        assert_eq!(coalesce(vec![4..6, 0..2, 2..4, 8..9]), vec![8..9, 0..6]);
        assert!(coalesce(Vec::new()).is_empty());
    }
}
