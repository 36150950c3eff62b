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

/// `store_batch_alongside` hands its companion the very outcomes it returns, once, before
/// returning; an empty batch calls nothing.
#[tokio::test]
async fn alongside_commit_sees_the_outcomes_it_returns() {
    let test = TestDb::new().await;
    let repo = test.repo();
    let kept = order("kept", 1);
    assert_eq!(repo.store(&kept).await.expect("seed"), Stored);

    let batch = [order("fresh", 2), kept.clone(), conflicting("kept")];
    let seen = std::sync::Mutex::new(Vec::new());
    let outcomes = repo
        .store_batch_alongside(&batch, |outcomes| {
            seen.lock().expect("not poisoned").push(outcomes);
            async {}
        })
        .await
        .expect("store");
    assert_eq!(outcomes, [Stored, Duplicate, Conflict]);
    assert_eq!(*seen.lock().expect("not poisoned"), [outcomes]);
    assert_eq!(
        repo.get("fresh").await.expect("get"),
        Some(order("fresh", 2))
    );
    assert_eq!(repo.get("kept").await.expect("get"), Some(kept));

    let none: [ValidOrder; 0] = [];
    let empty = repo
        .store_batch_alongside(&none, |_| async { panic!("called for an empty batch") })
        .await
        .expect("empty batch");
    assert!(empty.is_empty());
}

/// The companion runs while the commit is being made, so it may see outcomes that never become
/// durable: a commit that fails (here a deferred constraint trigger refusing the order at
/// COMMIT) is an error, and nothing of the batch is stored.
#[tokio::test]
async fn a_commit_that_fails_stores_nothing_though_the_companion_ran() {
    let test = TestDb::new().await;
    let client = test.db.db().pool().get().await.expect("connection");
    client
        .batch_execute(
            "CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.order_uid LIKE 'refused-%' THEN RAISE EXCEPTION 'refused at commit'; \
             END IF; RETURN NULL; END $$; \
             CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON orders \
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit();",
        )
        .await
        .expect("trigger");
    drop(client);
    let repo = test.repo();

    let batch = [order("accepted-1", 1), order("refused-1", 2)];
    let seen = std::sync::Mutex::new(Vec::new());
    let result = repo
        .store_batch_alongside(&batch, |outcomes| {
            seen.lock().expect("not poisoned").push(outcomes);
            async {}
        })
        .await;
    assert!(result.is_err(), "{result:?}");
    assert_eq!(
        *seen.lock().expect("not poisoned"),
        [vec![Stored, Stored]],
        "announced before the commit failed"
    );
    for uid in ["accepted-1", "refused-1"] {
        assert_eq!(repo.get(uid).await.expect("get"), None, "{uid}");
    }
    // The failed commit ended its transaction: the batch, retried without the refused order,
    // commits (a pooled connection left inside an aborted transaction would refuse it).
    let again = [order("accepted-1", 1)];
    assert_eq!(
        repo.store_batch_alongside(&again, |_| async {})
            .await
            .expect("store"),
        [Stored]
    );
    assert_eq!(
        repo.get("accepted-1").await.expect("get"),
        Some(order("accepted-1", 1))
    );
}
