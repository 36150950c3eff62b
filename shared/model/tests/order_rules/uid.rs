//! `order_uid`: 1 to 64 characters of `[A-Za-z0-9_-]`; `payment.transaction` equals it.

use crate::{assert_fails_at, assert_valid, set, with};
use serde_json::{json, Value};

fn with_uid(uid: &str) -> Value {
    with(|value| {
        set(value, "/order_uid", json!(uid));
        set(value, "/payment/transaction", json!(uid));
    })
}

#[test]
fn order_uid_of_1_to_64_allowed_characters_is_accepted() {
    for uid in [
        "a",
        "Z",
        "0",
        "_",
        "-",
        "aZ09_-",
        &"x".repeat(64),
        &"-_".repeat(32),
    ] {
        assert_eq!(assert_valid(&with_uid(uid)).uid(), uid);
    }
}

#[test]
fn order_uid_of_0_or_65_characters_is_invalid() {
    for uid in [String::new(), "x".repeat(65), "a".repeat(1000)] {
        assert_fails_at(&with_uid(&uid), &["order_uid"]);
    }
}

#[test]
fn order_uid_with_other_characters_is_invalid() {
    let bad = [
        "abc def",
        "abc.def",
        "abc/def",
        "abc\\def",
        "abc+def",
        "abc:def",
        "abc%20",
        "abc!",
        "é",
        "ü1",
        "абв",
        "订单",
        "a\u{0}b",
        "a\nb",
        "a\tb",
        " abc",
        "abc ",
        "ａｂｃ",
        "١٢٣",
        // 32 two-byte characters: 64 bytes but not the allowed alphabet.
        &"é".repeat(32),
    ];
    for uid in bad {
        assert_fails_at(&with_uid(uid), &["order_uid"]);
    }
}

#[test]
fn payment_transaction_must_equal_order_uid() {
    for transaction in ["other", "B563FEB7B2B84B6TEST", "b563feb7b2b84b6test ", ""] {
        let value = with(|value| set(value, "/payment/transaction", json!(transaction)));
        assert_fails_at(&value, &["payment.transaction"]);
    }
    // A bad uid copied into transaction is reported once, at order_uid.
    assert_fails_at(&with_uid("bad uid"), &["order_uid"]);
}
