//! The newest orders first, paged by keyset, as the summaries contract §5 describes.

use crate::{order_value, valid, TestDb};
use chrono::{DateTime, Duration, Utc};
use order_model::ValidOrder;
use serde_json::Value;

#[tokio::test]
async fn newest_first_with_keyset_paging() {
    let test = TestDb::new().await;
    let repo = test.repo();
    let base: DateTime<Utc> = "2024-01-01T00:00:00Z".parse().expect("date");
    // 25 orders over 10 distinct instants: ties are ordered by uid, descending.
    let orders: Vec<ValidOrder> = (0..25)
        .map(|n| {
            let at = base + Duration::minutes(n % 10) + Duration::nanoseconds(n * 1000);
            let date = at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
            valid(&order_value(
                &format!("page-{n:02}"),
                1 + n as usize % 3,
                &date,
            ))
        })
        .collect();
    repo.store_batch(&orders).await.expect("store");
    let mut expected: Vec<&ValidOrder> = orders.iter().collect();
    expected
        .sort_by(|a, b| (b.order().date_created, b.uid()).cmp(&(a.order().date_created, a.uid())));

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = repo.newest(10, cursor.clone()).await.expect("page");
        assert!(page.len() <= 10);
        let Some(last) = page.last() else { break };
        cursor = Some((last.date_created, last.order_uid.clone()));
        seen.extend(page);
    }
    let uids: Vec<&str> = seen.iter().map(|s| s.order_uid.as_str()).collect();
    let expected_uids: Vec<&str> = expected.iter().map(|o| o.uid()).collect();
    assert_eq!(uids, expected_uids);

    let top = &seen[0];
    let source = expected[0].order();
    assert_eq!(top.date_created, source.date_created);
    assert_eq!(
        (top.amount, top.currency.as_str()),
        (source.payment.amount, "USD")
    );
    assert_eq!(top.items, source.items.len() as i64);
    assert_eq!(top.customer_id, "test");
    // Contract §5 fixes the key order; serde_json's Value would sort keys, so check the text.
    let text = serde_json::to_string(top).expect("summary JSON");
    let positions: Vec<usize> = order_store::OrderSummary::KEYS
        .iter()
        .map(|key| text.find(&format!("\"{key}\":")).expect("key present"))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    let value: Value = serde_json::from_str(&text).expect("summary JSON");
    assert_eq!(
        value.as_object().map(|map| map.len()),
        Some(order_store::OrderSummary::KEYS.len())
    );
    assert_eq!(repo.newest(0, None).await.expect("empty page"), []);
}
