//! Helpers for the integration tests: every test gets its own topics, consumer group, database
//! and Redis key prefix on the real local stack (guards: removed when the test ends, also when it
//! panics), runs ingest in-process (or as the real binary), and waits for conditions with a
//! generous deadline instead of sleeping for fixed times.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod kafka;
pub mod proxy;

pub use kafka::*;

use ingest::{Application, Config};
use order_store::PostgresArgs;
use order_synthetic::OrderGenerator;
use pipeline_runtime::shutdown::{Shutdown, ShutdownTrigger};
use pipeline_testing::db::{role_url, TestDb, WRITER};
use pipeline_testing::kafka::TestTopics;
use pipeline_testing::prefix::TestPrefix;
use rdkafka::producer::FutureProducer;
use std::net::SocketAddr;
use tokio::task::JoinHandle;

#[allow(unused_imports)] // not every test binary waits
pub use pipeline_testing::wait::{until as wait_until, DEADLINE};

/// One test's private world, removed when it drops.
pub struct World {
    pub topics: TestTopics,
    pub db: TestDb,
    pub redis: TestPrefix,
    pub config: Config,
}

impl World {
    pub async fn new(partitions: i32) -> World {
        if std::env::var_os("RUST_LOG").is_some() {
            let _ = pipeline_runtime::telemetry::init(
                &pipeline_runtime::config::TelemetryArgs::default(),
                "test",
            );
        }
        let topics = TestTopics::create(partitions).await;
        let db = TestDb::create().await;
        let redis = TestPrefix::new();
        let mut postgres = pipeline_testing::db::postgres_args(db.name());
        postgres.statement_timeout_ms = 2_000;
        let config = Config::for_tests(
            pipeline_testing::kafka_args(&topics),
            postgres,
            redis.args(),
            &topics.group,
        );
        World {
            topics,
            db,
            redis,
            config,
        }
    }

    pub fn postgres(&self) -> PostgresArgs {
        self.config.postgres.clone()
    }

    pub async fn stored_count(&self) -> i64 {
        pipeline_testing::db::query_value(&self.db, "SELECT count(*) FROM orders", &[]).await
    }

    /// `ingest run` as the real binary, configured for this world (logs at `warn` to stderr).
    pub fn binary(&self) -> std::process::Command {
        let config = &self.config;
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ingest"));
        command
            .arg("run")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("KAFKA_BROKERS", &config.kafka.brokers)
            .env("ORDERS_TOPIC", &config.kafka.orders_topic)
            .env("RETRY_TOPIC", &config.kafka.retry_topic)
            .env("DLQ_TOPIC", &config.kafka.dlq_topic)
            .env("KAFKA_GROUP", &config.group)
            .env("DATABASE_URL", &config.postgres.database_url)
            .env("REDIS_URL", &config.redis.redis_url)
            .env("ORDER_CACHE_KEY_PREFIX", &config.redis.key_prefix)
            .env("METRICS_ADDR", "127.0.0.1:0")
            .env("INGEST_BATCH_SIZE", "200")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit());
        command
    }
}

/// Ingest running in-process.
pub struct Running {
    pub addr: SocketAddr,
    trigger: ShutdownTrigger,
    handle: JoinHandle<anyhow::Result<()>>,
}

/// A world whose ingest logs in to PostgreSQL with the writer role's grants alone (and so does
/// `world.config.postgres` for the test's own checks), ingest started on it, and a producer.
pub async fn start_writer_only(partitions: i32) -> (World, FutureProducer, Running) {
    let mut world = World::new(partitions).await;
    world.config.postgres.database_url = role_url(world.db.name(), WRITER);
    let producer = producer();
    let app = start(world.config.clone()).await;
    (world, producer, app)
}

/// Produces `orders`, which ingest has stored already, again, and waits until `app` has counted
/// that many duplicates.
pub async fn redeliver(
    producer: &FutureProducer,
    world: &World,
    app: &Running,
    orders: &[(String, String)],
) {
    produce_orders(producer, &world.topics.orders, orders).await;
    let expected = orders.len() as f64;
    wait_until("the redelivered orders counted as duplicates", || async {
        app.metric("ingest_records_total{outcome=\"duplicate\"}")
            .await
            >= expected
    })
    .await;
}

/// The end of a run that held orders back without losing any: nothing went through the retry
/// topic, nothing was stored twice; stops `app` and checks the database holds `stored` orders.
pub async fn stop_after_a_clean_run(world: &World, app: Running, stored: i64) {
    assert!(
        read_topic_async(&world.topics.retry).await.is_empty(),
        "nothing retried"
    );
    assert_eq!(
        app.metric("ingest_records_total{outcome=\"duplicate\"}")
            .await,
        0.0,
        "nothing stored twice"
    );
    app.stop().await;
    assert_eq!(world.stored_count().await, stored);
}

pub async fn start(config: Config) -> Running {
    let app = Application::build(config).await.expect("build ingest");
    let addr = app.metrics_addr();
    let (trigger, shutdown) = Shutdown::new();
    let handle = tokio::spawn(app.run_until_stopped(shutdown));
    Running {
        addr,
        trigger,
        handle,
    }
}

impl Running {
    /// Fires the shutdown signal and waits for a clean stop.
    pub async fn stop(self) {
        self.trigger.fire();
        let result = tokio::time::timeout(DEADLINE, self.handle)
            .await
            .expect("ingest stops in time");
        result.expect("ingest task").expect("ingest stops cleanly");
    }

    /// The value of one series on `/metrics` (0 when absent).
    pub async fn metric(&self, series: &str) -> f64 {
        scrape(self.addr, series).await
    }

    /// Waits until this member of the consumer group has partitions assigned (`/readyz`).
    pub async fn wait_assigned(&self) {
        wait_until("the member assigned partitions", || async {
            self.readyz().await.1["assigned_partitions"]
                .as_u64()
                .unwrap_or(0)
                > 0
        })
        .await;
    }

    pub async fn readyz(&self) -> (u16, serde_json::Value) {
        let response = reqwest::get(format!("http://{}/readyz", self.addr))
            .await
            .expect("readyz");
        let status = response.status().as_u16();
        (status, response.json().await.expect("readyz json"))
    }
}

pub async fn scrape(addr: SocketAddr, series: &str) -> f64 {
    let Ok(response) = reqwest::get(format!("http://{addr}/metrics")).await else {
        return 0.0;
    };
    let text = response.text().await.unwrap_or_default();
    pipeline_testing::metrics::metric_value(&text, series)
}

/// `count` valid orders as `(uid, json)`, dated now-ish.
pub fn orders(seed: u64, count: usize) -> Vec<(String, String)> {
    OrderGenerator::new(seed, chrono::Utc::now())
        .take(count)
        .map(|order| {
            (
                order.order_uid.clone(),
                serde_json::to_string(&order).expect("order json"),
            )
        })
        .collect()
}
