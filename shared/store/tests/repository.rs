//! The order repository against a real PostgreSQL (the local stack, or `DATABASE_URL`). Every
//! test works in its own fresh database, so they run in parallel.

use chrono::{DateTime, Duration, Utc};
use order_model::{decode, ValidOrder, SAMPLE_JSON};
use order_store::PostgresArgs;
use order_store::{migrate, Db, OrderRepository, StoreError, StoreOutcome};
use pipeline_testing::db::{drop_db, fresh_db, postgres_args};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;
use StoreOutcome::{Conflict, Duplicate, Stored};

/// A test database, dropped when the test ends (also when it fails).
struct TestDb {
    db: Db,
    name: String,
}

impl TestDb {
    async fn new() -> Self {
        let (db, name) = fresh_db().await;
        Self { db, name }
    }

    fn repo(&self) -> OrderRepository {
        OrderRepository::new(self.db.clone())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.db.pool().close();
        let name = self.name.clone();
        // Drop cannot await; a helper thread with its own runtime can.
        let _ = std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                runtime.block_on(drop_db(&name));
            }
        })
        .join();
    }
}

/// The fixture with another uid, `items` items (totals kept consistent) and another date.
fn order_value(uid: &str, items: usize, date: &str) -> Value {
    let mut order: Value = serde_json::from_str(SAMPLE_JSON).expect("fixture is JSON");
    let template = order["items"][0].clone();
    let lines: Vec<Value> = (0..items)
        .map(|line| {
            let mut item = template.clone();
            item["chrt_id"] = json!(1000 + line);
            item["rid"] = json!(format!("{uid}-rid-{line}"));
            item["total_price"] = json!(100 + line);
            item
        })
        .collect();
    let goods_total: i64 = (0..items as i64).map(|line| 100 + line).sum();
    order["order_uid"] = json!(uid);
    order["payment"]["transaction"] = json!(uid);
    order["payment"]["goods_total"] = json!(goods_total);
    order["payment"]["amount"] = json!(goods_total + 1500);
    order["items"] = Value::Array(lines);
    order["date_created"] = json!(date);
    order
}

fn valid(value: &Value) -> ValidOrder {
    decode(value.to_string().as_bytes()).expect("test order is valid")
}

fn order(uid: &str, items: usize) -> ValidOrder {
    valid(&order_value(uid, items, "2024-05-01T10:00:00Z"))
}

/// Same uid, different content.
fn conflicting(uid: &str) -> ValidOrder {
    let mut value = order_value(uid, 1, "2024-05-01T10:00:00Z");
    value["customer_id"] = json!("someone-else");
    valid(&value)
}

#[tokio::test]
async fn fixture_round_trips_byte_for_byte() {
    let test = TestDb::new().await;
    let repo = test.repo();
    let fixture = decode(SAMPLE_JSON.as_bytes()).expect("fixture is valid");
    assert_eq!(
        repo.store_batch(std::slice::from_ref(&fixture))
            .await
            .expect("store"),
        [Stored]
    );

    let served = repo
        .get_json(fixture.uid())
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(served, fixture.canonical_json());
    let original: Value = serde_json::from_str(SAMPLE_JSON).expect("fixture is JSON");
    assert_eq!(
        serde_json::from_str::<Value>(&served).expect("served JSON"),
        original
    );
    assert_eq!(repo.get(fixture.uid()).await.expect("get"), Some(fixture));
    assert_eq!(repo.get("no-such-order").await.expect("get"), None);
}

#[tokio::test]
async fn unusual_dates_and_many_items_round_trip() {
    let test = TestDb::new().await;
    let repo = test.repo();
    let orders: Vec<ValidOrder> = [
        ("nanos", 3, "2021-11-26T06:22:19.123456789Z"),
        ("nanos-before-2000", 1, "1969-07-20T20:17:40.000000999Z"),
        ("offset", 2, "2021-11-26T09:22:19.5+03:00"),
        ("year-zero", 1, "0000-03-01T12:00:00Z"),
        ("big", 1000, "2024-01-01T00:00:00Z"),
    ]
    .iter()
    .map(|(uid, items, date)| valid(&order_value(uid, *items, date)))
    .collect();
    assert_eq!(repo.store_batch(&orders).await.expect("store"), [Stored; 5]);
    for order in &orders {
        let served = repo
            .get_json(order.uid())
            .await
            .expect("get")
            .expect("stored");
        assert_eq!(served, order.canonical_json(), "{}", order.uid());
    }
}

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
    let args = PostgresArgs {
        pool_size: 10,
        ..postgres_args(&test.name)
    };
    let repo = OrderRepository::new(Db::connect(&args).await.expect("pool"));
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
    let args = PostgresArgs {
        pool_size: 8,
        ..postgres_args(&test.name)
    };
    let repo = OrderRepository::new(Db::connect(&args).await.expect("pool"));
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

#[tokio::test]
async fn newest_first_with_keyset_paging() {
    let test = TestDb::new().await;
    let repo = test.repo();
    let base: DateTime<Utc> = "2024-01-01T00:00:00Z".parse().expect("date");
    // 25 orders over 10 distinct instants: ties are ordered by uid, descending.
    let orders: Vec<ValidOrder> = (0..25)
        .map(|n| {
            let at = base + Duration::minutes(n % 10) + Duration::nanoseconds(n * 1000);
            let date = at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
            valid(&order_value(
                &format!("page-{n:02}"),
                1 + n as usize % 3,
                &date,
            ))
        })
        .collect();
    repo.store_batch(&orders).await.expect("store");
    let mut expected: Vec<&ValidOrder> = orders.iter().collect();
    expected
        .sort_by(|a, b| (b.order().date_created, b.uid()).cmp(&(a.order().date_created, a.uid())));

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = repo.newest(10, cursor.clone()).await.expect("page");
        assert!(page.len() <= 10);
        let Some(last) = page.last() else { break };
        cursor = Some((last.date_created, last.order_uid.clone()));
        seen.extend(page);
    }
    let uids: Vec<&str> = seen.iter().map(|s| s.order_uid.as_str()).collect();
    let expected_uids: Vec<&str> = expected.iter().map(|o| o.uid()).collect();
    assert_eq!(uids, expected_uids);

    let top = &seen[0];
    let source = expected[0].order();
    assert_eq!(top.date_created, source.date_created);
    assert_eq!(
        (top.amount, top.currency.as_str()),
        (source.payment.amount, "USD")
    );
    assert_eq!(top.items, source.items.len() as i64);
    assert_eq!(top.customer_id, "test");
    // Contract §5 fixes the key order; serde_json's Value would sort keys, so check the text.
    let text = serde_json::to_string(top).expect("summary JSON");
    let keys = [
        "order_uid",
        "date_created",
        "customer_id",
        "amount",
        "currency",
        "items",
    ];
    let positions: Vec<usize> = keys
        .iter()
        .map(|key| text.find(&format!("\"{key}\":")).expect("key present"))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    let value: Value = serde_json::from_str(&text).expect("summary JSON");
    assert_eq!(value.as_object().map(|map| map.len()), Some(keys.len()));
    assert_eq!(repo.newest(0, None).await.expect("empty page"), []);
}

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

#[tokio::test]
async fn unreachable_database_is_an_outage_reported_quickly() {
    let args = PostgresArgs {
        database_url: "postgres://orders:orders@127.0.0.1:1/orders".into(),
        pool_size: 2,
        statement_timeout_ms: 1000,
        connect_timeout_ms: 1000,
    };
    let started = Instant::now();
    let db = Db::connect(&args).await.expect("the pool is lazy");
    let repo = OrderRepository::new(db.clone());
    let ping = db.ping().await.expect_err("nothing listens on port 1");
    assert!(ping.is_outage(), "{ping:?}");
    let store = repo
        .store(&order("any", 1))
        .await
        .expect_err("cannot store");
    assert!(matches!(store, StoreError::Unavailable(_)), "{store:?}");
    let get = repo.get("any").await.expect_err("cannot read");
    assert!(get.is_outage(), "{get:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn statement_timeout_is_transient_and_bad_rows_are_rejected() {
    let test = TestDb::new().await;
    let args = PostgresArgs {
        statement_timeout_ms: 100,
        ..postgres_args(&test.name)
    };
    let db = Db::connect(&args).await.expect("pool");
    let client = db.pool().get().await.expect("connection");
    let slow = client
        .simple_query("SELECT pg_sleep(2)")
        .await
        .expect_err("times out");
    let slow = StoreError::from(slow);
    assert!(slow.is_transient(), "{slow:?}");
    drop(client);

    // Valid JSON and a valid order, but PostgreSQL text cannot hold NUL.
    let mut value = order_value("nul", 1, "2024-05-01T10:00:00Z");
    value["internal_signature"] = json!("a\u{0}b");
    let err = OrderRepository::new(db)
        .store(&valid(&value))
        .await
        .expect_err("rejected");
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
}
