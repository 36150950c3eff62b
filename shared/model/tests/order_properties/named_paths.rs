//! Property (c): an order with several broken rules is rejected naming every broken path,
//! sorted, once each.

use crate::{check_classified, config, generator};
use order_model::DecodeError;
use pipeline_testing::decode_oracle::path_order;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};

/// Breaks one rule in an order (the `usize` is an item index).
type Breaker = fn(&mut Value, usize);

/// Rule breakers that do not interfere with each other, each with the path it must produce
/// (`{i}` is replaced by the item index the breaker was applied to).
const BREAKERS: &[(&str, Breaker)] = &[
    ("order_uid", |v, _| {
        let uid = format!("{} !", v["order_uid"].as_str().unwrap_or(""));
        v["order_uid"] = json!(uid);
        v["payment"]["transaction"] = json!(uid);
    }),
    ("payment.transaction", |v, _| {
        v["payment"]["transaction"] = json!("someone-else")
    }),
    ("entry", |v, _| v["entry"] = json!("")),
    ("delivery.name", |v, _| {
        v["delivery"]["name"] = json!("R2-D2")
    }),
    ("delivery.phone", |v, _| {
        v["delivery"]["phone"] = json!("+12345")
    }),
    ("delivery.zip", |v, _| v["delivery"]["zip"] = json!("12")),
    ("delivery.email", |v, _| {
        v["delivery"]["email"] = json!("nobody.example.com")
    }),
    ("delivery.city", |v, _| v["delivery"]["city"] = json!(" ")),
    ("payment.currency", |v, _| {
        v["payment"]["currency"] = json!("usd")
    }),
    ("payment.bank", |v, _| v["payment"]["bank"] = json!("")),
    ("payment.goods_total", |v, _| {
        v["payment"]["goods_total"] = json!(v["payment"]["goods_total"].as_i64().unwrap_or(0) + 1);
        v["payment"]["amount"] = json!(v["payment"]["amount"].as_i64().unwrap_or(0) + 1);
    }),
    ("payment.amount", |v, _| {
        v["payment"]["amount"] = json!(v["payment"]["amount"].as_i64().unwrap_or(0) + 1000)
    }),
    ("items[{i}].sale", |v, i| v["items"][i]["sale"] = json!(101)),
    ("items[{i}].nm_id", |v, i| {
        v["items"][i]["nm_id"] = json!(-1)
    }),
    ("items[{i}].rid", |v, i| v["items"][i]["rid"] = json!("")),
    ("items[{i}].track_number", |v, i| {
        v["items"][i]["track_number"] = json!("ELSEWHERE")
    }),
    ("locale", |v, _| v["locale"] = json!("")),
    ("sm_id", |v, _| v["sm_id"] = json!(-1)),
    ("date_created", |v, _| {
        v["date_created"] = json!("2099-01-01T00:00:00Z")
    }),
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_broken_rule_is_named_once_in_order(
        seed in any::<u64>(),
        seq in 0..100_000u64,
        chosen in vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 1..8),
    ) {
        let mut value = serde_json::to_value(generator(seed).order_with_seq(seq)).expect("value");
        let items = value["items"].as_array().map_or(1, Vec::len);
        let mut expected = Vec::new();
        for (breaker, item) in &chosen {
            let (path, breaker) = BREAKERS[breaker.index(BREAKERS.len())];
            let item = item.index(items);
            breaker(&mut value, item);
            expected.push(path.replace("{i}", &item.to_string()));
        }
        // The uid breaker also rewrites transaction: if both were chosen, the later one wins.
        if expected.iter().any(|path| path == "order_uid") && expected.iter().any(|path| path == "payment.transaction") {
            let uid = value["order_uid"].as_str().unwrap_or("").to_owned();
            if value["payment"]["transaction"] == json!(uid) {
                expected.retain(|path| path != "payment.transaction");
            }
        }
        expected.sort_by(|a, b| path_order(a, b));
        expected.dedup();

        let err = check_classified(value.to_string().as_bytes())?.err()
            .ok_or_else(|| TestCaseError::fail("a broken order was accepted"))?;
        let DecodeError::Invalid(errors) = &err else {
            return Err(TestCaseError::fail(format!("expected invalid, got {err}")));
        };
        let paths: Vec<&str> = errors.iter().map(|error| error.path.as_str()).collect();
        prop_assert_eq!(paths, expected.iter().map(String::as_str).collect::<Vec<_>>());
    }
}
