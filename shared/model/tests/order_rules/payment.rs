//! Payment and numbers: the currency's form, the non-negative fields (at their edges and
//! without overflow) and the sale's upper bound.

use crate::{assert_fails_at, assert_valid, rebalance, set, with, with_items};
use serde_json::json;

#[test]
fn currency_is_three_upper_case_letters() {
    for currency in ["USD", "EUR", "RUB", "JPY", "XXX"] {
        assert_valid(&with(|value| {
            set(value, "/payment/currency", json!(currency))
        }));
    }
    for currency in [
        "usd", "Usd", "US", "USDT", "U5D", "US ", " USD", "", "U-D", "ÄÖÜ", "ДОЛ",
    ] {
        let value = with(|value| set(value, "/payment/currency", json!(currency)));
        assert_fails_at(&value, &["payment.currency"]);
    }
}

/// Non-negative numbers: pointer, and the paths `-1` there produces once the money is
/// rebalanced (a negative `goods_total` or `amount` also breaks its sum, at the same path).
const NON_NEGATIVE: &[(&str, &str)] = &[
    ("/payment/amount", "payment.amount"),
    ("/payment/delivery_cost", "payment.delivery_cost"),
    ("/payment/goods_total", "payment.goods_total"),
    ("/payment/custom_fee", "payment.custom_fee"),
    ("/items/2/chrt_id", "items[2].chrt_id"),
    ("/items/2/price", "items[2].price"),
    ("/items/2/sale", "items[2].sale"),
    ("/items/2/total_price", "items[2].total_price"),
    ("/items/2/nm_id", "items[2].nm_id"),
    ("/items/2/status", "items[2].status"),
    ("/sm_id", "sm_id"),
];

#[test]
fn every_non_negative_field_rejects_minus_one_at_its_own_path() {
    for (pointer, path) in NON_NEGATIVE {
        let mut value = with_items(3);
        set(&mut value, pointer, json!(-1));
        match *pointer {
            // Negative and not the sum: both reasons, one path.
            "/payment/amount" => {}
            // Keep amount consistent with the broken goods_total so only this path fails.
            "/payment/goods_total" => set(&mut value, "/payment/amount", json!(-1 + 1500)),
            _ => rebalance(&mut value),
        }
        assert_fails_at(&value, &[path]);
    }
}

#[test]
fn the_most_negative_number_is_reported_not_overflowed() {
    for field in ["chrt_id", "price", "sale", "nm_id", "status"] {
        let value = with(|value| set(value, &format!("/items/0/{field}"), json!(i64::MIN)));
        assert_fails_at(&value, &[format!("items[0].{field}").as_str()]);
    }
    assert_fails_at(
        &with(|value| set(value, "/sm_id", json!(i64::MIN))),
        &["sm_id"],
    );
    // Money: the sums are computed without overflow and fail too.
    let value = with(|value| set(value, "/items/0/total_price", json!(i64::MIN)));
    assert_fails_at(&value, &["items[0].total_price", "payment.goods_total"]);
    for field in ["amount", "goods_total", "delivery_cost", "custom_fee"] {
        let value = with(|value| set(value, &format!("/payment/{field}"), json!(i64::MIN)));
        let mut expected = vec!["payment.amount".to_owned(), format!("payment.{field}")];
        expected.dedup();
        let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        assert_fails_at(&value, &expected);
    }
}

#[test]
fn every_non_negative_field_accepts_zero() {
    // One order with every such field at zero.
    let mut value = with_items(3);
    for item in 0..3 {
        for field in ["chrt_id", "price", "sale", "total_price", "nm_id", "status"] {
            set(&mut value, &format!("/items/{item}/{field}"), json!(0));
        }
    }
    set(&mut value, "/sm_id", json!(0));
    set(&mut value, "/payment/delivery_cost", json!(0));
    set(&mut value, "/payment/custom_fee", json!(0));
    rebalance(&mut value);
    assert_eq!(value["payment"]["amount"], 0);
    assert_eq!(value["payment"]["goods_total"], 0);
    assert_valid(&value);
}

#[test]
fn huge_money_is_fine_and_sums_cannot_overflow() {
    let mut value = with_items(1);
    set(&mut value, "/items/0/price", json!(i64::MAX));
    set(&mut value, "/items/0/total_price", json!(i64::MAX));
    set(&mut value, "/payment/delivery_cost", json!(0));
    rebalance(&mut value);
    assert_valid(&value);

    // Two items of i64::MAX: no i64 goods_total can equal the sum; reported, not a panic.
    let mut value = with_items(2);
    for item in 0..2 {
        set(
            &mut value,
            &format!("/items/{item}/total_price"),
            json!(i64::MAX),
        );
    }
    set(&mut value, "/payment/goods_total", json!(i64::MAX));
    set(&mut value, "/payment/delivery_cost", json!(0));
    set(&mut value, "/payment/amount", json!(i64::MAX));
    assert_fails_at(&value, &["payment.goods_total"]);

    // amount's sum overflowing i64 is a mismatch too.
    let value = with(|value| {
        set(value, "/payment/delivery_cost", json!(i64::MAX));
        set(value, "/payment/amount", json!(i64::MAX));
    });
    assert_fails_at(&value, &["payment.amount"]);
}

/// The contract lists which numbers are non-negative; `payment_dt` is not among them.
#[test]
fn payment_dt_has_no_sign_rule() {
    for payment_dt in [0, -1, i64::MAX] {
        assert_valid(&with(|value| {
            set(value, "/payment/payment_dt", json!(payment_dt))
        }));
    }
}

#[test]
fn sale_is_at_most_100() {
    for sale in [0, 1, 30, 99, 100] {
        assert_valid(&with(|value| set(value, "/items/0/sale", json!(sale))));
    }
    for sale in [101, 1000, i64::MAX, -1] {
        let value = with(|value| set(value, "/items/0/sale", json!(sale)));
        assert_fails_at(&value, &["items[0].sale"]);
    }
}
