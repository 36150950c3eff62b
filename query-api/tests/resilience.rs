//! Failure paths: dead or silent dependencies, an outdated schema, and graceful shutdown. Dead
//! services are unused local ports; silent ones are listeners that accept and never answer.
//!
//! No test times a request: "fails fast" is shown by what ended it. A test that names the bound
//! that ends a request sets the others far beyond [`HANG_GUARD`], so that an answer at all tells
//! which path gave it; [`HANG_GUARD`] only turns a hang into a failure.

mod support;

use order_cache::RedisArgs;
use order_store::PostgresArgs;
use pipeline_testing::db::{read_only_args, TestDb};
use pipeline_testing::wait::within as wait_until;
use query_api::config::ReadArgs;
use query_api::Application;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::http::error_message;
use support::{config, order, sample_order, spawn_app, spawn_app_with, start, TestApp, TestResult};

const TEN_S: Duration = Duration::from_secs(10);

/// How long a request may go unanswered before the test calls it hung: a failure guard, not a
/// speed bound (the paths under test answer in milliseconds).
const HANG_GUARD: Duration = Duration::from_secs(60);

/// A timeout no test waits out (ten minutes, ten times [`HANG_GUARD`]), for every bound a test
/// means not to be the one that ends a request.
const NEVER_MS: u64 = 600_000;

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

/// GET `path` on `app` (auth off) with a client that has no timeout of its own; fails the test
/// if no answer comes within [`HANG_GUARD`].
async fn get_unless_hung(app: &TestApp, path: &str) -> reqwest::Response {
    let request = reqwest::Client::new()
        .get(format!("{}{path}", app.address))
        .send();
    tokio::time::timeout(HANG_GUARD, request)
        .await
        .unwrap_or_else(|_| panic!("GET {path}: no answer within {HANG_GUARD:?}: it hung"))
        .unwrap_or_else(|error| panic!("GET {path}: {error}"))
}

/// A Redis that accepts connections and never says a word until told to hang up; then it closes
/// the connections it holds, and every later one at once. Counts the connections it accepted.
struct SilentRedis {
    port: u16,
    accepted: Arc<AtomicUsize>,
    hang_up: tokio::sync::watch::Sender<bool>,
}

impl SilentRedis {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let (hang_up, mut hung_up) = tokio::sync::watch::channel(false);
        let counter = Arc::clone(&accepted);
        tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                tokio::select! {
                    next = listener.accept() => {
                        let Ok((socket, _)) = next else { return };
                        counter.fetch_add(1, Ordering::SeqCst);
                        if !*hung_up.borrow() {
                            held.push(socket);
                        }
                    }
                    changed = hung_up.changed() => {
                        held.clear();
                        if changed.is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Self {
            port,
            accepted,
            hang_up,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn hang_up(&self) {
        let _ = self.hang_up.send(true);
    }
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
async fn a_burst_against_a_silent_redis_does_not_queue_behind_one_connection_attempt() -> TestResult
{
    // Lookups that come after a pending connection attempt must not queue behind it. Redis's
    // timeout is out of reach here: an attempt on the silent Redis stays pending until the test
    // hangs up, so a lookup queued behind one could not be answered before that.
    let read = ReadArgs {
        near_cache_entries: 0,
        ..ReadArgs::default()
    };
    let mut app = spawn_app_with(read.clone()).await;
    let orders: Vec<_> = (0..128)
        .map(|n| order(&format!("burst-{n}"), "2024-02-02T02:02:02Z"))
        .collect();
    app.store(&orders).await;
    let db = app.db.take().ok_or("db")?;
    app.stop().await?;
    let silent = SilentRedis::start().await;
    let redis = RedisArgs {
        redis_url: format!("redis://127.0.0.1:{}", silent.port),
        timeout_ms: NEVER_MS,
        ..pipeline_testing::redis_args()
    };
    let app = start(config(read_only_args(db.name()), redis, read.clone())).await;
    let client = reqwest::Client::new(); // no timeout: HANG_GUARD below is the only one
    let burst = |wave: std::ops::Range<usize>| {
        wave.map(|n| {
            let request = client
                .get(format!("{}/order/burst-{n}", app.address))
                .send();
            tokio::spawn(async move { request.await.map(|r| r.status().as_u16()) })
        })
        .collect::<Vec<_>>()
    };

    // The first burst makes the HTTP threads open their connections: at most one attempt per
    // thread (a thread may find the breaker already opened by the other's failures and make
    // none), each holding back the batch of lookups that made it (bounded by the Redis timeout
    // in service).
    let first = burst(0..64);
    let threads = read.http_threads();
    wait_until("a connection attempt is pending", HANG_GUARD, || async {
        silent.accepted() >= 1
    })
    .await;
    // Later lookups find an attempt under way and read PostgreSQL: all answered while the
    // attempts are still pending.
    for request in burst(64..128) {
        let status = tokio::time::timeout(HANG_GUARD, request)
            .await
            .map_err(|_| {
                format!("queued behind a pending connection attempt ({HANG_GUARD:?})")
            })??;
        assert_eq!(status?, 200);
    }
    assert!(
        silent.accepted() <= threads,
        "no further attempt while one is pending"
    );
    // Hung up on, the pending attempts fail and their lookups are answered from PostgreSQL too.
    silent.hang_up();
    for request in first {
        let status = tokio::time::timeout(HANG_GUARD, request)
            .await
            .map_err(|_| format!("no answer within {HANG_GUARD:?} after Redis hung up"))??;
        assert_eq!(status?, 200);
    }
    app.stop().await
}

#[tokio::test]
async fn both_down_answers_503_at_once_and_starts_not_ready() -> TestResult {
    // Every timeout out of reach: a 503 can only come from the refused connections themselves,
    // not from waiting a bound out.
    let postgres = PostgresArgs {
        connect_timeout_ms: NEVER_MS,
        statement_timeout_ms: NEVER_MS,
        ..postgres_at("postgres://orders:orders@127.0.0.1:1/orders".into())
    };
    let redis = RedisArgs {
        timeout_ms: NEVER_MS,
        ..dead_redis()
    };
    let read = ReadArgs {
        db_read_timeout_ms: NEVER_MS,
        ..ReadArgs::default()
    };
    let app = start(config(postgres, redis, read)).await;

    let response = get_unless_hung(&app, "/order/some-order").await;
    let error = error_message(response, 503, "an order with both down").await;
    assert!(
        !error.contains("127.0.0.1"),
        "internal details leaked: {error}"
    );

    assert_eq!(get_unless_hung(&app, "/orders").await.status(), 503);
    assert_eq!(app.get("/healthz").await.status(), 200);
    let response = get_unless_hung(&app, "/readyz").await;
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await?;
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
    // Neither ever answers, so only a bound can end a request: the read's (1 s, and the pool's
    // 1 s connect bound), Redis's (500 ms), the readiness probes' (1 s). The statement timeout is
    // out of reach.
    let (pg, redis) = (
        pipeline_testing::silent_port().await,
        pipeline_testing::silent_port().await,
    );
    let postgres = PostgresArgs {
        statement_timeout_ms: NEVER_MS,
        ..postgres_at(format!("postgres://orders:orders@127.0.0.1:{pg}/orders"))
    };
    let redis = RedisArgs {
        redis_url: format!("redis://127.0.0.1:{redis}"),
        ..pipeline_testing::redis_args()
    };
    let read = ReadArgs {
        db_read_timeout_ms: 1_000,
        ..ReadArgs::default()
    };
    let app = start(config(postgres, redis, read)).await;

    let response = get_unless_hung(&app, "/order/some-order").await;
    assert_eq!(response.status(), 503);
    assert_eq!(app.metric("order_db_reads_total").await, 1.0);
    assert_eq!(
        app.metric("order_cache_errors_total").await,
        1.0,
        "the Redis call, ended by its bound"
    );
    let response = get_unless_hung(&app, "/readyz").await;
    assert_eq!(response.status(), 503);
    // Each probe was ended by its bound, and says so.
    let body: serde_json::Value = response.json().await?;
    for dependency in ["postgres", "redis"] {
        let error = body["errors"][dependency].as_str().unwrap_or_default();
        assert!(error.contains("within"), "{dependency}: {body}");
    }
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
    let pg = pipeline_testing::silent_port().await;
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
