//! `ingest dlq inspect` against the real local Kafka: every test has its own topics and writes
//! synthetic dead letters with the contract's headers directly, so it does not depend on the
//! pipeline. Replay is tested in `dlq_replay.rs`.

mod dlq_support;

use dlq_support::{inspect_args, put, put_all, Env, Letter};
use ingest::dlq::{inspect, InspectArgs, InspectSummary};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

/// Runs `inspect` on the test's topics: the summary, and what it wrote to `out` and to `info`.
async fn run_inspect(
    env: &Env,
    args: &InspectArgs,
) -> anyhow::Result<(InspectSummary, String, String)> {
    let (mut out, mut info) = (Vec::new(), Vec::new());
    let summary = inspect(args, &env.kafka, &env.topics.group, &mut out, &mut info).await?;
    let out = String::from_utf8(out).expect("utf-8 out");
    let info = String::from_utf8(info).expect("utf-8 info");
    Ok((summary, out, info))
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

    let (summary, text, info) = run_inspect(&env, &inspect_args(&[]))
        .await
        .expect("inspect");
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

    let (_, out, info) = run_inspect(&env, &inspect_args(&["--json"]))
        .await
        .expect("inspect");
    let records: Vec<Value> = out
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
    assert!(info.contains("3 dead letters"), "{info}");
}

#[tokio::test]
async fn inspect_filters_by_kind_time_partition_and_limit() {
    let env = Env::new(2).await;
    let letters = [
        env.letter("a", "invalid", "2024-01-01T00:00:00Z"),
        env.letter("b", "conflict", "2024-02-01T00:00:00Z")
            .partition(1),
        env.letter("c", "invalid", "2024-03-01T00:00:00Z")
            .partition(1),
        env.letter("d", "retries-exhausted", "not a time"),
    ];
    put_all(&env, &letters).await;
    let listed = |flags: &'static [&'static str]| {
        let env = &env;
        async move {
            let mut args = inspect_args(flags);
            args.json = true;
            let (_, out, _) = run_inspect(env, &args).await.expect("inspect");
            out.lines()
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
    let (summary, _, _) = run_inspect(&env, &inspect_args(&["--limit", "1"]))
        .await
        .expect("inspect");
    assert!(summary.limit_reached && summary.listed == 1);
    let missing = run_inspect(&env, &inspect_args(&["--partition", "7"])).await;
    assert!(missing
        .expect_err("no partition 7")
        .to_string()
        .contains("no partition 7"));
}

#[tokio::test]
async fn inspect_of_an_empty_dlq_ends_instead_of_waiting_for_records() {
    let env = Env::new(3).await;
    let args = inspect_args(&[]);
    let run = run_inspect(&env, &args);
    // A bound on a hang only: an empty scan ends as soon as it has looked.
    let (summary, out, _) = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("inspect of an empty DLQ did not end within 60 s: it waits for records")
        .expect("inspect");
    assert_eq!((summary.scanned, summary.listed), (0, 0));
    assert!(out.contains("0 dead letters"), "{out}");
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
}
