//! query-api against the secure stack (`scripts/stack.sh up --secure`): it serves over TLS
//! connections (PostgreSQL verify-full, Redis rediss with an ACL user), and `/readyz` names a
//! refused dependency in one line — 200 while only Redis, a cache, is refused; 503 when
//! PostgreSQL is — without any secret in the body.

mod support;

use order_cache::RedisArgs;
use pipeline_testing::secure::stack;
use query_api::config::ReadArgs;
use serde_json::Value;
use support::{config, order, start, TestResult};

/// `/readyz` once `done` accepts its body (or after 30 s, for the caller's assertions to tell
/// what it was): a TLS connect on a busy machine may take a few probes.
async fn readyz_until(
    app: &support::TestApp,
    done: impl Fn(&Value) -> bool,
) -> (u16, Value, String) {
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let response = app.get("/readyz").await;
        let status = response.status().as_u16();
        let body = response.text().await.expect("body");
        let parsed: Value = serde_json::from_str(&body).expect("JSON");
        if done(&parsed) || std::time::Instant::now() > give_up {
            return (status, parsed, body);
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

fn error_starts(body: &Value, dependency: &str, line: &str) -> bool {
    body["errors"][dependency]
        .as_str()
        .is_some_and(|text| text.starts_with(line))
}

#[tokio::test]
async fn serves_orders_over_tls_and_names_a_refused_redis_while_staying_ready() -> TestResult {
    let s = stack();
    let db = s.fresh_db().await;
    let prefix = s.test_prefix();
    let postgres = s.postgres_args(s.database_url(db.name()));
    let app = start(config(postgres.clone(), prefix.args(), ReadArgs::default())).await;
    let stored = order("securetlsorder0001", "2024-03-01T10:00:00Z");
    order_store::OrderRepository::new(db.db().clone())
        .store_batch(std::slice::from_ref(&stored))
        .await?;
    let (status, body, _) = readyz_until(&app, |body| body["redis"] == "up").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    let response = app.get("/order/securetlsorder0001").await;
    assert_eq!(response.status(), 200);
    assert!(
        app.redis_entry("securetlsorder0001").await.is_some(),
        "cached over rediss"
    );
    app.stop().await;

    let wrong = RedisArgs {
        redis_url: s
            .var("REDIS_URL")
            .replace(s.var("SECURE_REDIS_PASSWORD"), "not-the-password"),
        ..s.redis_args()
    };
    let app = start(config(postgres, wrong, ReadArgs::default())).await;
    let (status, body, text) = readyz_until(&app, |body| {
        error_starts(body, "redis", "Redis: authentication failed")
    })
    .await;
    assert_eq!(status, 200, "Redis is a cache: {text}");
    assert_eq!(body["redis"], "down");
    let line = body["errors"]["redis"].as_str().unwrap_or_default();
    assert!(line.starts_with("Redis: authentication failed"), "{text}");
    s.assert_no_secret("/readyz", &text);
    // Reads still work, from PostgreSQL.
    assert_eq!(app.get("/order/securetlsorder0001").await.status(), 200);
    app.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_postgres_host_name_mismatch_is_not_ready_and_named() -> TestResult {
    let s = stack();
    let url = s
        .database_url("orders")
        .replace("@localhost:", "@127.0.0.1:");
    let app = start(config(
        s.postgres_args(url),
        s.redis_args(),
        ReadArgs::default(),
    ))
    .await;
    let (status, body, text) = readyz_until(&app, |body| {
        error_starts(body, "postgres", "PostgreSQL: host name mismatch")
    })
    .await;
    assert_eq!(status, 503, "{text}");
    let line = body["errors"]["postgres"].as_str().unwrap_or_default();
    assert!(line.starts_with("PostgreSQL: host name mismatch"), "{text}");
    s.assert_no_secret("/readyz", &text);
    app.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_postgres_password_and_an_unknown_redis_ca_are_both_named() -> TestResult {
    let s = stack();
    let url = s
        .database_url("orders")
        .replace(s.var("SECURE_PG_PASSWORD"), "not-the-password");
    let mut redis = s.redis_args();
    redis.tls.ca_file = Some(s.var("SECURE_OTHER_CA_FILE").into());
    let app = start(config(s.postgres_args(url), redis, ReadArgs::default())).await;
    let (status, body, text) = readyz_until(&app, |body| {
        error_starts(body, "postgres", "PostgreSQL: authentication failed")
            && error_starts(body, "redis", "Redis: certificate rejected")
    })
    .await;
    assert_eq!(status, 503, "{text}");
    let pg = body["errors"]["postgres"].as_str().unwrap_or_default();
    assert!(
        pg.starts_with("PostgreSQL: authentication failed"),
        "{text}"
    );
    let redis = body["errors"]["redis"].as_str().unwrap_or_default();
    assert!(redis.starts_with("Redis: certificate rejected"), "{text}");
    s.assert_no_secret("/readyz", &text);
    app.stop().await;
    Ok(())
}
