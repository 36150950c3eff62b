//! Contract §8 rate limits, black-box: per caller (API key id, JWT `sub`, or the client address
//! with auth off), 429 with `Retry-After` in whole seconds. The slowest rate is 1 per second, so a burst
//! sent back to back always overflows; refill timing is covered with a fake clock in the
//! limiter's unit tests.

mod support;

use query_api::config::{AuthArgs, ReadArgs};
use serde_json::{json, Value};
use support::jwt::{claims, JwksServer, Signer, AUDIENCE, ISSUER};
use support::keys::{KeysFile, FULL_SCOPES};
use support::{spawn_app_with_auth, TestResult};

fn limited(mut auth: AuthArgs, burst: Option<u32>) -> AuthArgs {
    auth.rate_limit_per_sec = 1;
    auth.rate_limit_burst = burst.map(|burst| burst.to_string());
    auth
}

#[tokio::test]
async fn each_key_gets_its_own_burst_then_429_with_retry_after() -> TestResult {
    let keys = KeysFile::new(&[("a", FULL_SCOPES), ("b", FULL_SCOPES)]);
    let app = spawn_app_with_auth(
        ReadArgs::default(),
        limited(keys.auth_args(), Some(3)),
        None,
    )
    .await;
    let (a, b) = (
        format!("Bearer {}", keys.key("a")),
        format!("Bearer {}", keys.key("b")),
    );
    for _ in 0..3 {
        assert_eq!(app.get_with("/orders", Some(&a)).await.status(), 200);
    }
    let over = app.get_with("/order/anything", Some(&a)).await;
    assert_eq!(over.status(), 429, "both order routes count");
    let retry: u64 = over.headers()["retry-after"].to_str()?.parse()?;
    assert!(retry >= 1, "whole seconds, at least 1");
    assert_eq!(over.headers()["cache-control"], "no-store");
    assert!(over.json::<Value>().await?["error"].is_string());

    // Another key is not affected; refusals before identification are not charged to anyone.
    assert_eq!(app.get_with("/orders", Some(&b)).await.status(), 200);
    for _ in 0..5 {
        assert_eq!(app.get_with("/orders", None).await.status(), 401);
    }
    assert_eq!(app.get_with("/orders", Some(&b)).await.status(), 200);
    // Public routes are never limited.
    for _ in 0..5 {
        assert_eq!(app.get_with("/healthz", Some(&a)).await.status(), 200);
    }
    let text = app.metrics_text().await;
    assert_eq!(
        support::metric_value(&text, "auth_failures_total{reason=\"rate\"}"),
        1.0
    );
    app.stop().await
}

#[tokio::test]
async fn each_jwt_subject_gets_its_own_burst_whatever_the_token() -> TestResult {
    let (rsa, ec) = (Signer::rsa("rsa-1"), Signer::ec("ec-1"));
    let jwks = JwksServer::start(vec![rsa.jwk(), ec.jwk()]).await;
    let auth = AuthArgs {
        mode: Some("jwt".into()),
        jwks_url: Some(jwks.url.clone()),
        issuer: Some(ISSUER.into()),
        audience: Some(AUDIENCE.into()),
        ..AuthArgs::default()
    };
    let app = spawn_app_with_auth(ReadArgs::default(), limited(auth, Some(2)), None).await;
    let bearer = |token: String| format!("Bearer {token}");
    let scopes = "orders:read orders:list";

    // Two different tokens of one subject (another key, another algorithm, other claims) share
    // the subject's burst of 2.
    let alice_rsa = bearer(rsa.token(&claims("alice", scopes)));
    let mut other_claims = claims("alice", "");
    other_claims["scp"] = json!(["orders:list"]);
    let alice_ec = bearer(ec.token(&other_claims));
    assert_ne!(alice_rsa, alice_ec);
    assert_eq!(
        app.get_with("/orders", Some(&alice_rsa)).await.status(),
        200
    );
    assert_eq!(app.get_with("/orders", Some(&alice_ec)).await.status(), 200);
    let over = app.get_with("/orders", Some(&alice_ec)).await;
    assert_eq!(
        over.status(),
        429,
        "the second token is charged to the same sub"
    );
    assert!(over.headers()["retry-after"].to_str()?.parse::<u64>()? >= 1);

    // Another subject, signed by the same key, has a burst of its own.
    let bob = bearer(rsa.token(&claims("bob", scopes)));
    for _ in 0..2 {
        assert_eq!(app.get_with("/orders", Some(&bob)).await.status(), 200);
    }
    assert_eq!(app.get_with("/orders", Some(&bob)).await.status(), 429);
    let text = app.metrics_text().await;
    assert_eq!(
        support::metric_value(&text, "auth_failures_total{reason=\"rate\"}"),
        2.0
    );
    app.stop().await
}

#[tokio::test]
async fn the_burst_defaults_to_twice_the_rate() -> TestResult {
    let keys = KeysFile::new(&[("a", FULL_SCOPES)]);
    let app = spawn_app_with_auth(ReadArgs::default(), limited(keys.auth_args(), None), None).await;
    let a = format!("Bearer {}", keys.key("a"));
    let statuses =
        futures::future::join_all((0..3).map(|_| app.get_with("/orders", Some(&a)))).await;
    let mut statuses: Vec<u16> = statuses.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 429]);
    app.stop().await
}

#[tokio::test]
async fn with_auth_off_the_client_address_is_the_caller() -> TestResult {
    let app =
        spawn_app_with_auth(ReadArgs::default(), limited(AuthArgs::off(), Some(2)), None).await;
    assert_eq!(app.get_with("/orders", None).await.status(), 200);
    // Any or no token: with auth off the address decides.
    assert_eq!(
        app.get_with("/orders", Some("Bearer whatever-you-like-123"))
            .await
            .status(),
        200
    );
    let over = app.get_with("/order/x", None).await;
    assert_eq!(over.status(), 429);
    assert!(over.headers()["retry-after"].to_str()?.parse::<u64>()? >= 1);
    let ready: Value = app.get("/readyz").await.json().await?;
    assert_eq!(ready["auth"], "off");
    app.stop().await
}
