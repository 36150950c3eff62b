//! Failure paths: dead or silent dependencies, an outdated schema, and graceful shutdown. Dead
//! services are unused local ports; silent ones are listeners that accept and never answer.

mod support;

use order_cache::RedisArgs;
use order_store::PostgresArgs;
use pipeline_testing::db::{read_only_args, TestDb};
use pipeline_testing::wait::within as wait_until;
use query_api::config::ReadArgs;
use query_api::Application;
use std::time::{Duration, Instant};
use support::http::error_message;
use support::{config, order, sample_order, spawn_app, spawn_app_with, start, TestResult};

const TEN_S: Duration = Duration::from_secs(10);

const SAMPLE_UID: &str = "b563feb7b2b84b6test";

fn dead_redis() -> RedisArgs {
    RedisArgs {
        redis_url: "redis://127.0.0.1:1".into(),
        ..pipeline_testing::redis_args()
    }
}

fn postgres_at(url: String) -> PostgresArgs {
    PostgresArgs {
        database_url: url,
        pool_size: 2,
        statement_timeout_ms: 5_000,
        connect_timeout_ms: 1_000,
    }
}

/// Asserts that what began at `started` is over within `bound` (`what` names it on failure).
fn assert_took_less(started: Instant, bound: Duration, what: &str) {
    let took = started.elapsed();
    assert!(took < bound, "{what} took {took:?}");
}

/// A local port that accepts connections and never says a word.
async fn silent_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    port
}

#[tokio::test]
async fn redis_down_still_serves_from_postgres_quickly() -> TestResult {
    // Near cache off, so every request has to get past the dead Redis.
    let read = ReadArgs {
        near_cache_entries: 0,
        ..ReadArgs::default()
    };
    let mut app = spawn_app_with(read.clone()).await;
    app.store_sample().await;
    let db = app.db.take().ok_or("db")?;
    app.stop().await?;
    let app = start(config(read_only_args(db.name()), dead_redis(), read)).await;

    for _ in 0..20 {
        let response = app.get(&format!("/order/{SAMPLE_UID}")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-cache"], "miss");
        assert_eq!(response.text().await?, sample_order().canonical_json());
    }
    // The breaker opened and stopped asking Redis: fewer Redis failures than requests, so most
    // requests did not pay Redis's timeout (counted, not timed).
    assert_eq!(app.metric("order_cache_breaker_open").await, 1.0);
    let failures = app.metric("order_cache_errors_total").await;
    assert!(failures < 10.0, "{failures} Redis failures for 20 requests");

    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, 200, "redis down is degraded, not unready");
    assert_eq!(
        (&body["status"], &body["postgres"], &body["redis"]),
        (&"ready".into(), &"up".into(), &"down".into()),
        "{body}"
    );
    // The failing dependency's last error, and only that one's.
    assert!(body["errors"]["redis"].is_string(), "{body}");
    assert!(body["errors"].get("postgres").is_none(), "{body}");
    app.stop().await
}

#[tokio::test]
async fn a_burst_against_a_silent_redis_costs_one_redis_timeout_not_a_queue_of_them() -> TestResult
{
    // Requests that all start before the breaker opens must not queue behind each other's
    // connection attempts (each bounded by the Redis timeout, 500 ms in tests).
    let read = ReadArgs {
        near_cache_entries: 0,
        ..ReadArgs::default()
    };
    let mut app = spawn_app_with(read.clone()).await;
    let orders: Vec<_> = (0..64)
        .map(|n| order(&format!("burst-{n}"), "2024-02-02T02:02:02Z"))
        .collect();
    app.store(&orders).await;
    let db = app.db.take().ok_or("db")?;
    app.stop().await?;
    let redis = RedisArgs {
        redis_url: format!("redis://127.0.0.1:{}", silent_port().await),
        ..pipeline_testing::redis_args()
    };
    let app = start(config(read_only_args(db.name()), redis, read)).await;

    let started = Instant::now();
    let paths: Vec<String> = (0..64).map(|n| format!("/order/burst-{n}")).collect();
    let responses = futures::future::join_all(paths.iter().map(|path| app.get(path))).await;
    assert!(responses.iter().all(|r| r.status() == 200));
    assert_took_less(started, Duration::from_millis(2_000), "the burst");
    app.stop().await
}

#[tokio::test]
async fn both_down_answers_503_fast_and_starts_not_ready() -> TestResult {
    let postgres = postgres_at("postgres://orders:orders@127.0.0.1:1/orders".into());
    let app = start(config(postgres, dead_redis(), ReadArgs::default())).await;

    let started = Instant::now();
    let response = app.get("/order/some-order").await;
    let error = error_message(response, 503, "an order with both down").await;
    assert!(
        !error.contains("127.0.0.1"),
        "internal details leaked: {error}"
    );
    assert_took_less(started, Duration::from_secs(3), "an order");

    assert_eq!(app.get("/orders").await.status(), 503);
    assert_eq!(app.get("/healthz").await.status(), 200);
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, 503);
    assert_eq!(
        (&body["status"], &body["postgres"], &body["redis"]),
        (&"not_ready".into(), &"down".into(), &"down".into()),
        "{body}"
    );
    assert!(body["errors"]["postgres"].is_string() && body["errors"]["redis"].is_string());
    app.stop().await
}

#[tokio::test]
async fn silent_dependencies_cannot_hang_a_request() -> TestResult {
    let (pg, redis) = (silent_port().await, silent_port().await);
    let postgres = postgres_at(format!("postgres://orders:orders@127.0.0.1:{pg}/orders"));
    let redis = RedisArgs {
        redis_url: format!("redis://127.0.0.1:{redis}"),
        ..pipeline_testing::redis_args()
    };
    let read = ReadArgs {
        db_read_timeout_ms: 1_000,
        ..ReadArgs::default()
    };
    let app = start(config(postgres, redis, read)).await;

    let started = Instant::now();
    let response = app.get("/order/some-order").await;
    assert_eq!(response.status(), 503);
    assert_took_less(started, Duration::from_secs(3), "an order");
    let started = Instant::now();
    assert_eq!(app.get("/readyz").await.status(), 503);
    assert_took_less(started, Duration::from_secs(3), "readyz");
    app.stop().await
}

#[tokio::test]
async fn redis_alone_answers_when_postgres_is_down() -> TestResult {
    let healthy = spawn_app().await;
    healthy.store_sample().await;
    assert_eq!(
        healthy.get(&format!("/order/{SAMPLE_UID}")).await.status(),
        200
    );
    healthy
        .redis_entry(SAMPLE_UID)
        .await
        .ok_or("redis was not filled")?;

    let postgres = postgres_at("postgres://orders:orders@127.0.0.1:1/orders".into());
    let degraded = start(config(postgres, healthy.redis.clone(), ReadArgs::default())).await;
    let response = degraded.get(&format!("/order/{SAMPLE_UID}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-cache"], "hit");
    assert_eq!(response.text().await?, sample_order().canonical_json());
    degraded.stop().await?;
    healthy.stop().await
}

#[tokio::test]
async fn refuses_to_start_on_a_schema_behind_the_build() -> TestResult {
    let empty = TestDb::create_empty().await;
    let built = Application::build(config(
        read_only_args(empty.name()),
        pipeline_testing::redis_args(),
        ReadArgs::default(),
    ))
    .await;
    let error = built.err().ok_or("started on an unmigrated database")?;
    assert!(format!("{error:#}").contains("ingest migrate"), "{error:#}");
    Ok(())
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() -> TestResult {
    let pg = silent_port().await;
    let postgres = postgres_at(format!("postgres://orders:orders@127.0.0.1:{pg}/orders"));
    let read = ReadArgs {
        db_read_timeout_ms: 1_500,
        ..ReadArgs::default()
    };
    let app = start(config(postgres, dead_redis(), read)).await;
    let address = app.address.clone();

    // This request waits on the silent database until the read timeout.
    let in_flight = tokio::spawn({
        let client = app.client.clone();
        let url = format!("{address}/order/slow-one");
        async move { client.get(url).send().await.map(|r| r.status().as_u16()) }
    });
    // In flight: it has reached the database read (counted as it is sent).
    wait_until("the request reads from the database", TEN_S, || async {
        app.metric("order_db_reads_total").await >= 1.0
    })
    .await;
    app.stop().await?; // fires the signal and waits for the server to return

    assert_eq!(
        in_flight.await?.ok(),
        Some(503),
        "the in-flight request got its answer"
    );
    let after = reqwest::Client::new()
        .get(format!("{address}/healthz"))
        .send()
        .await;
    assert!(after.is_err(), "no new connections after shutdown");
    Ok(())
}
