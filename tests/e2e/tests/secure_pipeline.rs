//! The whole pipeline over the secure stack (`scripts/stack.sh up --secure`, contract §9):
//! producer-sim publishes over SASL_SSL (SCRAM), ingest consumes over SASL_SSL and stores over
//! PostgreSQL `verify-full` TLS and Redis `rediss://` with its ACL user, and query-api reads
//! every order back over the same TLS connections. The records, rows and cache entries are
//! checked where they land, through verifying clients.

use order_cache::OrderCache;
use pipeline_runtime::shutdown::Shutdown;
use pipeline_testing::kafka::TestTopics;
use pipeline_testing::secure::stack;
use std::time::{Duration, Instant};

/// The uids of the valid records producer-sim's manifest lists (`seq<TAB>kind<TAB>key`).
fn valid_uids(manifest: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(manifest)
        .expect("read the manifest")
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let (_seq, kind, key) = (fields.next()?, fields.next()?, fields.next()?);
            (kind == "valid").then(|| key.to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn orders_travel_over_sasl_ssl_and_tls_from_producer_to_read_api() {
    let s = stack();
    let topics = TestTopics::create_on(&s.kafka_args(), 3).await;
    let kafka = s.kafka_args_for(&topics);
    let db = s.fresh_db().await;
    let postgres = s.postgres_args(s.database_url(db.name()));
    assert!(postgres.database_url.contains("sslmode=verify-full"));
    let prefix = s.test_prefix();
    let redis = prefix.args();
    assert!(redis.redis_url.starts_with("rediss://"));

    let config = ingest::Config::for_tests(
        kafka.clone(),
        postgres.clone(),
        redis.clone(),
        &topics.group,
    );
    let ingest = ingest::Application::build(config)
        .await
        .expect("build ingest");
    let (stop_ingest, shutdown) = Shutdown::new();
    let ingest = tokio::spawn(ingest.run_until_stopped(shutdown));

    let manifest = std::env::temp_dir().join(pipeline_testing::unique_name("e2e-manifest"));
    let security = &kafka.security;
    let args = producer_sim::Args::from_flags([
        "--count".to_owned(),
        "40".into(),
        "--rate".into(),
        "0".into(),
        "--seed".into(),
        "2024".into(),
        "--manifest".into(),
        manifest.display().to_string(),
        "--kafka-brokers".into(),
        kafka.brokers.clone(),
        "--orders-topic".into(),
        topics.orders.clone(),
        "--kafka-security-protocol".into(),
        "sasl_ssl".into(),
        "--kafka-sasl-mechanism".into(),
        "SCRAM-SHA-256".into(),
        "--kafka-sasl-username".into(),
        security.sasl_username.clone().expect("user"),
        "--kafka-sasl-password".into(),
        security.sasl_password.clone().expect("password"),
        "--kafka-ssl-ca-location".into(),
        s.var("KAFKA_SSL_CA_LOCATION").to_owned(),
    ]);
    let (_keep, never) = Shutdown::new();
    let summary = producer_sim::run(args, never).await.expect("producer-sim");
    assert!(summary.is_clean(), "{summary}");
    let uids = valid_uids(&manifest);
    let _ = std::fs::remove_file(&manifest);
    assert_eq!(uids.len(), 40);

    let api_config = query_api::config::Config {
        http_addr: "127.0.0.1:0".parse().expect("address"),
        admin_addr: "127.0.0.1:0".parse().expect("address"),
        // Access control has its own suites (query-api/tests/auth_*.rs); here the connections.
        auth: query_api::config::AuthArgs::off(),
        read: query_api::config::ReadArgs::default(),
        postgres: postgres.clone(),
        redis: redis.clone(),
        telemetry: Default::default(),
    };
    let api = query_api::Application::build(api_config)
        .await
        .expect("build query-api");
    let base = format!("http://127.0.0.1:{}", api.port());
    let (stop_api, shutdown) = Shutdown::new();
    let api = tokio::spawn(api.run_until_stopped(shutdown));

    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    for uid in &uids {
        loop {
            let response = client.get(format!("{base}/order/{uid}")).send().await;
            if let Ok(response) = response {
                if response.status() == 200 {
                    let order: serde_json::Value = response.json().await.expect("order JSON");
                    assert_eq!(order["order_uid"], uid.as_str());
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{uid} never readable through query-api"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let ready = client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);

    // Where they landed, read through verifying clients: the rows over verify-full TLS, the
    // cache entries over rediss (ingest writes them after each stored batch).
    let client_db = db.pool().get().await.expect("connection");
    let stored: i64 = client_db
        .query_one("SELECT count(*) FROM orders", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(stored, 40);
    let cache = OrderCache::new(&redis).expect("cache");
    for uid in &uids {
        let cached = cache.get(uid).await.expect("rediss read");
        assert!(
            cached.is_some_and(|json| json.contains(uid.as_str())),
            "{uid} not cached"
        );
    }

    stop_api.fire();
    stop_ingest.fire();
    api.await
        .expect("query-api task")
        .expect("query-api stops cleanly");
    ingest
        .await
        .expect("ingest task")
        .expect("ingest stops cleanly");
    drop(client_db);
}
