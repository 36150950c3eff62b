//! The required strings: empty or whitespace-only is invalid at the field's own path; anything
//! else is accepted, and the two optional strings take anything.

use crate::{assert_fails_at, assert_valid, set, with, with_items};
use order_model::sample_json;
use serde_json::json;

/// Required strings: JSON pointer, and the paths a blank value there must produce. Item fields
/// are tested on the third of three items to check the index in the path.
const REQUIRED: &[(&str, &[&str])] = &[
    // The items' track_number must equal the order's, so a blank order track breaks those too.
    (
        "/track_number",
        &[
            "items[0].track_number",
            "items[1].track_number",
            "items[2].track_number",
            "track_number",
        ],
    ),
    ("/entry", &["entry"]),
    ("/delivery/name", &["delivery.name"]),
    ("/delivery/city", &["delivery.city"]),
    ("/delivery/address", &["delivery.address"]),
    ("/delivery/region", &["delivery.region"]),
    ("/payment/currency", &["payment.currency"]),
    ("/payment/provider", &["payment.provider"]),
    ("/payment/bank", &["payment.bank"]),
    ("/items/2/track_number", &["items[2].track_number"]),
    ("/items/2/rid", &["items[2].rid"]),
    ("/items/2/name", &["items[2].name"]),
    ("/items/2/size", &["items[2].size"]),
    ("/items/2/brand", &["items[2].brand"]),
    ("/locale", &["locale"]),
    ("/customer_id", &["customer_id"]),
    ("/delivery_service", &["delivery_service"]),
    ("/shardkey", &["shardkey"]),
    ("/oof_shard", &["oof_shard"]),
];

#[test]
fn every_required_string_rejects_an_empty_value() {
    for (pointer, expected) in REQUIRED {
        let mut value = with_items(3);
        set(&mut value, pointer, json!(""));
        assert_fails_at(&value, expected);
    }
}

/// Team choice: whitespace only counts as empty (a producer sending `" "` lost the value).
#[test]
fn every_required_string_rejects_whitespace_only() {
    for (pointer, expected) in REQUIRED {
        for blank in [" ", "\t", " \n "] {
            let mut value = with_items(3);
            set(&mut value, pointer, json!(blank));
            assert_fails_at(&value, expected);
        }
    }
}

#[test]
fn required_strings_accept_any_non_empty_value() {
    let free_text = [
        "/entry",
        "/delivery/city",
        "/delivery/address",
        "/delivery/region",
        "/payment/provider",
        "/payment/bank",
        "/items/2/rid",
        "/items/2/name",
        "/items/2/size",
        "/items/2/brand",
        "/locale",
        "/customer_id",
        "/delivery_service",
        "/shardkey",
        "/oof_shard",
    ];
    for pointer in free_text {
        for text in [
            "x",
            "0",
            "Кирьят-Моцкин, ул. Мира 15 / кв. 3 ✓",
            "\"quoted\" \\ <b>",
        ] {
            let mut value = with_items(3);
            set(&mut value, pointer, json!(text));
            assert_valid(&value);
        }
    }
    // The track number is free text too, as long as the items carry the same one.
    let mut value = with_items(3);
    for pointer in [
        "/track_number",
        "/items/0/track_number",
        "/items/1/track_number",
        "/items/2/track_number",
    ] {
        set(&mut value, pointer, json!("x"));
    }
    assert_valid(&value);
}

#[test]
fn request_id_and_internal_signature_may_be_empty_or_anything() {
    let fixture = sample_json();
    assert_eq!(fixture["payment"]["request_id"], "");
    assert_eq!(fixture["internal_signature"], "");
    assert_valid(&fixture);
    for text in ["", " ", "req-42", "∑ any text"] {
        assert_valid(&with(|value| {
            set(value, "/payment/request_id", json!(text));
            set(value, "/internal_signature", json!(text));
        }));
    }
}
