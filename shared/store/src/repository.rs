//! The order repository's write side: store a batch of validated orders exactly once and say,
//! per order, whether it was new, a redelivery, or a different order reusing a stored uid.
//!
//! This is what makes at-least-once delivery "exactly once in effect" (contract §2): the
//! `order_uid` primary key decides, the fingerprint of the canonical JSON tells a duplicate from
//! a conflict, and a stored order is never modified.

use super::copy::{self, CopyFailed, CopyPolicy};
use super::{write, Db, StoreError};
use deadpool_postgres::{GenericClient, Transaction};
use order_model::ValidOrder;
use std::borrow::Borrow;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

/// What happened to one order of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreOutcome {
    /// Newly stored by this call.
    Stored,
    /// An identical order (same fingerprint) was already stored, or came earlier in the batch.
    Duplicate,
    /// A different order is stored under this uid; it was left unchanged.
    Conflict,
}

impl StoreOutcome {
    /// The label used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreOutcome::Stored => "stored",
            StoreOutcome::Duplicate => "duplicate",
            StoreOutcome::Conflict => "conflict",
        }
    }
}

/// Reads and writes orders. Cheap to clone.
#[derive(Debug, Clone)]
pub struct OrderRepository {
    pub(super) db: Db,
    /// Whether the next batch tries `COPY` first; shared by the clones.
    copy: Arc<CopyPolicy>,
}

/// What the database holds for one distinct uid of a batch once the batch statement ran.
#[derive(Clone)]
enum Held {
    /// Our order: inserted by this batch.
    Ours,
    /// Another order's fingerprint (stored before, or concurrently by another writer).
    Theirs(Vec<u8>),
}

impl OrderRepository {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            copy: Arc::default(),
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Stores the orders that are new and returns one outcome per input order, in input order.
    ///
    /// One transaction, atomic: on error nothing of the batch is stored and the whole batch may
    /// be retried (outcomes are idempotent: a retry reports `Duplicate` for what a lost reply
    /// had stored). A [`StoreError::Rejected`] means some row broke a schema constraint; the
    /// batch does not say which, so a caller wanting per-order verdicts stores the orders of a
    /// rejected batch one by one.
    ///
    /// Within the batch, only the first order with a given uid goes to the database; later ones
    /// are `Duplicate` when they equal whatever ends up stored under the uid, else `Conflict`.
    /// Distinct uids are sent sorted, so concurrent batches lock rows in the same order and do
    /// not deadlock each other. The rows go by `COPY` when no uid is taken, else by the batch
    /// `INSERT` (see `copy.rs`).
    pub async fn store_batch<O: Borrow<ValidOrder> + Sync>(
        &self,
        orders: &[O],
    ) -> Result<Vec<StoreOutcome>, StoreError> {
        self.store_batch_alongside(orders, |_| async {}).await
    }

    /// [`store_batch`](Self::store_batch), running `alongside_commit` on the outcomes while the
    /// commit is made durable instead of after it: for a caller that publishes the orders
    /// elsewhere (ingest's cache write), so they are readable one commit `fsync` sooner — the
    /// `fsync` that queues behind the disk's other writes when it is busy.
    ///
    /// The outcomes are final once this returns `Ok`. On `Err` nothing was stored, yet
    /// `alongside_commit` may have run, or been cut short: the caller undoes there what it must
    /// not announce for an order that is not stored, or retries the batch (a retry reports the
    /// same outcomes, or `Duplicate` where a commit's reply was lost).
    #[tracing::instrument(skip_all, fields(orders = orders.len()), err(level = "debug"))]
    pub async fn store_batch_alongside<O, F, Fut>(
        &self,
        orders: &[O],
        alongside_commit: F,
    ) -> Result<Vec<StoreOutcome>, StoreError>
    where
        O: Borrow<ValidOrder> + Sync,
        F: FnOnce(Vec<StoreOutcome>) -> Fut,
        Fut: Future<Output = ()>,
    {
        if orders.is_empty() {
            return Ok(Vec::new());
        }
        // Owned or borrowed orders alike: the caller need not copy them into one slice.
        let orders: Vec<&ValidOrder> = orders.iter().map(Borrow::borrow).collect();
        let batch = Batch::new(&orders);
        self.db
            .bounded(async {
                let mut client = self.db.pool().get().await?;
                // Dropped unfinished (an error, the deadline), a transaction rolls back.
                if self.copy.try_copy() {
                    let transaction = client.transaction().await?;
                    match batch.copy(&transaction).await {
                        Ok(()) => {
                            self.copy.copied();
                            let outcomes =
                                batch.outcomes(vec![Held::Ours; batch.distinct.len()])?;
                            return commit_alongside(transaction, outcomes, alongside_commit).await;
                        }
                        Err(CopyFailed::Error(err)) => return Err(err),
                        Err(CopyFailed::Refused(err)) => {
                            drop(transaction);
                            // Out of step with the server: closed instead of pooled.
                            drop(deadpool_postgres::Object::take(client));
                            return Err(err);
                        }
                        Err(CopyFailed::UidTaken) => {
                            tracing::debug!("a uid of the batch is taken: storing it by INSERT");
                            self.copy.uid_taken();
                            transaction.rollback().await?;
                        }
                    }
                }
                let transaction = client.transaction().await?;
                let outcomes = batch.outcomes(batch.write(&transaction).await?)?;
                commit_alongside(transaction, outcomes, alongside_commit).await
            })
            .await
    }

    /// Stores one order: [`store_batch`](Self::store_batch) of one.
    pub async fn store(&self, order: &ValidOrder) -> Result<StoreOutcome, StoreError> {
        let outcomes = self.store_batch(std::slice::from_ref(order)).await?;
        outcomes
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Other("empty outcome for a batch of one".into()))
    }
}

/// Commits `transaction` while `alongside_commit` runs on the outcomes it makes final.
async fn commit_alongside<F, Fut>(
    transaction: Transaction<'_>,
    outcomes: Vec<StoreOutcome>,
    alongside_commit: F,
) -> Result<Vec<StoreOutcome>, StoreError>
where
    F: FnOnce(Vec<StoreOutcome>) -> Fut,
    Fut: Future<Output = ()>,
{
    let (committed, ()) = tokio::join!(transaction.commit(), alongside_commit(outcomes.clone()));
    committed?;
    Ok(outcomes)
}

/// One call's orders, prepared for the batch statement: each order's fingerprint, and the
/// first order of each distinct uid, sorted by uid.
struct Batch<'a> {
    orders: &'a [&'a ValidOrder],
    fingerprints: Vec<[u8; 32]>,
    /// Indexes into `orders`: the first order with each uid, in uid order.
    distinct: Vec<usize>,
}

impl<'a> Batch<'a> {
    fn new(orders: &'a [&'a ValidOrder]) -> Self {
        let fingerprints: Vec<[u8; 32]> = orders.iter().map(|order| order.fingerprint()).collect();
        let mut first: HashMap<&str, usize> = HashMap::with_capacity(orders.len());
        for (index, order) in orders.iter().enumerate() {
            first.entry(order.uid()).or_insert(index);
        }
        let mut distinct: Vec<usize> = first.values().copied().collect();
        distinct.sort_unstable_by(|&a, &b| orders[a].uid().cmp(orders[b].uid()));
        Self {
            orders,
            fingerprints,
            distinct,
        }
    }

    /// Copies the distinct orders into the tables (see `copy.rs`).
    async fn copy(&self, transaction: &Transaction<'_>) -> Result<(), CopyFailed> {
        copy::copy_batch(transaction, self.orders, &self.fingerprints, &self.distinct).await
    }

    /// Runs the batch statement for the distinct orders on `client` (a pooled connection or a
    /// transaction) and finds out, for each, what the database holds under its uid
    /// (index-aligned with `distinct`).
    async fn write(&self, client: &impl GenericClient) -> Result<Vec<Held>, StoreError> {
        let (orders, distinct) = (self.orders, self.distinct.as_slice());
        let columns = write::Columns::new(orders, &self.fingerprints, distinct)?;
        let statement = client.prepare_cached(write::INSERT_SQL).await?;
        let rows = client.query(&statement, &columns.params()).await?;
        drop(columns);

        // held[k] is for orders[distinct[k]]; `ord` in the result is k + 1.
        let mut held: Vec<Option<Held>> = vec![None; distinct.len()];
        for row in &rows {
            let ord: i64 = row.try_get(0)?;
            let slot = usize::try_from(ord - 1)
                .ok()
                .and_then(|k| held.get_mut(k))
                .ok_or_else(|| {
                    StoreError::Other(format!("batch insert returned position {ord}"))
                })?;
            *slot = if row.try_get::<_, bool>(1)? {
                Some(Held::Ours)
            } else {
                row.try_get::<_, Option<Vec<u8>>>(2)?.map(Held::Theirs)
            };
        }

        // Committed by another writer after our snapshot: look again with a fresh one.
        let unresolved: Vec<&str> = distinct
            .iter()
            .zip(&held)
            .filter(|(_, held)| held.is_none())
            .map(|(&index, _)| orders[index].uid())
            .collect();
        if !unresolved.is_empty() {
            tracing::debug!(
                count = unresolved.len(),
                "resolving uids stored concurrently"
            );
            let statement = client.prepare_cached(write::RESOLVE_SQL).await?;
            let found: HashMap<String, Vec<u8>> = client
                .query(&statement, &[&unresolved])
                .await?
                .iter()
                .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                .collect::<Result<_, StoreError>>()?;
            for (&index, slot) in distinct.iter().zip(held.iter_mut()) {
                if slot.is_none() {
                    *slot = found.get(orders[index].uid()).cloned().map(Held::Theirs);
                }
            }
        }

        distinct
            .iter()
            .zip(held)
            .map(|(&index, held)| {
                // Committed by another transaction and deleted again before we looked: rare
                // enough to retry rather than guess.
                held.ok_or_else(|| {
                    StoreError::Transient(format!(
                        "order {} was neither stored nor found; retry",
                        orders[index].uid()
                    ))
                })
            })
            .collect()
    }

    /// One outcome per input order, given what [`Batch::write`] found.
    fn outcomes(&self, held: Vec<Held>) -> Result<Vec<StoreOutcome>, StoreError> {
        outcomes(self.orders, &self.fingerprints, &self.distinct, held)
    }
}

/// One outcome per input order, given what the database holds for each distinct uid: the first
/// order with a uid is `Stored` if this batch inserted it; any order whose fingerprint equals
/// what is stored under its uid is a `Duplicate`; anything else is a `Conflict`.
fn outcomes(
    orders: &[&ValidOrder],
    fingerprints: &[[u8; 32]],
    distinct: &[usize],
    held: Vec<Held>,
) -> Result<Vec<StoreOutcome>, StoreError> {
    let by_uid: HashMap<&str, (usize, Held)> = distinct
        .iter()
        .zip(held)
        .map(|(&index, held)| (orders[index].uid(), (index, held)))
        .collect();
    orders
        .iter()
        .enumerate()
        .map(|(index, order)| {
            let (first_index, held) = by_uid.get(order.uid()).ok_or_else(|| {
                StoreError::Other(format!("order {} lost while batching", order.uid()))
            })?;
            let stored_fingerprint: &[u8] = match held {
                Held::Ours if index == *first_index => return Ok(StoreOutcome::Stored),
                Held::Ours => &fingerprints[*first_index],
                Held::Theirs(fingerprint) => fingerprint,
            };
            Ok(if stored_fingerprint == fingerprints[index] {
                StoreOutcome::Duplicate
            } else {
                StoreOutcome::Conflict
            })
        })
        .collect()
}
