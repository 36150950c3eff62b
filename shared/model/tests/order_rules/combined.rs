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

#[test]
fn every_rule_broken_at_once_names_every_path() {
    let mut value = with_items(3);
    let broken: &[(&str, Value)] = &[
        ("/order_uid", json!("bad uid!")),
        ("/entry", json!("")),
        ("/delivery/name", json!("R2D2")),
        ("/delivery/phone", json!("+1")),
        ("/delivery/zip", json!("1")),
        ("/delivery/city", json!("")),
        ("/delivery/address", json!(" ")),
        ("/delivery/region", json!("")),
        ("/delivery/email", json!("@")),
        ("/payment/transaction", json!("other")),
        ("/payment/currency", json!("usd")),
        ("/payment/provider", json!("")),
        ("/payment/bank", json!("")),
        ("/payment/delivery_cost", json!(-1)),
        ("/payment/custom_fee", json!(-1)),
        ("/payment/goods_total", json!(-7)),
        ("/payment/amount", json!(-3)),
        ("/items/0/chrt_id", json!(-1)),
        ("/items/0/price", json!(-1)),
        ("/items/0/nm_id", json!(-1)),
        ("/items/1/sale", json!(101)),
        ("/items/1/status", json!(-1)),
        ("/items/1/total_price", json!(-1)),
        ("/items/1/rid", json!("")),
        ("/items/2/name", json!("")),
        ("/items/2/size", json!("")),
        ("/items/2/brand", json!("")),
        ("/items/2/track_number", json!("OTHER")),
        ("/locale", json!("")),
        ("/customer_id", json!("")),
        ("/delivery_service", json!("")),
        ("/shardkey", json!("")),
        ("/sm_id", json!(-1)),
        ("/date_created", json!("2030-01-01T00:00:00Z")),
        ("/oof_shard", json!("")),
    ];
    for (pointer, bad) in broken {
        set(&mut value, pointer, bad.clone());
    }
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
