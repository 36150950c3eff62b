//! Properties of order decoding over generated inputs: it never panics and always classifies
//! (`malformed` exactly when the bytes are not an order-shaped document), every generated valid
//! order round-trips exactly, and a rejection names its failing paths sorted and once each.
//!
//! `PROPTEST_CASES` sets the cases per property (default 512, so `cargo test` stays fast).
//! `fuzz_decode_long` is the long, `#[ignore]`d run described in `docs/FUZZING.md`
//! (`FUZZ_CASES`, default 1,000,000).
//! One test binary: this file holds the configuration and the checks every property applies;
//! `strategies` generates the inputs.

mod classified;
mod generated;
mod long_run;
mod named_paths;
mod strategies;

use chrono::{DateTime, TimeZone, Utc};
use order_model::{decode_at, DeadLetterKind, DecodeError, ValidOrder};
use order_synthetic::OrderGenerator;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError};
// The well-formedness oracle (malformed exactly when it says no), shared with the fuzz target.
use pipeline_testing::decode_oracle::{path_order, segments};
use std::cmp::Ordering;

fn env_cases(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|text| text.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn config() -> Config {
    Config {
        cases: env_cases("PROPTEST_CASES", 512),
        ..Config::default()
    }
}

/// The fixed "now" of every decode: generated orders are dated before it.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
        .single()
        .expect("a valid date")
}

fn generator(seed: u64) -> OrderGenerator {
    OrderGenerator::new(seed, now())
}

/// What every decode must satisfy whatever the input: an error of a known kind with a message,
/// or an order whose served JSON decodes to the same order and the same bytes.
fn check_classified(bytes: &[u8]) -> Result<Result<ValidOrder, DecodeError>, TestCaseError> {
    let result = decode_at(bytes, now());
    match &result {
        Ok(order) => {
            let again = decode_at(order.canonical_json().as_bytes(), now())
                .map_err(|err| TestCaseError::fail(format!("canonical JSON rejected: {err}")))?;
            prop_assert_eq!(again.canonical_json(), order.canonical_json());
            prop_assert_eq!(&again, order);
        }
        Err(err) => {
            prop_assert!(matches!(
                err.kind(),
                DeadLetterKind::Malformed | DeadLetterKind::Invalid
            ));
            prop_assert!(!err.message().is_empty());
            if let DecodeError::Invalid(errors) = err {
                check_paths(err, errors)?;
            }
        }
    }
    Ok(result)
}

/// A contract field path: `name(.name)*` with optional `[n]` indexes.
fn looks_like_path(path: &str) -> bool {
    !path.is_empty()
        && segments(path).iter().all(|(name, _)| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        })
        && path.matches('[').count() == path.matches(']').count()
}

/// Property (c): the message names at least one path, each once, sorted; and it says the same
/// as the error list.
fn check_paths(err: &DecodeError, errors: &[order_model::FieldError]) -> Result<(), TestCaseError> {
    let message = err.message();
    prop_assert!(!errors.is_empty(), "invalid without a path");
    let listed: Vec<&str> = message
        .split("; ")
        .map(|entry| entry.split_once(": ").map_or("", |(path, _)| path))
        .collect();
    let paths: Vec<&str> = errors.iter().map(|error| error.path.as_str()).collect();
    prop_assert_eq!(&listed, &paths, "message {:?}", message);
    for path in &paths {
        prop_assert!(looks_like_path(path), "not a field path: {:?}", path);
    }
    for pair in paths.windows(2) {
        prop_assert_eq!(
            path_order(pair[0], pair[1]),
            Ordering::Less,
            "not sorted and deduplicated: {:?}",
            message
        );
    }
    Ok(())
}
