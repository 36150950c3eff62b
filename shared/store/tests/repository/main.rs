//! The order repository against a real PostgreSQL (the local stack, or `DATABASE_URL`). Every
//! test works in its own fresh database, so they run in parallel.
//!
//! One test binary: this file holds the test database and the orders every module uses; each
//! module is one concern of the repository.

mod documents;
mod failures;
mod migrations;
mod outcomes;
mod paging;
mod round_trip;

use order_model::{decode, ValidOrder, SAMPLE_JSON};
use order_store::{Db, OrderRepository, PostgresArgs};
use pipeline_testing::db::postgres_args;
use serde_json::{json, Value};

/// A test database, dropped by its guard when the test ends (also when it fails).
struct TestDb {
    db: pipeline_testing::db::TestDb,
}

impl TestDb {
    async fn new() -> Self {
        let db = pipeline_testing::db::TestDb::create().await;
        Self { db }
    }

    fn repo(&self) -> OrderRepository {
        OrderRepository::new(self.db.db().clone())
    }

    /// Another pool on this database: the tests' settings with `edit` applied.
    async fn connect(&self, edit: impl FnOnce(&mut PostgresArgs)) -> Db {
        let mut args = postgres_args(self.db.name());
        edit(&mut args);
        Db::connect(&args).await.expect("pool")
    }
}

/// What the repository serves for `order`, which must be stored, after checking that it is the
/// order's canonical JSON byte for byte.
async fn assert_served(repo: &OrderRepository, order: &ValidOrder) -> String {
    let served = repo
        .get_json(order.uid())
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(served, order.canonical_json(), "{}", order.uid());
    served
}

/// The fixture with another uid, `items` items (totals kept consistent) and another date.
fn order_value(uid: &str, items: usize, date: &str) -> Value {
    let mut order: Value = serde_json::from_str(SAMPLE_JSON).expect("fixture is JSON");
    let template = order["items"][0].clone();
    let lines: Vec<Value> = (0..items)
        .map(|line| {
            let mut item = template.clone();
            item["chrt_id"] = json!(1000 + line);
            item["rid"] = json!(format!("{uid}-rid-{line}"));
            item["total_price"] = json!(100 + line);
            item
        })
        .collect();
    let goods_total: i64 = (0..items as i64).map(|line| 100 + line).sum();
    order["order_uid"] = json!(uid);
    order["payment"]["transaction"] = json!(uid);
    order["payment"]["goods_total"] = json!(goods_total);
    order["payment"]["amount"] = json!(goods_total + 1500);
    order["items"] = Value::Array(lines);
    order["date_created"] = json!(date);
    order
}

fn valid(value: &Value) -> ValidOrder {
    decode(value.to_string().as_bytes()).expect("test order is valid")
}

fn order(uid: &str, items: usize) -> ValidOrder {
    valid(&order_value(uid, items, "2024-05-01T10:00:00Z"))
}

/// Same uid, different content.
fn conflicting(uid: &str) -> ValidOrder {
    let mut value = order_value(uid, 1, "2024-05-01T10:00:00Z");
    value["customer_id"] = json!("someone-else");
    valid(&value)
}
