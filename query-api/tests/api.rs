//! Black-box tests of the HTTP contract (§5) against the real local PostgreSQL and Redis.

mod support;

use futures::future::join_all;
use reqwest::Method;
use serde_json::Value;
use support::http::error_message;
use support::{order, sample_order, spawn_app, spawn_sibling, TestResult};

const SAMPLE_UID: &str = "b563feb7b2b84b6test";

#[tokio::test]
async fn health_and_readiness() -> TestResult {
    let app = spawn_app().await;
    let (status, healthz) = app.get_json("/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(healthz["status"], "ok");
    assert_eq!(
        app.get_json("/readyz").await,
        (
            200,
            serde_json::json!({"status": "ready", "postgres": "up", "redis": "up", "auth": "api-key"})
        )
    );
    app.stop().await
}

#[tokio::test]
async fn serves_an_order_miss_then_hit_and_fills_redis() -> TestResult {
    let app = spawn_app().await;
    let sample = app.store_sample().await;

    let first = app
        .get_expecting(&format!("/order/{SAMPLE_UID}"), 200, "application/json")
        .await;
    assert_eq!(first.headers()["x-cache"], "miss");
    let body = first.text().await?;
    assert_eq!(body, sample.canonical_json());
    // Contract §1: the same JSON value that was ingested.
    assert_eq!(
        serde_json::from_str::<Value>(&body)?,
        order_model::sample_json()
    );

    assert_eq!(
        app.redis_entry(SAMPLE_UID).await.as_deref(),
        Some(body.as_str())
    );

    let second = app.get(&format!("/order/{SAMPLE_UID}")).await;
    assert_eq!(second.status(), 200);
    assert_eq!(second.headers()["x-cache"], "hit");
    assert_eq!(second.text().await?, body);
    app.stop().await
}

#[tokio::test]
async fn two_instances_serve_identical_bytes_through_redis() -> TestResult {
    let first = spawn_app().await;
    let second = spawn_sibling(&first).await;
    first.store_sample().await;

    let from_first = first.get(&format!("/order/{SAMPLE_UID}")).await;
    assert_eq!(from_first.headers()["x-cache"], "miss");
    let from_first = from_first.bytes().await?;
    first
        .redis_entry(SAMPLE_UID)
        .await
        .ok_or("redis was not filled")?;

    let from_second = second.get(&format!("/order/{SAMPLE_UID}")).await;
    assert_eq!(
        from_second.headers()["x-cache"],
        "hit",
        "the sibling reads what the first filled"
    );
    assert_eq!(from_second.bytes().await?, from_first);
    assert_eq!(second.metric("order_db_reads_total").await, 0.0);
    second.stop().await?;
    first.stop().await
}

#[tokio::test]
async fn unknown_uid_is_404_and_not_cached() -> TestResult {
    let app = spawn_app().await;
    assert_eq!(
        app.get_json("/order/not-stored-yet").await,
        (404, serde_json::json!({"error": "order not found"}))
    );

    app.store(&[order("not-stored-yet", "2024-01-02T03:04:05Z")])
        .await;
    let found = app.get("/order/not-stored-yet").await;
    assert_eq!(found.status(), 200, "a 404 must not be remembered");
    app.stop().await
}

#[tokio::test]
async fn uids_that_cannot_be_order_uids_are_400() -> TestResult {
    let app = spawn_app().await;
    let too_long = "x".repeat(65);
    let encoded_long = "%41".repeat(65);
    let cases = [
        "/order/",
        "/order/%00",
        "/order/a%2Fb",
        "/order/a/b",
        "/order/%zz",
        "/order/%C3%A9t%C3%A9",
        "/order/%E2%9C%93",
        "/order/a.b",
        "/order/a%20b",
        &format!("/order/{too_long}"),
        &format!("/order/{encoded_long}"),
        "/order/%FF%FE",
    ];
    for path in cases {
        let error = error_message(app.get(path).await, 400, path).await;
        assert!(error.starts_with("invalid order_uid"), "{path}: {error}");
    }
    // Unicode typed into a URL arrives percent-encoded.
    assert_eq!(app.get("/order/заказ").await.status(), 400);
    // Beyond the URI bound: 414, still JSON.
    let huge = app.get(&format!("/order/{}", "y".repeat(3000))).await;
    error_message(huge, 414, "a 3000-character uid").await;
    app.stop().await
}

#[tokio::test]
async fn lists_newest_orders_first_with_a_bounded_limit() -> TestResult {
    let app = spawn_app().await;
    let orders: Vec<_> = (0..25)
        .map(|n| {
            order(
                &format!("list-{n:02}"),
                &format!("2024-01-{:02}T10:00:00Z", n + 1),
            )
        })
        .collect();
    app.store(&orders).await;

    let default = app.get("/orders").await;
    assert_eq!(default.status(), 200);
    let text = default.text().await?;
    // Contract key order, checked on the raw text (a parsed Value does not keep it).
    let first_object = text.split('}').next().ok_or("empty list")?;
    let positions: Vec<usize> = order_store::OrderSummary::KEYS
        .iter()
        .map(|key| {
            first_object
                .find(&format!("\"{key}\":"))
                .unwrap_or(usize::MAX)
        })
        .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "key order in {first_object}"
    );
    let listed: Vec<Value> = serde_json::from_str(&text)?;
    assert_eq!(listed.len(), 20);
    assert_eq!(listed[0]["order_uid"], "list-24");
    assert_eq!(listed[19]["order_uid"], "list-05");
    assert_eq!(listed[0]["date_created"], "2024-01-25T10:00:00Z");
    assert_eq!(listed[0]["amount"], 1817);
    assert_eq!(listed[0]["currency"], "USD");
    assert_eq!(listed[0]["items"], 1);

    let two: Vec<Value> = app.get("/orders?limit=2").await.json().await?;
    assert_eq!(
        two.iter()
            .map(|o| o["order_uid"].clone())
            .collect::<Vec<_>>(),
        ["list-24", "list-23"]
    );
    let all: Vec<Value> = app.get("/orders?limit=100").await.json().await?;
    assert_eq!(all.len(), 25);

    for bad in ["0", "101", "-1", "abc", "", "2.5", "99999999999999999999"] {
        let response = app.get(&format!("/orders?limit={bad}")).await;
        error_message(response, 400, &format!("limit={bad}")).await;
    }
    app.stop().await
}

#[tokio::test]
async fn every_other_rejection_is_json() -> TestResult {
    let app = spawn_app().await;
    let unknown = app.get("/no/such/route").await;
    assert_eq!(unknown.headers()["content-type"], "application/json");
    assert_eq!(
        error_message(unknown, 404, "an unknown route").await,
        "not found"
    );

    let wrong_method = app.request(Method::POST, "/orders").await;
    assert_eq!(
        error_message(wrong_method, 405, "POST /orders").await,
        "method not allowed"
    );
    let delete = app
        .request(Method::DELETE, &format!("/order/{SAMPLE_UID}"))
        .await;
    assert_eq!(delete.status(), 405);
    app.stop().await
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() -> TestResult {
    let app = spawn_app().await;
    let echoed = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-request-id", "trace-me-42")
        .send()
        .await?;
    assert_eq!(echoed.headers()["x-request-id"], "trace-me-42");
    let generated = app.get("/nope").await;
    let id = generated.headers()["x-request-id"].to_str()?;
    assert_eq!(id.len(), 32);
    app.stop().await
}

#[tokio::test]
async fn metrics_use_route_templates_and_count_cache_results() -> TestResult {
    let app = spawn_app().await;
    app.store_sample().await;
    app.get(&format!("/order/{SAMPLE_UID}")).await;
    app.get(&format!("/order/{SAMPLE_UID}")).await;
    app.get("/order/absent").await;
    let response = app.admin_get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()?
        .starts_with("text/plain"));
    let text = response.text().await?;
    let value = |name: &str| support::metric_value(&text, name);
    assert_eq!(
        value(r#"http_requests_total{route="/order/{uid}",status="200"}"#),
        2.0
    );
    assert_eq!(
        value(r#"http_requests_total{route="/order/{uid}",status="404"}"#),
        1.0
    );
    assert_eq!(value(r#"order_cache_requests_total{result="hit"}"#), 1.0);
    assert_eq!(value(r#"order_cache_requests_total{result="miss"}"#), 2.0);
    assert_eq!(value("order_db_reads_total"), 2.0);
    assert_eq!(value("order_near_cache_entries"), 1.0);
    assert!(text.contains(r#"http_request_duration_seconds_bucket{route="/order/{uid}""#));
    assert!(!text.contains(SAMPLE_UID), "no uid in any label");
    app.stop().await
}

#[tokio::test]
async fn concurrent_misses_for_one_uid_share_one_database_read() -> TestResult {
    let app = spawn_app().await;
    app.store_sample().await;
    let before = app.metric("order_db_reads_total").await;
    let path = format!("/order/{SAMPLE_UID}");
    let responses = join_all((0..50).map(|_| app.get(&path))).await;
    let mut bodies = Vec::new();
    for response in responses {
        assert_eq!(response.status(), 200);
        bodies.push(response.text().await?);
    }
    assert!(bodies
        .iter()
        .all(|body| body == sample_order().canonical_json()));
    assert_eq!(app.metric("order_db_reads_total").await - before, 1.0);
    app.stop().await
}
