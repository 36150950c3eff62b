//! Redis over TLS against the secure stack (`scripts/stack.sh up --secure`: TLS-only port, ACL
//! user, certificate for `localhost` only): the cache works over `rediss://`, and a wrong
//! password, an unknown CA, a host-name mismatch and a foreign client certificate each fail with
//! one line naming Redis and the cause, carrying no secret.

use order_cache::{CacheError, OrderCache, RedisArgs};
use pipeline_testing::secure::stack;

fn assert_refused(result: Result<(), CacheError>, cause: &str) {
    let err = result.expect_err("the connection must fail");
    let line = err.to_string();
    assert!(err.is_refused(), "not diagnosed: {line}");
    assert!(
        line.starts_with(&format!("Redis: {cause}")),
        "expected `Redis: {cause}`: {line}"
    );
    stack().assert_no_secret("the error", &line);
}

async fn ping(args: &RedisArgs) -> Result<(), CacheError> {
    OrderCache::new(args)?.ping().await
}

/// A generous timeout: a TLS handshake on a busy CI machine can take a while.
fn secure_args() -> RedisArgs {
    RedisArgs {
        timeout_ms: 3_000,
        ..stack().redis_args()
    }
}

#[tokio::test]
async fn rediss_with_the_stack_ca_and_acl_user_caches_orders() {
    let args = secure_args();
    assert!(
        args.redis_url.starts_with("rediss://"),
        "{}",
        args.redis_url
    );
    let cache = OrderCache::new(&args).expect("settings");
    let written = cache
        .put_many([("tls-uid-1", r#"{"order_uid":"tls-uid-1"}"#)])
        .await
        .expect("write over TLS");
    assert_eq!(written, 1);
    let read = cache.get("tls-uid-1").await.expect("read over TLS");
    assert_eq!(read.as_deref(), Some(r#"{"order_uid":"tls-uid-1"}"#));
}

#[tokio::test]
async fn a_wrong_password_is_an_authentication_failure() {
    let mut args = secure_args();
    let password = stack().var("SECURE_REDIS_PASSWORD");
    args.redis_url = args.redis_url.replace(password, "not-the-password");
    assert_refused(ping(&args).await, "authentication failed");
}

#[tokio::test]
async fn an_unknown_ca_is_a_certificate_failure() {
    let mut args = secure_args();
    args.tls.ca_file = Some(stack().var("SECURE_OTHER_CA_FILE").into());
    assert_refused(ping(&args).await, "certificate rejected");
}

#[tokio::test]
async fn a_host_name_the_certificate_does_not_list_is_refused() {
    let mut args = secure_args();
    args.redis_url = args.redis_url.replace("@localhost:", "@127.0.0.1:");
    assert_refused(ping(&args).await, "host name mismatch");
}

#[tokio::test]
async fn a_client_certificate_is_presented_and_a_foreign_one_refused() {
    let mut args = secure_args();
    args.tls.cert_file = Some(stack().var("SECURE_CLIENT_CERT").into());
    args.tls.key_file = Some(stack().var("SECURE_CLIENT_KEY").into());
    ping(&args)
        .await
        .expect("mutual TLS with the stack's client certificate");
    args.tls.cert_file = Some(stack().var("SECURE_OTHER_CLIENT_CERT").into());
    args.tls.key_file = Some(stack().var("SECURE_OTHER_CLIENT_KEY").into());
    assert_refused(ping(&args).await, "certificate rejected");
}
