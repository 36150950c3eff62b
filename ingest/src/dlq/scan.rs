//! Reads the DLQ topic over fixed offset ranges with a plain `assign()`ed consumer: no group
//! membership and no committed offsets, so the tools never disturb the pipeline or each other,
//! and the ranges end at the high watermarks seen at start, so a quiet topic never makes them
//! wait.

use super::record::DeadLetter;
use anyhow::Context as _;
use pipeline_kafka::failure::{LastFailure, ReportingContext};
use pipeline_kafka::KafkaArgs;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// Broker round trips (metadata, watermarks).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for the next record of a range that is not finished yet before giving up.
const STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Offsets `[start, end)` of one partition to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub partition: i32,
    pub start: i64,
    pub end: i64,
}

type DlqConsumer = StreamConsumer<ReportingContext>;

/// A consumer of one DLQ topic, not yet reading anything.
pub struct DlqTopic {
    consumer: DlqConsumer,
    topic: String,
    /// A login or TLS failure the client reported: what a timeout really was.
    last: LastFailure,
}

impl DlqTopic {
    pub fn connect(kafka: &KafkaArgs, topic: &str, client_id: &str) -> anyhow::Result<DlqTopic> {
        let mut config: ClientConfig = pipeline_kafka::client::base(kafka, client_id)?;
        // librdkafka wants a group id for assign(); it is never joined or committed to.
        config
            .set("group.id", client_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "true")
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", "100");
        let context = ReportingContext::default();
        let last = context.last.clone();
        let consumer: DlqConsumer = config
            .create_with_context(context)
            .context("cannot create a Kafka consumer")?;
        Ok(DlqTopic {
            consumer,
            topic: topic.to_owned(),
            last,
        })
    }

    /// Every partition's (or only `only`'s) offsets from the low to the high watermark now.
    pub async fn extent(&self, only: &[i32]) -> anyhow::Result<Vec<Range>> {
        let topic = &self.topic;
        let metadata = match self.consumer.fetch_metadata(Some(topic), REQUEST_TIMEOUT) {
            Ok(metadata) => metadata,
            Err(err) => {
                let err =
                    anyhow::Error::new(err).context(format!("cannot fetch metadata of {topic}"));
                self.serve_events().await;
                return self.last.explain(err);
            }
        };
        let found = metadata.topics().iter().find(|t| t.name() == topic);
        let Some(found) = found else {
            anyhow::bail!("DLQ topic {topic} does not exist")
        };
        if let Some(err) = found.error() {
            anyhow::bail!(
                "cannot read DLQ topic {topic}: {}",
                RDKafkaErrorCode::from(err)
            );
        }
        let all: Vec<i32> = found.partitions().iter().map(|p| p.id()).collect();
        if let Some(missing) = only.iter().find(|p| !all.contains(p)) {
            anyhow::bail!("{topic} has no partition {missing} (it has {})", all.len());
        }
        let mut ranges = Vec::new();
        for partition in all
            .into_iter()
            .filter(|p| only.is_empty() || only.contains(p))
        {
            let (low, high) = self
                .consumer
                .fetch_watermarks(topic, partition, REQUEST_TIMEOUT)
                .with_context(|| format!("cannot fetch the offsets of {topic}/{partition}"))?;
            ranges.push(Range {
                partition,
                start: low,
                end: high,
            });
        }
        ranges.sort_by_key(|r| r.partition);
        Ok(ranges)
    }

    /// Lets the client deliver what it queued meanwhile (its error and log events reach the
    /// context only when the consumer is polled), so a refused login explains a timeout.
    async fn serve_events(&self) {
        let until = Instant::now() + Duration::from_millis(500);
        while tokio::time::timeout_at(until, self.consumer.recv())
            .await
            .is_ok()
        {}
    }

    /// Starts reading `ranges` (empty ones are skipped).
    pub fn read(self, ranges: &[Range]) -> anyhow::Result<DlqReader> {
        let mut assignment = TopicPartitionList::new();
        let mut open = HashMap::new();
        for range in ranges.iter().filter(|r| r.start < r.end) {
            assignment
                .add_partition_offset(&self.topic, range.partition, Offset::Offset(range.start))
                .context("cannot build the partition assignment")?;
            open.insert(range.partition, range.end);
        }
        if !open.is_empty() {
            self.consumer
                .assign(&assignment)
                .context("cannot assign the DLQ partitions")?;
        }
        Ok(DlqReader {
            consumer: self.consumer,
            topic: self.topic,
            open,
            last: self.last,
        })
    }
}

/// Yields the records of the assigned ranges in offset order per partition, then `None`.
pub struct DlqReader {
    consumer: DlqConsumer,
    topic: String,
    /// Partitions not finished yet, with their end offset (exclusive).
    open: HashMap<i32, i64>,
    last: LastFailure,
}

impl DlqReader {
    pub async fn next(&mut self) -> anyhow::Result<Option<DeadLetter>> {
        let mut deadline = Instant::now() + STALL_TIMEOUT;
        loop {
            if self.open.is_empty() {
                return Ok(None);
            }
            let received = tokio::time::timeout_at(deadline, self.consumer.recv()).await;
            let Ok(received) = received else {
                let mut waiting: Vec<_> = self.open.keys().copied().collect();
                waiting.sort_unstable();
                return self.last.explain(anyhow::anyhow!(
                    "no progress reading {} for {}s (partitions {waiting:?} not read to their \
                     end); is Kafka reachable?",
                    self.topic,
                    STALL_TIMEOUT.as_secs()
                ));
            };
            match received {
                Ok(message) => {
                    let partition = message.partition();
                    let Some(&end) = self.open.get(&partition) else {
                        continue;
                    };
                    if message.offset() + 1 >= end {
                        self.open.remove(&partition);
                    }
                    if message.offset() < end {
                        return Ok(Some(DeadLetter::from_message(&message)));
                    }
                }
                // The end of what the partition holds (it can lie below `end` when the last
                // offsets are transaction markers or were compacted away).
                Err(KafkaError::PartitionEOF(partition)) => {
                    self.open.remove(&partition);
                }
                // librdkafka retries transport errors itself; the stall timeout bounds the wait.
                Err(err) => {
                    tracing::warn!(error = %err, topic = %self.topic, "error reading the DLQ");
                    continue;
                }
            }
            deadline = Instant::now() + STALL_TIMEOUT;
        }
    }
}
