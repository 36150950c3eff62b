//! Several failures at once: every broken path named, in order and once, and how an error
//! displays.

use crate::{assert_fails_at, decode_value, now, set, with, with_delivery, with_items};
use order_model::{decode_at, DeadLetterKind, DecodeError};
use serde_json::{json, Value};

#[test]
fn five_broken_rules_are_all_named() {
    let value = with(|value| {
        set(value, "/delivery/email", json!("not-an-email"));
        set(value, "/delivery/phone", json!("123"));
        set(value, "/items/0/sale", json!(101));
        set(value, "/payment/currency", json!("usd"));
        set(value, "/sm_id", json!(-1));
    });
    let expected = [
        "delivery.email",
        "delivery.phone",
        "items[0].sale",
        "payment.currency",
        "sm_id",
    ];
    assert_fails_at(&value, &expected);
    // The message lists them in that order, each once.
    let message = decode_value(&value).expect_err("invalid").message();
    let positions: Vec<usize> = expected
        .iter()
        .map(|path| message.find(&format!("{path}: ")).expect("named"))
        .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "{message}"
    );
    for path in expected {
        assert_eq!(
            message.matches(&format!("{path}: ")).count(),
            1,
            "{message}"
        );
    }
}

/// [`set`]s each leaf of `patch` at the same place under `at` in `value` (objects key by key,
/// arrays index by index), leaving what `patch` does not name as it is.
fn set_each(value: &mut Value, at: &str, patch: &Value) {
    match patch {
        Value::Object(fields) => {
            for (key, inner) in fields {
                set_each(value, &format!("{at}/{key}"), inner);
            }
        }
        Value::Array(elements) => {
            for (index, inner) in elements.iter().enumerate() {
                set_each(value, &format!("{at}/{index}"), inner);
            }
        }
        leaf => set(value, at, leaf.clone()),
    }
}

#[test]
fn every_rule_broken_at_once_names_every_path() {
    let mut value = with_items(3);
    // Every field that has a rule, broken (the rest of the fixture kept).
    let broken = json!({
        "order_uid": "bad uid!", "entry": "", "locale": "", "customer_id": "",
        "delivery_service": "", "shardkey": "", "sm_id": -1,
        "date_created": "2030-01-01T00:00:00Z", "oof_shard": "",
        "delivery": {
            "name": "R2D2", "phone": "+1", "zip": "1", "city": "", "address": " ", "region": "",
            "email": "@"
        },
        "payment": {
            "transaction": "other", "currency": "usd", "provider": "", "bank": "",
            "delivery_cost": -1, "custom_fee": -1, "goods_total": -7, "amount": -3
        },
        "items": [
            { "chrt_id": -1, "price": -1, "nm_id": -1 },
            { "sale": 101, "status": -1, "total_price": -1, "rid": "" },
            { "name": "", "size": "", "brand": "", "track_number": "OTHER" }
        ]
    });
    set_each(&mut value, "", &broken);
    let expected = [
        "customer_id",
        "date_created",
        "delivery.address",
        "delivery.city",
        "delivery.email",
        "delivery.name",
        "delivery.phone",
        "delivery.region",
        "delivery.zip",
        "delivery_service",
        "entry",
        "items[0].chrt_id",
        "items[0].nm_id",
        "items[0].price",
        "items[1].rid",
        "items[1].sale",
        "items[1].status",
        "items[1].total_price",
        "items[2].brand",
        "items[2].name",
        "items[2].size",
        "items[2].track_number",
        "locale",
        "oof_shard",
        "order_uid",
        "payment.amount",
        "payment.bank",
        "payment.currency",
        "payment.custom_fee",
        "payment.delivery_cost",
        "payment.goods_total",
        "payment.provider",
        "payment.transaction",
        "shardkey",
        "sm_id",
    ];
    assert_fails_at(&value, &expected);
}

#[test]
fn errors_display_with_their_kind_and_message_without() {
    let err = decode_value(&with_delivery("email", "x")).expect_err("invalid");
    assert_eq!(err.kind(), DeadLetterKind::Invalid);
    assert!(
        err.message().starts_with("delivery.email: "),
        "{}",
        err.message()
    );
    assert_eq!(err.to_string(), format!("invalid: {}", err.message()));

    let err = decode_at(b"nope", now()).expect_err("malformed");
    assert_eq!(err.kind(), DeadLetterKind::Malformed);
    assert_eq!(err.to_string(), format!("malformed: {}", err.message()));
}

/// A field that breaks two rules is one entry naming both reasons, so each path appears once.
#[test]
fn a_field_breaking_two_rules_is_listed_once_with_both_reasons() {
    let value = with(|value| set(value, "/payment/amount", json!(-1)));
    let DecodeError::Invalid(errors) = decode_value(&value).expect_err("invalid") else {
        panic!("expected invalid");
    };
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].path, "payment.amount");
    for reason in ["must not be negative", "must equal goods_total"] {
        assert!(
            errors[0].reason.contains(reason),
            "{reason:?} not in {}",
            errors[0].reason
        );
    }

    // A blank item track number is both empty and not the order's.
    let value = with(|value| set(value, "/items/0/track_number", json!("")));
    let message = decode_value(&value).expect_err("invalid").message();
    assert_eq!(
        message.matches("items[0].track_number").count(),
        1,
        "{message}"
    );
}
