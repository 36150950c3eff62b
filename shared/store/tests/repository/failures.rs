//! How failures are classified: an unreachable server is an outage, a slow statement is
//! transient, a row PostgreSQL cannot hold is rejected.

use crate::{order, order_value, valid, TestDb};
use order_store::{Db, OrderRepository, PostgresArgs, StoreError};
use serde_json::json;
use std::time::Instant;

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
    let db = test.connect(|args| args.statement_timeout_ms = 100).await;
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
