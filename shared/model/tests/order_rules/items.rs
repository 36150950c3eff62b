//! The items list (1 to 1000 entries, each carrying the order's track number) and the money
//! sums across it.

use crate::{assert_fails_at, assert_valid, set, with, with_items};
use serde_json::json;

#[test]
fn items_has_1_to_1000_entries() {
    for count in [1, 2, 1000] {
        assert_eq!(assert_valid(&with_items(count)).order().items.len(), count);
    }
    for count in [0, 1001] {
        assert_fails_at(&with_items(count), &["items"]);
    }
}

/// Too many items *and* a bad item: both are reported (this combination used to panic inside
/// the validator, which cannot hold a list-level and a per-item error for the same field).
#[test]
fn too_many_items_and_a_bad_item_are_both_reported() {
    let mut value = with_items(1001);
    set(&mut value, "/items/500/price", json!(-1));
    set(&mut value, "/items/1000/brand", json!(""));
    assert_fails_at(&value, &["items", "items[500].price", "items[1000].brand"]);

    let mut value = with_items(1001);
    set(&mut value, "/items/7/track_number", json!("OTHER"));
    assert_fails_at(&value, &["items", "items[7].track_number"]);
}

#[test]
fn every_item_track_number_equals_the_orders() {
    let mut value = with_items(3);
    set(
        &mut value,
        "/items/1/track_number",
        json!("WBILMOTHERTRACK"),
    );
    assert_fails_at(&value, &["items[1].track_number"]);

    // Case matters.
    let mut value = with_items(3);
    set(&mut value, "/items/2/track_number", json!("wbilmtesttrack"));
    assert_fails_at(&value, &["items[2].track_number"]);

    // The order's own track number changed: every item is now off.
    let mut value = with_items(3);
    set(&mut value, "/track_number", json!("WBILMNEWTRACK"));
    assert_fails_at(
        &value,
        &[
            "items[0].track_number",
            "items[1].track_number",
            "items[2].track_number",
        ],
    );
}

#[test]
fn paths_sort_items_numerically() {
    let mut value = with_items(12);
    for item in [11, 2, 10, 9] {
        set(&mut value, &format!("/items/{item}/nm_id"), json!(-5));
    }
    assert_fails_at(
        &value,
        &[
            "items[2].nm_id",
            "items[9].nm_id",
            "items[10].nm_id",
            "items[11].nm_id",
        ],
    );
}

// Arithmetic

#[test]
fn goods_total_is_the_sum_of_item_totals() {
    assert_valid(&with_items(5));
    for goods_total in [316, 318, 0] {
        let value = with(|value| {
            set(value, "/payment/goods_total", json!(goods_total));
            set(value, "/payment/amount", json!(goods_total + 1500));
        });
        assert_fails_at(&value, &["payment.goods_total"]);
    }
    // An item's total changed without the order's total following.
    let mut value = with_items(3);
    set(&mut value, "/items/1/total_price", json!(318));
    assert_fails_at(&value, &["payment.goods_total"]);
}

#[test]
fn amount_is_goods_total_plus_delivery_cost_plus_custom_fee() {
    let value = with(|value| {
        set(value, "/payment/custom_fee", json!(100));
        set(value, "/payment/amount", json!(317 + 1500 + 100));
    });
    assert_valid(&value);
    for amount in [1816, 1818, 0, 317] {
        let value = with(|value| set(value, "/payment/amount", json!(amount)));
        assert_fails_at(&value, &["payment.amount"]);
    }
    // A fee added without the amount following.
    let value = with(|value| set(value, "/payment/custom_fee", json!(1)));
    assert_fails_at(&value, &["payment.amount"]);
}
