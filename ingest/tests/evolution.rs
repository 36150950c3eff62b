//! Additive evolution through the real pipeline (contract §11): orders carrying fields this
//! version does not know, at every level, are stored, cached and read back — from Redis and from
//! PostgreSQL, with the very calls query-api makes — unchanged: same values, each unknown key
//! after the known keys of its object, in the order it came. They are counted by
//! `ingest_unknown_fields_total`; none is dead-lettered. At debug level, the real binary logs the
//! unknown fields' paths and never their values.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use order_store::OrderRepository;
use order_synthetic::OrderGenerator;
use serde_json::json;

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

/// The debug line naming unknown fields (contract §11): its paths, at every level, and none of
/// the values (nor the keys nested inside an unknown value, which are part of the value).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_debug_log_names_unknown_field_paths_never_their_values() {
    let world = World::new(2).await;
    let generator = OrderGenerator::new(23, chrono::Utc::now());
    let secrets = [
        "zq-secret-top-4711",
        "zq-nested-key-4712",
        "zq-secret-delivery-4713",
        "zq-secret-payment-4714",
        "zq-secret-item-4715",
        "918273645546372819",
    ];
    // (uid, JSON, the paths the log line must name)
    let sent: Vec<(String, String, String)> = (0..5)
        .map(|seq| {
            let mut order = generator.order_with_seq(seq);
            order.extra.push("zz_campaign", &json!(secrets[0]));
            order
                .extra
                .push("zz_loyalty", &json!({ secrets[1]: { "ref": secrets[5] } }));
            order.delivery.extra.push("zz_gate", &json!(secrets[2]));
            order.payment.extra.push("zz_voucher", &json!(secrets[3]));
            let last = order.items.len() - 1;
            order.items[last]
                .extra
                .push("zz_engraving", &json!(secrets[4]));
            let paths = format!(
                "zz_campaign, zz_loyalty, delivery.zz_gate, payment.zz_voucher, \
                 items[{last}].zz_engraving"
            );
            let text = serde_json::to_string(&order).expect("json");
            (order.order_uid.clone(), text, paths)
        })
        .collect();
    let producer = producer();
    let keyed: Vec<(String, String)> = sent
        .iter()
        .map(|(uid, text, _)| (uid.clone(), text.clone()))
        .collect();
    produce_orders(&producer, &world.topics.orders, &keyed).await;

    let log_path = std::env::temp_dir().join(format!("{}.log", world.topics.group));
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut command = world.binary();
    command
        .env("RUST_LOG", "debug")
        .env("LOG_FORMAT", "json")
        .stderr(log);
    let mut child = command.spawn().expect("spawn ingest");
    const LINE: &str = "order carries fields this version does not know";
    let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    wait_until("a debug line for each order", || async {
        read_log().matches(LINE).count() >= sent.len()
    })
    .await;
    wait_until("every order stored", || async {
        world.stored_count().await == sent.len() as i64
    })
    .await;
    child.kill().expect("stop ingest");
    child.wait().expect("reap ingest");
    let logged = read_log();
    std::fs::remove_file(&log_path).ok();

    let lines: Vec<serde_json::Value> = logged
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["fields"]["message"] == LINE)
        .collect();
    assert_eq!(lines.len(), sent.len(), "{lines:#?}");
    for (uid, _, paths) in &sent {
        let line = lines
            .iter()
            .find(|line| line["span"]["order_uid"] == uid.as_str())
            .unwrap_or_else(|| panic!("no line for {uid}: {lines:#?}"));
        assert_eq!(line["level"], "DEBUG", "{line}");
        assert_eq!(line["fields"]["count"], 5, "{line}");
        assert_eq!(line["fields"]["paths"], paths.as_str(), "{line}");
    }
    for secret in secrets {
        let leak = logged.lines().find(|line| line.contains(secret));
        assert!(leak.is_none(), "the log contains {secret:?}: {leak:?}");
    }
}
