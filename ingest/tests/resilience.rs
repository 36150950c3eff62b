//! Failure paths: PostgreSQL unreachable at start and mid-stream (through a proxy the test cuts,
//! so the shared server keeps running), clean stop and restart, SIGKILL of the real binary, and
//! a schema older than the build.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::proxy::{postgres_socket, via_proxy, Proxy};
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_pauses_consumption_and_loses_nothing() {
    let mut world = World::new(2).await;
    let proxy = Proxy::start(postgres_socket()).await;
    world.config.postgres.database_url = via_proxy(&world.config.postgres.database_url, proxy.addr);
    world.config.postgres.connect_timeout_ms = 1000;
    let producer = producer();
    let all = orders(20, 90);

    // Unreachable at start: ingest waits, not ready, and does not crash.
    proxy.cut();
    let app = start(world.config.clone()).await;
    produce_orders(&producer, &world.topics.orders, &all[..30]).await;
    let (status, body) = app.readyz().await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["dependencies"]["postgres"], "down", "{body}");
    proxy.restore();
    wait_until("first 30 stored", || async {
        app.metric("ingest_records_total{outcome=\"stored\"}").await >= 30.0
    })
    .await;
    wait_until("ready", || async { app.readyz().await.0 == 200 }).await;

    // Mid-stream outage: consumption pauses, readiness drops, nothing is dead-lettered.
    proxy.cut();
    produce_orders(&producer, &world.topics.orders, &all[30..]).await;
    wait_until("outage noticed", || async {
        app.metric("ingest_outage_pauses_total").await >= 1.0
    })
    .await;
    // Named: the reason, the dependency and the cause in words.
    wait_until("the outage is named in /readyz", || async {
        let (status, body) = app.readyz().await;
        status == 503
            && body["stalls"].as_array().is_some_and(|stalls| {
                stalls.iter().any(|s| {
                    s["reason"] == "dependency_unavailable"
                        && s["dependency"] == "postgres"
                        && s["cause"]
                            .as_str()
                            .is_some_and(|c| c.starts_with("PostgreSQL: "))
                })
            })
    })
    .await;
    assert_eq!(
        app.metric("ingest_stalled{reason=\"dependency_unavailable\"}")
            .await,
        1.0
    );
    proxy.restore();
    wait_until("all 90 stored", || async {
        app.metric("ingest_records_total{outcome=\"stored\"}").await >= 90.0
    })
    .await;
    wait_until("ready again", || async { app.readyz().await.0 == 200 }).await;
    assert_eq!(
        app.metric("ingest_stalled{reason=\"dependency_unavailable\"}")
            .await,
        0.0
    );

    assert!(
        read_topic_async(&world.topics.dlq).await.is_empty(),
        "an outage dead-letters nothing"
    );
    // An outage retries nothing either.
    stop_after_a_clean_run(&world, app, 90).await;
    drop(proxy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_stop_and_restart_reprocesses_nothing() {
    let world = World::new(3).await;
    let producer = producer();
    let all = orders(21, 150);
    let first = start(world.config.clone()).await;
    produce_orders(&producer, &world.topics.orders, &all[..100]).await;
    wait_until("100 stored", || async {
        first
            .metric("ingest_records_total{outcome=\"stored\"}")
            .await
            >= 100.0
    })
    .await;
    first.stop().await;

    let second = start(world.config.clone()).await;
    produce_orders(&producer, &world.topics.orders, &all[100..]).await;
    wait_until("50 more stored", || async {
        second
            .metric("ingest_records_total{outcome=\"stored\"}")
            .await
            >= 50.0
    })
    .await;
    assert_eq!(
        second
            .metric("ingest_records_total{outcome=\"duplicate\"}")
            .await,
        0.0,
        "nothing redelivered"
    );
    assert_eq!(
        second
            .metric("ingest_records_total{outcome=\"stored\"}")
            .await,
        50.0
    );
    second.stop().await;
    assert_eq!(world.stored_count().await, 150);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_joining_and_leaving_mid_stream_lose_nothing() {
    let world = World::new(4).await;
    let all = orders(23, 1200);
    let feeder = {
        let topic = world.topics.orders.clone();
        let all = all.clone();
        tokio::spawn(async move {
            let producer = producer();
            for chunk in all.chunks(50) {
                produce_orders(&producer, &topic, chunk).await;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
    };
    let first = start(world.config.clone()).await;
    wait_until("some stored", || async {
        world.stored_count().await >= 200
    })
    .await;
    // A second member joins: cooperative rebalance moves some partitions to it.
    let second = start(world.config.clone()).await;
    second.wait_assigned().await;
    // The first leaves cleanly: its partitions move to the second with their offsets.
    first.stop().await;
    feeder.await.expect("feeder");
    wait_until("all stored", || async {
        world.stored_count().await >= 1200
    })
    .await;
    assert_eq!(world.stored_count().await, 1200);
    assert!(read_topic_async(&world.topics.dlq).await.is_empty());
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_then_restart_stores_every_order_exactly_once() {
    let world = World::new(3).await;
    let producer = producer();
    let all = orders(22, 3000);
    let mut child = world.binary().spawn().expect("spawn ingest");
    // Produce while it consumes, and kill it with work in flight.
    let feeder = {
        let topic = world.topics.orders.clone();
        let all = all.clone();
        tokio::spawn(async move {
            let producer = producer;
            for chunk in all.chunks(100) {
                produce_orders(&producer, &topic, chunk).await;
            }
        })
    };
    wait_until("some orders stored", || async {
        world.stored_count().await >= 300
    })
    .await;
    child.kill().expect("SIGKILL ingest"); // Child::kill is SIGKILL on Unix
    child.wait().expect("reap ingest");
    feeder.await.expect("feeder");
    let stored_at_kill = world.stored_count().await;
    eprintln!("killed with {stored_at_kill} of 3000 orders stored");

    let mut restarted = world.binary().spawn().expect("spawn ingest");
    wait_until("all 3000 stored", || async {
        world.stored_count().await >= 3000
    })
    .await;
    let client = world.db.pool().get().await.expect("db");
    let row = client
        .query_one("SELECT count(*), count(DISTINCT order_uid), (SELECT count(*) FROM payments) FROM orders", &[])
        .await
        .expect("counts");
    let (rows, distinct, payments): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(
        (rows, distinct, payments),
        (3000, 3000, 3000),
        "killed after {stored_at_kill} stored"
    );
    let uids: Vec<String> = client
        .query("SELECT order_uid FROM orders", &[])
        .await
        .expect("uids")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let expected: std::collections::HashSet<&str> =
        all.iter().map(|(uid, _)| uid.as_str()).collect();
    assert!(uids.iter().all(|uid| expected.contains(uid.as_str())));
    assert!(
        read_topic_async(&world.topics.dlq).await.is_empty(),
        "valid orders are never dead-lettered"
    );
    restarted.kill().expect("stop ingest");
    restarted.wait().expect("reap ingest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_to_start_on_a_schema_older_than_the_build() {
    let world = World::new(1).await;
    order_store::migrate::down(&world.db, 100)
        .await
        .expect("revert schema");
    let app = ingest::Application::build(world.config.clone())
        .await
        .expect("build");
    let (_trigger, shutdown) = pipeline_runtime::shutdown::Shutdown::new();
    let err = tokio::time::timeout(DEADLINE, app.run_until_stopped(shutdown))
        .await
        .unwrap_or_else(|_| panic!("no refusal within {DEADLINE:?}: it waits instead"))
        .expect_err("must refuse a schema that is behind");
    let message = format!("{err:#}");
    assert!(message.contains("ingest migrate up"), "{message}");
    assert!(!message.contains('\n'), "one line: {message}");
}
