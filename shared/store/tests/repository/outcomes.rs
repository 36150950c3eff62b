//! Stored, duplicate or conflict: one order, a batch mixing all three, and concurrent writers
//! of the same uids.

use crate::{conflicting, order, TestDb};
use order_model::ValidOrder;
use order_store::OrderRepository;
use order_store::StoreOutcome::{Conflict, Duplicate, Stored};
use std::sync::Arc;

#[tokio::test]
async fn duplicate_and_conflict_leave_the_stored_order_unchanged() {
    let test = TestDb::new().await;
    let repo = test.repo();
    let first = order("dup-1", 2);
    assert_eq!(repo.store(&first).await.expect("store"), Stored);
    assert_eq!(repo.store(&first).await.expect("store again"), Duplicate);
    assert_eq!(
        repo.store(&conflicting("dup-1"))
            .await
            .expect("store other"),
        Conflict
    );
    assert_eq!(repo.get("dup-1").await.expect("get"), Some(first));
}

#[tokio::test]
async fn batch_with_mixed_outcomes() {
    let test = TestDb::new().await;
    let repo = test.repo();
    let (old, taken) = (order("old", 1), order("taken", 2));
    assert_eq!(
        repo.store_batch(&[old.clone(), taken.clone()])
            .await
            .expect("seed"),
        [Stored, Stored]
    );

    let batch = [
        order("new-a", 3),    // new
        old.clone(),          // already stored, same content
        conflicting("taken"), // already stored, other content
        order("new-b", 1),    // new
        order("new-a", 3),    // repeated in the batch
        conflicting("new-b"), // repeated in the batch with other content
        taken.clone(),        // already stored, same content, after a conflicting twin
        conflicting("old"),   // already stored, other content
    ];
    let outcomes = repo.store_batch(&batch).await.expect("store batch");
    assert_eq!(
        outcomes,
        [Stored, Duplicate, Conflict, Stored, Duplicate, Conflict, Duplicate, Conflict]
    );

    assert_eq!(repo.get("taken").await.expect("get"), Some(taken));
    assert_eq!(repo.get("old").await.expect("get"), Some(old));
    assert_eq!(
        repo.get("new-b").await.expect("get"),
        Some(order("new-b", 1))
    );
    assert_eq!(repo.newest(100, None).await.expect("list").len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_of_one_uid_store_it_once() {
    let test = TestDb::new().await;
    let repo = OrderRepository::new(test.connect(|args| args.pool_size = 10).await);
    let same = order("contested", 3);
    let barrier = Arc::new(tokio::sync::Barrier::new(10));
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (repo, order, barrier) = (repo.clone(), same.clone(), barrier.clone());
            tokio::spawn(async move {
                repo.db().ping().await.expect("warm connection");
                barrier.wait().await;
                repo.store(&order).await.expect("store")
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("task"));
    }
    assert_eq!(
        outcomes.iter().filter(|o| **o == Stored).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| **o == Duplicate).count(),
        9,
        "{outcomes:?}"
    );
    assert_eq!(repo.get("contested").await.expect("get"), Some(same));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_overlapping_batches_do_not_deadlock() {
    let test = TestDb::new().await;
    let repo = OrderRepository::new(test.connect(|args| args.pool_size = 8).await);
    let all: Vec<ValidOrder> = (0..200).map(|n| order(&format!("o{n:03}"), 2)).collect();
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let repo = repo.clone();
            let mut batch = all.clone();
            // Every task writes all uids, each in another order.
            batch.rotate_left(task * 25);
            if task % 2 == 1 {
                batch.reverse();
            }
            tokio::spawn(async move { repo.store_batch(&batch).await })
        })
        .collect();
    let mut stored = 0;
    for task in tasks {
        let outcomes = task
            .await
            .expect("task")
            .expect("no deadlock or other error");
        assert!(outcomes.iter().all(|o| *o != Conflict));
        stored += outcomes.iter().filter(|o| **o == Stored).count();
    }
    assert_eq!(stored, 200);
}
