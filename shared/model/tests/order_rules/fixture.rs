//! The reference fixture: valid (against a fixed and the real clock), served back byte for byte
//! in the contract's key order.

use crate::{assert_valid, compact, now, with_items, DELIVERY_KEYS, ITEM_KEYS, PAYMENT_KEYS};
use order_model::{decode, decode_at, sample_json, Order, ValidOrder, SAMPLE_JSON};
use serde_json::Value;

#[test]
fn fixture_is_valid_and_round_trips_byte_for_byte() {
    let order = decode_at(SAMPLE_JSON.as_bytes(), now()).expect("the fixture is valid");
    // Same keys in the same order with the same spelling: only the indentation is gone.
    assert_eq!(order.canonical_json(), compact(SAMPLE_JSON));
    // And the same JSON value.
    let served: Value = serde_json::from_str(order.canonical_json()).expect("canonical is JSON");
    assert_eq!(served, sample_json());
    assert_eq!(order.uid(), "b563feb7b2b84b6test");
    // Stable: decoding what we serve gives the same order and the same bytes.
    let again = decode_at(order.canonical_json().as_bytes(), now()).expect("canonical is valid");
    assert_eq!(again, order);
    assert_eq!(again.canonical_json(), order.canonical_json());
    assert_eq!(again.fingerprint(), order.fingerprint());
}

#[test]
fn fixture_is_valid_against_the_real_clock() {
    assert!(decode(SAMPLE_JSON.as_bytes()).is_ok());
    let order: Order = serde_json::from_str(SAMPLE_JSON).expect("fixture deserializes");
    assert!(ValidOrder::try_from(order).is_ok());
}

#[test]
fn canonical_json_keeps_the_contract_key_order() {
    let order = assert_valid(&with_items(2));
    let text = order.canonical_json();
    let keys = [
        &["order_uid", "track_number", "entry", "delivery"][..],
        DELIVERY_KEYS,
        &["payment"],
        PAYMENT_KEYS,
        &["items"],
        ITEM_KEYS,
        // The second item comes after the first.
        &["chrt_id"],
        &[
            "locale",
            "internal_signature",
            "customer_id",
            "delivery_service",
            "shardkey",
            "sm_id",
            "date_created",
            "oof_shard",
        ],
    ]
    .concat();
    let mut from = 0;
    for key in keys {
        let needle = format!("\"{key}\":");
        let found = text[from..]
            .find(&needle)
            .unwrap_or_else(|| panic!("{key} out of order"));
        from += found + needle.len();
    }
}
