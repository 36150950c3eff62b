//! The isolation guards against the real local stack: a test that panics still leaves no
//! database, no topics and no keys behind, whether it ran in async code or plain threads.

use pipeline_testing::db::{admin_url, TestDb};
use pipeline_testing::kafka::{TestTopic, TestTopics};
use pipeline_testing::prefix::TestPrefix;
use rdkafka::consumer::{BaseConsumer, Consumer};
use redis::Commands;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Runs `test` on a thread of its own inside a tokio runtime, as `#[tokio::test]` would; it
/// reports the names it created and then panics. Returns those names once the panic is over.
fn panicking_test<F, Fut>(test: F) -> Vec<String>
where
    F: FnOnce(mpsc::Sender<String>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let (names, created) = mpsc::channel();
    let outcome = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(test(names));
    })
    .join();
    assert!(outcome.is_err(), "the test was meant to panic");
    created.try_iter().collect()
}

async fn database_exists(name: &str) -> bool {
    let (client, connection) = tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls)
        .await
        .expect("connect to the local PostgreSQL");
    tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .await
        .expect("look the database up");
    row.get::<_, i64>(0) == 1
}

#[tokio::test]
async fn a_panicking_tests_database_is_dropped() {
    let names = panicking_test(|names| async move {
        let db = TestDb::create().await;
        let client = db.pool().get().await.expect("connection");
        client
            .batch_execute("SELECT 1 FROM orders")
            .await
            .expect("the schema is there");
        names.send(db.name().to_owned()).expect("report");
        panic!("the test fails while its database is open");
    });
    let [name] = &names[..] else {
        panic!("no database was reported: {names:?}")
    };
    assert!(
        !database_exists(name).await,
        "{name} is still in pg_database after its test panicked"
    );
}

#[test]
fn a_database_is_dropped_from_sync_code_too() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let db = runtime.block_on(TestDb::create());
    let name = db.name().to_owned();
    assert!(runtime.block_on(database_exists(&name)));
    drop(db); // outside any runtime context
    assert!(!runtime.block_on(database_exists(&name)), "{name} is left");
}

fn topic_names() -> Vec<String> {
    let consumer: BaseConsumer =
        pipeline_kafka::client::base(&pipeline_testing::kafka::local(), "guards-test")
            .expect("kafka settings")
            .create()
            .expect("metadata client");
    let metadata = consumer
        .fetch_metadata(None, Duration::from_secs(10))
        .expect("metadata");
    metadata
        .topics()
        .iter()
        .map(|topic| topic.name().to_owned())
        .collect()
}

#[tokio::test]
async fn a_panicking_tests_topics_are_deleted() {
    let names = panicking_test(|names| async move {
        let topics = TestTopics::create(2).await;
        let single = TestTopic::create("t_guard", &[("retention.ms", "60000")]).await;
        for name in [&topics.orders, &topics.retry, &topics.dlq, &single.name] {
            names.send(name.clone()).expect("report");
        }
        panic!("the test fails while its topics exist");
    });
    assert_eq!(names.len(), 4, "{names:?}");
    // Deletion is acknowledged by the controller; the metadata a client sees follows shortly.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let all = tokio::task::spawn_blocking(topic_names)
            .await
            .expect("metadata");
        let left: Vec<&String> = names.iter().filter(|name| all.contains(name)).collect();
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "topics left after their test panicked: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_panicking_tests_keys_are_removed() {
    let names = panicking_test(|names| async move {
        let prefix = TestPrefix::new();
        let client = redis::Client::open(prefix.redis_url.as_str()).expect("redis URL");
        let mut connection = client.get_connection().expect("connect to the local Redis");
        for n in 0..25 {
            let _: () = connection
                .set(format!("{}order:{n}", prefix.key_prefix), "{}")
                .expect("SET");
        }
        names.send(prefix.key_prefix.clone()).expect("report");
        panic!("the test fails while its keys exist");
    });
    let [prefix] = &names[..] else {
        panic!("no prefix was reported: {names:?}")
    };
    let client = redis::Client::open(pipeline_testing::redis_args().redis_url).expect("redis URL");
    let mut connection = client.get_connection().expect("connect to the local Redis");
    let left: Vec<String> = connection
        .scan_match::<_, String>(format!("{prefix}*"))
        .expect("SCAN")
        .collect();
    assert!(
        left.is_empty(),
        "keys left after their test panicked: {left:?}"
    );
}
