//! Least privilege in the database: ingest (and its DLQ replay) works with only the grants of
//! the writer role, which cannot change or delete stored orders nor the schema; the reader role
//! of query-api can only read. The grants are the migrations' (0004_roles).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pipeline_testing::db::{query_value, read_only_args};

/// Runs each statement on `db` and asserts PostgreSQL refuses it for lack of privilege (42501).
async fn refused(db: &order_store::Db, statements: &[&str]) {
    let client = db.pool().get().await.expect("connection");
    for sql in statements {
        let err = client
            .batch_execute(sql)
            .await
            .expect_err(&format!("must be refused: {sql}"));
        assert_eq!(err.code().map(|c| c.code()), Some("42501"), "{sql}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_and_replay_work_with_the_writer_grants_alone() {
    let (world, producer, app) = start_writer_only(2).await;
    let all = orders(90, 40);
    produce_orders(&producer, &world.topics.orders, &all).await;
    produce_poison(&producer, &world.topics.orders).await;
    wait_until("all stored", || async { world.stored_count().await >= 40 }).await;
    wait_for_records(&world.topics.dlq, 1).await;
    // A redelivered order is a duplicate, read back with the writer's SELECT.
    redeliver(&producer, &world, &app, &all[..1]).await;
    app.stop().await;

    // The replay ledger (dlq_replays) is written with the same grants.
    let writer = order_store::Db::connect(&world.config.postgres)
        .await
        .expect("writer pool");
    let args = ingest::dlq::ReplayArgs {
        all: true,
        ..Default::default()
    };
    let mut out = Vec::new();
    let summary = ingest::dlq::replay(
        &args,
        &world.config.kafka,
        &world.config.group,
        &writer,
        &mut out,
    )
    .await
    .expect("replay as the writer");
    assert_eq!(summary.replayed, 1, "{}", String::from_utf8_lossy(&out));

    refused(
        &writer,
        &[
            "UPDATE orders SET entry = 'x'",
            "DELETE FROM orders",
            "DELETE FROM items",
            "TRUNCATE orders CASCADE",
            "DELETE FROM dlq_replays",
            "CREATE TABLE sneaky (id int)",
            "ALTER TABLE orders ADD COLUMN sneaky int",
            "DROP TABLE dlq_replays",
            "INSERT INTO schema_migrations (version, name) VALUES (999, 'x')",
        ],
    )
    .await;
    writer.pool().close();

    let reader = order_store::Db::connect(&read_only_args(world.db.name()))
        .await
        .expect("reader pool");
    let joined = "SELECT count(*) FROM orders JOIN payments USING (order_uid)";
    assert_eq!(
        query_value::<i64>(&reader, joined, &[]).await,
        40,
        "the reader reads"
    );
    refused(
        &reader,
        &[
            "INSERT INTO dlq_replays (dlq_topic, partition, \"offset\", target_topic) VALUES ('t', 0, 0, 't')",
            "UPDATE orders SET entry = 'x'",
            "DELETE FROM orders",
            "SELECT count(*) FROM dlq_replays",
            "CREATE TABLE sneaky (id int)",
        ],
    )
    .await;
    reader.pool().close();
}
