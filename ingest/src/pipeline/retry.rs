//! Delayed retries through the retry topic: a record that failed for a reason of its own that may
//! pass (statement timeout, serialization failure) is republished with its attempt count and the
//! earliest time to try again, so the input partitions keep flowing meanwhile.

use super::record::Record;
use super::writer::{Outgoing, Target};
use pipeline_kafka::headers;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// How long until a retry-topic record is due; `None` when it may be processed now. The header
/// is not trusted: a due time further ahead than `max_delay` (a writer with a skewed clock, a
/// bug, a forged record) counts as due at `max_delay`, so no partition parks for longer.
pub fn due_in(record: &Record, now_ms: i64, max_delay: Duration) -> Option<Duration> {
    let not_before = record.not_before()?;
    let wait = not_before.saturating_sub(now_ms);
    (wait > 0).then(|| Duration::from_millis(wait.unsigned_abs()).min(max_delay))
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
    Outgoing::for_record(Target::Retry, retry_topic, record, ours)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::record::Record;

    /// A record read back from the retry topic, due at `not_before`.
    fn retry_record(not_before: &str) -> Record {
        let headers = [
            ("x-retry-not-before", not_before),
            ("x-original-topic", "orders"),
            ("x-original-offset", "99"),
            ("traceparent", "tp"),
        ];
        crate::pipeline::dead_letter::tests::record("orders.retry", &headers, true)
    }

    #[test]
    fn due_time_comes_from_the_header_capped_at_the_maximum_delay() {
        let max = Duration::from_secs(60);
        assert_eq!(
            due_in(&retry_record("1500"), 1000, max),
            Some(Duration::from_millis(500))
        );
        assert_eq!(due_in(&retry_record("1000"), 1000, max), None);
        assert_eq!(due_in(&retry_record("-5"), 1000, max), None);
        assert_eq!(due_in(&retry_record("garbage"), 1000, max), None);
        // The year 3000, or the end of time: due at the maximum delay.
        assert_eq!(
            due_in(&retry_record("32503680000000"), 1000, max),
            Some(max)
        );
        let end = i64::MAX.to_string();
        assert_eq!(due_in(&retry_record(&end), i64::MIN, max), Some(max));
    }

    #[test]
    fn a_retry_record_without_readable_bookkeeping_is_no_valid_retry() {
        let mut record = retry_record("1500");
        assert_eq!(
            record.retry_problem(),
            Some("x-attempts is missing or not a whole number")
        );
        record
            .headers
            .push(("x-attempts".into(), Some(b"2".to_vec())));
        assert_eq!(record.retry_problem(), None);
        record
            .headers
            .push(("x-retry-not-before".into(), Some(b"soon".to_vec())));
        assert!(record
            .retry_problem()
            .is_some_and(|p| p.contains("x-retry-not-before")));
        record.from_retry = false;
        assert_eq!(
            record.retry_problem(),
            None,
            "input records carry no retry bookkeeping"
        );
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
