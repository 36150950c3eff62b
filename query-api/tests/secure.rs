//! query-api against the secure stack (`scripts/stack.sh up --secure`): it serves over TLS
//! connections (PostgreSQL verify-full with the read-only role's grants, Redis rediss with an ACL
//! user), and `/readyz` names a refused dependency in one line — 200 while only Redis, a cache,
//! is refused; 503 when PostgreSQL is — without any secret in the body. The binary itself logs
//! such a refusal at error level, and no line it prints (at debug level) carries a secret.

mod support;

use order_cache::RedisArgs;
use pipeline_testing::free_port;
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
    // query-api's grants only (orders_reader), as deployed; the test stores through `db`.
    let postgres = s.read_only_args(db.name());
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
    let mut postgres = s.read_only_args("orders");
    postgres.database_url = postgres.database_url.replace("@localhost:", "@127.0.0.1:");
    let app = start(config(postgres, s.redis_args(), ReadArgs::default())).await;
    let refused = [("postgres", "PostgreSQL: host name mismatch")];
    assert_refusals_named(s, &app, 503, &refused).await;
    app.stop().await
}

#[tokio::test]
async fn a_postgres_password_and_an_unknown_redis_ca_are_both_named() -> TestResult {
    let s = stack();
    let mut redis = s.redis_args();
    redis.tls.ca_file = Some(s.var("SECURE_OTHER_CA_FILE").into());
    let mut postgres = s.read_only_args("orders");
    postgres.database_url = postgres
        .database_url
        .replace(s.var("SECURE_PG_PASSWORD"), "not-the-password");
    let app = start(config(postgres, redis, ReadArgs::default())).await;
    let refused = [
        ("postgres", "PostgreSQL: authentication failed"),
        ("redis", "Redis: certificate rejected"),
    ];
    assert_refusals_named(s, &app, 503, &refused).await;
    app.stop().await
}

/// Whether `text` holds a URL whose user info has a password other than the redacted `***`.
fn has_url_password(text: &str) -> bool {
    text.split("://").skip(1).any(|rest| {
        let authority = rest
            .split(|c: char| c == '/' || c == '?' || c.is_whitespace() || c == '"')
            .next()
            .unwrap_or_default();
        authority
            .rsplit_once('@')
            .and_then(|(user_info, _)| user_info.split_once(':'))
            .is_some_and(|(_, password)| password != "***")
    })
}

#[tokio::test]
async fn the_binary_logs_each_refusal_at_error_level_and_never_a_secret() -> TestResult {
    let s = stack();
    let wrong_url = s
        .database_url("orders")
        .replace(s.var("SECURE_PG_PASSWORD"), "not-the-password");
    let admin = free_port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_query-api"))
        .env_clear()
        .envs([
            ("AUTH_MODE", "off"),
            ("HTTP_ADDR", "127.0.0.1:0"),
            ("ADMIN_ADDR", &format!("127.0.0.1:{admin}")),
            ("DATABASE_URL", &wrong_url),
            ("DB_CONNECT_TIMEOUT_MS", "5000"),
            ("REDIS_URL", s.var("REDIS_URL")),
            ("REDIS_TLS_CA_FILE", s.var("SECURE_OTHER_CA_FILE")),
            // A TLS handshake can outlast the 250 ms default on a busy machine.
            ("REDIS_TIMEOUT_MS", "2000"),
            ("RUST_LOG", "debug"),
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    // Read the log while it is written: a full pipe would stall the process.
    let log = pipeline_testing::process::read_in_background(child.stderr.take().expect("stderr"));
    let refused = [
        ("postgres", "PostgreSQL: authentication failed"),
        ("redis", "Redis: certificate rejected"),
    ];
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()?;
    let url = format!("http://127.0.0.1:{admin}/readyz");
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let (mut status, mut body) = (0, String::new());
    while std::time::Instant::now() < give_up {
        if let Ok(response) = client.get(&url).send().await {
            status = response.status().as_u16();
            body = response.text().await.unwrap_or_default();
            let parsed: Value = serde_json::from_str(&body).unwrap_or_default();
            if refused
                .iter()
                .all(|(dependency, line)| error_starts(&parsed, dependency, line))
            {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    // SIGTERM, not SIGKILL: the log is written by a background thread, flushed at exit.
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    assert!(term.success(), "kill -TERM");
    let exit = child.wait()?;
    let stderr = log.join().expect("the log reader");
    assert!(exit.success(), "query-api exited with {exit}:\n{stderr}");
    assert_eq!(status, 503, "{body}\n{stderr}");
    for (_, line) in refused {
        let logged = stderr
            .lines()
            .any(|l| l.contains("ERROR") && l.contains(line));
        assert!(logged, "no error log line `{line}`:\n{stderr}");
    }
    assert!(
        stderr.contains("DEBUG"),
        "debug lines were printed:\n{stderr}"
    );
    for (what, text) in [("the log", &stderr), ("/readyz", &body)] {
        s.assert_no_secret(what, text);
        // Neither the wrong password nor any URL with its credentials (`user:***@` is fine).
        assert!(!text.contains("not-the-password"), "{what}:\n{text}");
        assert!(!has_url_password(text), "{what}:\n{text}");
    }
    Ok(())
}
