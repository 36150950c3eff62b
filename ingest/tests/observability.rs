//! What an operator sees of the real `ingest` binary: JSON log lines that carry each record's
//! coordinates, and spans exported over OTLP to the local Jaeger, where each record's span
//! continues the producer's trace (its `traceparent`) and links to the batch span holding the
//! store step (with the cache step inside it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pipeline_testing::traces::{otlp_endpoint, wait_for_trace, ExportedSpan, RemoteParent};
use std::io::Read;
use std::process::{Child, Command, Stdio};

/// SIGTERM, then waits for a clean exit; returns what the binary wrote to a piped stderr.
async fn stop(mut child: Child) -> String {
    let pid = child.id().to_string();
    let signalled = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(signalled.expect("kill -TERM").success());
    let output = tokio::task::spawn_blocking(move || {
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            pipe.read_to_string(&mut stderr).expect("read stderr");
        }
        (child.wait(), stderr)
    });
    let (exit, stderr) = output.await.expect("join");
    let exit = exit.expect("wait for ingest");
    assert!(exit.success(), "ingest exited with {exit}: {stderr}");
    stderr
}

/// Whether `ancestor` (a span id) is on `span`'s chain of parents within `spans`.
fn descends_from(spans: &[ExportedSpan], span: &ExportedSpan, ancestor: &str) -> bool {
    let mut parent = span.parent.as_ref().map(|(_, id)| id.as_str());
    while let Some(id) = parent {
        if id == ancestor {
            return true;
        }
        let next = spans.iter().find(|s| s.span_id == id);
        parent = next.and_then(|s| s.parent.as_ref().map(|(_, id)| id.as_str()));
    }
    false
}

fn record_span(spans: &[ExportedSpan]) -> Option<&ExportedSpan> {
    spans
        .iter()
        .find(|s| s.service == "ingest" && s.operation == "record")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_record_continues_its_producers_trace_and_links_the_batch_that_stored_it() {
    let world = World::new(1).await;
    let producer = producer();
    let (uid, order) = orders(31, 1).remove(0);
    let stored_parent = RemoteParent::random();
    let poison_parent = RemoteParent::random();

    // A long export interval: the spans can only arrive through the flush at shutdown.
    let child = world
        .binary()
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_endpoint())
        .env("OTEL_BSP_SCHEDULE_DELAY", "600000")
        .spawn()
        .expect("spawn ingest");
    let topic = &world.topics.orders;
    let traceparent = stored_parent.traceparent();
    produce(
        &producer,
        topic,
        Some(uid.as_bytes()),
        order.as_bytes(),
        &[("traceparent", &traceparent)],
    )
    .await;
    let traceparent = poison_parent.traceparent();
    produce(
        &producer,
        topic,
        Some(b"poison"),
        b"{not json",
        &[("traceparent", &traceparent)],
    )
    .await;
    wait_until("the order stored", || async {
        world.stored_count().await == 1
    })
    .await;
    let dead = wait_for_records(&world.topics.dlq, 1).await;
    assert_eq!(
        dead[0].header("traceparent"),
        traceparent,
        "DLQ keeps the trace"
    );

    // A clean stop flushes the queued spans before the process exits.
    stop(child).await;

    let spans = wait_for_trace(&stored_parent.trace_id, |spans| {
        record_span(spans).is_some()
    })
    .await;
    let record = record_span(&spans).expect("record span");
    assert_eq!(
        record.parent,
        Some((
            stored_parent.trace_id.clone(),
            stored_parent.span_id.clone()
        )),
        "the record span is a child of the producer's span"
    );
    assert_eq!(record.tag("order_uid"), Some(uid.as_str()));
    assert_eq!(record.tag("outcome"), Some("stored"));
    assert_eq!(record.tag("topic"), Some(world.topics.orders.as_str()));
    assert_eq!(record.links.len(), 1, "one link, to its batch: {record:?}");

    // The batch lives in a trace of its own, with the store and cache steps under it.
    let (batch_trace, batch_span) = record.links[0].clone();
    let batch = wait_for_trace(&batch_trace, |spans| {
        ["batch", "store", "cache"]
            .iter()
            .all(|op| spans.iter().any(|s| s.operation == *op))
    })
    .await;
    let batch_root = batch
        .iter()
        .find(|s| s.operation == "batch")
        .expect("batch");
    assert_eq!(batch_root.span_id, batch_span);
    let store = batch
        .iter()
        .find(|s| s.operation == "store")
        .expect("store");
    assert_eq!(
        store.parent.as_ref().map(|(_, id)| id.as_str()),
        Some(batch_span.as_str()),
        "the store step runs under the batch span"
    );
    // The cache write runs inside the store step, beside the commit.
    let cache = batch
        .iter()
        .find(|s| s.operation == "cache")
        .expect("cache");
    assert!(
        descends_from(&batch, cache, &store.span_id),
        "the cache step runs inside the store step: {batch:?}"
    );

    let spans = wait_for_trace(&poison_parent.trace_id, |spans| {
        record_span(spans).is_some()
    })
    .await;
    let poison = record_span(&spans).expect("record span");
    assert_eq!(poison.tag("outcome"), Some("dead_lettered"));
    assert_eq!(
        poison.parent.as_ref().map(|(_, id)| id.as_str()),
        Some(poison_parent.span_id.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_warnings_carry_the_records_uid_and_kafka_coordinates_even_at_warn_level() {
    let world = World::new(1).await;
    let producer = producer();
    let child = world
        .binary()
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ingest");
    let poison = br#"{"order_uid": "uid-in-the-key-only", "#;
    produce(
        &producer,
        &world.topics.orders,
        Some(b"poison-key"),
        poison,
        &[],
    )
    .await;
    wait_for_records(&world.topics.dlq, 1).await;
    let stderr = stop(child).await;

    let line = stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["fields"]["message"] == "record dead-lettered")
        .unwrap_or_else(|| panic!("no dead-letter warning in: {stderr}"));
    assert_eq!(line["level"], "WARN");
    assert_eq!(line["fields"]["kind"], "malformed");
    let span = &line["span"];
    assert_eq!(span["name"], "record", "{line}");
    assert_eq!(span["topic"], world.topics.orders.as_str(), "{line}");
    assert_eq!(span["partition"], 0, "{line}");
    assert_eq!(span["offset"], 0, "{line}");
    assert_eq!(span["order_uid"], "poison-key", "{line}");
}
