//! query-api against the secure stack (`scripts/stack.sh up --secure`): it serves over TLS
//! connections (PostgreSQL verify-full, Redis rediss with an ACL user), and `/readyz` names a
//! refused dependency in one line — 200 while only Redis, a cache, is refused; 503 when
//! PostgreSQL is — without any secret in the body.

mod support;

use order_cache::RedisArgs;
use pipeline_testing::secure::{stack, SecureStack};
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

/// Waits until `/readyz` names each refused `(dependency, first words of its line)`, then
/// asserts its `status`, each line and that no secret is in the body; the body, for more checks.
async fn assert_refusals_named(
    s: &SecureStack,
    app: &support::TestApp,
    status: u16,
    refusals: &[(&str, &str)],
) -> Value {
    let (actual, body, text) = readyz_until(app, |body| {
        refusals
            .iter()
            .all(|(dependency, line)| error_starts(body, dependency, line))
    })
    .await;
    assert_eq!(actual, status, "{text}");
    for (dependency, line) in refusals {
        let named = body["errors"][dependency].as_str().unwrap_or_default();
        assert!(named.starts_with(line), "{text}");
    }
    s.assert_no_secret("/readyz", &text);
    body
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
    app.stop().await?;

    let wrong = RedisArgs {
        redis_url: s
            .var("REDIS_URL")
            .replace(s.var("SECURE_REDIS_PASSWORD"), "not-the-password"),
        ..s.redis_args()
    };
    let app = start(config(postgres, wrong, ReadArgs::default())).await;
    // 200: Redis is a cache.
    let refused = [("redis", "Redis: authentication failed")];
    let body = assert_refusals_named(s, &app, 200, &refused).await;
    assert_eq!(body["redis"], "down");
    // Reads still work, from PostgreSQL.
    assert_eq!(app.get("/order/securetlsorder0001").await.status(), 200);
    app.stop().await
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
    let refused = [("postgres", "PostgreSQL: host name mismatch")];
    assert_refusals_named(s, &app, 503, &refused).await;
    app.stop().await
}

#[tokio::test]
async fn a_postgres_password_and_an_unknown_redis_ca_are_both_named() -> TestResult {
    let s = stack();
    let mut redis = s.redis_args();
    redis.tls.ca_file = Some(s.var("SECURE_OTHER_CA_FILE").into());
    let url = s
        .database_url("orders")
        .replace(s.var("SECURE_PG_PASSWORD"), "not-the-password");
    let app = start(config(s.postgres_args(url), redis, ReadArgs::default())).await;
    let refused = [
        ("postgres", "PostgreSQL: authentication failed"),
        ("redis", "Redis: certificate rejected"),
    ];
    assert_refusals_named(s, &app, 503, &refused).await;
    app.stop().await
}
