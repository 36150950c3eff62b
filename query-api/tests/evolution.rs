//! Contract §11 on the read side: an order with fields this version does not know is served
//! exactly as ingest stored it — from PostgreSQL's stored document (`x-cache: miss`), then from
//! Redis by another instance (`x-cache: hit`), byte for byte the same. An order stored before
//! the documents existed is still served from the normalized tables. And the order's JSON Schema
//! is public next to the OpenAPI document.

mod support;

use chrono::{TimeZone, Utc};
use order_model::decode_at;
use order_synthetic::OrderGenerator;
use support::{spawn_app, spawn_sibling, TestResult};

#[tokio::test]
async fn unknown_fields_come_back_from_postgres_and_from_redis() -> TestResult {
    let app = spawn_app().await;
    let base = Utc
        .with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
        .single()
        .expect("date");
    let order = OrderGenerator::new(3, base).evolved_order_with_seq(7);
    let sent = serde_json::to_string(&order)?;
    let valid = decode_at(sent.as_bytes(), base).expect("valid");
    assert_eq!(valid.canonical_json(), sent);
    app.store(std::slice::from_ref(&valid)).await;

    let path = format!("/order/{}", valid.uid());
    let from_postgres = app.get(&path).await;
    assert_eq!(from_postgres.status(), 200);
    assert_eq!(from_postgres.headers()["x-cache"], "miss");
    assert_eq!(from_postgres.text().await?, sent);
    assert_eq!(
        app.redis_entry(valid.uid()).await.as_deref(),
        Some(sent.as_str())
    );

    let sibling = spawn_sibling(&app).await;
    let from_redis = sibling.get(&path).await;
    assert_eq!(from_redis.status(), 200);
    assert_eq!(from_redis.headers()["x-cache"], "hit");
    assert_eq!(from_redis.text().await?, sent);
    sibling.stop().await?;
    app.stop().await
}

#[tokio::test]
async fn orders_stored_before_documents_are_served_from_the_tables() -> TestResult {
    let app = spawn_app().await;
    let order = app.store_sample().await;
    app.owned_db()
        .pool()
        .get()
        .await?
        .execute("UPDATE orders SET document = NULL", &[])
        .await?;
    let response = app.get(&format!("/order/{}", order.uid())).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-cache"], "miss");
    assert_eq!(response.text().await?, order.canonical_json());
    app.stop().await
}

#[tokio::test]
async fn the_order_schema_is_served_next_to_the_openapi_document() -> TestResult {
    let app = spawn_app().await;
    let response = app
        .get_expecting(
            "/api-docs/order.schema.json",
            200,
            "application/schema+json",
        )
        .await;
    let committed = include_str!("../../docs/schema/order.schema.json");
    assert_eq!(response.text().await?, committed);
    let doc: serde_json::Value = app.get("/api-docs/openapi.json").await.json().await?;
    assert!(doc["paths"]["/api-docs/order.schema.json"]["get"].is_object());
    app.stop().await
}
