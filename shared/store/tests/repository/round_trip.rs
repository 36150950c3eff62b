//! Orders come back exactly as they were stored: the fixture, unusual dates, many items.

use crate::{assert_served, order_value, valid, TestDb};
use order_model::{decode, ValidOrder, SAMPLE_JSON};
use order_store::StoreOutcome::Stored;
use serde_json::Value;

#[tokio::test]
async fn fixture_round_trips_byte_for_byte() {
    let test = TestDb::new().await;
    let repo = test.repo();
    let fixture = decode(SAMPLE_JSON.as_bytes()).expect("fixture is valid");
    assert_eq!(
        repo.store_batch(std::slice::from_ref(&fixture))
            .await
            .expect("store"),
        [Stored]
    );

    let served = assert_served(&repo, &fixture).await;
    let original: Value = serde_json::from_str(SAMPLE_JSON).expect("fixture is JSON");
    assert_eq!(
        serde_json::from_str::<Value>(&served).expect("served JSON"),
        original
    );
    assert_eq!(repo.get(fixture.uid()).await.expect("get"), Some(fixture));
    assert_eq!(repo.get("no-such-order").await.expect("get"), None);
}

#[tokio::test]
async fn unusual_dates_and_many_items_round_trip() {
    let test = TestDb::new().await;
    let repo = test.repo();
    let orders: Vec<ValidOrder> = [
        ("nanos", 3, "2021-11-26T06:22:19.123456789Z"),
        ("nanos-before-2000", 1, "1969-07-20T20:17:40.000000999Z"),
        ("offset", 2, "2021-11-26T09:22:19.5+03:00"),
        ("year-zero", 1, "0000-03-01T12:00:00Z"),
        ("big", 1000, "2024-01-01T00:00:00Z"),
    ]
    .iter()
    .map(|(uid, items, date)| valid(&order_value(uid, *items, date)))
    .collect();
    assert_eq!(repo.store_batch(&orders).await.expect("store"), [Stored; 5]);
    for order in &orders {
        assert_served(&repo, order).await;
    }
}
