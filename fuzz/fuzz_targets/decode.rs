//! Fuzz target: bytes → `order_model::decode_at`. Beyond "no panic", it checks the outcome:
//! `malformed` exactly when the bytes are not an order-shaped JSON document, an accepted order's
//! canonical JSON decodes to the same bytes, and a rejection lists its paths sorted, once each.
#![no_main]

use chrono::{DateTime, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use order_model::{decode_at, DecodeError, MAX_MESSAGE_BYTES};
// The oracle, shared with the property tests (`shared/model/tests/order_properties/`).
use pipeline_testing::decode_oracle::{has_duplicate_keys, is_order_document_bytes, segments};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
        .single()
        .expect("a valid date")
}

fuzz_target!(|bytes: &[u8]| {
    let result = decode_at(bytes, now());
    match &result {
        Ok(order) => {
            let again = decode_at(order.canonical_json().as_bytes(), now())
                .expect("canonical JSON is valid");
            assert_eq!(again.canonical_json(), order.canonical_json());
            assert_eq!(&again, order);
        }
        Err(err @ DecodeError::Invalid(errors)) => {
            assert!(!errors.is_empty());
            let message = err.message();
            let listed: Vec<&str> = message
                .split("; ")
                .map(|entry| entry.split_once(": ").map_or("", |(path, _)| path))
                .collect();
            let paths: Vec<&str> = errors.iter().map(|error| error.path.as_str()).collect();
            assert_eq!(listed, paths, "{message}");
            for pair in paths.windows(2) {
                assert!(
                    segments(pair[0]) < segments(pair[1]),
                    "not sorted/deduplicated: {message}"
                );
            }
        }
        Err(DecodeError::Malformed(reason)) => assert!(!reason.is_empty()),
    }
    // Duplicate keys are malformed but invisible to `Value` (last one wins): only check the
    // oracle one way for those.
    let malformed = matches!(result, Err(DecodeError::Malformed(_)));
    let document = bytes.len() <= MAX_MESSAGE_BYTES && is_order_document_bytes(bytes);
    if document == malformed {
        assert!(
            malformed && has_duplicate_keys(bytes),
            "malformed={malformed} but order-shaped={document}"
        );
    }
});
