//! One dead letter read back from the DLQ topic, kept byte for byte and decoded leniently: the
//! operator tools must show (and skip or replay) records with missing or garbled headers, never
//! crash on them.

use chrono::{DateTime, Utc};
use order_model::DeadLetterKind;
use pipeline_kafka::headers;
use rdkafka::message::{BorrowedMessage, Message};
use serde_json::{json, Map, Value};

/// One record header as stored: Kafka allows null values and any bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: Option<Vec<u8>>,
}

/// A record of the DLQ topic with its coordinates, payload and headers (in record order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// The DLQ record's own timestamp (ms since the epoch), when it has one.
    pub timestamp_ms: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<Header>,
}

impl DeadLetter {
    pub fn from_message(message: &BorrowedMessage<'_>) -> DeadLetter {
        let headers = headers::owned(message)
            .into_iter()
            .map(|(name, value)| Header { name, value })
            .collect();
        DeadLetter {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            timestamp_ms: message.timestamp().to_millis(),
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
            headers,
        }
    }

    /// `<dlq topic>/<partition>/<offset>`: the value of `x-replayed-from` pointing here.
    pub fn coordinates(&self) -> String {
        format!("{}/{}/{}", self.topic, self.partition, self.offset)
    }

    /// The last value of header `name` as UTF-8; `None` when absent, null or not UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        let header = self.headers.iter().rev().find(|h| h.name == name)?;
        std::str::from_utf8(header.value.as_deref()?).ok()
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h.name == name)
    }

    /// The `x-error-kind`, when present and one of the contract's kinds.
    pub fn kind(&self) -> Option<DeadLetterKind> {
        self.header(headers::ERROR_KIND)
            .and_then(|value| value.trim().parse().ok())
    }

    /// The kind as written (even an unrecognised one), `-` when missing: what people see.
    pub fn kind_label(&self) -> String {
        match self
            .headers
            .iter()
            .rev()
            .find(|h| h.name == headers::ERROR_KIND)
        {
            Some(Header {
                value: Some(value), ..
            }) => String::from_utf8_lossy(value).into_owned(),
            _ => "-".to_owned(),
        }
    }

    pub fn message(&self) -> Option<&str> {
        self.header(headers::ERROR_MESSAGE)
    }

    /// `x-failed-at`, when present and RFC 3339.
    pub fn failed_at(&self) -> Option<DateTime<Utc>> {
        let raw = self.header(headers::FAILED_AT)?;
        DateTime::parse_from_rfc3339(raw.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    pub fn attempts(&self) -> Option<u64> {
        self.header(headers::ATTEMPTS)?.trim().parse().ok()
    }

    /// True when the record came from an earlier replay (even if the header is unreadable).
    pub fn is_replayed(&self) -> bool {
        self.has_header(headers::REPLAYED_FROM)
    }

    /// `x-original-topic`, when present and non-empty.
    pub fn original_topic(&self) -> Option<&str> {
        self.header(headers::ORIGINAL_TOPIC)
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }

    /// The record key as text: the order uid the pipeline was given.
    pub fn order_uid(&self) -> Option<&str> {
        std::str::from_utf8(self.key.as_deref()?).ok()
    }

    /// Headers a replay carries over: the original record's own, without what the DLQ (or an
    /// earlier replay, or the retry hop) added.
    pub fn replay_headers(&self) -> impl Iterator<Item = &Header> {
        self.headers.iter().filter(|h| keeps_on_replay(&h.name))
    }

    /// Every field and header, for `inspect --json`. Bytes that are not UTF-8 are given as hex
    /// (`*_hex`) so nothing is lost or mangled.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("topic".into(), json!(self.topic));
        object.insert("partition".into(), json!(self.partition));
        object.insert("offset".into(), json!(self.offset));
        object.insert("timestamp_ms".into(), json!(self.timestamp_ms));
        object.insert("kind".into(), json!(self.kind_label()));
        object.insert("order_uid".into(), json!(self.order_uid()));
        object.insert("message".into(), json!(self.message()));
        object.insert("failed_at".into(), json!(self.header(headers::FAILED_AT)));
        object.insert("attempts".into(), json!(self.attempts()));
        object.insert(
            "original_topic".into(),
            json!(self.header(headers::ORIGINAL_TOPIC)),
        );
        let number = |name| self.header(name).and_then(|v| v.trim().parse::<i64>().ok());
        object.insert(
            "original_partition".into(),
            json!(number(headers::ORIGINAL_PARTITION)),
        );
        object.insert(
            "original_offset".into(),
            json!(number(headers::ORIGINAL_OFFSET)),
        );
        object.insert(
            "original_timestamp_ms".into(),
            json!(number(headers::ORIGINAL_TIMESTAMP)),
        );
        object.insert(
            "consumer_group".into(),
            json!(self.header(headers::CONSUMER_GROUP)),
        );
        object.insert(
            "replayed_from".into(),
            json!(self.header(headers::REPLAYED_FROM)),
        );
        insert_bytes(&mut object, "key", self.key.as_deref());
        insert_bytes(&mut object, "value", self.value.as_deref());
        let all: Vec<Value> = self
            .headers
            .iter()
            .map(|h| {
                let mut header = Map::new();
                header.insert("key".into(), json!(h.name));
                insert_bytes(&mut header, "value", h.value.as_deref());
                Value::Object(header)
            })
            .collect();
        object.insert("headers".into(), Value::Array(all));
        Value::Object(object)
    }
}

fn keeps_on_replay(name: &str) -> bool {
    !(headers::DLQ_HEADERS.contains(&name)
        || name.starts_with("x-error-")
        || name == headers::REPLAYED_FROM
        || name == headers::RETRY_NOT_BEFORE)
}

/// `name: "text"` when the bytes are UTF-8 (or `null` when absent), else `name_hex: "…"`.
fn insert_bytes(object: &mut Map<String, Value>, name: &str, bytes: Option<&[u8]>) {
    let Some(bytes) = bytes else {
        object.insert(name.to_owned(), Value::Null);
        return;
    };
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            object.insert(name.to_owned(), json!(text));
        }
        Err(_) => {
            object.insert(name.to_owned(), Value::Null);
            object.insert(format!("{name}_hex"), json!(hex(bytes)));
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(headers: &[(&str, Option<&[u8]>)]) -> DeadLetter {
        DeadLetter {
            topic: "orders.dlq".into(),
            partition: 1,
            offset: 7,
            timestamp_ms: None,
            key: Some(vec![0xff, 0x00]),
            value: None,
            headers: headers
                .iter()
                .map(|(n, v)| Header {
                    name: (*n).into(),
                    value: v.map(<[u8]>::to_vec),
                })
                .collect(),
        }
    }

    #[test]
    fn garbled_headers_are_shown_not_fatal() {
        let dl = letter(&[
            ("x-error-kind", Some(b"\xfe\xfe".as_slice())),
            ("x-failed-at", Some(b"yesterday".as_slice())),
            ("x-attempts", None),
            ("x-replayed-from", Some(b"\xff".as_slice())),
        ]);
        assert_eq!(dl.kind(), None);
        assert_eq!(dl.failed_at(), None);
        assert_eq!(dl.attempts(), None);
        assert!(dl.is_replayed());
        let json = dl.to_json();
        assert_eq!(json["order_uid"], Value::Null);
        assert_eq!(json["key_hex"], "ff00");
        assert_eq!(json["headers"][3]["value_hex"], "ff");
    }

    #[test]
    fn replay_keeps_only_the_original_headers() {
        let dl = letter(&[
            ("traceparent", Some(b"00-abc-def-01".as_slice())),
            ("x-error-kind", Some(b"invalid".as_slice())),
            ("x-error-detail", Some(b"old".as_slice())),
            ("x-original-topic", Some(b"orders".as_slice())),
            ("x-replayed-from", Some(b"orders.dlq/0/1".as_slice())),
            ("x-sim-kind", None),
        ]);
        let kept: Vec<&str> = dl.replay_headers().map(|h| h.name.as_str()).collect();
        assert_eq!(kept, ["traceparent", "x-sim-kind"]);
    }
}
