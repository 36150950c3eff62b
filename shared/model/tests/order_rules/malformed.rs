//! The inputs that are `malformed`, never `invalid`: oversized, not UTF-8, not JSON, not an
//! object, wrong types, missing fields, duplicate keys; unknown fields are not among them.

use crate::{
    assert_malformed, assert_valid, compact, now, set, with, DELIVERY_KEYS, ITEM_KEYS, PAYMENT_KEYS,
};
use order_model::{decode_at, sample_json, Order, MAX_MESSAGE_BYTES, SAMPLE_JSON};
use serde_json::{json, Value};

#[test]
fn more_than_1_mib_is_malformed_even_if_the_order_is_valid() {
    // Exactly at the limit (padding after the document) is still read.
    let mut at_limit = SAMPLE_JSON.as_bytes().to_vec();
    at_limit.resize(MAX_MESSAGE_BYTES, b' ');
    assert!(decode_at(&at_limit, now()).is_ok());
    at_limit.push(b' ');
    assert_malformed(&at_limit);

    let big = with(|value| {
        set(
            value,
            "/internal_signature",
            json!("a".repeat(MAX_MESSAGE_BYTES)),
        )
    });
    assert_malformed(big.to_string().as_bytes());
    // Oversized garbage is refused by size, before anything else.
    let err = decode_at(&vec![0xFF; MAX_MESSAGE_BYTES + 1], now()).expect_err("too big");
    assert!(err.message().contains("limit"), "{}", err.message());
}

#[test]
fn non_utf8_is_malformed() {
    let text = sample_json().to_string();
    let at = text.find("Test Testov").expect("name in fixture");
    let mut latin1 = text.clone().into_bytes();
    latin1.insert(at, 0xE9); // Latin-1 'é'
    assert_malformed(&latin1);

    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    assert_malformed(&utf16);

    for bytes in [
        &b"\xFF"[..],
        b"\xC0\xAF",
        b"\xED\xA0\x80",
        b"{\"order_uid\":\"\x80\"}",
    ] {
        assert_malformed(bytes);
    }
}

#[test]
fn not_json_is_malformed() {
    let inputs: [&[u8]; 12] = [
        b"",
        b" ",
        b"hello",
        b"{",
        b"}",
        b"<order/>",
        b"order_uid=b563feb7b2b84b6test",
        b"{'order_uid': 'x'}",
        b"NaN",
        b"\0",
        b"{\"order_uid\" \"x\"}",
        b"{\"order_uid\":\"x\",}",
    ];
    for input in inputs {
        assert_malformed(input);
    }
    // Trailing data after a complete document.
    assert_malformed(format!("{SAMPLE_JSON}x").as_bytes());
    assert_malformed(format!("{SAMPLE_JSON}{SAMPLE_JSON}").as_bytes());
    // Deep nesting is refused, without exhausting the stack.
    assert_malformed("[".repeat(100_000).as_bytes());
    assert_malformed(format!("{}1{}", "[".repeat(200), "]".repeat(200)).as_bytes());
}

#[test]
fn every_truncation_is_malformed() {
    for text in [SAMPLE_JSON.trim_end().to_owned(), compact(SAMPLE_JSON)] {
        for cut in 0..text.len() {
            assert_malformed(&text.as_bytes()[..cut]);
        }
    }
}

#[test]
fn json_that_is_not_an_object_is_malformed() {
    let array = format!("[{SAMPLE_JSON}]");
    for input in [
        "[]",
        &array,
        "null",
        "0",
        "1817",
        "-1",
        "1.5",
        "\"order\"",
        "true",
        "false",
        "{}",
    ] {
        assert_malformed(input.as_bytes());
    }
}

#[test]
fn wrong_types_are_malformed() {
    let cases: &[(&str, Value)] = &[
        ("/payment/amount", json!("1817")),
        ("/payment/amount", json!(1.5)),
        ("/payment/amount", json!(1817.0)),
        ("/payment/amount", json!(true)),
        ("/payment/amount", json!(null)),
        ("/payment/amount", json!([1817])),
        ("/items/0/sale", json!(12.5)),
        ("/items/0/price", json!("453")),
        ("/sm_id", json!("99")),
        ("/payment/payment_dt", json!("1637907727")),
        ("/order_uid", json!(123)),
        ("/order_uid", json!(null)),
        ("/payment/request_id", json!(null)),
        ("/internal_signature", json!(null)),
        ("/delivery/phone", json!(9720000000_i64)),
        ("/delivery/zip", json!(2639809)),
        ("/shardkey", json!(9)),
        ("/delivery", json!("Test Testov")),
        ("/delivery", json!(null)),
        ("/delivery", json!([])),
        ("/payment", json!({})),
        ("/items", json!({})),
        ("/items", json!(null)),
        ("/items", json!([[]])),
        ("/items", json!(["item"])),
        ("/date_created", json!(1637907727)),
        ("/date_created", json!(null)),
    ];
    for (pointer, wrong) in cases {
        let value = with(|value| set(value, pointer, wrong.clone()));
        assert_malformed(value.to_string().as_bytes());
    }
    // Integers JSON can write but an i64 cannot hold, and exponent notation.
    let text = compact(SAMPLE_JSON);
    for number in [
        "9223372036854775808",
        "-9223372036854775809",
        "1e3",
        "1817E0",
        "18.17e2",
        "1817.",
        "+1817",
        "0x719",
    ] {
        let replaced = text.replace("\"amount\":1817", &format!("\"amount\":{number}"));
        assert_ne!(replaced, text);
        assert_malformed(replaced.as_bytes());
    }
}

/// Contract §11: a field this version does not know is kept, at every level, whatever its name
/// (the details are in `evolution.rs`).
#[test]
fn unknown_fields_are_accepted_at_every_level() {
    for pointer in ["", "/delivery", "/payment", "/items/0"] {
        for key in ["extra", "Order_uid", "order_uid ", ""] {
            let value = with(|value| {
                let object = value
                    .pointer_mut(pointer)
                    .and_then(Value::as_object_mut)
                    .expect("object");
                assert!(!object.contains_key(key));
                object.insert(key.to_owned(), json!("x"));
            });
            let order = assert_valid(&value);
            let served: Value = serde_json::from_str(order.canonical_json()).expect("JSON");
            assert_eq!(served, value, "{pointer} {key:?}");
        }
    }
}

#[test]
fn every_missing_field_is_malformed() {
    let fixture = sample_json();
    let mut removed = 0;
    for pointer in ["", "/delivery", "/payment", "/items/0"] {
        let keys: Vec<String> = fixture
            .pointer(pointer)
            .and_then(Value::as_object)
            .expect("object")
            .keys()
            .cloned()
            .collect();
        for key in keys {
            let value = with(|value| {
                value
                    .pointer_mut(pointer)
                    .and_then(Value::as_object_mut)
                    .expect("object")
                    .remove(&key);
            });
            assert_malformed(value.to_string().as_bytes());
            removed += 1;
        }
    }
    assert_eq!(
        removed,
        14 + 7 + 10 + 11,
        "every contract field was removed once"
    );
}

#[test]
fn duplicate_keys_are_malformed() {
    let text = compact(SAMPLE_JSON);
    let twice = text.replacen('{', "{\"order_uid\":\"b563feb7b2b84b6test\",", 1);
    assert_malformed(twice.as_bytes());
    let twice = text.replace("\"sale\":30", "\"sale\":30,\"sale\":30");
    assert_malformed(twice.as_bytes());
}

#[test]
fn bad_json_strings_are_malformed() {
    let text = compact(SAMPLE_JSON);
    for bad in ["\\ud800", "\\x41", "\\u12", "\u{1}", "\n"] {
        let replaced = text.replace("Kiryat Mozkin", &format!("Kiryat{bad}Mozkin"));
        assert_malformed(replaced.as_bytes());
    }
    // Escapes that are valid JSON decode to the same text.
    let escaped = text.replace("Kiryat Mozkin", "Kiryat\\u0020Mozkin");
    let order = decode_at(escaped.as_bytes(), now()).expect("valid");
    assert_eq!(order.canonical_json(), text);
}

/// serde's derived structs also read a JSON array of the field values in order; the contract
/// says an order is an object, at every level.
#[test]
fn objects_written_as_arrays_of_their_values_are_malformed() {
    let fixture = sample_json();
    // serde_json's map keeps keys sorted, not in contract order: build the arrays by hand.
    let order: Order = serde_json::from_str(SAMPLE_JSON).expect("fixture");
    let delivery = serde_json::to_value(&order.delivery).expect("serializes");
    let payment = serde_json::to_value(&order.payment).expect("serializes");
    let item = serde_json::to_value(&order.items[0]).expect("serializes");
    let in_contract_order = |value: &Value, keys: &[&str]| {
        Value::Array(keys.iter().map(|key| value[*key].clone()).collect())
    };
    let delivery_array = in_contract_order(&delivery, DELIVERY_KEYS);
    let payment_array = in_contract_order(&payment, PAYMENT_KEYS);
    let item_array = in_contract_order(&item, ITEM_KEYS);
    for (pointer, array) in [
        ("/delivery", &delivery_array),
        ("/payment", &payment_array),
        ("/items/0", &item_array),
    ] {
        let value = with(|value| set(value, pointer, array.clone()));
        assert_malformed(value.to_string().as_bytes());
    }
    let whole = json!([
        fixture["order_uid"],
        fixture["track_number"],
        fixture["entry"],
        delivery_array,
        payment_array,
        [item_array],
        fixture["locale"],
        fixture["internal_signature"],
        fixture["customer_id"],
        fixture["delivery_service"],
        fixture["shardkey"],
        fixture["sm_id"],
        fixture["date_created"],
        fixture["oof_shard"],
    ]);
    assert_malformed(whole.to_string().as_bytes());
}
