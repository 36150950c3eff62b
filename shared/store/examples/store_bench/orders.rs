//! `count` orders shaped like the contract fixture, for both sides of the write figures.

use crate::Result;
use order_model::{decode, ValidOrder, SAMPLE_JSON};
use serde_json::{json, Value};

/// `count` valid orders of about three items each, uids prefixed by `prefix`.
pub fn orders(prefix: &str, count: usize) -> Result<Vec<ValidOrder>> {
    let sample: Value = serde_json::from_str(SAMPLE_JSON)?;
    let base = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")?;
    (0..count)
        .map(|n| {
            let uid = format!("{prefix}{n:08}");
            let items = 2 + n % 3; // 2, 3 or 4: three on average
            let mut order = sample.clone();
            let mut lines = Vec::with_capacity(items);
            for line in 0..items {
                let mut item = sample["items"][0].clone();
                item["chrt_id"] = json!(9_000_000 + n * 4 + line);
                item["rid"] = json!(format!("{uid}-{line}"));
                item["total_price"] = json!(100 + line);
                lines.push(item);
            }
            let goods: usize = (0..items).map(|line| 100 + line).sum();
            order["order_uid"] = json!(uid);
            order["payment"]["transaction"] = json!(uid);
            order["payment"]["goods_total"] = json!(goods);
            order["payment"]["amount"] = json!(goods + 1500);
            order["items"] = Value::Array(lines);
            let at = base + chrono::Duration::milliseconds(n as i64 * 1500);
            order["date_created"] = json!(at.to_rfc3339());
            order["customer_id"] = json!(format!("customer-{}", n % 997));
            Ok(decode(order.to_string().as_bytes())?)
        })
        .collect()
}
