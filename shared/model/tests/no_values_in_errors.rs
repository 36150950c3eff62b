//! #18: a rejection's message names field paths and JSON types, never a value from the record.
//! It reaches warn logs and the dead letter's `x-error-message`, and orders carry personal data
//! (names, phones, addresses). Every record of the malformed and invalid corpus
//! ([`PoisonKind`]), and records built to put customer-looking values exactly where serde would
//! quote them, go through [`decode_at`]; no string or number from the record (three characters
//! or more) may appear in [`DecodeError::message`].
//!
//! Positions and the rules' own bounds are not values: `at line 1 column 345`, `offset 208`,
//! `is 1048577 bytes` and `between 0 and 100` are masked before the check, so a price that
//! happens to be 345, or a sale of 100, does not count as a leak.

use chrono::{DateTime, TimeZone, Utc};
use order_model::{decode_at, sample_json, DecodeError};
use order_synthetic::{OrderGenerator, PoisonKind};
use serde_json::{json, Value};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
        .single()
        .expect("a valid date")
}

/// Every string and number in `value`, as text, of at least three characters.
fn leaves(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => out.push(text.clone()),
        Value::Number(number) => out.push(number.to_string()),
        Value::Array(items) => items.iter().for_each(|item| leaves(item, out)),
        Value::Object(map) => map.values().for_each(|item| leaves(item, out)),
        Value::Bool(_) | Value::Null => {}
    }
    out.retain(|leaf| leaf.chars().count() >= 3);
}

/// The numbers in rule texts (`must be between 0 and 100`, `must have 1 to 1000 items`, ...).
const RULE_BOUNDS: &[&str] = &[
    "0 and 100",
    "1 to 1000",
    "1-64",
    "7-15",
    "3-10",
    "24 hours",
    "0000-9999",
    "2^63-1",
    "1048576-byte",
    "127 arrays",
];

/// `message` with the numbers that are positions or sizes replaced by `N`, and rule bounds by
/// `<bound>`.
fn mask_positions(message: &str) -> String {
    let mut message = message.to_owned();
    for bound in RULE_BOUNDS {
        message = message.replace(bound, "<bound>");
    }
    let mut previous = "";
    message
        .split(' ')
        .map(|word| {
            let digits = word.trim_end_matches([',', ')', ';', ':']);
            let masked = matches!(previous, "line" | "column" | "offset" | "is")
                && !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit());
            previous = word;
            if masked {
                word.replacen(digits, "N", 1)
            } else {
                word.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Decodes `record` (which `source` describes, for the values to look for) and asserts that the
/// rejection quotes none of them. Returns how many leaves were checked.
fn assert_no_leak(record: &[u8], source: &Value, what: &str) -> usize {
    let Err(err) = decode_at(record, now()) else {
        panic!("{what} was accepted");
    };
    let message = mask_positions(&err.message());
    let mut values = Vec::new();
    leaves(source, &mut values);
    for value in &values {
        assert!(
            !message.contains(value.as_str()),
            "{what}: the message quotes the value {value:?}: {message}"
        );
    }
    values.len()
}

#[test]
fn no_poison_record_is_quoted_in_its_rejection() {
    let generator = OrderGenerator::new(2024, now());
    let mut checked = 0;
    for seq in 0..120u64 {
        for kind in PoisonKind::ALL {
            let poison = generator.poison_with_seq(seq, kind);
            // Records that are JSON are searched for their own values; the others (not JSON,
            // not UTF-8, cut short) for the values of the order they were made from.
            let source = serde_json::from_slice::<Value>(&poison.value).unwrap_or_else(|_| {
                serde_json::to_value(generator.order_with_seq(seq)).unwrap_or(Value::Null)
            });
            checked += assert_no_leak(&poison.value, &source, &format!("{kind:?} #{seq}"));
        }
    }
    assert!(checked > 100_000, "only {checked} values checked");
}

/// Where serde would quote the value: a string where a number belongs, a number where a string
/// belongs, an unreadable date, a bad element of an array, a bad unknown field.
#[test]
fn customer_values_in_the_wrong_place_are_not_quoted() {
    let cases: Vec<(&str, Value)> = vec![
        ("/payment/amount", json!("Ivan Petrovich Sidorov")),
        ("/items/0/price", json!("+79161234567")),
        ("/sm_id", json!("ivan.sidorov@example.org")),
        ("/items/0/sale", json!(12.75)),
        ("/items/0/chrt_id", json!(18446744073709551615u64)),
        ("/delivery/name", json!(4_111_111_111_111_111i64)),
        ("/delivery/phone", json!(79_161_234_567i64)),
        ("/delivery/zip", json!(["Lenina 15", "Moscow"])),
        ("/delivery/email", json!({"address": "ivan@example.org"})),
        ("/payment/transaction", json!(true)),
        ("/date_created", json!("Tuesday the 14th, Ivan's birthday")),
        ("/date_created", json!("2021-13-45T06:22:19Z")),
        ("/date_created", json!(1_637_907_727)),
        ("/items", json!({"name": "Mascaras", "price": 453})),
        ("/items/0", json!("Vivienne Sabo Mascara")),
        ("/delivery", json!("Kiryat Mozkin, Ploshad Mira 15")),
    ];
    for (pointer, bad) in cases {
        let mut order = sample_json();
        *order.pointer_mut(pointer).expect("in the fixture") = bad.clone();
        let text = order.to_string();
        assert_no_leak(text.as_bytes(), &order, &format!("{pointer} = {bad}"));
        let message = decode_at(text.as_bytes(), now()).err().map(|e| e.message());
        let path = pointer
            .trim_start_matches('/')
            .replace("/0", "[0]")
            .replace('/', ".");
        assert!(
            message.as_deref().is_some_and(|m| m.contains(&path)),
            "{pointer}: {message:?} names no path"
        );
    }
}

#[test]
fn broken_rules_are_not_quoted_either() {
    let mut order = sample_json();
    order["delivery"]["email"] = json!("ivan sidorov at example.org");
    order["delivery"]["phone"] = json!("8 (916) 123-45-67");
    order["delivery"]["name"] = json!("Ivan #42 Sidorov");
    order["payment"]["amount"] = json!(987_654_321);
    order["payment"]["transaction"] = json!("someone-elses-order");
    order["items"][0]["total_price"] = json!(123_456);
    let text = order.to_string();
    assert_no_leak(text.as_bytes(), &order, "invalid order");
    assert!(matches!(
        decode_at(text.as_bytes(), now()),
        Err(DecodeError::Invalid(_))
    ));
}

#[test]
fn unreadable_and_repeated_unknown_fields_are_not_quoted() {
    let fixture = sample_json().to_string();
    for extra in [
        r#""passport":{"number":"4510 123456","number":"4510 123456"},"#,
        r#""card":"\ud800 4111 1111 1111 1111","#,
        r#""balance":1e999,"#,
        r#""order_uid":"b563feb7b2b84b6test","#,
    ] {
        let text = fixture.replacen('{', &format!("{{{extra}"), 1);
        let source: Value = serde_json::from_str(&format!("{{{}}}", extra.trim_end_matches(',')))
            .unwrap_or_else(|_| {
                json!(["4510 123456", "4111 1111 1111 1111", "b563feb7b2b84b6test"])
            });
        assert_no_leak(text.as_bytes(), &source, extra);
    }
}

#[test]
fn masking_only_touches_positions() {
    assert_eq!(
        mask_positions("x: expected a string, found a number at line 1 column 345"),
        "x: expected a string, found a number at line N column N"
    );
    assert_eq!(
        mask_positions("message is 1048577 bytes"),
        "message is N bytes"
    );
    assert_eq!(mask_positions("price 345"), "price 345");
}
