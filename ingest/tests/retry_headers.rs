//! The retry topic's headers are not trusted: a due time beyond the maximum retry delay counts
//! as due at that maximum, an absurd attempt count is clamped to the maximum (`x-attempts` of a
//! dead letter never exceeds it), and a retry record that is not a valid retry (unreadable headers, bytes that are no order) is dead-lettered as `malformed` at
//! once instead of parking its partition.
//!
//! Nothing here is timed: when things happened is read from the timestamps ingest writes (the due
//! time `/readyz` shows for a parked partition, `x-failed-at` on dead letters, `stored_at` in the
//! database). Whether a record is parked at all is decided without a clock in
//! `pipeline::batch`'s unit tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{DateTime, Utc};
use common::*;
use std::time::Duration;

const YEAR_3000_MS: &str = "32503680000000";

/// A time ingest wrote (RFC 3339).
fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|err| panic!("{text:?}: {err}"))
        .with_timezone(&Utc)
}

/// `/readyz` once it and the metrics name a parked retry partition (waited for: a bound on a hang
/// only).
async fn readyz_while_parked(app: &Running) -> (u16, serde_json::Value) {
    let give_up = tokio::time::Instant::now() + DEADLINE;
    loop {
        let metric = app.metric("ingest_stalled{reason=\"retry_parked\"}").await;
        let (status, body) = app.readyz().await;
        let stalls = body["stalls"].as_array().cloned().unwrap_or_default();
        if metric == 1.0 && stalls.iter().any(|s| s["reason"] == "retry_parked") {
            return (status, body);
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "no retry partition parked within {DEADLINE:?}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A record for the retry topic: partition, key, value and headers.
type RetryRecord<'a> = (i32, &'a [u8], &'a [u8], &'a [(&'a str, &'a str)]);

fn retry_headers<'a>(
    not_before: &'a str,
    attempts: &'a str,
    topic: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("x-retry-not-before", not_before),
        ("x-attempts", attempts),
        ("x-original-topic", topic),
        ("x-original-partition", "0"),
        ("x-original-offset", "0"),
        ("x-original-timestamp", "0"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_retry_headers_neither_park_a_partition_for_long_nor_get_trusted() {
    let mut world = World::new(3).await;
    world.config.retry_max_delay_ms = 6000;
    let producer = producer();
    let app = start(world.config.clone()).await;
    wait_until("ready", || async { app.readyz().await.0 == 200 }).await;
    let batch = orders(70, 4);
    let orders_topic = world.topics.orders.clone();
    let retry = world.topics.retry.clone();

    let (far_uid, far_json) = &batch[0];
    let far = retry_headers(YEAR_3000_MS, "1", &orders_topic);
    let (bad_uid, bad_json) = &batch[1];
    let garbled = retry_headers("tomorrow", "1", &orders_topic);
    let (huge_uid, huge_json) = &batch[2];
    let huge = retry_headers("0", "99999999999999999999999", &orders_topic);
    // An order the validation refuses (no items), with the same absurd count.
    let (invalid_uid, invalid_json) = &batch[3];
    let mut invalid: serde_json::Value = serde_json::from_str(invalid_json).unwrap();
    invalid["items"] = serde_json::json!([]);
    let invalid_json = invalid.to_string();
    // Written in this order.
    let records: [RetryRecord; 5] = [
        // Partition 0: a valid order due in the year 3000.
        (0, far_uid.as_bytes(), far_json.as_bytes(), &far),
        // Partition 1: a due time that is no number, and bytes that are no order due in the year
        // 3000: both are dead letters right away.
        (1, bad_uid.as_bytes(), bad_json.as_bytes(), &garbled),
        (1, b"junk", b"{not json", &far),
        // Partition 2: an attempt count no counter can hold, due now: clamped, and stored.
        (2, huge_uid.as_bytes(), huge_json.as_bytes(), &huge),
        (2, invalid_uid.as_bytes(), invalid_json.as_bytes(), &huge),
    ];
    for (partition, key, value, headers) in records {
        produce_to(
            &producer,
            &retry,
            Some(partition),
            Some(key),
            value,
            headers,
        )
        .await;
    }

    let mut dead = wait_for_records(&world.topics.dlq, 3).await;
    let clamped = dead
        .iter()
        .position(|r| r.key.as_deref() == Some(invalid_uid.as_bytes()))
        .map(|at| dead.remove(at))
        .expect("the invalid order with an absurd count is dead-lettered");
    assert_dead_letter(&clamped, "invalid", &world.config.group);
    assert_eq!(
        clamped.header("x-attempts"),
        world.config.max_attempts.to_string(),
        "an absurd count is clamped to INGEST_MAX_ATTEMPTS"
    );
    for record in &dead {
        assert_dead_letter(record, "malformed", &world.config.group);
        assert_eq!(record.header("x-original-topic"), orders_topic);
    }
    assert!(
        dead.iter()
            .any(|r| r.key.as_deref() == Some(bad_uid.as_bytes())),
        "the record with a garbled due time: {dead:#?}"
    );
    let message = dead
        .iter()
        .find(|r| r.key.as_deref() == Some(bad_uid.as_bytes()))
        .map(|r| r.header("x-error-message").to_owned())
        .unwrap_or_default();
    assert!(message.contains("x-retry-not-before"), "{message}");

    // Partition 0 parked meanwhile, and named as such, without making ingest unready.
    let (status, body) = readyz_while_parked(&app).await;
    let parked: Vec<&serde_json::Value> = body["stalls"]
        .as_array()
        .map(|stalls| {
            stalls
                .iter()
                .filter(|s| s["reason"] == "retry_parked")
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(parked.len(), 1, "{body}");
    assert_eq!(parked[0]["blocking"], false, "{body}");
    assert_eq!(
        status, 200,
        "a parked retry partition is not an outage: {body}"
    );
    // "<topic>/0 paused until its next retry is due at <time>", `since` when it was parked; both
    // are shown to the second.
    let cause = parked[0]["cause"].as_str().unwrap_or_default();
    assert!(cause.starts_with(&format!("{retry}/0 paused")), "{body}");
    let due = instant(cause.rsplit(" due at ").next().unwrap_or_default());
    let since = instant(parked[0]["since"].as_str().unwrap_or_default());
    let max_delay =
        chrono::Duration::milliseconds(i64::try_from(world.config.retry_max_delay_ms).unwrap());
    let delay = due - since;
    assert!(
        delay <= max_delay && delay >= max_delay - chrono::Duration::seconds(1),
        "due at the maximum delay (6 s) after it was parked, not in the year 3000: {body}"
    );
    // The malformed records were dead letters before that: not parked for the delay first.
    for record in dead.iter().chain([&clamped]) {
        let failed_at = instant(record.header("x-failed-at"));
        assert!(
            failed_at < due,
            "dead-lettered at {failed_at}, not before the parked order was due at {due}"
        );
    }

    wait_until(
        "the far-future order and the clamped one are stored",
        || async { world.stored_count().await >= 2 },
    )
    .await;
    let stored_at: DateTime<Utc> = pipeline_testing::db::query_value(
        &world.db,
        "SELECT stored_at FROM orders WHERE order_uid = $1",
        &[far_uid],
    )
    .await;
    eprintln!("far-future retry record due at {due}, stored at {stored_at}");
    assert!(
        stored_at >= due,
        "stored at {stored_at}, before it was due at {due}"
    );
    wait_until("no partition parked any more", || async {
        app.metric("ingest_stalled{reason=\"retry_parked\"}").await == 0.0
    })
    .await;
    assert_eq!(read_topic_async(&world.topics.dlq).await.len(), 3);
    assert_eq!(
        read_topic_async(&world.topics.retry).await.len(),
        5,
        "nothing retried again"
    );
    app.stop().await;
}
