//! A consumed Kafka record, copied out of librdkafka's buffer so it can outlive the poll that
//! produced it (batches are stored while the next one is polled), and decoded once on arrival.

use order_model::{DecodeError, ValidOrder};
use pipeline_kafka::headers;
use rdkafka::message::{BorrowedMessage, Headers, Message};
use std::sync::Arc;
use tracing::Span;

/// A partition of a topic; topic names are shared, not copied per record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: Arc<str>,
    pub partition: i32,
}

/// Where a record was first read from: its own position, or for a record from the retry topic
/// the position the retry writer copied into its headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub topic: String,
    pub partition: String,
    pub offset: String,
    pub timestamp: String,
}

#[derive(Debug)]
pub struct Record {
    pub tp: TopicPartition,
    pub offset: i64,
    /// The assignment epoch of `tp` when the record was consumed (see `offsets`).
    pub epoch: u64,
    pub timestamp: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Read from the retry topic: its `x-attempts` and `x-original-*` headers are ours.
    pub from_retry: bool,
    pub decoded: Result<ValidOrder, DecodeError>,
    pub span: Span,
}

impl Record {
    /// Copies and decodes `message`; `topic` is the interned name of its topic.
    pub fn from_message(
        message: &BorrowedMessage<'_>,
        topic: Arc<str>,
        from_retry: bool,
        epoch: u64,
    ) -> Record {
        let headers = message
            .headers()
            .map(|hs| {
                hs.iter()
                    .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default();
        let mut record = Record {
            tp: TopicPartition {
                topic,
                partition: message.partition(),
            },
            offset: message.offset(),
            epoch,
            timestamp: message.timestamp().to_millis(),
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().map(<[u8]>::to_vec),
            headers,
            from_retry,
            decoded: Err(DecodeError::Malformed("not decoded".into())),
            span: Span::none(),
        };
        // At `error` level so it is on whenever any log line inside it is: a warning about
        // this record carries its coordinates even with `RUST_LOG=warn`.
        record.span = tracing::error_span!(
            "record",
            topic = %record.tp.topic,
            partition = record.tp.partition,
            offset = record.offset,
            order_uid = tracing::field::Empty,
            traceparent = record.header(headers::TRACEPARENT),
            outcome = tracing::field::Empty,
        );
        // With trace export on, this record's span joins the producer's trace.
        pipeline_runtime::telemetry::continue_trace(
            &record.span,
            record.header(headers::TRACEPARENT),
        );
        record.decoded = {
            let _entered = record.span.enter();
            match &record.payload {
                Some(bytes) => order_model::decode(bytes),
                None => Err(DecodeError::Malformed("record has no value".into())),
            }
        };
        let uid = match &record.decoded {
            Ok(order) => Some(order.uid()),
            // The key is the producer's order_uid; good enough to find the record in logs.
            Err(_) => record
                .key
                .as_deref()
                .and_then(|key| std::str::from_utf8(key).ok())
                .filter(|key| key.len() <= 128),
        };
        if let Some(uid) = uid {
            record.span.record("order_uid", uid);
        }
        record
    }

    /// The order's uid, when the record decoded to a valid order.
    pub fn uid(&self) -> Option<&str> {
        self.decoded.as_ref().ok().map(ValidOrder::uid)
    }

    /// The last value of header `name`, as UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .and_then(|(_, value)| value.as_deref())
            .and_then(|value| std::str::from_utf8(value).ok())
    }

    /// Processing attempts made before this one. Only the retry topic's own bookkeeping counts:
    /// a replayed dead letter on the input topic starts afresh.
    pub fn prior_attempts(&self) -> u32 {
        if !self.from_retry {
            return 0;
        }
        self.header(headers::ATTEMPTS)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// When a retry-topic record may be processed again (ms since the epoch).
    pub fn not_before(&self) -> Option<i64> {
        if !self.from_retry {
            return None;
        }
        self.header(headers::RETRY_NOT_BEFORE)
            .and_then(|v| v.trim().parse().ok())
    }

    pub fn origin(&self) -> Origin {
        let own = Origin {
            topic: self.tp.topic.to_string(),
            partition: self.tp.partition.to_string(),
            offset: self.offset.to_string(),
            timestamp: self.timestamp.map(|ts| ts.to_string()).unwrap_or_default(),
        };
        if !self.from_retry {
            return own;
        }
        let pick =
            |name: &str, fallback: String| self.header(name).map(str::to_owned).unwrap_or(fallback);
        Origin {
            topic: pick(headers::ORIGINAL_TOPIC, own.topic),
            partition: pick(headers::ORIGINAL_PARTITION, own.partition),
            offset: pick(headers::ORIGINAL_OFFSET, own.offset),
            timestamp: pick(headers::ORIGINAL_TIMESTAMP, own.timestamp),
        }
    }

    /// The original headers worth carrying onto a DLQ or retry record: everything except
    /// earlier `x-error-*` headers and earlier copies of the headers the pipeline sets.
    pub fn carried_headers(&self) -> impl Iterator<Item = &(String, Option<Vec<u8>>)> {
        self.headers.iter().filter(|(key, _)| {
            !key.starts_with("x-error-")
                && !headers::DLQ_HEADERS.contains(&key.as_str())
                && key != headers::RETRY_NOT_BEFORE
        })
    }
}
