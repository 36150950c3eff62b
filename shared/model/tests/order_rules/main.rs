//! Contract §1, rule by rule: for every validation rule a passing and a failing order, with the
//! exact field paths the rejection must name; the reference fixture's byte-for-byte round trip;
//! and the inputs that must be `malformed` (never `invalid`).
//!
//! Every case starts from the fixture (`tests/fixtures/model.json`) and changes only what the
//! case is about, so the expected list of failing paths is exact, not merely "contains".
//! One test binary: this file holds the helpers every module uses; each module is one part of
//! the contract.

mod combined;
mod dates;
mod delivery;
mod fixture;
mod items;
mod malformed;
mod payment;
mod required;
mod uid;

use chrono::{DateTime, TimeZone, Utc};
use order_model::{decode_at, sample_json, DeadLetterKind, DecodeError, ValidOrder};
use serde_json::{json, Value};

/// The fixed "now" the date rule is judged against: the day after the fixture's `date_created`.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2021, 11, 27, 0, 0, 0)
        .single()
        .expect("a valid date")
}

fn decode_value(value: &Value) -> Result<ValidOrder, DecodeError> {
    decode_at(value.to_string().as_bytes(), now())
}

/// The fixture with `edit` applied.
fn with(edit: impl FnOnce(&mut Value)) -> Value {
    let mut value = sample_json();
    edit(&mut value);
    value
}

/// Sets the value at a JSON pointer (`/items/2/price`), which must exist.
fn set(value: &mut Value, pointer: &str, new: Value) {
    *value
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer} is not in the order")) = new;
}

/// Makes `goods_total` the sum of the items and `amount` the contract's sum again, so a case
/// that changes money breaks only the rule it is about.
fn rebalance(value: &mut Value) {
    let field = |value: &Value, pointer: &str| {
        value
            .pointer(pointer)
            .and_then(Value::as_i64)
            .unwrap_or_else(|| panic!("{pointer} is not an integer"))
    };
    let items = value["items"].as_array().expect("items is an array");
    let goods_total: i64 = items.iter().map(|item| field(item, "/total_price")).sum();
    let amount =
        goods_total + field(value, "/payment/delivery_cost") + field(value, "/payment/custom_fee");
    set(value, "/payment/goods_total", json!(goods_total));
    set(value, "/payment/amount", json!(amount));
}

/// The fixture with `count` copies of its item (totals fixed up): a valid order.
fn with_items(count: usize) -> Value {
    with(|value| {
        let item = value["items"][0].clone();
        value["items"] = Value::Array(vec![item; count]);
        rebalance(value);
    })
}

#[track_caller]
fn assert_valid(value: &Value) -> ValidOrder {
    match decode_value(value) {
        Ok(order) => order,
        Err(err) => panic!("expected a valid order, got {err}"),
    }
}

/// The distinct failing paths, in the order the error lists them; checks that the error is
/// `invalid` and that its message names every path.
#[track_caller]
fn failing_paths(value: &Value) -> Vec<String> {
    match decode_value(value) {
        Ok(_) => panic!("expected an invalid order, it was accepted"),
        Err(err @ DecodeError::Malformed(_)) => panic!("expected invalid, got {err}"),
        Err(err @ DecodeError::Invalid(_)) => {
            assert_eq!(err.kind(), DeadLetterKind::Invalid);
            let DecodeError::Invalid(errors) = &err else {
                unreachable!()
            };
            let message = err.message();
            let mut paths: Vec<String> = errors.iter().map(|error| error.path.clone()).collect();
            paths.dedup();
            for path in &paths {
                assert!(
                    message.contains(path.as_str()),
                    "{message:?} does not name {path}"
                );
            }
            paths
        }
    }
}

/// Asserts the order is rejected as `invalid` naming exactly `expected` (in the error's sorted
/// order).
#[track_caller]
fn assert_fails_at(value: &Value, expected: &[&str]) {
    assert_eq!(
        failing_paths(value),
        expected,
        "for order {}",
        clip(&value.to_string())
    );
}

/// Long inputs (a thousand items, a megabyte) shortened for failure messages.
fn clip(text: &str) -> String {
    match text.char_indices().nth(400) {
        Some((at, _)) => format!("{}… ({} bytes)", &text[..at], text.len()),
        None => text.to_owned(),
    }
}

#[track_caller]
fn assert_malformed(bytes: &[u8]) {
    match decode_at(bytes, now()) {
        Err(err @ DecodeError::Malformed(_)) => {
            assert_eq!(err.kind(), DeadLetterKind::Malformed);
            assert!(!err.message().is_empty());
        }
        Err(err) => panic!(
            "expected malformed, got {err} for {}",
            String::from_utf8_lossy(bytes)
        ),
        Ok(_) => panic!(
            "expected malformed, accepted {}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

/// Removes the whitespace between JSON tokens, keeping key order and every token's spelling:
/// the fixture "re-serialized compactly in the same key order".
fn compact(pretty: &str) -> String {
    let mut out = String::with_capacity(pretty.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in pretty.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    out
}

fn date_of(value: &Value) -> String {
    let order = assert_valid(value);
    let canonical: Value = serde_json::from_str(order.canonical_json()).expect("canonical is JSON");
    canonical["date_created"]
        .as_str()
        .expect("a string")
        .to_owned()
}

/// The keys of the nested objects, in contract order.
const DELIVERY_KEYS: &[&str] = &["name", "phone", "zip", "city", "address", "region", "email"];
const PAYMENT_KEYS: &[&str] = &[
    "transaction",
    "request_id",
    "currency",
    "provider",
    "amount",
    "payment_dt",
    "bank",
    "delivery_cost",
    "goods_total",
    "custom_fee",
];
const ITEM_KEYS: &[&str] = &[
    "chrt_id",
    "track_number",
    "price",
    "rid",
    "name",
    "sale",
    "size",
    "total_price",
    "nm_id",
    "brand",
    "status",
];

fn with_delivery(field: &str, text: &str) -> Value {
    with(|value| set(value, &format!("/delivery/{field}"), json!(text)))
}
