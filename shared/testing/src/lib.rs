//! Isolation helpers for integration tests against the real local stack: every test gets its own
//! database ([`db::TestDb`]), Kafka topics and consumer group ([`kafka::TestTopics`]) and Redis
//! key prefix ([`prefix::TestPrefix`]), all with random names, so tests run in parallel; each is
//! a guard that removes what it names when it drops, also when the test panics ([`cleanup`];
//! `KEEP_TEST_DATA=1` keeps them for debugging). Plus readers for what the binaries emit
//! (exported traces, dashboards' metric names, `/metrics`), the decode oracle the property tests
//! and the fuzzer share, and child processes run to the end ([`process`]).
//!
//! Each client sits behind a feature (`store`, `cache`, `kafka`, `traces`), so a crate's tests
//! build only the clients that crate uses; `secure` finds the secure stack ([`secure`]) and
//! `cluster` the clustered engines of contract §10 ([`cluster`]).

// Only the guards (behind `store`, `cache`, `kafka`) run cleanups; without them (a crate that
// uses only the decode oracle) the runner is unused.
#[cfg_attr(
    not(any(feature = "store", feature = "cache", feature = "kafka")),
    allow(dead_code)
)]
pub mod cleanup;
#[cfg(feature = "cluster")]
pub mod cluster;
pub mod dashboards;
#[cfg(feature = "store")]
pub mod db;
pub mod decode_oracle;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod metrics;
#[cfg(feature = "cache")]
pub mod prefix;
pub mod process;
#[cfg(feature = "secure")]
pub mod secure;
#[cfg(feature = "traces")]
pub mod traces;
#[cfg(any(feature = "store", feature = "kafka", feature = "traces"))]
pub mod wait;

#[cfg(feature = "store")]
/// A local port that accepts connections and never says a word (a dependency that hangs).
pub async fn silent_port() -> u16 {
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

/// A local TCP port free at the time of asking, for a child process's listener (a test that
/// binds in-process uses port 0 instead).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// A short random lowercase name with a readable prefix, e.g. `t_orders_3f9a1c2b`.
pub fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}_{}", &id[..12])
}

#[cfg(feature = "cache")]
/// Redis settings from the environment (or defaults) with a fresh key prefix, unguarded: for
/// settings that never reach a Redis (a dead port); otherwise [`prefix::TestPrefix`].
pub fn redis_args() -> order_cache::RedisArgs {
    order_cache::RedisArgs {
        redis_url: std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
        cluster_urls: None,
        ttl_secs: 600,
        key_prefix: format!("{}:", unique_name("test")),
        timeout_ms: 500,
        tls: Default::default(),
    }
}

#[cfg(feature = "kafka")]
/// Kafka settings pointing at the local broker with the given (already created) topics.
pub fn kafka_args(topics: &kafka::TestTopics) -> pipeline_kafka::KafkaArgs {
    pipeline_kafka::KafkaArgs {
        brokers: kafka::brokers(),
        orders_topic: topics.orders.clone(),
        retry_topic: topics.retry.clone(),
        dlq_topic: topics.dlq.clone(),
        security: Default::default(),
    }
}
