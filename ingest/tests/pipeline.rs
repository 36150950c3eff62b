//! The pipeline against the real Kafka, PostgreSQL and Redis: stored and cached orders (and
//! taken back from the cache when their commit fails), every error class of contract §2 in the
//! right place with complete headers, delayed retries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use order_model::decode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_orders_are_stored_and_cached_with_canonical_json() {
    let world = World::new(3).await;
    let orders = orders(1, 60);
    let producer = producer();
    let app = start(world.config.clone()).await;
    produce_orders(&producer, &world.topics.orders, &orders).await;

    wait_until("60 stored", || async {
        app.metric("ingest_records_total{outcome=\"stored\"}").await >= 60.0
    })
    .await;
    assert_eq!(world.stored_count().await, 60);
    let cache = order_cache::OrderCache::new(&world.config.redis).expect("cache");
    for (uid, json) in &orders {
        let expected = decode(json.as_bytes())
            .expect("valid")
            .canonical_json()
            .to_owned();
        assert_eq!(
            cache.get(uid).await.expect("redis").as_deref(),
            Some(expected.as_str()),
            "cache of {uid}"
        );
    }
    assert_eq!(
        app.metric("ingest_records_total{outcome=\"duplicate\"}")
            .await,
        0.0
    );
    let (status, body) = app.readyz().await;
    assert_eq!(status, 200, "{body}");
    wait_until("lag reported", || async {
        reqwest::get(format!("http://{}/metrics", app.addr))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
            .contains("ingest_consumer_lag{")
    })
    .await;
    app.stop().await;
    assert!(read_topic_async(&world.topics.dlq).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_class_lands_where_the_contract_says() {
    let world = World::new(1).await;
    let group = world.config.group.clone();
    let producer = producer();
    let good = orders(2, 3);
    let (conflict_uid, stored_json) = good[0].clone();
    // Same uid, different content: a conflict with what is stored.
    let mut altered: serde_json::Value = serde_json::from_str(&stored_json).expect("json");
    altered["entry"] = serde_json::Value::String("OTHER".into());
    let altered = altered.to_string();
    // Several rules broken at once: every failing field path must be named.
    let mut invalid: serde_json::Value = serde_json::from_str(&good[1].1).expect("json");
    invalid["delivery"]["email"] = "not-an-email".into();
    invalid["items"][0]["price"] = (-5).into();
    invalid["payment"]["currency"] = "usd".into();
    let invalid = invalid.to_string();
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    let app = start(world.config.clone()).await;
    produce_orders(&producer, &world.topics.orders, &good).await;
    wait_until("3 stored", || async {
        app.metric("ingest_records_total{outcome=\"stored\"}").await >= 3.0
    })
    .await;
    let topic = &world.topics.orders;
    produce(
        &producer,
        topic,
        Some(b"m1"),
        b"{not json",
        &[("traceparent", traceparent), ("x-error-kind", "stale")],
    )
    .await;
    produce(&producer, topic, Some(b"m2"), &[0xff, 0xfe, 0x00], &[]).await;
    produce(&producer, topic, Some(b"inv"), invalid.as_bytes(), &[]).await;
    produce(
        &producer,
        topic,
        Some(conflict_uid.as_bytes()),
        altered.as_bytes(),
        &[],
    )
    .await;
    produce(
        &producer,
        topic,
        Some(good[2].0.as_bytes()),
        good[2].1.as_bytes(),
        &[],
    )
    .await; // duplicate
    let after = orders(3, 5); // valid orders behind the poison ones are not held up
    produce_orders(&producer, topic, &after).await;

    let dead = wait_for_records(&world.topics.dlq, 4).await;
    wait_until("5 more stored", || async {
        app.metric("ingest_records_total{outcome=\"stored\"}").await >= 8.0
    })
    .await;
    wait_until("duplicate counted", || async {
        app.metric("ingest_records_total{outcome=\"duplicate\"}")
            .await
            >= 1.0
    })
    .await;
    assert_eq!(dead.len(), 4, "{dead:#?}");
    let by_key = |key: &[u8]| {
        dead.iter()
            .find(|r| r.key.as_deref() == Some(key))
            .expect("dead letter by key")
            .clone()
    };

    let m1 = by_key(b"m1");
    assert_dead_letter(&m1, "malformed", &group);
    assert_eq!(m1.value.as_deref(), Some(&b"{not json"[..]));
    assert_eq!(m1.header("traceparent"), traceparent, "traceparent kept");
    assert_eq!(m1.header("x-original-topic"), world.topics.orders);
    assert_eq!(m1.header("x-attempts"), "1");
    assert_eq!(
        m1.header_list
            .iter()
            .filter(|(k, _)| k == "x-error-kind")
            .count(),
        1,
        "stale x-error-kind dropped"
    );
    let m2 = by_key(b"m2");
    assert_dead_letter(&m2, "malformed", &group);
    assert_eq!(
        m2.value.as_deref(),
        Some(&[0xff, 0xfe, 0x00][..]),
        "bytes kept exactly"
    );

    let inv = by_key(b"inv");
    assert_dead_letter(&inv, "invalid", &group);
    assert_eq!(inv.value.as_deref(), Some(invalid.as_bytes()));
    for path in ["delivery.email", "items[0].price", "payment.currency"] {
        assert!(
            inv.header("x-error-message").contains(path),
            "{path} in {}",
            inv.header("x-error-message")
        );
    }

    let conflict = by_key(conflict_uid.as_bytes());
    assert_dead_letter(&conflict, "conflict", &group);
    assert_eq!(conflict.value.as_deref(), Some(altered.as_bytes()));
    let repository = order_store::OrderRepository::new(world.db.clone());
    let kept = repository
        .get_json(&conflict_uid)
        .await
        .expect("read")
        .expect("still stored");
    assert_eq!(
        kept,
        decode(stored_json.as_bytes())
            .expect("valid")
            .canonical_json(),
        "stored order unchanged"
    );

    assert_eq!(world.stored_count().await, 8, "duplicate not stored twice");
    assert_eq!(
        app.metric("ingest_dead_letters_total{kind=\"malformed\"}")
            .await,
        2.0
    );
    assert_eq!(
        app.metric("ingest_dead_letters_total{kind=\"invalid\"}")
            .await,
        1.0
    );
    assert_eq!(
        app.metric("ingest_dead_letters_total{kind=\"conflict\"}")
            .await,
        1.0
    );
    assert_eq!(
        app.metric("ingest_records_total{outcome=\"dead_lettered\"}")
            .await,
        4.0
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_the_database_refuses_is_isolated_and_the_rest_of_the_batch_stored() {
    let world = World::new(1).await;
    let producer = producer();
    let mut batch = orders(4, 9);
    // Valid JSON and valid by every rule, but PostgreSQL text cannot hold a NUL character.
    let mut refused: serde_json::Value = serde_json::from_str(&batch[4].1).expect("json");
    refused["delivery"]["address"] = "Main St\u{0}1".into();
    let refused_uid = batch[4].0.clone();
    batch[4].1 = refused.to_string();
    // Produced before ingest starts, so they arrive as one batch.
    produce_orders(&producer, &world.topics.orders, &batch).await;
    let app = start(world.config.clone()).await;

    one_dead_letter_and_the_rest_stored(&world, &app, &refused_uid, 8).await;
    app.stop().await;
}

/// The refused order is the one dead letter (`invalid`) and the other `stored` are in
/// PostgreSQL.
async fn one_dead_letter_and_the_rest_stored(
    world: &World,
    app: &Running,
    refused_uid: &str,
    stored: i64,
) {
    let dead = wait_for_records(&world.topics.dlq, 1).await;
    wait_until("the rest stored", || async {
        app.metric("ingest_records_total{outcome=\"stored\"}").await >= stored as f64
    })
    .await;
    assert_eq!(dead.len(), 1);
    assert_dead_letter(&dead[0], "invalid", &world.config.group);
    assert_eq!(dead[0].key.as_deref(), Some(refused_uid.as_bytes()));
    assert_eq!(world.stored_count().await, stored);
}

/// Orders reach the cache while their commit is made durable, so one whose commit then fails
/// (a deferred constraint refusing it at COMMIT, class 23) has been announced: it is taken back
/// out of the cache and dead-lettered as invalid, and the rest of its batch is stored and
/// cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_refused_at_commit_is_taken_back_from_the_cache() {
    let world = World::new(1).await;
    let batch = orders(11, 9);
    let refused_uid = batch[4].0.clone();
    // A valid uid is `[A-Za-z0-9_-]`: safe inside a SQL string literal.
    assert!(decode(batch[4].1.as_bytes()).is_ok());
    let client = world.db.db().pool().get().await.expect("connection");
    client
        .batch_execute(&format!(
            "CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.order_uid = '{refused_uid}' THEN \
             RAISE EXCEPTION 'refused at commit' USING ERRCODE = 'check_violation'; \
             END IF; RETURN NULL; END $$; \
             CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON orders \
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit();"
        ))
        .await
        .expect("trigger");
    drop(client);
    let producer = producer();
    // Produced before ingest starts, so they arrive as one batch.
    produce_orders(&producer, &world.topics.orders, &batch).await;
    let app = start(world.config.clone()).await;

    one_dead_letter_and_the_rest_stored(&world, &app, &refused_uid, 8).await;
    let cache = order_cache::OrderCache::new(&world.config.redis).expect("cache");
    for (uid, _) in &batch {
        let cached = cache.get(uid).await.expect("redis");
        assert_eq!(cached.is_some(), *uid != refused_uid, "cache of {uid}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_unreachable_orders_are_still_stored() {
    let mut world = World::new(1).await;
    world.config.redis.redis_url = "redis://127.0.0.1:1".into();
    let producer = producer();
    let app = start(world.config.clone()).await;
    produce_orders(&producer, &world.topics.orders, &orders(5, 10)).await;
    wait_until("10 stored", || async {
        app.metric("ingest_records_total{outcome=\"stored\"}").await >= 10.0
    })
    .await;
    assert_eq!(world.stored_count().await, 10);
    assert!(app.metric("ingest_cache_errors_total").await >= 1.0);
    let (status, body) = app.readyz().await;
    assert_eq!(status, 200, "Redis does not decide readiness: {body}");
    assert!(read_topic_async(&world.topics.dlq).await.is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_batches_in_flight_side_by_side_the_first_consumed_version_of_an_order_wins() {
    let mut world = World::new(1).await;
    // One record per batch and several batches at once: each second version is consumed while
    // the batch holding its first version may still be storing it.
    world.config.batch_size = 1;
    world.config.max_in_flight = 4;
    world.config.batch_linger_ms = 0;
    let firsts = orders(41, 40);
    let mut records = Vec::new();
    for (uid, json) in &firsts {
        let mut second: serde_json::Value = serde_json::from_str(json).expect("json");
        second["customer_id"] = "second-version".into();
        records.push((uid.clone(), json.clone()));
        records.push((uid.clone(), second.to_string()));
    }
    let producer = producer();
    produce_orders(&producer, &world.topics.orders, &records).await;
    let app = start(world.config.clone()).await;

    let dead = wait_for_records(&world.topics.dlq, firsts.len()).await;
    for record in &dead {
        assert_eq!(record.header("x-error-kind"), "conflict");
        let value = String::from_utf8(record.value.clone().expect("value")).expect("utf-8");
        let key = String::from_utf8_lossy(record.key.as_deref().unwrap_or_default());
        assert!(
            value.contains("second-version"),
            "the first version of {key} was refused"
        );
    }
    let client = world.db.pool().get().await.expect("db connection");
    let seconds_stored: i64 = client
        .query_one(
            "SELECT count(*) FROM orders WHERE customer_id = 'second-version'",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(seconds_stored, 0);
    assert_eq!(world.stored_count().await, firsts.len() as i64);
    drop(client);
    app.stop().await;
}
