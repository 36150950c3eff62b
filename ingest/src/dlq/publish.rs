//! Republishing one dead letter: the record to send (original key and value byte for byte, the
//! original headers, `x-replayed-from`), and the producer that sends it
//! (`--rate` is paced by pipeline-runtime's pacer).

use super::record::DeadLetter;
use anyhow::Context as _;
use pipeline_kafka::failure::ReportingContext;
use pipeline_kafka::headers::REPLAYED_FROM;
use pipeline_kafka::KafkaArgs;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::Duration;

/// How long one record may take to be acknowledged before it counts as failed.
const DELIVERY_TIMEOUT_MS: &str = "30000";
/// How long `send` may wait for room in the producer's queue.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(5);

/// The replay producer; its context logs login and TLS failures as one line.
pub type ReplayProducer = FutureProducer<ReportingContext>;

/// Idempotent, `acks=all`, no lingering: each record is awaited before the next one is sent.
pub fn producer(kafka: &KafkaArgs, client_id: &str) -> anyhow::Result<ReplayProducer> {
    let mut config = pipeline_kafka::client::safe_producer(kafka, client_id, 0)?;
    config.set("message.timeout.ms", DELIVERY_TIMEOUT_MS);
    config
        .create_with_context(ReportingContext::default())
        .context("cannot create a Kafka producer")
}

/// Where a record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub partition: i32,
    pub offset: i64,
}

/// Sends `dead_letter` to `target` and waits for the acknowledgement.
pub async fn publish(
    producer: &ReplayProducer,
    dead_letter: &DeadLetter,
    target: &str,
) -> Result<Delivered, KafkaError> {
    let replayed_from = dead_letter.coordinates();
    let mut headers = OwnedHeaders::new();
    for header in dead_letter.replay_headers() {
        headers = headers.insert(Header {
            key: &header.name,
            value: header.value.as_deref(),
        });
    }
    headers = headers.insert(Header {
        key: REPLAYED_FROM,
        value: Some(replayed_from.as_bytes()),
    });
    // A null key or value stays null (not empty): byte for byte includes absence.
    let mut record = FutureRecord::<[u8], [u8]>::to(target).headers(headers);
    if let Some(key) = dead_letter.key.as_deref() {
        record = record.key(key);
    }
    if let Some(value) = dead_letter.value.as_deref() {
        record = record.payload(value);
    }
    match producer.send(record, QUEUE_TIMEOUT).await {
        Ok(delivery) => Ok(Delivered {
            partition: delivery.partition,
            offset: delivery.offset,
        }),
        Err((err, _record)) => Err(err),
    }
}
