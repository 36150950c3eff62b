//! Contract §8 with JWTs, black-box: real RS256 and ES256 tokens signed with keys made at test
//! time, a JWKS served by a local server on port 0, and the tokens that must be refused.

mod support;

use pipeline_testing::wait::within as wait_until;
use query_api::config::{AuthArgs, ReadArgs};
use serde_json::{json, Value};
use std::time::Duration;
use support::jwt::{claims, hs256, now_plus, unsigned, JwksServer, Signer, AUDIENCE, ISSUER};
use support::{spawn_app_with_auth, TestApp, TestResult};

const ORDER: &str = "/order/b563feb7b2b84b6test";
const BOTH: &str = "orders:read orders:list";

fn jwt_args(jwks_url: &str) -> AuthArgs {
    AuthArgs {
        mode: Some("jwt".into()),
        jwks_url: Some(jwks_url.into()),
        issuer: Some(ISSUER.into()),
        audience: Some(AUDIENCE.into()),
        ..AuthArgs::default()
    }
}

async fn status(app: &TestApp, path: &str, token: &str) -> u16 {
    app.get_with(path, Some(&format!("Bearer {token}")))
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn rs256_and_es256_tokens_with_the_scope_read_orders() -> TestResult {
    let (rsa, ec) = (Signer::rsa("rsa-1"), Signer::ec("ec-1"));
    let jwks = JwksServer::start(vec![rsa.jwk(), ec.jwk()]).await;
    let app = spawn_app_with_auth(ReadArgs::default(), jwt_args(&jwks.url), None).await;
    app.store_sample().await;
    let ready: Value = app.get("/readyz").await.json().await?;
    assert_eq!(
        (ready["auth"].as_str(), ready["jwks"].as_str()),
        (Some("jwt"), Some("up"))
    );

    for signer in [&rsa, &ec] {
        let token = signer.token(&claims("user-1", BOTH));
        let response = app.get_with(ORDER, Some(&format!("Bearer {token}"))).await;
        assert_eq!(response.status(), 200, "{}", signer.alg());
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(status(&app, "/orders", &token).await, 200);
    }
    // `scp` as an array, `aud` as an array holding ours, no `kid` when one key fits.
    let mut scp = claims("user-2", "");
    scp["scp"] = json!(["orders:list"]);
    scp["aud"] = json!(["other-api", AUDIENCE]);
    assert_eq!(status(&app, "/orders", &ec.token(&scp)).await, 200);
    assert_eq!(
        status(&app, ORDER, &ec.token(&scp)).await,
        403,
        "scp holds orders:list only"
    );
    let no_kid = rsa.sign(
        &json!({"alg": "RS256", "typ": "JWT"}),
        &claims("user-3", BOTH),
    );
    assert_eq!(status(&app, ORDER, &no_kid).await, 200);
    // Within the 60 s leeway.
    let mut late = claims("user-4", BOTH);
    late["exp"] = json!(now_plus(-30));
    late["nbf"] = json!(now_plus(30));
    assert_eq!(status(&app, ORDER, &rsa.token(&late)).await, 200);
    app.stop().await
}

#[tokio::test]
async fn forged_expired_and_misaddressed_tokens_are_refused() -> TestResult {
    let (rsa, ec) = (Signer::rsa("rsa-1"), Signer::ec("ec-1"));
    let impostor = Signer::rsa("rsa-1"); // same kid, another key
    let jwks = JwksServer::start(vec![rsa.jwk(), ec.jwk()]).await;
    let app = spawn_app_with_auth(ReadArgs::default(), jwt_args(&jwks.url), None).await;
    let with = |changes: Value| {
        let mut c = claims("user-1", BOTH);
        if let (Some(target), Some(changes)) = (c.as_object_mut(), changes.as_object()) {
            for (key, value) in changes {
                if value.is_null() {
                    target.remove(key);
                } else {
                    target.insert(key.clone(), value.clone());
                }
            }
        }
        c
    };
    let good = claims("user-1", BOTH);
    let cases: Vec<(&str, String)> = vec![
        ("expired", rsa.token(&with(json!({"exp": now_plus(-120)})))),
        (
            "not yet valid",
            rsa.token(&with(json!({"nbf": now_plus(300)}))),
        ),
        ("no exp", rsa.token(&with(json!({"exp": null})))),
        ("no sub", rsa.token(&with(json!({"sub": null})))),
        (
            "wrong issuer",
            rsa.token(&with(json!({"iss": "https://evil.test/"}))),
        ),
        ("no issuer", rsa.token(&with(json!({"iss": null})))),
        (
            "wrong audience",
            rsa.token(&with(json!({"aud": "other-api"}))),
        ),
        (
            "audience list without ours",
            rsa.token(&with(json!({"aud": ["a", "b"]}))),
        ),
        ("signed by another key", impostor.token(&good)),
        ("alg none", unsigned("rsa-1", &good)),
        (
            "HS256 keyed with the RSA public key",
            hs256("rsa-1", &rsa.public_bytes(), &good),
        ),
        (
            "HS256 keyed with the EC public key",
            hs256("ec-1", &ec.public_bytes(), &good),
        ),
        (
            "RS256 header on the EC key",
            rsa.sign(&json!({"alg": "RS256", "kid": "ec-1"}), &good),
        ),
        (
            "ES256 header on the RSA key",
            ec.sign(&json!({"alg": "ES256", "kid": "rsa-1"}), &good),
        ),
        (
            "RS384",
            rsa.sign(&json!({"alg": "RS384", "kid": "rsa-1"}), &good),
        ),
        ("not a JWT", "abc.def.ghi".to_owned()),
        ("tampered claims", {
            let token = rsa.token(&good);
            let parts: Vec<&str> = token.split('.').collect();
            let forged = support::jwt::Signer::ec("x").token(&with(json!({"sub": "admin"})));
            format!(
                "{}.{}.{}",
                parts[0],
                forged.split('.').nth(1).unwrap_or(""),
                parts[2]
            )
        }),
        ("huge", format!("{}.{}", rsa.token(&good), "a".repeat(9000))),
    ];
    for (what, token) in &cases {
        let response = app.get_with(ORDER, Some(&format!("Bearer {token}"))).await;
        assert_eq!(response.status(), 401, "{what}");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\"",
            "{what}"
        );
        let body = response.text().await?;
        assert!(
            !body.contains(token.as_str()),
            "{what}: the body repeats the token"
        );
        if *what == "expired" {
            assert!(body.contains("expired"), "{body}");
        }
    }
    // Valid, but without the route's scope.
    for (scope, path) in [
        ("orders:list", ORDER),
        ("orders:read", "/orders"),
        ("", ORDER),
    ] {
        assert_eq!(
            status(&app, path, &ec.token(&claims("user-5", scope))).await,
            403,
            "{scope} {path}"
        );
    }
    let text = app.metrics_text().await;
    let value = |reason: &str| {
        support::metric_value(
            &text,
            &format!("auth_failures_total{{reason=\"{reason}\"}}"),
        )
    };
    assert_eq!(value("expired"), 1.0);
    assert_eq!(value("invalid"), (cases.len() - 1) as f64);
    assert_eq!(value("scope"), 3.0);
    app.stop().await
}

#[tokio::test]
async fn an_unknown_kid_fetches_the_jwks_again_at_most_once_per_10_seconds() -> TestResult {
    let (first, second, third) = (Signer::ec("k1"), Signer::ec("k2"), Signer::rsa("k3"));
    let jwks = JwksServer::start(vec![first.jwk()]).await;
    let app = spawn_app_with_auth(ReadArgs::default(), jwt_args(&jwks.url), None).await;
    assert_eq!(jwks.hits(), 1, "fetched at start");
    assert_eq!(
        status(&app, "/orders", &first.token(&claims("u", BOTH))).await,
        200
    );
    assert_eq!(jwks.hits(), 1, "known kid: no fetch");

    // The issuer rotates in a new key: the first token naming it triggers one fetch.
    jwks.set_keys(vec![first.jwk(), second.jwk()]);
    assert_eq!(
        status(&app, "/orders", &second.token(&claims("u", BOTH))).await,
        200
    );
    assert_eq!(jwks.hits(), 2);

    // Another new kid right after: no fetch within 10 s, so refused; random kids neither.
    jwks.set_keys(vec![first.jwk(), second.jwk(), third.jwk()]);
    let newest = third.token(&claims("u", BOTH));
    assert_eq!(status(&app, "/orders", &newest).await, 401);
    let random = first.sign(
        &json!({"alg": "ES256", "kid": "no-such-kid"}),
        &claims("u", BOTH),
    );
    assert_eq!(status(&app, "/orders", &random).await, 401);
    assert_eq!(jwks.hits(), 2, "at most one unknown-kid fetch per 10 s");

    // Once 10 s have passed, the next unknown kid fetches again; until then each refusal leaves
    // the issuer alone. (That the wait is 10 s, not less, is the unit tests' subject, on exact
    // instants: query_api's auth::jwks.)
    wait_until(
        "the unknown kid fetched the JWKS again",
        Duration::from_secs(60),
        || async {
            let answer = status(&app, "/orders", &newest).await;
            if answer != 200 {
                assert_eq!(answer, 401);
                assert_eq!(jwks.hits(), 2, "a refused unknown kid fetched the JWKS");
            }
            answer == 200
        },
    )
    .await;
    assert_eq!(jwks.hits(), 3);
    app.stop().await
}

#[tokio::test]
async fn a_jwks_file_is_reloaded_and_both_modes_accept_either_credential() -> TestResult {
    let (old, new) = (Signer::rsa("old"), Signer::ec("new"));
    let keys = support::keys::KeysFile::new(&[("svc", "orders:list")]);
    let jwks_path = keys.path().with_file_name("jwks.json");
    std::fs::write(&jwks_path, json!({"keys": [old.jwk()]}).to_string())?;
    let args = AuthArgs {
        mode: Some("api-key,jwt".into()),
        api_keys_file: Some(keys.path().to_string_lossy().into_owned()),
        jwks_file: Some(jwks_path.to_string_lossy().into_owned()),
        issuer: Some(ISSUER.into()),
        audience: Some(AUDIENCE.into()),
        ..AuthArgs::default()
    };
    let app = spawn_app_with_auth(ReadArgs::default(), args, None).await;
    let ready: Value = app.get("/readyz").await.json().await?;
    assert_eq!(ready["auth"], "api-key,jwt");
    assert_eq!(status(&app, "/orders", &keys.key("svc")).await, 200);
    let (old_token, new_token) = (old.token(&claims("u", BOTH)), new.token(&claims("u", BOTH)));
    assert_eq!(status(&app, "/orders", &old_token).await, 200);
    assert_eq!(status(&app, "/orders", &new_token).await, 401);
    assert_eq!(
        status(&app, ORDER, &keys.key("svc")).await,
        403,
        "the key lacks orders:read"
    );

    let aside = jwks_path.with_extension("new");
    std::fs::write(&aside, json!({"keys": [new.jwk()]}).to_string())?;
    std::fs::rename(&aside, &jwks_path)?;
    wait_until(
        "the changed JWKS file applied",
        Duration::from_secs(60),
        || async { status(&app, "/orders", &new_token).await == 200 },
    )
    .await;
    assert_eq!(
        status(&app, "/orders", &old_token).await,
        401,
        "the removed key is gone"
    );
    app.stop().await
}

#[tokio::test]
async fn without_its_keys_a_jwt_only_instance_is_not_ready() -> TestResult {
    let signer = Signer::ec("k");
    let plain = JwksServer::start(vec![signer.jwk()]).await;
    let dead = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?; // closed once dropped
                                                                          // Nobody listening; and https to a server that speaks plain http (the TLS handshake fails:
                                                                          // nothing falls back to plaintext).
    for url in [
        format!("http://{dead}/jwks.json"),
        plain.url.replacen("http://", "https://", 1),
    ] {
        let app = spawn_app_with_auth(ReadArgs::default(), jwt_args(&url), None).await;
        let (ready, body) = app.get_json("/readyz").await;
        assert_eq!(ready, 503, "{url}");
        assert_eq!(
            (body["postgres"].as_str(), body["jwks"].as_str()),
            (Some("up"), Some("down")),
            "{url}"
        );
        let token = signer.token(&claims("u", BOTH));
        assert_eq!(status(&app, "/orders", &token).await, 401, "{url}");
        app.stop().await?;
    }
    Ok(())
}
