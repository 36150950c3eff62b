//! `ingest dlq inspect` and `ingest dlq replay` against the real local Kafka and PostgreSQL.
//! Every test has its own topics and database and writes synthetic dead letters with the
//! contract's headers directly, so it does not depend on the pipeline.

mod dlq_support;

use clap::Parser;
use dlq_support::{put, read_topic, Env, Letter};
use ingest::dlq::{inspect, replay, InspectArgs, ReplayArgs};
use rdkafka::message::{Headers, Message};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

fn inspect_args(flags: &[&str]) -> InspectArgs {
    InspectArgs::try_parse_from(std::iter::once("inspect").chain(flags.iter().copied()))
        .expect("inspect flags")
}

fn replay_args(flags: &[&str]) -> ReplayArgs {
    ReplayArgs::try_parse_from(std::iter::once("replay").chain(flags.iter().copied()))
        .expect("replay flags")
}

#[tokio::test]
async fn inspect_lists_every_field_as_a_table_and_as_json() {
    let env = Env::new(2).await;
    let orders = env.topics.orders.clone();
    let invalid = Letter::new(&orders, "uid-invalid", "invalid", "2024-05-01T10:00:00Z")
        .error_message("delivery.email: not an address\nitems[0].price: negative");
    let malformed = Letter::new(
        &orders,
        "uid-malformed",
        "malformed",
        "2024-05-01T11:00:00Z",
    )
    .partition(1)
    .value(Some(b"\xff\xfenot json"));
    let garbled = Letter::bare(0)
        .key(None)
        .header("x-error-kind", Some(b"\xc3\x28"));
    for letter in [&invalid, &malformed, &garbled] {
        put(&env, letter).await;
    }

    let (mut out, mut info) = (Vec::new(), Vec::new());
    let summary = inspect(
        &inspect_args(&[]),
        &env.kafka,
        &env.topics.group,
        &mut out,
        &mut info,
    )
    .await
    .expect("inspect");
    let text = String::from_utf8(out).expect("utf-8 table");
    assert_eq!(summary.listed, 3, "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("PARTITION  OFFSET  KIND"), "{text}");
    let row = lines
        .iter()
        .find(|l| l.contains("uid-invalid"))
        .expect("invalid row");
    for cell in [
        "invalid",
        "delivery.email: not an address items[0]",
        "2024-05-01T10:00:00Z",
        "1",
    ] {
        assert!(row.contains(cell), "missing {cell:?} in {row:?}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("uid-malformed") && l.contains("malformed")),
        "{text}"
    );
    assert!(text.contains("3 dead letters in"), "{text}");
    assert!(
        text.contains("invalid 1") && text.contains("malformed 1"),
        "{text}"
    );
    assert!(info.is_empty());

    let (mut out, mut info) = (Vec::new(), Vec::new());
    let args = inspect_args(&["--json"]);
    inspect(&args, &env.kafka, &env.topics.group, &mut out, &mut info)
        .await
        .expect("inspect");
    let records: Vec<Value> = String::from_utf8(out)
        .expect("utf-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line is JSON"))
        .collect();
    assert_eq!(records.len(), 3);
    let by_uid = |uid: &str| {
        records
            .iter()
            .find(|r| r["order_uid"] == uid)
            .expect("record")
    };
    let json = by_uid("uid-invalid");
    assert_eq!(json["kind"], "invalid");
    assert_eq!(json["partition"], 0);
    assert_eq!(json["failed_at"], "2024-05-01T10:00:00Z");
    assert_eq!(json["attempts"], 1);
    assert_eq!(json["original_topic"], orders.as_str());
    assert_eq!(json["consumer_group"], "orders-ingest");
    assert_eq!(json["replayed_from"], Value::Null);
    assert_eq!(json["value"], r#"{"order_uid":"uid-invalid"}"#);
    let names: Vec<&str> = json["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .filter_map(|h| h["key"].as_str())
        .collect();
    assert!(
        names.contains(&"traceparent") && names.contains(&"x-original-offset"),
        "{names:?}"
    );
    assert_eq!(by_uid("uid-malformed")["value_hex"], "fffe6e6f74206a736f6e");
    let garbled = records
        .iter()
        .find(|r| r["order_uid"].is_null())
        .expect("garbled record");
    assert_eq!(garbled["failed_at"], Value::Null);
    assert!(String::from_utf8(info)
        .expect("utf-8")
        .contains("3 dead letters"));
    env.finish().await;
}

#[tokio::test]
async fn inspect_filters_by_kind_time_partition_and_limit() {
    let env = Env::new(2).await;
    let orders = env.topics.orders.clone();
    let letters = [
        Letter::new(&orders, "a", "invalid", "2024-01-01T00:00:00Z"),
        Letter::new(&orders, "b", "conflict", "2024-02-01T00:00:00Z").partition(1),
        Letter::new(&orders, "c", "invalid", "2024-03-01T00:00:00Z").partition(1),
        Letter::new(&orders, "d", "retries-exhausted", "not a time"),
    ];
    for letter in &letters {
        put(&env, letter).await;
    }
    let listed = |flags: &'static [&'static str]| {
        let env = &env;
        async move {
            let (mut out, mut info) = (Vec::new(), Vec::new());
            let mut args = inspect_args(flags);
            args.json = true;
            inspect(&args, &env.kafka, &env.topics.group, &mut out, &mut info)
                .await
                .expect("inspect");
            String::from_utf8(out)
                .expect("utf-8")
                .lines()
                .map(|l| {
                    serde_json::from_str::<Value>(l).expect("json")["order_uid"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned()
                })
                .collect::<BTreeSet<String>>()
        }
    };
    let set = |uids: &[&str]| uids.iter().map(|u| u.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(listed(&[]).await, set(&["a", "b", "c", "d"]));
    assert_eq!(listed(&["--kind", "invalid"]).await, set(&["a", "c"]));
    assert_eq!(
        listed(&["--kind", "conflict,retries-exhausted"]).await,
        set(&["b", "d"])
    );
    assert_eq!(
        listed(&["--since", "2024-02-01T00:00:00Z"]).await,
        set(&["b", "c"])
    );
    assert_eq!(listed(&["--until", "2024-02-01"]).await, set(&["a"]));
    assert_eq!(
        listed(&["--since", "2024-01-15", "--until", "2024-02-15"]).await,
        set(&["b"])
    );
    assert_eq!(listed(&["--partition", "1"]).await, set(&["b", "c"]));
    assert_eq!(listed(&["--limit", "2"]).await.len(), 2);
    let (mut out, mut info) = (Vec::new(), Vec::new());
    let summary = inspect(
        &inspect_args(&["--limit", "1"]),
        &env.kafka,
        &env.topics.group,
        &mut out,
        &mut info,
    )
    .await
    .expect("inspect");
    assert!(summary.limit_reached && summary.listed == 1);
    let missing = inspect(
        &inspect_args(&["--partition", "7"]),
        &env.kafka,
        &env.topics.group,
        &mut out,
        &mut info,
    )
    .await;
    assert!(missing
        .expect_err("no partition 7")
        .to_string()
        .contains("no partition 7"));
    env.finish().await;
}

#[tokio::test]
async fn inspect_of_an_empty_dlq_ends_at_once() {
    let env = Env::new(3).await;
    let (mut out, mut info) = (Vec::new(), Vec::new());
    let args = inspect_args(&[]);
    let run = inspect(&args, &env.kafka, &env.topics.group, &mut out, &mut info);
    let summary = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("ends")
        .expect("inspect");
    assert_eq!((summary.scanned, summary.listed), (0, 0));
    assert!(String::from_utf8(out)
        .expect("utf-8")
        .contains("0 dead letters"));
    env.finish().await;
}

#[tokio::test]
async fn dry_run_publishes_and_records_nothing() {
    let env = Env::new(2).await;
    let letter = Letter::new(&env.topics.orders, "dry", "invalid", "2024-05-01T00:00:00Z");
    let at = put(&env, &letter).await;
    let mut out = Vec::new();
    let summary = replay(
        &replay_args(&["--all", "--dry-run"]),
        &env.kafka,
        &env.topics.group,
        &env.db,
        &mut out,
    )
    .await
    .expect("dry run");
    let text = String::from_utf8(out).expect("utf-8");
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
    env.finish().await;
}

#[tokio::test]
async fn replay_publishes_each_dead_letter_once_byte_for_byte() {
    let env = Env::new(2).await;
    let orders = env.topics.orders.clone();
    let letters = [
        Letter::new(&orders, "r1", "invalid", "2024-05-01T00:00:00Z"),
        Letter::new(&orders, "r2", "malformed", "2024-05-01T00:00:01Z")
            .partition(1)
            .value(Some(b"\x00\xffraw")),
        Letter::new(&orders, "r3", "conflict", "2024-05-01T00:00:02Z")
            .value(None)
            .header("x-error-stale", Some(b"x")),
        Letter::new(&orders, "skip", "retries-exhausted", "2024-05-01T00:00:03Z"),
    ];
    let mut coordinates = Vec::new();
    for letter in &letters {
        coordinates.push(put(&env, letter).await);
    }
    let args = replay_args(&["--kind", "invalid,malformed,conflict"]);
    let mut out = Vec::new();
    let summary = replay(&args, &env.kafka, &env.topics.group, &env.db, &mut out)
        .await
        .expect("replay");
    let text = String::from_utf8(out).expect("utf-8");
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
        let headers: Vec<(String, Option<Vec<u8>>)> = record
            .headers()
            .map(|hs| {
                hs.iter()
                    .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default();
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
    let mut out = Vec::new();
    let again = replay(&args, &env.kafka, &env.topics.group, &env.db, &mut out)
        .await
        .expect("replay again");
    assert_eq!((again.replayed, again.skipped_already_replayed), (0, 3));
    assert_eq!(env.high_watermarks(&orders), 3);
    env.finish().await;
}

#[tokio::test]
async fn replayed_dead_letters_are_skipped_unless_included() {
    let env = Env::new(1).await;
    let looped = Letter::new(
        &env.topics.orders,
        "again",
        "invalid",
        "2024-05-01T00:00:00Z",
    )
    .header("x-replayed-from", Some(b"older.dlq/0/7"));
    let at = put(&env, &looped).await;
    let mut out = Vec::new();
    let summary = replay(
        &replay_args(&["--all"]),
        &env.kafka,
        &env.topics.group,
        &env.db,
        &mut out,
    )
    .await
    .expect("replay");
    assert_eq!(
        (
            summary.matched,
            summary.skipped_replayed_from,
            summary.replayed
        ),
        (1, 1, 0)
    );
    assert_eq!(env.high_watermarks(&env.topics.orders), 0);

    let mut out = Vec::new();
    let args = replay_args(&["--all", "--include-replayed"]);
    let summary = replay(&args, &env.kafka, &env.topics.group, &env.db, &mut out)
        .await
        .expect("replay");
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
    env.finish().await;
}

#[tokio::test]
async fn replay_rate_spaces_the_records() {
    let env = Env::new(1).await;
    for n in 0..6 {
        put(
            &env,
            &Letter::new(
                &env.topics.orders,
                &format!("p{n}"),
                "invalid",
                "2024-05-01T00:00:00Z",
            ),
        )
        .await;
    }
    let mut out = Vec::new();
    let args = replay_args(&["--all", "--rate", "10"]);
    let summary = replay(&args, &env.kafka, &env.topics.group, &env.db, &mut out)
        .await
        .expect("replay");
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
    env.finish().await;
}

#[tokio::test]
async fn replay_refuses_unsafe_requests_and_reports_unroutable_letters() {
    let env = Env::new(1).await;
    let orphan = Letter::new(
        &env.topics.orders,
        "orphan",
        "invalid",
        "2024-05-01T00:00:00Z",
    )
    .without("x-original-topic");
    put(&env, &orphan).await;
    let run = |flags: &'static [&'static str]| {
        let env = &env;
        async move {
            let mut out = Vec::new();
            let result = replay(
                &replay_args(flags),
                &env.kafka,
                &env.topics.group,
                &env.db,
                &mut out,
            )
            .await;
            (result, String::from_utf8(out).expect("utf-8"))
        }
    };
    let (result, _) = run(&[]).await;
    let message = result.expect_err("no filter").to_string();
    assert!(
        message.contains("refusing") && message.contains("--all"),
        "{message}"
    );
    let dlq_as_target = replay_args(&["--all", "--to", &env.topics.dlq]);
    let mut out = Vec::new();
    let looped = replay(
        &dlq_as_target,
        &env.kafka,
        &env.topics.group,
        &env.db,
        &mut out,
    )
    .await;
    assert!(looped
        .expect_err("into the DLQ")
        .to_string()
        .contains("loop"));

    let (result, text) = run(&["--all"]).await;
    let summary = result.expect("replay");
    assert_eq!((summary.replayed, summary.failed), (0, 1), "{text}");
    assert!(
        text.contains("no x-original-topic header (give --to)"),
        "{text}"
    );

    let to_retry = replay_args(&["--all", "--to", &env.topics.retry]);
    let mut out = Vec::new();
    let summary = replay(&to_retry, &env.kafka, &env.topics.group, &env.db, &mut out)
        .await
        .expect("replay");
    assert_eq!(summary.replayed, 1);
    assert_eq!(env.high_watermarks(&env.topics.retry), 1);

    // Another replay of the same DLQ holding the lock makes this one stop before reading.
    let _held = env.hold_replay_lock().await;
    let (result, _) = run(&["--all"]).await;
    assert!(result
        .expect_err("locked")
        .to_string()
        .contains("is running"));
    env.finish().await;
}

#[tokio::test]
async fn the_binary_prints_json_lines() {
    let env = Env::new(1).await;
    let at = put(
        &env,
        &Letter::new(
            &env.topics.orders,
            "bin",
            "conflict",
            "2024-05-01T00:00:00Z",
        ),
    )
    .await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_ingest"))
        .args(["dlq", "inspect", "--json"])
        .env("KAFKA_BROKERS", &env.kafka.brokers)
        .env("DLQ_TOPIC", &env.topics.dlq)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("run ingest");
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert_eq!(lines[0]["kind"], "conflict");
    assert_eq!(format!("{}/0/{}", env.topics.dlq, lines[0]["offset"]), at);
    env.finish().await;
}
