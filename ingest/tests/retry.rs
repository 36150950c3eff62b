//! Record-level transient failures, induced for real: another transaction inserts the same
//! `order_uid` and keeps its transaction open, so ingest's insert waits on it until the
//! statement timeout cancels it (SQLSTATE 57014). Such a record goes through the retry topic with
//! growing delay and, when the lock never goes away, to the DLQ as `retries-exhausted`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use tokio_postgres::NoTls;

/// Opens a transaction that holds `uid`'s primary-key slot until it is dropped or rolled back.
async fn block_uid(world: &World, uid: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&world.config.postgres.database_url, NoTls)
        .await
        .expect("blocker connection");
    tokio::spawn(connection);
    client.batch_execute("BEGIN").await.expect("begin");
    client
        .execute(
            "INSERT INTO orders (order_uid, track_number, entry, locale, internal_signature, customer_id,
                                 delivery_service, shardkey, sm_id, date_created, oof_shard, fingerprint,
                                 item_count)
             VALUES ($1, 'T', 'E', 'en', '', 'c', 'd', '1', 0, now(), '1', $2, 1)",
            &[&uid, &vec![0u8; 32]],
        )
        .await
        .expect("blocking insert");
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_that_keeps_timing_out_is_retried_then_dead_lettered() {
    let mut world = World::new(1).await;
    world.config.postgres.statement_timeout_ms = 1000;
    world.config.max_attempts = 3;
    let producer = producer();
    let batch = orders(10, 2);
    let (blocked_uid, blocked_json) = batch[0].clone();
    let blocker = block_uid(&world, &blocked_uid).await;
    let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    let app = start(world.config.clone()).await;
    let headers = [("traceparent", traceparent)];
    produce_order(&producer, &world.topics.orders, &batch[0], &headers).await;
    produce_orders(&producer, &world.topics.orders, &batch[1..]).await;

    let dead = wait_for_records(&world.topics.dlq, 1).await;
    assert_dead_letter(&dead[0], "retries-exhausted", &world.config.group);
    assert_eq!(dead[0].header("x-attempts"), "3");
    assert_eq!(
        dead[0].header("x-original-topic"),
        world.topics.orders,
        "first origin, not the retry topic"
    );
    assert_eq!(dead[0].header("x-original-offset"), "0");
    assert_eq!(dead[0].header("traceparent"), traceparent);
    assert_eq!(dead[0].value.as_deref(), Some(blocked_json.as_bytes()));
    assert!(!dead[0].headers.contains_key("x-retry-not-before"));

    let retries = read_topic_async(&world.topics.retry).await;
    assert_eq!(retries.len(), 2, "{retries:#?}");
    let mut attempts: Vec<&str> = retries.iter().map(|r| r.header("x-attempts")).collect();
    attempts.sort_unstable();
    assert_eq!(attempts, ["1", "2"]);
    for retry in &retries {
        assert!(retry.header("x-retry-not-before").parse::<i64>().is_ok());
        assert_eq!(retry.header("x-original-topic"), world.topics.orders);
        assert_eq!(retry.header("traceparent"), traceparent);
    }
    wait_until("the unblocked order is stored", || async {
        app.metric("ingest_records_total{outcome=\"stored\"}").await >= 1.0
    })
    .await;
    assert_eq!(
        app.metric("ingest_records_total{outcome=\"retried\"}")
            .await,
        2.0
    );
    assert_eq!(
        app.metric("ingest_dead_letters_total{kind=\"retries-exhausted\"}")
            .await,
        1.0
    );
    assert_eq!(
        app.metric("ingest_outage_pauses_total").await,
        0.0,
        "one slow row is not an outage"
    );
    blocker.batch_execute("ROLLBACK").await.expect("rollback");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_failure_that_clears_is_stored_through_the_retry_topic() {
    let mut world = World::new(1).await;
    world.config.postgres.statement_timeout_ms = 1000;
    world.config.max_attempts = 5;
    world.config.retry_base_delay_ms = 1000;
    let producer = producer();
    let batch = orders(11, 1);
    let blocker = block_uid(&world, &batch[0].0).await;
    let app = start(world.config.clone()).await;
    produce_orders(&producer, &world.topics.orders, &batch).await;

    wait_for_records(&world.topics.retry, 1).await;
    blocker.batch_execute("ROLLBACK").await.expect("rollback");
    wait_until("stored after the retry", || async {
        app.metric("ingest_records_total{outcome=\"stored\"}").await >= 1.0
    })
    .await;
    assert_eq!(world.stored_count().await, 1);
    assert!(read_topic_async(&world.topics.dlq).await.is_empty());
    app.stop().await;
}
