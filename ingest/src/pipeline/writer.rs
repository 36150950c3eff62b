//! Writes to Kafka that must be acknowledged before an offset may move (DLQ and retry records).
//!
//! All records of a batch are sent at once and awaited together, each one reported as soon as it
//! is acknowledged (so its offset can move without waiting for the rest); a failed send is
//! repeated with backoff until the broker acknowledges it, because giving up would mean either
//! losing the record or committing past it. The caller's shutdown grace bounds how long that can last.

use crate::events::Events;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use std::time::Duration;

/// Header set on a dead letter whose value had to be dropped because the broker refused the
/// record's size (the value is still in the source topic at `x-original-*`).
pub const VALUE_OMITTED: &str = "x-value-omitted";

/// One record to produce, borrowing key and value from the consumed record.
#[derive(Debug)]
pub struct Outgoing<'a> {
    pub topic: &'a str,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl<'a> Outgoing<'a> {
    /// `record`'s key and value byte for byte, its carried headers, then `ours` appended.
    pub fn for_record<const N: usize>(
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
    events: Events,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

const SEND_QUEUE_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

impl Writer {
    pub fn new(producer: FutureProducer, events: Events) -> Self {
        Self { producer, events }
    }

    pub fn producer(&self) -> &FutureProducer {
        &self.producer
    }

    /// Produces every record and returns once all are acknowledged, calling `acked` with the
    /// index (in `records`) of each one as soon as it is.
    #[tracing::instrument(skip_all, fields(records = records.len()))]
    pub async fn write_all(&self, records: Vec<Outgoing<'_>>, acked: &(dyn Fn(usize) + Sync)) {
        let mut records: Vec<(usize, Outgoing<'_>)> = records.into_iter().enumerate().collect();
        let mut attempt = 0u32;
        while !records.is_empty() {
            attempt += 1;
            let results = futures::future::join_all(records.iter().map(|(index, record)| async {
                let result = self.send(record).await;
                if result.is_ok() {
                    acked(*index);
                }
                result
            }))
            .await;
            let mut failed = Vec::new();
            for ((index, mut record), result) in records.into_iter().zip(results) {
                let Err(err) = result else { continue };
                self.events.produce_failed(record.topic, &err, attempt);
                if too_large(&err) && record.value.is_some() {
                    // Retrying the same bytes can never succeed; keep the record's place in the
                    // DLQ with its headers and point to the original instead.
                    let size = record.value.map_or(0, <[u8]>::len);
                    record.value = None;
                    record.headers.push((
                        VALUE_OMITTED.into(),
                        Some(format!("{size} bytes").into_bytes()),
                    ));
                }
                failed.push((index, record));
            }
            records = failed;
            if !records.is_empty() {
                let backoff = Duration::from_millis(100u64.saturating_mul(1 << attempt.min(6)))
                    .min(MAX_BACKOFF);
                tokio::time::sleep(backoff).await;
            }
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
