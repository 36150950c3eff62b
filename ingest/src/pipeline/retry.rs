//! Delayed retries through the retry topic: a record that failed for a reason of its own that may
//! pass (statement timeout, serialization failure) is republished with its attempt count and the
//! earliest time to try again, so the input partitions keep flowing meanwhile.

use super::record::Record;
use super::writer::Outgoing;
use pipeline_kafka::headers;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// How long until a retry-topic record is due; `None` when it may be processed now.
pub fn due_in(record: &Record, now_ms: i64) -> Option<Duration> {
    let not_before = record.not_before()?;
    let wait = not_before.checked_sub(now_ms)?;
    (wait > 0).then(|| Duration::from_millis(wait.unsigned_abs()))
}

/// The retry record for `record`, whose attempt number `attempts` just failed with `reason`.
/// It carries the original position (`x-original-*`) from the first failure on, so the dead
/// letter it may become names where the order really came from.
pub fn build<'a>(
    record: &'a Record,
    attempts: u32,
    delay: Duration,
    reason: &str,
    retry_topic: &'a str,
) -> Outgoing<'a> {
    let origin = record.origin();
    let not_before = now_ms().saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
    let ours = [
        (headers::ORIGINAL_TOPIC, origin.topic),
        (headers::ORIGINAL_PARTITION, origin.partition),
        (headers::ORIGINAL_OFFSET, origin.offset),
        (headers::ORIGINAL_TIMESTAMP, origin.timestamp),
        (headers::ATTEMPTS, attempts.to_string()),
        (headers::RETRY_NOT_BEFORE, not_before.to_string()),
        // For whoever looks at the retry topic; dropped again when the record moves on.
        (headers::ERROR_MESSAGE, reason.to_owned()),
    ];
    Outgoing::for_record(retry_topic, record, ours)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::record::{Record, TopicPartition};
    use order_model::DecodeError;

    fn retry_record(not_before: &str) -> Record {
        Record {
            tp: TopicPartition {
                topic: "orders.retry".into(),
                partition: 0,
            },
            offset: 3,
            epoch: 1,
            timestamp: Some(5),
            key: Some(b"k".to_vec()),
            payload: Some(b"{}".to_vec()),
            headers: vec![
                (
                    "x-retry-not-before".into(),
                    Some(not_before.as_bytes().to_vec()),
                ),
                ("x-original-topic".into(), Some(b"orders".to_vec())),
                ("x-original-offset".into(), Some(b"99".to_vec())),
                ("traceparent".into(), Some(b"tp".to_vec())),
            ],
            from_retry: true,
            decoded: Err(DecodeError::Malformed("x".into())),
            span: tracing::Span::none(),
        }
    }

    #[test]
    fn due_time_comes_from_the_header() {
        assert_eq!(
            due_in(&retry_record("1500"), 1000),
            Some(Duration::from_millis(500))
        );
        assert_eq!(due_in(&retry_record("1000"), 1000), None);
        assert_eq!(due_in(&retry_record("garbage"), 1000), None);
    }

    #[test]
    fn a_second_retry_keeps_the_first_origin_and_one_copy_of_each_header() {
        let input = retry_record("1");
        let out = build(&input, 2, Duration::from_secs(4), "timeout", "orders.retry");
        let count = |name: &str| out.headers.iter().filter(|(k, _)| k == name).count();
        for name in [
            "x-original-topic",
            "x-original-offset",
            "x-retry-not-before",
            "x-attempts",
            "traceparent",
        ] {
            assert_eq!(count(name), 1, "{name}");
        }
        let offset = out
            .headers
            .iter()
            .find(|(k, _)| k == "x-original-offset")
            .and_then(|(_, v)| v.clone());
        assert_eq!(offset.as_deref(), Some(&b"99"[..]));
    }
}
