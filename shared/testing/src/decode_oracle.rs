//! An independent judge of what [`order_model::decode`] must call `malformed` and what an order
//! document, written without its code and shared by the property tests
//! (`shared/model/tests/order_properties/`) and the fuzz target (`fuzz/fuzz_targets/decode.rs`), so
//! both check decoding against the same oracle.
//!
//! An input is an order document when it is JSON with the shape of the contract fixture
//! ([`order_model::sample_json`]) — its fields at every level, and any others (contract §11,
//! additive evolution) — and a `date_created` that can be written back in UTC; a repeated key
//! also makes it malformed, which a [`Value`] cannot show ([`has_duplicate_keys`]).
//! The 1 MiB size limit is left to the callers. Rejections list field paths in [`path_order`].

use chrono::{DateTime, Datelike, Utc};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::OnceLock;

/// The contract fixture as a [`Value`], parsed once.
fn template() -> &'static Value {
    static TEMPLATE: OnceLock<Value> = OnceLock::new();
    TEMPLATE.get_or_init(order_model::sample_json)
}

/// Whether `value` has the shape of `template`: at every level its keys (and maybe others, of
/// any value), strings where it has strings, i64 integers where it has integers, every item
/// shaped like its (first) item. Arrays in `template` must hold an item.
pub fn same_shape(value: &Value, template: &Value) -> bool {
    match (template, value) {
        (Value::Object(want), Value::Object(got)) => want
            .iter()
            .all(|(key, want)| got.get(key).is_some_and(|got| same_shape(got, want))),
        (Value::Array(want), Value::Array(got)) => {
            got.iter().all(|item| same_shape(item, &want[0]))
        }
        (Value::String(_), Value::String(_)) => true,
        (Value::Number(_), Value::Number(number)) => number.is_i64(),
        _ => false,
    }
}

/// Whether `date_created` is an RFC 3339 date that can be written back in UTC (years
/// 0000–9999).
pub fn readable_date(value: &Value) -> bool {
    value["date_created"]
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .is_some_and(|date| (0..=9999).contains(&date.with_timezone(&Utc).year()))
}

/// Whether `value` is order-shaped: the fixture's shape ([`same_shape`]) and a
/// [`readable_date`].
pub fn is_order_document(value: &Value) -> bool {
    same_shape(value, template()) && readable_date(value)
}

/// Whether `bytes` parse as JSON that [`is_order_document`]. Says nothing of the size limit or
/// of repeated keys ([`has_duplicate_keys`]).
pub fn is_order_document_bytes(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Value>(bytes).is_ok_and(|value| is_order_document(&value))
}

/// Whether some object in the JSON text repeats a key (serde_json's [`Value`] keeps the last, so
/// the other checks cannot see it). False for text that is not JSON.
pub fn has_duplicate_keys(bytes: &[u8]) -> bool {
    struct Checker;
    impl<'de> Visitor<'de> for Checker {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let mut seen = HashSet::new();
            let mut duplicate = false;
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
    struct Dup(bool);
    impl<'de> Deserialize<'de> for Dup {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(Checker).map(Dup)
        }
    }
    serde_json::from_slice::<Dup>(bytes).is_ok_and(|Dup(duplicate)| duplicate)
}

/// A field path's segments: `items[12].sale` is `[("items", Some(12)), ("sale", None)]`, so
/// comparing segments sorts `items[12]` after `items[9]`.
pub fn segments(path: &str) -> Vec<(&str, Option<usize>)> {
    path.split('.')
        .map(
            |segment| match segment.strip_suffix(']').and_then(|s| s.split_once('[')) {
                Some((name, index)) => (name, index.parse().ok()),
                None => (segment, None),
            },
        )
        .collect()
}

/// The order a rejection lists its field paths in: by [`segments`].
pub fn path_order(a: &str, b: &str) -> Ordering {
    segments(a).cmp(&segments(b))
}
