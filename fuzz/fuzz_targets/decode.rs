//! Fuzz target: bytes → `shared::order::decode_at`. Beyond "no panic", it checks the outcome:
//! `malformed` exactly when the bytes are not an order-shaped JSON document, an accepted order's
//! canonical JSON decodes to the same bytes, and a rejection lists its paths sorted, once each.
#![no_main]

use chrono::{DateTime, Datelike, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use shared::order::{decode_at, sample_json, DecodeError, MAX_MESSAGE_BYTES};
use std::sync::OnceLock;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
        .single()
        .expect("a valid date")
}

fn template() -> &'static Value {
    static TEMPLATE: OnceLock<Value> = OnceLock::new();
    TEMPLATE.get_or_init(sample_json)
}

/// Same keys at every level, strings for strings, i64 for integers, items shaped like the item.
fn same_shape(value: &Value, template: &Value) -> bool {
    match (template, value) {
        (Value::Object(want), Value::Object(got)) => {
            want.len() == got.len()
                && want
                    .iter()
                    .all(|(key, want)| got.get(key).is_some_and(|got| same_shape(got, want)))
        }
        (Value::Array(want), Value::Array(got)) => {
            got.iter().all(|item| same_shape(item, &want[0]))
        }
        (Value::String(_), Value::String(_)) => true,
        (Value::Number(_), Value::Number(number)) => number.is_i64(),
        _ => false,
    }
}

fn is_order_document(bytes: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return false;
    };
    let date = value["date_created"]
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok());
    same_shape(&value, template())
        && date.is_some_and(|date| (0..=9999).contains(&date.with_timezone(&Utc).year()))
}

/// `items[12]` sorts after `items[9]`.
fn segments(path: &str) -> Vec<(&str, Option<usize>)> {
    path.split('.')
        .map(
            |segment| match segment.strip_suffix(']').and_then(|s| s.split_once('[')) {
                Some((name, index)) => (name, index.parse().ok()),
                None => (segment, None),
            },
        )
        .collect()
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
    let document = bytes.len() <= MAX_MESSAGE_BYTES && is_order_document(bytes);
    if document == malformed {
        assert!(
            malformed && has_duplicate_keys(bytes),
            "malformed={malformed} but order-shaped={document}"
        );
    }
});

/// Whether some object in the JSON text repeats a key.
fn has_duplicate_keys(bytes: &[u8]) -> bool {
    use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
    struct Dup(bool);
    struct Checker;
    impl<'de> Visitor<'de> for Checker {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let (mut seen, mut duplicate) = (std::collections::HashSet::new(), false);
            while let Some(key) = map.next_key::<String>()? {
                duplicate |= !seen.insert(key);
                duplicate |= map.next_value::<Dup>()?.0;
            }
            Ok(duplicate)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
            let mut duplicate = false;
            while let Some(Dup(inner)) = seq.next_element::<Dup>()? {
                duplicate |= inner;
            }
            Ok(duplicate)
        }
        fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_str<E>(self, _: &str) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_unit<E>(self) -> Result<bool, E> {
            Ok(false)
        }
    }
    impl<'de> Deserialize<'de> for Dup {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(Checker).map(Dup)
        }
    }
    serde_json::from_slice::<Dup>(bytes).is_ok_and(|Dup(duplicate)| duplicate)
}
