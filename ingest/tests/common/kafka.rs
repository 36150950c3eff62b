//! Kafka helpers for the tests: produce records (acknowledged) and read a whole topic back
//! without joining a group, to check what ingest wrote to the DLQ and retry topics.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use super::DEADLINE;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::collections::HashMap;
use std::time::Duration;

pub fn producer() -> FutureProducer {
    pipeline_kafka::client::safe_producer(&pipeline_testing::kafka::local(), "ingest-tests", 5)
        .expect("kafka settings")
        .create()
        .expect("producer")
}

/// Produces one record and waits for the broker's acknowledgement.
pub async fn produce(
    producer: &FutureProducer,
    topic: &str,
    key: Option<&[u8]>,
    value: &[u8],
    headers: &[(&str, &str)],
) {
    produce_to(producer, topic, None, key, value, headers).await;
}

/// [`produce`] to `partition` (`None`: the partitioner's choice).
pub async fn produce_to(
    producer: &FutureProducer,
    topic: &str,
    partition: Option<i32>,
    key: Option<&[u8]>,
    value: &[u8],
    headers: &[(&str, &str)],
) {
    let owned = headers.iter().fold(OwnedHeaders::new(), |acc, (k, v)| {
        acc.insert(Header {
            key: k,
            value: Some(*v),
        })
    });
    let mut record = FutureRecord::<[u8], [u8]>::to(topic)
        .payload(value)
        .headers(owned);
    if let Some(key) = key {
        record = record.key(key);
    }
    if let Some(partition) = partition {
        record = record.partition(partition);
    }
    producer
        .send(record, Duration::from_secs(10))
        .await
        .map_err(|(err, _)| err)
        .expect("produce");
}

/// One malformed record (key `poison`): what ingest must dead-letter at once.
pub async fn produce_poison(producer: &FutureProducer, topic: &str) {
    produce(producer, topic, Some(b"poison"), b"{not json", &[]).await;
}

/// One order as `(uid, json)`, keyed by its uid, with `headers`.
pub async fn produce_order(
    producer: &FutureProducer,
    topic: &str,
    (uid, json): &(String, String),
    headers: &[(&str, &str)],
) {
    produce(
        producer,
        topic,
        Some(uid.as_bytes()),
        json.as_bytes(),
        headers,
    )
    .await;
}

/// Each of `orders` as `(uid, json)` without headers, sent all at once.
pub async fn produce_orders(producer: &FutureProducer, topic: &str, orders: &[(String, String)]) {
    let sends = orders
        .iter()
        .map(|order| produce_order(producer, topic, order, &[]));
    futures::future::join_all(sends).await;
}

/// A record read back from a topic.
#[derive(Debug, Clone)]
pub struct Read {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: HashMap<String, String>,
    pub header_list: Vec<(String, String)>,
}

impl Read {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("header {name} missing in {:?}", self.headers))
    }
}

/// Every record currently in `topic` (all partitions, from the beginning), without a group.
pub fn read_topic(topic: &str) -> Vec<Read> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", pipeline_testing::kafka::brokers())
        .set("group.id", pipeline_testing::unique_name("reader"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
        .expect("reader");
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let mut tpl = TopicPartitionList::new();
    let mut remaining = 0;
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        let (low, high) = consumer
            .fetch_watermarks(topic, partition.id(), Duration::from_secs(10))
            .expect("watermarks");
        if high > low {
            tpl.add_partition_offset(topic, partition.id(), Offset::Offset(low))
                .expect("tpl");
            remaining += high - low;
        }
    }
    if remaining == 0 {
        return Vec::new();
    }
    consumer.assign(&tpl).expect("assign");
    let mut records = Vec::new();
    let give_up = std::time::Instant::now() + Duration::from_secs(30);
    while records.len() < remaining as usize && std::time::Instant::now() < give_up {
        let Some(result) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = result.expect("read");
        let header_list: Vec<(String, String)> = message
            .headers()
            .map(|hs| {
                hs.iter()
                    .map(|h| {
                        (
                            h.key.to_owned(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        records.push(Read {
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
            headers: header_list.iter().cloned().collect(),
            header_list,
        });
    }
    records
}

/// Waits until `topic` holds at least `count` records and returns them.
pub async fn wait_for_records(topic: &str, count: usize) -> Vec<Read> {
    let give_up = tokio::time::Instant::now() + DEADLINE;
    loop {
        let found = read_topic_async(topic).await;
        if found.len() >= count {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "timed out waiting for {count} records in {topic}, have {}",
            found.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub async fn read_topic_async(topic: &str) -> Vec<Read> {
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || read_topic(&topic))
        .await
        .expect("reader task")
}

/// Checks the DLQ headers every dead letter must carry (contract §2).
pub fn assert_dead_letter(read: &Read, kind: &str, group: &str) {
    assert_eq!(read.header("x-error-kind"), kind);
    assert!(!read.header("x-error-message").is_empty());
    for name in [
        "x-original-topic",
        "x-original-partition",
        "x-original-offset",
        "x-original-timestamp",
        "x-attempts",
        "x-failed-at",
    ] {
        assert!(!read.header(name).is_empty(), "{name} empty");
    }
    assert!(read.header("x-original-partition").parse::<i32>().is_ok());
    assert!(read.header("x-original-offset").parse::<i64>().is_ok());
    assert!(read.header("x-original-timestamp").parse::<i64>().is_ok());
    assert!(read.header("x-attempts").parse::<u32>().is_ok());
    chrono::DateTime::parse_from_rfc3339(read.header("x-failed-at"))
        .expect("x-failed-at is RFC 3339");
    assert!(read.header("x-failed-at").ends_with('Z'), "UTC");
    assert_eq!(read.header("x-consumer-group"), group);
    let dlq_names = [
        "x-original-topic",
        "x-error-kind",
        "x-error-message",
        "x-attempts",
        "x-consumer-group",
    ];
    for name in dlq_names {
        assert_eq!(
            read.header_list.iter().filter(|(k, _)| k == name).count(),
            1,
            "{name} appears once"
        );
    }
}
