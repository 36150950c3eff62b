//! Named, bounded stalls: when ingest cannot make progress for a reason that is not the record's
//! fault — a grant revoked in the database, a DLQ topic the broker refuses to write to or that
//! does not exist — it says so in `/readyz` (503, the dependency and the cause in words) and in
//! `ingest_stalled{reason}`, dead-letters nothing because of it, and resumes by itself once the
//! cause is fixed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pipeline_testing::kafka::TestTopic;
use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, NewTopic, ResourceSpecifier, TopicReplication,
};
use rdkafka::client::DefaultClientContext;

/// The stall of `reason` in a `/readyz` body, if it is there.
fn stall<'a>(body: &'a serde_json::Value, reason: &str) -> Option<&'a serde_json::Value> {
    body["stalls"]
        .as_array()
        .and_then(|stalls| stalls.iter().find(|s| s["reason"] == reason))
}

/// Waits until ingest is ready again, and checks it no longer counts a stall of `reason`.
async fn wait_ready_without(app: &Running, reason: &str) {
    wait_until("ready again", || async { app.readyz().await.0 == 200 }).await;
    let series = format!("ingest_stalled{{reason=\"{reason}\"}}");
    assert_eq!(app.metric(&series).await, 0.0, "{series}");
}

async fn owner(world: &World) -> deadpool_postgres::Object {
    world.db.pool().get().await.expect("owner connection")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_grant_is_a_named_stall_that_ends_when_the_grant_is_back() {
    let (world, producer, app) = start_writer_only(2).await;
    let all = orders(80, 60);
    produce_orders(&producer, &world.topics.orders, &all[..20]).await;
    wait_until("first 20 stored", || async {
        world.stored_count().await >= 20
    })
    .await;

    owner(&world)
        .await
        .batch_execute("REVOKE INSERT ON orders FROM orders_writer")
        .await
        .expect("revoke");
    produce_orders(&producer, &world.topics.orders, &all[20..]).await;
    produce_poison(&producer, &world.topics.orders).await;
    wait_until("the stall is named in /readyz", || async {
        let (status, body) = app.readyz().await;
        status == 503
            && stall(&body, "database_error").is_some_and(|s| {
                s["cause"]
                    .as_str()
                    .is_some_and(|c| c.contains("PostgreSQL") && c.contains("permission denied"))
            })
    })
    .await;
    let (_, body) = app.readyz().await;
    let named = stall(&body, "database_error").expect("named");
    assert_eq!(named["dependency"], "postgres", "{body}");
    assert_eq!(named["blocking"], true, "{body}");
    assert_eq!(
        app.metric("ingest_stalled{reason=\"database_error\"}")
            .await,
        1.0
    );
    assert!(
        app.metric("ingest_stalled_since_seconds{reason=\"database_error\"}")
            .await
            > 0.0
    );
    let stored_while_stalled = world.stored_count().await;

    owner(&world)
        .await
        .batch_execute("GRANT INSERT ON orders TO orders_writer")
        .await
        .expect("grant");
    wait_until("all 60 stored after the grant", || async {
        world.stored_count().await >= 60
    })
    .await;
    wait_ready_without(&app, "database_error").await;
    assert_eq!(
        app.metric("ingest_stalled_since_seconds{reason=\"database_error\"}")
            .await,
        0.0
    );
    assert!(stored_while_stalled < 60, "the stall held the orders back");

    let dead = wait_for_records(&world.topics.dlq, 1).await;
    assert_eq!(dead.len(), 1, "only the poison is dead-lettered: {dead:#?}");
    assert_dead_letter(&dead[0], "malformed", &world.config.group);
    stop_after_a_clean_run(&world, app, 60).await;
}

fn admin() -> AdminClient<DefaultClientContext> {
    pipeline_kafka::client::base(&pipeline_testing::kafka::local(), "stall-tests-admin")
        .expect("Kafka settings")
        .create()
        .expect("admin client")
}

/// Sets one configuration entry of `topic` (the others keep their defaults).
async fn set_topic_config(topic: &str, name: &str, value: &str) {
    let config = AlterConfig::new(ResourceSpecifier::Topic(topic)).set(name, value);
    let results = admin()
        .alter_configs(&[config], &AdminOptions::new())
        .await
        .expect("alter configs");
    for result in results {
        result.expect("alter topic config");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dlq_the_broker_refuses_is_a_named_stall_and_loses_nothing() {
    let mut world = World::new(1).await;
    world.config.produce_timeout_ms = 2000;
    // A DLQ that refuses every dead letter from the start, even one without its value (set at
    // creation, so no write can slip through before the setting reaches the broker).
    let strict_dlq = TestTopic::create("t_strict", &[("max.message.bytes", "64")]).await;
    let strict = strict_dlq.name.clone();
    world.config.kafka.dlq_topic = strict.clone();
    let producer = producer();
    let all = orders(81, 30);
    let app = start(world.config.clone()).await;
    produce_poison(&producer, &world.topics.orders).await;
    produce_orders(&producer, &world.topics.orders, &all).await;

    wait_produce_stall(&app, &strict).await;
    assert!(
        app.metric("ingest_stalled{reason=\"produce_failed\"}")
            .await
            >= 1.0
    );
    let errors: f64 = {
        let text = reqwest::get(format!("http://{}/metrics", app.addr))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        pipeline_testing::metrics::metric_sum(
            &text,
            "ingest_produce_errors_total",
            &[("target", "dlq")],
        )
    };
    assert!(
        errors >= 1.0,
        "ingest_produce_errors_total{{target=\"dlq\"}} = {errors}"
    );

    set_topic_config(&strict, "max.message.bytes", "1048588").await;
    let dead = wait_for_records(&strict, 1).await;
    assert_dead_letter(&dead[0], "malformed", &world.config.group);
    // Refused for its size first, it keeps its place without its value (still in the input topic).
    assert_eq!(dead[0].header("x-value-omitted"), "9 bytes");
    wait_until("every order stored", || async {
        world.stored_count().await >= 30
    })
    .await;
    wait_ready_without(&app, "produce_failed").await;
    app.stop().await;
    let dead = read_topic_async(&strict).await;
    assert_eq!(dead.len(), 1, "dead-lettered once: {dead:#?}");
    assert!(read_topic_async(&world.topics.dlq).await.is_empty());
    assert_eq!(world.stored_count().await, 30);
}

/// Creates topic `name` on the local broker (one partition).
async fn create_topic(name: &str) {
    let topic = NewTopic::new(name, 1, TopicReplication::Fixed(1));
    let results = admin()
        .create_topics(&[topic], &AdminOptions::new())
        .await
        .expect("create topic");
    for result in results {
        result.expect("topic created");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_dlq_topic_is_a_named_stall_that_ends_when_the_topic_exists() {
    let mut world = World::new(1).await;
    world.config.produce_timeout_ms = 2000;
    // A DLQ nobody created: ingest must not create it with the broker's defaults either (the
    // local broker allows auto-creation). Deleted when the test ends, should it exist by then.
    let missing = TestTopic {
        name: pipeline_testing::unique_name("t_missing_dlq"),
    };
    let name = missing.name.clone();
    world.config.kafka.dlq_topic = name.clone();
    let producer = producer();
    let all = orders(82, 20);
    let app = start(world.config.clone()).await;
    produce_poison(&producer, &world.topics.orders).await;
    produce_orders(&producer, &world.topics.orders, &all).await;

    wait_produce_stall(&app, &name).await;
    assert_eq!(
        app.metric("ingest_stalled{reason=\"produce_failed\"}")
            .await,
        1.0
    );

    create_topic(&name).await;
    let dead = wait_for_records(&name, 1).await;
    assert_dead_letter(&dead[0], "malformed", &world.config.group);
    wait_until("every order stored", || async {
        world.stored_count().await >= 20
    })
    .await;
    wait_ready_without(&app, "produce_failed").await;
    app.stop().await;
    assert_eq!(read_topic_async(&name).await.len(), 1, "dead-lettered once");
    assert!(read_topic_async(&world.topics.dlq).await.is_empty());
    assert_eq!(world.stored_count().await, 20);
    drop(missing);
}

/// Waits until `/readyz` answers 503 with a `produce_failed` stall on Kafka naming `topic`.
async fn wait_produce_stall(app: &Running, topic: &str) {
    wait_until("the produce failure is named in /readyz", || async {
        let (status, body) = app.readyz().await;
        status == 503
            && stall(&body, "produce_failed").is_some_and(|s| {
                s["dependency"] == "kafka" && s["cause"].as_str().is_some_and(|c| c.contains(topic))
            })
    })
    .await;
}
