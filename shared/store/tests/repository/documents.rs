//! The stored canonical document (migration 0003): an order with fields this version does not
//! know (contract §11) is served back byte for byte, unknown fields included; they count for
//! duplicate-vs-conflict; and an order stored before the migration (no document) is still served
//! exactly, assembled from the normalized tables.

use crate::{assert_served, TestDb};
use chrono::{TimeZone, Utc};
use order_model::{decode, decode_at, ValidOrder, SAMPLE_JSON};
use order_store::StoreOutcome::{Conflict, Duplicate, Stored};
use order_synthetic::OrderGenerator;

/// The document column, read and cleared directly.
impl TestDb {
    /// Makes the order look as if stored before migration 0003.
    async fn forget_document(&self, uid: &str) {
        let client = self.db.pool().get().await.expect("connection");
        let changed = client
            .execute(
                "UPDATE orders SET document = NULL WHERE order_uid = $1",
                &[&uid],
            )
            .await
            .expect("update");
        assert_eq!(changed, 1);
    }

    async fn document(&self, uid: &str) -> Option<String> {
        let client = self.db.pool().get().await.expect("connection");
        client
            .query_one(
                "SELECT document::text FROM orders WHERE order_uid = $1",
                &[&uid],
            )
            .await
            .expect("select")
            .get(0)
    }
}

fn evolved(count: u64) -> Vec<ValidOrder> {
    let base = Utc
        .with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
        .single()
        .expect("date");
    let generator = OrderGenerator::new(31, base);
    (0..count)
        .map(|seq| {
            let text = serde_json::to_string(&generator.evolved_order_with_seq(seq)).expect("json");
            decode_at(text.as_bytes(), base).expect("valid")
        })
        .collect()
}

#[tokio::test]
async fn orders_with_unknown_fields_come_back_byte_for_byte() {
    let test = TestDb::new().await;
    let repo = test.repo();
    let orders = evolved(20);
    assert_eq!(
        repo.store_batch(&orders).await.expect("store"),
        [Stored; 20]
    );
    for order in &orders {
        let served = assert_served(&repo, order).await;
        assert!(
            served.contains("\"partner_ref\":1"),
            "big number kept: {served}"
        );
        assert_eq!(
            test.document(order.uid()).await.as_deref(),
            Some(served.as_str())
        );
        assert_eq!(
            repo.get(order.uid()).await.expect("get").as_ref(),
            Some(order)
        );
    }
}

#[tokio::test]
async fn unknown_fields_decide_duplicate_or_conflict() {
    let test = TestDb::new().await;
    let repo = test.repo();
    let original = evolved(1).remove(0);
    assert_eq!(repo.store(&original).await.expect("store"), Stored);
    assert_eq!(repo.store(&original).await.expect("again"), Duplicate);
    // Same known fields, one unknown field changed: another order under the same uid.
    let changed = original
        .canonical_json()
        .replacen("\"gift_wrap\":", "\"gift_wrap\":0,\"x\":", 1);
    let changed = decode_at(changed.as_bytes(), original.order().date_created).expect("valid");
    assert_eq!(changed.order().delivery, original.order().delivery);
    assert_eq!(repo.store(&changed).await.expect("store"), Conflict);
    let served = repo.get_json(original.uid()).await.expect("get");
    assert_eq!(
        served.as_deref(),
        Some(original.canonical_json()),
        "left unchanged"
    );
}

#[tokio::test]
async fn orders_stored_before_the_documents_are_assembled_from_the_tables() {
    let test = TestDb::new().await;
    let repo = test.repo();
    let fixture = decode(SAMPLE_JSON.as_bytes()).expect("fixture");
    let mut late = serde_json::to_value(fixture.order()).expect("value");
    late["order_uid"] = "nanos".into();
    late["payment"]["transaction"] = "nanos".into();
    late["date_created"] = "2021-11-26T09:22:19.123456789+03:00".into();
    let late = decode(late.to_string().as_bytes()).expect("valid");
    let orders = [fixture, late];
    assert_eq!(repo.store_batch(&orders).await.expect("store"), [Stored; 2]);
    for order in &orders {
        test.forget_document(order.uid()).await;
        assert_served(&repo, order).await;
        assert_eq!(
            repo.get(order.uid()).await.expect("get").as_ref(),
            Some(order)
        );
        // Still a duplicate of itself: the fingerprint never depended on the document.
        assert_eq!(repo.store(order).await.expect("again"), Duplicate);
    }
    assert_eq!(repo.get_json("absent").await.expect("get"), None);
}

#[tokio::test]
async fn many_orders_are_read_in_one_statement_documents_assembled_and_absent_alike() {
    let test = TestDb::new().await;
    let repo = test.repo();
    let orders = evolved(5);
    assert_eq!(repo.store_batch(&orders).await.expect("store"), [Stored; 5]);
    // One of them as if stored before migration 0003.
    test.forget_document(orders[2].uid()).await;
    let mut uids: Vec<&str> = orders.iter().map(ValidOrder::uid).collect();
    uids.insert(1, "absent");
    let mut found = repo.get_json_many(&uids).await.expect("read");
    found.sort();
    let mut expected: Vec<(String, String)> = Vec::new();
    for order in &orders {
        let one = repo
            .get_json(order.uid())
            .await
            .expect("get")
            .expect("stored");
        expected.push((order.uid().to_owned(), one));
    }
    expected.sort();
    assert_eq!(
        found, expected,
        "every stored uid once, as get_json serves it"
    );
    for order in [&orders[0], &orders[1], &orders[3], &orders[4]] {
        let (_, json) = found
            .iter()
            .find(|(uid, _)| uid == order.uid())
            .expect("found");
        assert_eq!(json, order.canonical_json(), "the stored document as is");
    }
    assert!(repo
        .get_json_many(&[])
        .await
        .expect("none asked")
        .is_empty());
    assert!(repo
        .get_json_many(&["absent"])
        .await
        .expect("read")
        .is_empty());
}

/// An order without a document and without its payment row cannot be served: the read fails
/// naming the order, rather than answering with part of it or as if it were not stored.
#[tokio::test]
async fn an_order_with_neither_document_nor_payment_is_an_error() {
    let test = TestDb::new().await;
    let repo = test.repo();
    let orders = evolved(2);
    assert_eq!(repo.store_batch(&orders).await.expect("store"), [Stored; 2]);
    let broken = orders[1].uid();
    test.forget_document(broken).await;
    let client = test.db.pool().get().await.expect("connection");
    client
        .execute("DELETE FROM payments WHERE order_uid = $1", &[&broken])
        .await
        .expect("delete");
    let err = repo
        .get_json_many(&[orders[0].uid(), broken])
        .await
        .expect_err("broken store");
    assert!(
        err.to_string()
            .contains(&format!("stored order {broken} has neither")),
        "{err}"
    );
}
