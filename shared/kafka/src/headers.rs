//! Header names of contract §2 and small helpers to read string headers.

use rdkafka::message::{BorrowedHeaders, Headers, Message};

pub use pipeline_runtime::telemetry::TRACEPARENT;
pub const ORIGINAL_TOPIC: &str = "x-original-topic";
pub const ORIGINAL_PARTITION: &str = "x-original-partition";
pub const ORIGINAL_OFFSET: &str = "x-original-offset";
pub const ORIGINAL_TIMESTAMP: &str = "x-original-timestamp";
pub const ERROR_KIND: &str = "x-error-kind";
pub const ERROR_MESSAGE: &str = "x-error-message";
pub const ATTEMPTS: &str = "x-attempts";
pub const FAILED_AT: &str = "x-failed-at";
pub const CONSUMER_GROUP: &str = "x-consumer-group";
pub const REPLAYED_FROM: &str = "x-replayed-from";
/// Set by producer-sim: what the simulator meant the record to be (`valid`, `invalid`, ...).
pub const SIM_KIND: &str = "x-sim-kind";
/// Set on records sent to the retry topic: earliest time (ms since epoch) to process them again.
pub const RETRY_NOT_BEFORE: &str = "x-retry-not-before";

/// Every DLQ header this project writes; earlier copies are dropped when a record is dead-lettered
/// again so each header appears once.
pub const DLQ_HEADERS: [&str; 9] = [
    ORIGINAL_TOPIC,
    ORIGINAL_PARTITION,
    ORIGINAL_OFFSET,
    ORIGINAL_TIMESTAMP,
    ERROR_KIND,
    ERROR_MESSAGE,
    ATTEMPTS,
    FAILED_AT,
    CONSUMER_GROUP,
];

/// The last value of header `name` as UTF-8, if present and valid.
pub fn get<'a>(headers: Option<&'a BorrowedHeaders>, name: &str) -> Option<&'a str> {
    let headers = headers?;
    headers
        .iter()
        .filter(|header| header.key == name)
        .last()
        .and_then(|header| header.value)
        .and_then(|value| std::str::from_utf8(value).ok())
}

/// Every header of `message`, in order, copied out of the client's buffer.
pub fn owned(message: &impl Message) -> Vec<(String, Option<Vec<u8>>)> {
    message
        .headers()
        .map(|headers| {
            headers
                .iter()
                .map(|header| (header.key.to_owned(), header.value.map(<[u8]>::to_vec)))
                .collect()
        })
        .unwrap_or_default()
}
