//! The embedded migrations: down and up again, a schema behind the code refused, and
//! concurrent migrators applying each step once.

use crate::{order, TestDb};
use order_store::StoreOutcome::Stored;
use order_store::{migrate, StoreError};

#[tokio::test]
async fn migrations_go_down_and_up_again() {
    let test = TestDb::new().await;
    let required = migrate::required_version();
    let all: Vec<i64> = migrate::MIGRATIONS.iter().map(|m| m.version).collect();
    let status = migrate::status(&test.db).await.expect("status");
    assert_eq!(status.iter().map(|m| m.version).collect::<Vec<_>>(), all);
    assert!(status.iter().all(|m| m.applied_at.is_some()), "{status:?}");
    migrate::ensure_current(&test.db)
        .await
        .expect("fresh database is current");
    assert_eq!(migrate::up(&test.db).await.expect("up is idempotent"), []);

    // One step down: the newest migration is pending again.
    let reverted = migrate::down(&test.db, 1).await.expect("down");
    assert_eq!(
        reverted.iter().map(|m| m.version).collect::<Vec<_>>(),
        [required]
    );
    let status = migrate::status(&test.db).await.expect("status");
    let pending: Vec<i64> = status
        .iter()
        .filter(|m| m.applied_at.is_none())
        .map(|m| m.version)
        .collect();
    assert_eq!(pending, [required]);
    match migrate::ensure_current(&test.db).await {
        Err(err @ StoreError::SchemaBehind { .. }) => {
            let expected_current = all.iter().copied().filter(|v| *v < required).max();
            assert_eq!(
                err,
                StoreError::SchemaBehind {
                    current: expected_current.unwrap_or(0),
                    required
                }
            );
            assert!(err.to_string().contains("ingest migrate up"), "{err}");
        }
        other => panic!("expected SchemaBehind, got {other:?}"),
    }

    // All the way down: no order tables, and writes fail as a schema problem, not an outage.
    let reverted = migrate::down(&test.db, usize::MAX).await.expect("down");
    let mut newest_first = all.clone();
    newest_first.reverse();
    newest_first.retain(|v| *v != required);
    assert_eq!(
        reverted.iter().map(|m| m.version).collect::<Vec<_>>(),
        newest_first
    );
    assert!(matches!(
        migrate::ensure_current(&test.db).await,
        Err(StoreError::SchemaBehind { current: 0, .. })
    ));
    let err = test
        .repo()
        .store(&order("x", 1))
        .await
        .expect_err("no tables");
    assert!(!err.is_outage() && !err.is_transient(), "{err:?}");

    let applied = migrate::up(&test.db).await.expect("up");
    assert_eq!(applied.iter().map(|m| m.version).collect::<Vec<_>>(), all);
    assert!(applied.iter().all(|m| m.applied_at.is_some()));
    migrate::ensure_current(&test.db)
        .await
        .expect("current again");
    assert_eq!(
        test.repo().store(&order("x", 1)).await.expect("store"),
        Stored
    );
}

#[tokio::test]
async fn concurrent_migrators_apply_each_step_once() {
    let test = TestDb::new().await;
    migrate::down(&test.db, usize::MAX)
        .await
        .expect("down to nothing");
    let runs = futures::future::join_all((0..4).map(|_| migrate::up(&test.db))).await;
    let applied: usize = runs.into_iter().map(|run| run.expect("up").len()).sum();
    assert_eq!(applied, migrate::MIGRATIONS.len());
    migrate::ensure_current(&test.db).await.expect("current");
}
