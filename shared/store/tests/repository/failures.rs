//! How failures are classified: an unreachable server is an outage, a slow statement is
//! transient, a row PostgreSQL cannot hold is rejected.

use crate::{order, order_value, valid, TestDb};
use order_store::{Db, OrderRepository, PostgresArgs, StoreError};
use serde_json::json;
use std::time::Duration;

/// `call`'s outcome; fails the test if it has none within a minute (a bound on a hang, not a
/// speed check).
async fn unless_hung<T>(what: &str, call: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), call)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within a minute: it hung"))
}

#[tokio::test]
async fn unreachable_database_is_an_outage_reported_at_the_refused_connect() {
    // Every bound ten minutes away: an error within the test's minute can only come from the
    // refused connection itself, not from a timeout waited out (or a retry until one).
    let args = PostgresArgs {
        database_url: "postgres://orders:orders@127.0.0.1:1/orders".into(),
        pool_size: 2,
        statement_timeout_ms: 600_000,
        connect_timeout_ms: 600_000,
    };
    let db = Db::connect(&args).await.expect("the pool is lazy");
    let repo = OrderRepository::new(db.clone());
    let ping = unless_hung("ping", db.ping())
        .await
        .expect_err("nothing listens on port 1");
    assert!(ping.is_outage(), "{ping:?}");
    let store = unless_hung("store", repo.store(&order("any", 1)))
        .await
        .expect_err("cannot store");
    assert!(matches!(store, StoreError::Unavailable(_)), "{store:?}");
    let get = unless_hung("get", repo.get("any"))
        .await
        .expect_err("cannot read");
    assert!(get.is_outage(), "{get:?}");
    for error in [&ping, &store, &get] {
        assert!(
            !error.to_string().contains("within"),
            "a bound ended it, not the refusal: {error}"
        );
    }
}

#[tokio::test]
async fn statement_timeout_is_transient_and_bad_rows_are_rejected() {
    let test = TestDb::new().await;
    let db = test.connect(|args| args.statement_timeout_ms = 100).await;
    let client = db.pool().get().await.expect("connection");
    let slow = client
        .simple_query("SELECT pg_sleep(2)")
        .await
        .expect_err("times out");
    let slow = StoreError::from(slow);
    assert!(slow.is_transient(), "{slow:?}");
    drop(client);

    // Valid JSON and a valid order, but PostgreSQL text cannot hold NUL.
    let mut value = order_value("nul", 1, "2024-05-01T10:00:00Z");
    value["internal_signature"] = json!("a\u{0}b");
    let err = OrderRepository::new(db)
        .store(&valid(&value))
        .await
        .expect_err("rejected");
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
}

/// Pooled connections log in with generic plans (see `login_options`): the server takes the
/// setting, so prepared reads are not re-planned at each execution.
#[tokio::test]
async fn connections_log_in_with_generic_plans() {
    let test = TestDb::new().await;
    let client = test.db.db().pool().get().await.expect("connection");
    let row = client
        .query_one("SELECT current_setting('plan_cache_mode')", &[])
        .await
        .expect("setting");
    assert_eq!(row.get::<_, String>(0), "force_generic_plan");
}

/// A generic plan is made once per connection, from the table's size at that moment: on a
/// freshly migrated, empty database a read by uid must still plan as the primary-key probe, not
/// as a sequential scan that the connection would keep using as the table grows.
#[tokio::test]
async fn reads_by_uid_probe_the_primary_key_even_on_an_empty_table() {
    let test = TestDb::new().await;
    let client = test.db.db().pool().get().await.expect("connection");
    // The repository's read by uid (`read.rs`), prepared the way the driver prepares it.
    client
        .batch_execute(
            "PREPARE by_uid(text[]) AS \
             SELECT order_uid, document::text FROM orders WHERE order_uid = ANY($1)",
        )
        .await
        .expect("prepare");
    let plan = client
        .query("EXPLAIN EXECUTE by_uid('{some-uid}')", &[])
        .await
        .expect("explain");
    let top: String = plan.first().expect("a plan").get(0);
    assert!(top.starts_with("Index Scan using orders_pkey"), "{top}");
    client
        .batch_execute("DEALLOCATE by_uid")
        .await
        .expect("deallocate");
}

/// A row PostgreSQL refuses is the customer's: the error text (which reaches warn logs and the
/// DLQ's `x-error-message`) names the SQLSTATE, table, column and constraint, never the values
/// (PostgreSQL's DETAIL would quote the whole failing row or key).
#[tokio::test]
async fn rejections_name_the_constraint_not_the_row() {
    let test = TestDb::new().await;
    let repo = test.repo();
    repo.store(&order("stored-uid", 1)).await.expect("store");
    let client = test.db.db().pool().get().await.expect("connection");
    let insert =
        "INSERT INTO deliveries (order_uid, name, phone, zip, city, address, region, email) \
                  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    let secrets = [
        "Zebediah Quxworth",
        "+49-151-SECRET",
        "4711",
        "Quxtown",
        "7 Hidden Lane",
        "Secret Region",
        "zebediah@example.test",
    ];
    let row = |uid: &'static str, phone: &'static str| {
        let mut values = secrets;
        values[1] = phone;
        (uid, values)
    };

    // CHECK (phone ~ '^\+[0-9]{7,15}$'): class 23, DETAIL "Failing row contains (…)".
    let (uid, values) = row("check-uid", secrets[1]);
    let err = insert_delivery(&client, insert, uid, &values).await;
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("23514"), "{text}");
    assert!(text.contains("deliveries"), "{text}");
    assert!(text.contains("deliveries_phone_check"), "{text}");
    assert_no_values(&text, &values);

    // The primary key: DETAIL "Key (order_uid)=(…) already exists".
    let (uid, values) = row("stored-uid", "+4915112345678");
    let err = insert_delivery(&client, insert, uid, &values).await;
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("23505") && text.contains("deliveries_pkey"),
        "{text}"
    );
    assert_no_values(&text, &values);
    assert!(!text.contains("stored-uid"), "{text}");
}

async fn insert_delivery(
    client: &deadpool_postgres::Client,
    sql: &str,
    uid: &str,
    values: &[&str; 7],
) -> StoreError {
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&uid];
    params.extend(
        values
            .iter()
            .map(|v| v as &(dyn tokio_postgres::types::ToSql + Sync)),
    );
    let err = client.execute(sql, &params).await.expect_err("refused");
    assert!(
        err.as_db_error().is_some_and(|db| db.detail().is_some()),
        "{err:?}"
    );
    StoreError::from(err)
}

fn assert_no_values(text: &str, values: &[&str]) {
    for value in values {
        assert!(!text.contains(value), "{value:?} leaked into {text:?}");
    }
}
