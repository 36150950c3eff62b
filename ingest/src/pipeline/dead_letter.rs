//! Dead-letter records (contract §2): the original key and value byte for byte, the original
//! headers minus earlier `x-error-*` ones and earlier copies of ours, and the DLQ headers that
//! tell an operator where the record came from and why it failed.

use super::record::Record;
use super::writer::{Outgoing, Target};
use chrono::{SecondsFormat, Utc};
use order_model::DeadLetterKind;
use pipeline_kafka::headers;

/// Why a record is dead-lettered; `kind` is the `x-error-kind` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: DeadLetterKind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: DeadLetterKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// The DLQ record for `record`, after `attempts` processing attempts in total.
pub fn build<'a>(
    record: &'a Record,
    failure: &Failure,
    attempts: u32,
    dlq_topic: &'a str,
    group: &str,
) -> Outgoing<'a> {
    let origin = record.origin();
    let ours = [
        (headers::ORIGINAL_TOPIC, origin.topic),
        (headers::ORIGINAL_PARTITION, origin.partition),
        (headers::ORIGINAL_OFFSET, origin.offset),
        (headers::ORIGINAL_TIMESTAMP, origin.timestamp),
        (headers::ERROR_KIND, failure.kind.as_str().to_owned()),
        (headers::ERROR_MESSAGE, failure.message.clone()),
        (headers::ATTEMPTS, attempts.to_string()),
        (
            headers::FAILED_AT,
            Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        ),
        (headers::CONSUMER_GROUP, group.to_owned()),
    ];
    Outgoing::for_record(Target::Dlq, dlq_topic, record, ours)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::pipeline::record::TopicPartition;
    use order_model::DecodeError;

    pub(crate) fn record(topic: &str, headers: &[(&str, &str)], from_retry: bool) -> Record {
        Record {
            tp: TopicPartition {
                topic: topic.into(),
                partition: 2,
            },
            offset: 41,
            epoch: 1,
            timestamp: Some(1_700_000_000_000),
            key: Some(b"uid-1".to_vec()),
            payload: Some(b"{not json".to_vec()),
            size: 0,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Some(v.as_bytes().to_vec())))
                .collect(),
            from_retry,
            decoded: Err(DecodeError::Malformed("x".into())),
            due: None,
            span: tracing::Span::none(),
        }
    }

    fn value<'a>(out: &'a Outgoing<'_>, name: &str) -> Vec<&'a str> {
        out.headers
            .iter()
            .filter(|(k, _)| k == name)
            .filter_map(|(_, v)| v.as_deref().and_then(|v| std::str::from_utf8(v).ok()))
            .collect()
    }

    #[test]
    fn keeps_key_value_and_foreign_headers_and_sets_each_dlq_header_once() {
        let input = record(
            "orders",
            &[
                ("traceparent", "00-abc-def-01"),
                ("x-error-kind", "old"),
                ("x-attempts", "9"),
            ],
            false,
        );
        let out = build(
            &input,
            &Failure::new(DeadLetterKind::Malformed, "bad json"),
            1,
            "orders.dlq",
            "g",
        );
        assert_eq!(out.key, Some(&b"uid-1"[..]));
        assert_eq!(out.value, Some(&b"{not json"[..]));
        assert_eq!(value(&out, "traceparent"), ["00-abc-def-01"]);
        assert_eq!(value(&out, "x-error-kind"), ["malformed"]);
        assert_eq!(value(&out, "x-attempts"), ["1"]);
        assert_eq!(value(&out, "x-original-topic"), ["orders"]);
        assert_eq!(value(&out, "x-original-partition"), ["2"]);
        assert_eq!(value(&out, "x-original-offset"), ["41"]);
        assert_eq!(value(&out, "x-original-timestamp"), ["1700000000000"]);
        assert_eq!(value(&out, "x-consumer-group"), ["g"]);
        assert!(value(&out, "x-failed-at")[0].ends_with('Z'));
    }

    #[test]
    fn a_retried_record_keeps_its_first_origin() {
        let input = record(
            "orders.retry",
            &[
                ("x-original-topic", "orders"),
                ("x-original-partition", "0"),
                ("x-original-offset", "7"),
                ("x-original-timestamp", "123"),
                ("x-attempts", "2"),
                ("x-retry-not-before", "1"),
            ],
            true,
        );
        assert_eq!(input.prior_attempts(), 2);
        let out = build(
            &input,
            &Failure::new(DeadLetterKind::RetriesExhausted, "timeout"),
            3,
            "orders.dlq",
            "g",
        );
        assert_eq!(value(&out, "x-original-topic"), ["orders"]);
        assert_eq!(value(&out, "x-original-offset"), ["7"]);
        assert_eq!(value(&out, "x-attempts"), ["3"]);
        assert!(value(&out, "x-retry-not-before").is_empty());
    }
}
