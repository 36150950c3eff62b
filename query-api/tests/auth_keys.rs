//! Contract §8 with API keys, black-box against the real server: who gets 401, 403 or the
//! order, in which order the checks come, what stays public, what is counted, and how a
//! changed keys file takes effect.

mod support;

use pipeline_testing::wait::within as wait_until;
use query_api::config::ReadArgs;
use serde_json::Value;
use std::time::Duration;
use support::http::error_message;
use support::keys::{KeysFile, FULL_SCOPES};
use support::{sample_order, spawn_app_with_auth, TestApp, TestResult};

const SAMPLE_UID: &str = "b563feb7b2b84b6test";

async fn app_with(keys: &KeysFile) -> TestApp {
    spawn_app_with_auth(ReadArgs::default(), keys.auth_args(), None).await
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

/// Asserts a 401 with the contract's challenge and a JSON body that repeats nothing sent.
async fn assert_401(
    response: reqwest::Response,
    challenge: &str,
    sent: Option<&str>,
) -> TestResult {
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], challenge);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = response.text().await?;
    let error = serde_json::from_str::<Value>(&body)?["error"].clone();
    assert!(error.is_string(), "{body}");
    if let Some(sent) = sent {
        assert!(!body.contains(sent), "the body repeats the token: {body}");
    }
    Ok(())
}

#[tokio::test]
async fn the_credential_is_checked_before_anything_else() -> TestResult {
    let keys = KeysFile::new(&[("full", FULL_SCOPES)]);
    let app = app_with(&keys).await;
    app.store_sample().await;
    let order = format!("/order/{SAMPLE_UID}");
    let order_slash = format!("{order}/");

    // Stored, unknown and impossible uids, and a bad limit, all look the same without a token:
    // a refusal never says whether an order exists or what is wrong with the request.
    for path in [
        order.as_str(),
        "/order/not-stored",
        "/order/a.b",
        "/order/",
        "/orders",
        "/orders?limit=0",
        // warp serves an exact path with one trailing slash too: the same routes, as guarded.
        "/orders/",
        "/orders/?limit=100",
        "/orders/?limit=0",
        order_slash.as_str(),
    ] {
        assert_401(app.get_with(path, None).await, "Bearer", None).await?;
        for other in [
            "Basic dXNlcjpwYXNzd29yZA==",
            "Bearer",
            "Bearer   ",
            "Token abc",
        ] {
            assert_401(app.get_with(path, Some(other)).await, "Bearer", None).await?;
        }
        let wrong = support::keys::random_key();
        let invalid = "Bearer error=\"invalid_token\"";
        assert_401(
            app.get_with(path, Some(&bearer(&wrong))).await,
            invalid,
            Some(&wrong),
        )
        .await?;
        let short = "0123456789abcde"; // 15 characters: never a key
        assert_401(
            app.get_with(path, Some(&bearer(short))).await,
            invalid,
            Some(short),
        )
        .await?;
        let digest = support::keys::line("x", &keys.key("full"), "");
        let digest = digest.split(' ').nth(1).unwrap_or_default();
        assert_401(
            app.get_with(path, Some(&bearer(digest))).await,
            invalid,
            Some(digest),
        )
        .await?;
    }

    // HEAD is GET without the body: the same refusal, trailing slash or not.
    for path in ["/orders", "/orders/", order.as_str(), order_slash.as_str()] {
        let response = app.send_with(reqwest::Method::HEAD, path, None).await;
        assert_eq!(response.status(), 401, "HEAD {path}");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer",
            "HEAD {path}"
        );
        assert_eq!(
            response.headers()["cache-control"],
            "no-store",
            "HEAD {path}"
        );
    }

    // Two trailing slashes is no route at all: warp serves nothing there.
    assert_eq!(app.get_with("/orders//", None).await.status(), 404);

    // With the key: the contract's answers, none of them cacheable.
    let key = bearer(&keys.key("full"));
    let found = app.get_with(&order, Some(&key)).await;
    assert_eq!(found.status(), 200);
    assert_eq!(found.headers()["cache-control"], "no-store");
    assert_eq!(found.text().await?, sample_order().canonical_json());
    let lower = format!("bearer {}", keys.key("full"));
    assert_eq!(
        app.get_with(&order, Some(&lower)).await.status(),
        200,
        "the scheme is case-insensitive"
    );
    for (path, status) in [
        ("/order/not-stored", 404),
        ("/order/a.b", 400),
        ("/orders", 200),
        ("/orders?limit=0", 400),
        ("/orders/", 200),
        ("/orders/?limit=100", 200),
        (order_slash.as_str(), 400),
    ] {
        let response = app.get_with(path, Some(&key)).await;
        assert_eq!(response.status(), status, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
    app.stop().await
}

#[tokio::test]
async fn each_route_needs_its_scope() -> TestResult {
    let keys = KeysFile::new(&[
        ("reader", "orders:read"),
        ("lister", "orders:list"),
        ("other", "billing:read"),
    ]);
    let app = app_with(&keys).await;
    app.store_sample().await;
    let order = format!("/order/{SAMPLE_UID}");
    let (reader, lister, other) = (
        bearer(&keys.key("reader")),
        bearer(&keys.key("lister")),
        bearer(&keys.key("other")),
    );

    assert_eq!(app.get_with(&order, Some(&reader)).await.status(), 200);
    assert_eq!(app.get_with("/orders", Some(&lister)).await.status(), 200);
    for (path, key, scope) in [
        ("/orders", &reader, "orders:list"),
        (order.as_str(), &lister, "orders:read"),
        ("/order/a.b", &lister, "orders:read"),
        ("/order/not-stored", &lister, "orders:read"),
        (order.as_str(), &other, "orders:read"),
        ("/orders?limit=500", &other, "orders:list"),
    ] {
        let response = app.get_with(path, Some(key)).await;
        assert_eq!(response.status(), 403, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-store");
        let challenge = response.headers()["www-authenticate"].to_str()?.to_owned();
        assert!(
            challenge.contains("insufficient_scope") && challenge.contains(scope),
            "{challenge}"
        );
        let body: Value = response.json().await?;
        assert!(
            body["error"].as_str().is_some_and(|e| e.contains(scope)),
            "{body}"
        );
    }
    app.stop().await
}

#[tokio::test]
async fn the_page_docs_and_probes_stay_public_and_metrics_move_to_the_admin_port() -> TestResult {
    let keys = KeysFile::new(&[("full", FULL_SCOPES)]);
    let app = app_with(&keys).await;
    for path in [
        "/",
        "/static/app.js",
        "/static/app.css",
        "/swagger",
        "/swagger/",
        "/swagger/swagger-ui.css",
        "/api-docs/openapi.json",
        "/healthz",
        "/readyz",
    ] {
        let response = app.get_with(path, None).await;
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            response.headers().get("www-authenticate").is_none(),
            "{path}"
        );
    }
    let public_metrics = app
        .get_with("/metrics", Some(&bearer(&keys.key("full"))))
        .await;
    assert_eq!(
        error_message(public_metrics, 404, "HTTP_ADDR answers 404 for /metrics").await,
        "not found"
    );

    let metrics = app.admin_get("/metrics").await;
    assert_eq!(metrics.status(), 200);
    assert!(metrics.headers()["content-type"]
        .to_str()?
        .starts_with("text/plain"));
    assert_eq!(app.admin_get("/healthz").await.status(), 200);
    let ready: Value = app.admin_get("/readyz").await.json().await?;
    assert_eq!(ready["auth"], "api-key");
    assert_eq!(ready["status"], "ready");
    assert_eq!(
        app.admin_get("/orders").await.status(),
        404,
        "no API on the admin port"
    );
    app.stop().await
}

#[tokio::test]
async fn refusals_are_counted_by_reason_and_tokens_stay_out_of_metrics() -> TestResult {
    let keys = KeysFile::new(&[("full", FULL_SCOPES), ("reader", "orders:read")]);
    let app = app_with(&keys).await;
    let wrong = support::keys::random_key();
    app.get_with("/orders", None).await;
    app.get_with("/orders", Some("Basic abc")).await;
    app.get_with("/orders", Some(&bearer(&wrong))).await;
    app.get_with("/orders", Some(&bearer(&keys.key("reader"))))
        .await;
    app.get_with("/orders", Some(&bearer(&keys.key("full"))))
        .await;

    let text = app.metrics_text().await;
    let value = |reason: &str| {
        support::metric_value(
            &text,
            &format!("auth_failures_total{{reason=\"{reason}\"}}"),
        )
    };
    assert_eq!(
        (value("missing"), value("invalid"), value("scope")),
        (2.0, 1.0, 1.0)
    );
    assert_eq!((value("expired"), value("rate")), (0.0, 0.0));
    assert!(
        text.contains("auth_failures_total{reason=\"expired\"} 0"),
        "every reason is exported"
    );
    for secret in [wrong, keys.key("full"), keys.key("reader")] {
        assert!(!text.contains(&secret), "a token in the metrics");
    }
    app.stop().await
}

/// Polls `check` until it holds; fails naming `what` after a minute. A bound on a hang only: the
/// contract's 10 seconds for a changed keys file is the poll interval's (`auth::watch::POLL`,
/// held to it at compile time).
async fn applied(
    app: &TestApp,
    what: &str,
    check: impl Fn(&TestApp) -> futures::future::BoxFuture<'_, bool>,
) {
    wait_until(what, Duration::from_secs(60), || check(app)).await;
}

#[tokio::test]
async fn a_changed_or_replaced_keys_file_takes_effect_without_a_restart() -> TestResult {
    use futures::FutureExt;
    let mut keys = KeysFile::new(&[("old", FULL_SCOPES), ("kept", "orders:read")]);
    let app = app_with(&keys).await;
    let (old, kept) = (bearer(&keys.key("old")), bearer(&keys.key("kept")));
    assert_eq!(app.get_with("/orders", Some(&old)).await.status(), 200);
    assert_eq!(app.get_with("/orders", Some(&kept)).await.status(), 403);

    // Renamed over: `old` revoked, `new` added, `kept` gains a scope.
    keys.replace(&[("kept", FULL_SCOPES), ("new", "orders:list")]);
    let new = bearer(&keys.key("new"));
    applied(&app, "rename-over applied", |app| {
        let (old, new, kept) = (old.clone(), new.clone(), kept.clone());
        async move {
            app.get_with("/orders", Some(&old)).await.status() == 401
                && app.get_with("/orders", Some(&new)).await.status() == 200
                && app.get_with("/orders", Some(&kept)).await.status() == 200
        }
        .boxed()
    })
    .await;

    // Rewritten in place with one line gone bad: that key is refused, the others still work.
    let text = std::fs::read_to_string(keys.path())?;
    let broken = text.replacen(" orders:list\n", " orders:list,\n", 1);
    std::fs::write(keys.path(), &broken)?;
    applied(&app, "in-place edit applied", |app| {
        let (new, kept) = (new.clone(), kept.clone());
        async move {
            app.get_with("/orders", Some(&new)).await.status() == 401
                && app.get_with("/orders", Some(&kept)).await.status() == 200
        }
        .boxed()
    })
    .await;

    // Gone: every key is refused (fail closed) until it is back.
    std::fs::remove_file(keys.path())?;
    applied(&app, "removal applied", |app| {
        let kept = kept.clone();
        async move { app.get_with("/orders", Some(&kept)).await.status() == 401 }.boxed()
    })
    .await;
    keys.replace(&[("kept", FULL_SCOPES)]);
    applied(&app, "file back", |app| {
        let kept = kept.clone();
        async move { app.get_with("/orders", Some(&kept)).await.status() == 200 }.boxed()
    })
    .await;
    app.stop().await
}
