//! Writes to Kafka that must be acknowledged before an offset may move (DLQ and retry records).
//!
//! Each record of a batch is sent at once and awaited on its own ([`Writer::deliver`]), so its
//! offset can move as soon as it is acknowledged; a failed send is repeated with backoff until
//! the broker acknowledges it, because giving up would mean either losing the record or
//! committing past it. The caller's shutdown grace bounds how long that can last.

use super::consumer::Shared;
use super::flow::{HoldGuard, HoldReason};
use backon::{ExponentialBuilder, Retryable};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Header set on a dead letter whose value had to be dropped because the broker refused the
/// record's size (the value is still in the source topic at `x-original-*`).
pub const VALUE_OMITTED: &str = "x-value-omitted";

/// Where an outgoing record goes: the `target` label of `ingest_produce_errors_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Retry,
    Dlq,
}

impl Target {
    pub fn label(self) -> &'static str {
        match self {
            Target::Retry => "retry",
            Target::Dlq => "dlq",
        }
    }
}

/// One record to produce, borrowing key and value from the consumed record.
#[derive(Debug)]
pub struct Outgoing<'a> {
    pub target: Target,
    pub topic: &'a str,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl<'a> Outgoing<'a> {
    /// `record`'s key and value byte for byte, its carried headers, then `ours` appended.
    pub fn for_record<const N: usize>(
        target: Target,
        topic: &'a str,
        record: &'a super::record::Record,
        ours: [(&str, String); N],
    ) -> Self {
        let mut headers: Vec<(String, Option<Vec<u8>>)> =
            record.carried_headers().cloned().collect();
        headers.extend(
            ours.into_iter()
                .map(|(name, value)| (name.to_owned(), Some(value.into_bytes()))),
        );
        Outgoing {
            target,
            topic,
            key: record.key.as_deref(),
            value: record.payload.as_deref(),
            headers,
        }
    }

    fn owned_headers(&self) -> OwnedHeaders {
        self.headers.iter().fold(
            OwnedHeaders::new_with_capacity(self.headers.len()),
            |acc, (key, value)| {
                acc.insert(Header {
                    key,
                    value: value.as_deref(),
                })
            },
        )
    }
}

#[derive(Clone)]
pub struct Writer {
    producer: FutureProducer,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

const SEND_QUEUE_TIMEOUT: Duration = Duration::from_secs(5);
/// Between attempts of one record: 200 ms doubling up to 5 s, jittered so the records of a batch
/// do not retry in lockstep; never giving up.
const PRODUCE_BACKOFF: ExponentialBuilder = super::endless_backoff(Duration::from_millis(200));

impl Writer {
    pub fn new(producer: FutureProducer, shared: Arc<Shared>) -> Self {
        Self { producer, shared }
    }

    pub fn producer(&self) -> &FutureProducer {
        &self.producer
    }

    /// Produces `record` and returns once the broker acknowledged it. A record the broker
    /// refuses for its size loses its value (see [`VALUE_OMITTED`]); any other failure is tried
    /// again with backoff, for as long as it takes, holding consumption meanwhile with the
    /// cause named (`produce_failed`): nothing behind it can settle anyway.
    pub async fn deliver(&self, mut record: Outgoing<'_>) {
        let attempts = AtomicU32::new(0);
        let events = &self.shared.events;
        let mut hold: Option<HoldGuard<'_>> = None;
        loop {
            let result = (|| async {
                attempts.fetch_add(1, Ordering::Relaxed);
                self.send(&record).await
            })
            .retry(PRODUCE_BACKOFF)
            // Retrying the same bytes can never succeed.
            .when(|err| !(too_large(err) && record.value.is_some()))
            .notify(|err, _| {
                let attempt = attempts.load(Ordering::Relaxed);
                events.produce_failed(record.target.label(), record.topic, err, attempt);
                let cause = format!(
                    "Kafka: writing to the {} topic {} failed: {err}",
                    record.target.label(),
                    record.topic
                );
                match &hold {
                    Some(hold) => hold.update(&cause),
                    None => hold = Some(self.shared.flow.hold(HoldReason::ProduceFailed, &cause)),
                }
            })
            .await;
            let Err(err) = result else { return };
            let attempt = attempts.load(Ordering::Relaxed);
            events.produce_failed(record.target.label(), record.topic, &err, attempt);
            // Keep the record's place in the DLQ with its headers, pointing to the original.
            let size = record.value.map_or(0, <[u8]>::len);
            record.value = None;
            record.headers.push((
                VALUE_OMITTED.into(),
                Some(format!("{size} bytes").into_bytes()),
            ));
        }
    }

    async fn send(&self, record: &Outgoing<'_>) -> Result<(), KafkaError> {
        let mut future =
            FutureRecord::<[u8], [u8]>::to(record.topic).headers(record.owned_headers());
        if let Some(key) = record.key {
            future = future.key(key);
        }
        if let Some(value) = record.value {
            future = future.payload(value);
        }
        self.producer
            .send(future, SEND_QUEUE_TIMEOUT)
            .await
            .map(drop)
            .map_err(|(err, _)| err)
    }
}

fn too_large(err: &KafkaError) -> bool {
    matches!(
        err.rdkafka_error_code(),
        Some(RDKafkaErrorCode::MessageSizeTooLarge | RDKafkaErrorCode::MessageBatchTooLarge)
    )
}
