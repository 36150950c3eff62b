//! A consumed Kafka record, copied out of librdkafka's buffer so it can outlive the poll that
//! produced it (batches are stored while the next one is polled), and decoded once on arrival.

use order_model::{DecodeError, ValidOrder};
use pipeline_kafka::headers;
use rdkafka::message::{BorrowedMessage, Message};
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
    /// Bytes of key, value and headers: what the record costs while ingest holds it (memory is
    /// budgeted in bytes, see `INGEST_BATCH_MAX_BYTES` and `INGEST_PENDING_MAX_BYTES`).
    pub size: usize,
    /// Read from the retry topic: its `x-attempts` and `x-original-*` headers are ours, but
    /// checked all the same (see [`Record::retry_problem`]).
    pub from_retry: bool,
    pub decoded: Result<ValidOrder, DecodeError>,
    /// When a retry record is due, decided the first time the assembler sees it (capped at the
    /// maximum retry delay from then); `None` until then.
    pub due: Option<tokio::time::Instant>,
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
        let headers = headers::owned(message);
        let size = message.payload_len()
            + message.key_len()
            + headers
                .iter()
                .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len))
                .sum::<usize>();
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
            size,
            from_retry,
            decoded: Err(DecodeError::Malformed("not decoded".into())),
            due: None,
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
            match (&record.payload, record.retry_problem()) {
                // A retry record whose bookkeeping cannot be read is no valid retry: it goes to
                // the DLQ now rather than park its partition on a made-up due time.
                (_, Some(problem)) => Err(DecodeError::Malformed(format!(
                    "not a valid retry record: {problem}"
                ))),
                (Some(bytes), None) => order_model::decode(bytes),
                (None, None) => Err(DecodeError::Malformed("record has no value".into())),
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
    /// a replayed dead letter on the input topic starts afresh. A count beyond what a `u32`
    /// holds saturates; the classifier clamps it to the configured maximum.
    pub fn prior_attempts(&self) -> u32 {
        if !self.from_retry {
            return 0;
        }
        self.header(headers::ATTEMPTS)
            .and_then(parse_count)
            .unwrap_or(0)
    }

    /// When a retry-topic record may be processed again (ms since the epoch). The caller caps
    /// how far ahead that may be (see [`super::retry::due_in`]).
    pub fn not_before(&self) -> Option<i64> {
        if !self.from_retry {
            return None;
        }
        self.header(headers::RETRY_NOT_BEFORE)
            .and_then(|v| v.trim().parse().ok())
    }

    /// Why a retry-topic record is not a valid retry record, if it is not: its attempt count
    /// and due time must be there and be whole numbers. Says which header, never its value.
    pub fn retry_problem(&self) -> Option<&'static str> {
        if !self.from_retry {
            return None;
        }
        if self
            .header(headers::ATTEMPTS)
            .and_then(parse_count)
            .is_none()
        {
            return Some("x-attempts is missing or not a whole number");
        }
        if self.not_before().is_none() {
            return Some("x-retry-not-before is missing or not a whole number of milliseconds");
        }
        None
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

/// A decimal count such as `x-attempts`: digits only; one too large for a `u32` saturates.
fn parse_count(value: &str) -> Option<u32> {
    let digits = value.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse::<u32>().unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::parse_count;

    #[test]
    fn counts_are_digits_and_saturate() {
        assert_eq!(parse_count(" 3 "), Some(3));
        assert_eq!(parse_count("99999999999999999999999"), Some(u32::MAX));
        for bad in ["", "-1", "2.0", "three", "1e3"] {
            assert_eq!(parse_count(bad), None, "{bad:?}");
        }
    }
}
