//! `ingest dlq replay` against the real local Kafka and PostgreSQL: every test has its own
//! topics and database and writes synthetic dead letters with the contract's headers directly,
//! so it does not depend on the pipeline.

mod dlq_support;

use dlq_support::{put, put_all, read_topic, replay_args, Env};
use rdkafka::message::{Headers, Message};

#[tokio::test]
async fn dry_run_publishes_and_records_nothing() {
    let env = Env::new(2).await;
    let letter = env.letter("dry", "invalid", "2024-05-01T00:00:00Z");
    let at = put(&env, &letter).await;
    let (summary, text) = env.replay(&replay_args(&["--all", "--dry-run"])).await;
    assert_eq!(summary.replayed, 1, "{text}");
    assert!(
        text.contains(&format!(
            "would replay {at} (invalid, key dry) -> {}",
            env.topics.orders
        )),
        "{text}"
    );
    assert!(
        text.contains("plan for") && text.contains("dry run, nothing published"),
        "{text}"
    );
    assert_eq!(env.high_watermarks(&env.topics.orders), 0);
    assert_eq!(env.ledger_rows().await, 0);
}

#[tokio::test]
async fn replay_publishes_each_dead_letter_once_byte_for_byte() {
    let env = Env::new(2).await;
    let orders = env.topics.orders.clone();
    let letters = [
        env.letter("r1", "invalid", "2024-05-01T00:00:00Z"),
        env.letter("r2", "malformed", "2024-05-01T00:00:01Z")
            .partition(1)
            .value(Some(b"\x00\xffraw")),
        env.letter("r3", "conflict", "2024-05-01T00:00:02Z")
            .value(None)
            .header("x-error-stale", Some(b"x")),
        env.letter("skip", "retries-exhausted", "2024-05-01T00:00:03Z"),
    ];
    let coordinates = put_all(&env, &letters).await;
    let args = replay_args(&["--kind", "invalid,malformed,conflict"]);
    let (summary, text) = env.replay(&args).await;
    assert_eq!(
        (summary.matched, summary.replayed, summary.failed),
        (3, 3, 0),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "replayed {} (invalid, key r1) -> {orders}/",
            coordinates[0]
        )),
        "{text}"
    );

    let published = read_topic(&env, &orders, 3).await;
    assert_eq!(published.len(), 3);
    for (letter, from) in letters.iter().zip(&coordinates).take(3) {
        let record = published
            .iter()
            .find(|m| m.key() == letter.key.as_deref())
            .expect("replayed record");
        assert_eq!(record.payload(), letter.value.as_deref(), "value of {from}");
        let headers = pipeline_kafka::headers::owned(record);
        let expected = vec![
            (
                "traceparent".to_owned(),
                Some(dlq_support::TRACEPARENT.as_bytes().to_vec()),
            ),
            ("x-sim-kind".to_owned(), None),
            ("x-replayed-from".to_owned(), Some(from.as_bytes().to_vec())),
        ];
        assert_eq!(headers, expected, "headers of the replay of {from}");
    }
    assert_eq!(env.ledger_rows().await, 3);

    // A second run finds everything in the ledger and publishes nothing new.
    let (again, _) = env.replay(&args).await;
    assert_eq!((again.replayed, again.skipped_already_replayed), (0, 3));
    assert_eq!(env.high_watermarks(&orders), 3);
}

#[tokio::test]
async fn replayed_dead_letters_are_skipped_unless_included() {
    let env = Env::new(1).await;
    let looped = env
        .letter("again", "invalid", "2024-05-01T00:00:00Z")
        .header("x-replayed-from", Some(b"older.dlq/0/7"));
    let at = put(&env, &looped).await;
    let (summary, _) = env.replay(&replay_args(&["--all"])).await;
    assert_eq!(
        (
            summary.matched,
            summary.skipped_replayed_from,
            summary.replayed
        ),
        (1, 1, 0)
    );
    assert_eq!(env.high_watermarks(&env.topics.orders), 0);

    let (summary, _) = env
        .replay(&replay_args(&["--all", "--include-replayed"]))
        .await;
    assert_eq!(summary.replayed, 1);
    let published = read_topic(&env, &env.topics.orders, 1).await;
    let marks: Vec<&[u8]> = published[0]
        .headers()
        .map(|hs| {
            hs.iter()
                .filter(|h| h.key == "x-replayed-from")
                .filter_map(|h| h.value)
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        marks,
        [at.as_bytes()],
        "exactly one x-replayed-from, pointing at the new origin"
    );
}

#[tokio::test]
async fn a_recreated_dlq_is_not_hidden_by_the_old_ledger() {
    let env = Env::new(1).await;
    let at = put(&env, &env.letter("new", "invalid", "2024-05-01T00:00:00Z")).await;
    assert!(at.ends_with("/0/0"));
    env.stale_ledger_row(0, 0).await;
    let args = replay_args(&["--kind", "invalid"]);
    let (summary, text) = env.replay(&args).await;
    assert_eq!((summary.replayed, summary.reused_offsets), (1, 1));
    assert!(text.contains("the topic was recreated"), "{text}");
    let (again, _) = env.replay(&args).await;
    assert_eq!((again.replayed, again.skipped_already_replayed), (0, 1));
    assert_eq!(env.high_watermarks(&env.topics.orders), 1);
}

#[tokio::test]
async fn replay_rate_spaces_the_records() {
    let env = Env::new(1).await;
    for n in 0..6 {
        put(
            &env,
            &env.letter(&format!("p{n}"), "invalid", "2024-05-01T00:00:00Z"),
        )
        .await;
    }
    let (summary, _) = env.replay(&replay_args(&["--all", "--rate", "10"])).await;
    assert_eq!(summary.replayed, 6);
    // Six records at 10/s span five intervals of 100 ms; loose bounds, not a speed test.
    let stamps: Vec<i64> = read_topic(&env, &env.topics.orders, 6)
        .await
        .iter()
        .filter_map(|m| m.timestamp().to_millis())
        .collect();
    let span =
        stamps.iter().max().copied().unwrap_or(0) - stamps.iter().min().copied().unwrap_or(0);
    assert!((450..10_000).contains(&span), "span {span} ms");
}

#[tokio::test]
async fn replay_refuses_unsafe_requests_and_reports_unroutable_letters() {
    let env = Env::new(1).await;
    let orphan = env
        .letter("orphan", "invalid", "2024-05-01T00:00:00Z")
        .without("x-original-topic");
    put(&env, &orphan).await;
    let (result, _) = env.try_replay(&replay_args(&[])).await;
    let message = result.expect_err("no filter").to_string();
    assert!(
        message.contains("refusing") && message.contains("--all"),
        "{message}"
    );
    let dlq_as_target = replay_args(&["--all", "--to", &env.topics.dlq]);
    let (looped, _) = env.try_replay(&dlq_as_target).await;
    assert!(looped
        .expect_err("into the DLQ")
        .to_string()
        .contains("loop"));

    let (result, text) = env.try_replay(&replay_args(&["--all"])).await;
    let summary = result.expect("replay");
    assert_eq!((summary.replayed, summary.failed), (0, 1), "{text}");
    assert!(
        text.contains("no x-original-topic header (give --to)"),
        "{text}"
    );

    let to_retry = replay_args(&["--all", "--to", &env.topics.retry]);
    let (summary, _) = env.replay(&to_retry).await;
    assert_eq!(summary.replayed, 1);
    assert_eq!(env.high_watermarks(&env.topics.retry), 1);

    // Another replay of the same DLQ holding the lock makes this one stop before reading.
    let _held = env.hold_replay_lock().await;
    let (result, _) = env.try_replay(&replay_args(&["--all"])).await;
    assert!(result
        .expect_err("locked")
        .to_string()
        .contains("is running"));
}
