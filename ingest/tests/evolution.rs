//! Additive evolution through the real pipeline (contract §11): orders carrying fields this
//! version does not know, at every level, are stored, cached and read back — from Redis and from
//! PostgreSQL, with the very calls query-api makes — unchanged: same values, each unknown key
//! after the known keys of its object, in the order it came. They are counted by
//! `ingest_unknown_fields_total`; none is dead-lettered.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use order_store::OrderRepository;
use order_synthetic::OrderGenerator;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_fields_survive_ingest_and_both_read_paths() {
    let world = World::new(2).await;
    let generator = OrderGenerator::new(17, chrono::Utc::now());
    // As a newer producer writes them: known keys first in each object, then the new ones.
    let evolved: Vec<(String, String)> = (0..20)
        .map(|seq| {
            let order = generator.evolved_order_with_seq(seq);
            (
                order.order_uid.clone(),
                serde_json::to_string(&order).expect("json"),
            )
        })
        .collect();
    let plain = orders(18, 10);
    let producer = producer();
    let app = start(world.config.clone()).await;
    produce_orders(&producer, &world.topics.orders, &evolved).await;
    produce_orders(&producer, &world.topics.orders, &plain).await;

    wait_until("30 stored", || async {
        app.metric("ingest_records_total{outcome=\"stored\"}").await >= 30.0
    })
    .await;
    assert_eq!(app.metric("ingest_unknown_fields_total").await, 20.0);

    let cache = order_cache::OrderCache::new(&world.config.redis).expect("cache");
    let repository = OrderRepository::new(world.db.clone());
    for (uid, sent) in &evolved {
        assert!(sent.contains("\"partner_ref\":"), "{sent}");
        let cached = cache.get(uid).await.expect("redis");
        assert_eq!(
            cached.as_deref(),
            Some(sent.as_str()),
            "Redis entry of {uid}"
        );
        let stored = repository.get_json(uid).await.expect("postgres");
        assert_eq!(
            stored.as_deref(),
            Some(sent.as_str()),
            "PostgreSQL document of {uid}"
        );
    }

    // A redelivery of the same bytes is a duplicate, not a conflict.
    redeliver(&producer, &world, &app, &evolved[..3]).await;
    app.stop().await;
    assert!(read_topic_async(&world.topics.dlq).await.is_empty());
}
