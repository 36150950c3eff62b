//! Against the real local Kafka (`scripts/stack.sh up`), each test on its own random topics:
//! what the simulator says it sent is what a consumer reads back, and undeliverable records
//! make the run fail.

use futures::StreamExt;
use order_model::decode;
use pipeline_kafka::headers;
use pipeline_runtime::shutdown::Shutdown;
use pipeline_testing::kafka::{brokers, TestTopic, TestTopics};
use producer_sim::{Args, SimKind};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Message};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

fn args(topic: &str, extra: &[&str]) -> Args {
    let mut flags = vec![
        "--kafka-brokers".to_owned(),
        brokers(),
        "--topic".to_owned(),
        topic.to_owned(),
    ];
    flags.extend(extra.iter().map(|flag| (*flag).to_owned()));
    Args::from_flags(flags)
}

/// Everything we check about one consumed record.
struct Received {
    key: String,
    value: Vec<u8>,
    partition: i32,
    kind: String,
    seq: u64,
    traceparent: String,
    duplicate_of: Option<u64>,
}

fn header(message: &BorrowedMessage<'_>, name: &str) -> Option<String> {
    headers::get(message.headers(), name).map(str::to_owned)
}

/// Reads `expected` records from the beginning of `topic` (fails after 30 s).
async fn consume(topic: &str, group: &str, expected: usize) -> Vec<Received> {
    let consumer: StreamConsumer = pipeline_kafka::client::manual_offset_consumer(
        &pipeline_testing::kafka::local(),
        group,
        "sim-test",
    )
    .expect("kafka settings")
    .create()
    .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut stream = consumer.stream();
    let mut received = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while received.len() < expected {
        let next = tokio::time::timeout_at(deadline, stream.next()).await;
        let message = match next {
            Ok(Some(Ok(message))) => message,
            Ok(other) => panic!("consumer ended: {:?}", other.map(|result| result.err())),
            Err(_) => panic!("only {} of {expected} records arrived", received.len()),
        };
        received.push(Received {
            key: String::from_utf8(message.key().expect("every record has a key").to_vec())
                .expect("UTF-8 key"),
            value: message.payload().unwrap_or_default().to_vec(),
            partition: message.partition(),
            kind: header(&message, headers::SIM_KIND).expect("x-sim-kind"),
            seq: header(&message, "x-sim-seq")
                .and_then(|seq| seq.parse().ok())
                .expect("x-sim-seq"),
            traceparent: header(&message, headers::TRACEPARENT).expect("traceparent"),
            duplicate_of: header(&message, "x-sim-duplicate-of").and_then(|seq| seq.parse().ok()),
        });
    }
    received
}

#[tokio::test]
async fn what_was_sent_is_what_is_read_back() {
    let topics = TestTopics::create(3).await;
    let flags = [
        "--count",
        "500",
        "--rate",
        "0",
        "--invalid-ratio",
        "0.1",
        "--duplicate-ratio",
        "0.1",
        "--seed",
        "7",
    ];
    let (_trigger, shutdown) = Shutdown::new();
    let summary = producer_sim::run(args(&topics.orders, &flags), shutdown)
        .await
        .expect("run");
    assert_eq!(summary.sent.total(), 500);
    assert_eq!(
        summary.acked.expect("kafka mode reports acks"),
        summary.sent,
        "acked per kind"
    );
    assert_eq!(summary.failed.total(), 0);
    assert!(summary.is_clean());
    for kind in SimKind::ALL {
        assert!(
            summary.sent.get(kind) > 0,
            "no {kind} records among {}",
            summary.sent
        );
    }

    let received = consume(&topics.orders, &topics.group, 500).await;
    assert_eq!(received.len(), 500);
    let mut by_kind: HashMap<String, u64> = HashMap::new();
    let mut seqs = HashSet::new();
    let mut valid: HashMap<String, (u64, Vec<u8>, i32)> = HashMap::new();
    let mut sorted: Vec<&Received> = received.iter().collect();
    sorted.sort_by_key(|record| record.seq);
    for record in sorted {
        *by_kind.entry(record.kind.clone()).or_default() += 1;
        assert!(seqs.insert(record.seq), "seq {} twice", record.seq);
        assert_eq!(record.traceparent.len(), 55, "{}", record.traceparent);
        let decoded = decode(&record.value);
        match record.kind.as_str() {
            "valid" => {
                assert_eq!(
                    decoded.expect("valid order").uid(),
                    record.key,
                    "key is the order_uid"
                );
                valid.insert(
                    record.key.clone(),
                    (record.seq, record.value.clone(), record.partition),
                );
            }
            "duplicate" => {
                let (seq, value, partition) = valid
                    .get(&record.key)
                    .expect("duplicate of an earlier order");
                assert_eq!(
                    (&record.value, record.partition),
                    (value, *partition),
                    "same bytes, same partition"
                );
                assert_eq!(record.duplicate_of, Some(*seq));
            }
            kind @ ("invalid" | "malformed") => {
                assert_eq!(
                    decoded.err().map(|err| err.kind().as_str()),
                    Some(kind),
                    "seq {}",
                    record.seq
                );
                assert!(!record.key.is_empty());
            }
            other => panic!("unexpected x-sim-kind {other}"),
        }
    }
    assert_eq!(seqs, (0..500).collect::<HashSet<u64>>());
    for kind in SimKind::ALL {
        assert_eq!(
            by_kind.get(kind.as_str()).copied().unwrap_or(0),
            summary.sent.get(kind),
            "{kind}"
        );
    }
}

#[tokio::test]
async fn shutdown_stops_generating_and_flushes() {
    let topics = TestTopics::create(1).await;
    let (trigger, shutdown) = Shutdown::new();
    let run = tokio::spawn(producer_sim::run(
        args(&topics.orders, &["--rate", "200"]),
        shutdown,
    ));
    // Stopped mid-run: once records are arriving. (How the rate spaces them is the pacer's unit
    // tests' subject, on an injected clock.)
    const SEEN: usize = 20;
    consume(&topics.orders, &format!("{}.early", topics.group), SEEN).await;
    trigger.fire();
    let summary = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("an endless run stops when signalled")
        .expect("task")
        .expect("run");
    let sent = summary.sent.total();
    assert!(sent >= SEEN as u64, "sent {sent}, yet {SEEN} were read");
    assert!(summary.is_clean(), "{summary}");
    assert_eq!(
        summary.acked,
        Some(summary.sent),
        "flushed: every record acked"
    );
    assert_eq!(
        consume(&topics.orders, &topics.group, sent as usize)
            .await
            .len() as u64,
        sent
    );
}

#[tokio::test]
async fn undeliverable_records_fail_the_run() {
    // A topic whose record-batch limit no order fits: every delivery fails at the broker.
    let tiny = TestTopic::create("t_tiny", &[("max.message.bytes", "100")]).await;
    let (_trigger, shutdown) = Shutdown::new();
    let summary = producer_sim::run(args(&tiny.name, &["--count", "5", "--rate", "0"]), shutdown)
        .await
        .expect("run");
    assert_eq!(summary.sent.total(), 5);
    assert_eq!(summary.failed.total(), 5, "{summary}");
    assert!(!summary.is_clean());
}

#[tokio::test]
async fn with_trace_export_each_traceparent_names_an_exported_publish_span() {
    use pipeline_testing::traces::{otlp_endpoint, wait_for_trace};
    let topics = TestTopics::create(1).await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_producer-sim"))
        .args(["--count", "3", "--rate", "0", "--topic", &topics.orders])
        .env("KAFKA_BROKERS", brokers())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_endpoint())
        .output()
        .await
        .expect("run producer-sim");
    assert!(output.status.success(), "{output:?}");

    for record in consume(&topics.orders, &topics.group, 3).await {
        let parts: Vec<&str> = record.traceparent.split('-').collect();
        let [_, trace_id, span_id, _] = parts[..] else {
            panic!("not a traceparent: {}", record.traceparent)
        };
        let spans = wait_for_trace(trace_id, |spans| !spans.is_empty()).await;
        let publish = &spans[0];
        assert_eq!(publish.span_id, span_id, "{publish:?}");
        assert_eq!(publish.service, "producer-sim");
        assert_eq!(publish.operation, "publish");
        assert_eq!(publish.parent, None, "a trace starts here");
        assert_eq!(publish.tag("order_uid"), Some(record.key.as_str()));
        assert_eq!(publish.tag("seq"), Some(record.seq.to_string().as_str()));
    }
}
