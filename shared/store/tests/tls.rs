//! PostgreSQL over TLS against the secure stack (`scripts/stack.sh up --secure`, TLS-only server,
//! certificate for `localhost` only): libpq's `sslmode` levels, client-certificate login, and a
//! one-line diagnosis naming PostgreSQL and the cause for a wrong password, an unknown CA, a
//! host-name mismatch and a plaintext attempt, none of which carries a secret; and against a
//! fake server without TLS, that `require` and `verify-full` fail without a byte in plaintext.

use order_store::{Db, StoreError};
use pipeline_testing::db::query_value;
use pipeline_testing::secure::{stack, SecureStack};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// `DATABASE_URL` of the stack with `from` replaced by `to`.
fn url_with(stack: &SecureStack, from: &str, to: &str) -> String {
    let url = stack.database_url("orders");
    assert!(url.contains(from), "{url} has no {from}");
    url.replacen(from, to, 1)
}

async fn ping(url: String) -> Result<(), StoreError> {
    let db = Db::connect(&stack().postgres_args(url)).await?;
    db.ping().await
}

/// Whether the session of a fresh pool connection is encrypted (pg_stat_ssl).
async fn encrypted(url: String) -> bool {
    let db = Db::connect(&stack().postgres_args(url))
        .await
        .expect("pool");
    let sql = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    query_value(&db, sql, &[]).await
}

/// Asserts `result` is a refusal naming PostgreSQL and `cause`, without any secret.
fn assert_refused(result: Result<(), StoreError>, cause: &str) {
    let err = result.expect_err("the connection must fail");
    assert!(err.is_refused(), "not diagnosed: {err:?}");
    let line = err.to_string();
    assert!(
        line.starts_with(&format!("PostgreSQL: {cause}")),
        "expected `PostgreSQL: {cause}`: {line}"
    );
    assert!(!line.contains('\n'), "one line: {line}");
    stack().assert_no_secret("the error", &line);
}

/// Asserts that the stack's `DATABASE_URL` with `from` replaced by `to` is refused, naming
/// PostgreSQL and `cause`.
async fn assert_url_refused(from: &str, to: &str, cause: &str) {
    assert_refused(ping(url_with(stack(), from, to)).await, cause);
}

#[tokio::test]
async fn verify_full_with_the_stack_ca_connects_encrypted() {
    let url = stack().database_url("orders");
    assert!(url.contains("sslmode=verify-full"), "{url}");
    assert!(encrypted(url).await);
}

#[tokio::test]
async fn an_unknown_ca_is_a_certificate_failure() {
    let stack = stack();
    let (ca, other_ca) = (
        stack.var("SECURE_CA_FILE"),
        stack.var("SECURE_OTHER_CA_FILE"),
    );
    assert_url_refused(ca, other_ca, "certificate rejected").await;
}

#[tokio::test]
async fn require_with_a_root_certificate_checks_the_chain_as_libpq_does() {
    let stack = stack();
    let other = url_with(stack, "verify-full", "require").replace(
        stack.var("SECURE_CA_FILE"),
        stack.var("SECURE_OTHER_CA_FILE"),
    );
    assert_refused(ping(other).await, "certificate rejected");
    // Without a root certificate, `require` encrypts without checking.
    let unchecked = url_with(stack, "sslmode=verify-full", "sslmode=require")
        .replace(&format!("&sslrootcert={}", stack.var("SECURE_CA_FILE")), "");
    assert!(!unchecked.contains("sslrootcert"), "{unchecked}");
    assert!(encrypted(unchecked).await);
}

#[tokio::test]
async fn a_wrong_password_is_an_authentication_failure() {
    let password = format!(":{}@", stack().var("SECURE_PG_PASSWORD"));
    assert_url_refused(&password, ":not-the-password@", "authentication failed").await;
}

#[tokio::test]
async fn verify_full_checks_the_host_name_and_verify_ca_does_not() {
    let stack = stack();
    // The server certificate names `localhost` only.
    let by_address = url_with(stack, "@localhost:", "@127.0.0.1:");
    assert_refused(ping(by_address.clone()).await, "host name mismatch");
    let chain_only = by_address.replace("sslmode=verify-full", "sslmode=verify-ca");
    ping(chain_only)
        .await
        .expect("verify-ca ignores the host name");
}

#[tokio::test]
async fn plaintext_never_reaches_a_tls_only_server() {
    assert_url_refused(
        "sslmode=verify-full",
        "sslmode=disable",
        "authentication failed",
    )
    .await;
}

#[tokio::test]
async fn a_client_certificate_logs_in_and_one_from_another_ca_is_refused() {
    let stack = stack();
    let url = stack.var("SECURE_DATABASE_CERT_URL").to_owned();
    assert!(url.contains("sslcert="), "{url}");
    assert!(encrypted(url.clone()).await);
    let other = url
        .replace(
            stack.var("SECURE_CLIENT_CERT"),
            stack.var("SECURE_OTHER_CLIENT_CERT"),
        )
        .replace(
            stack.var("SECURE_CLIENT_KEY"),
            stack.var("SECURE_OTHER_CLIENT_KEY"),
        );
    let err = ping(other).await.expect_err("a foreign client certificate");
    assert!(err.is_refused(), "{err:?}");
    let line = err.to_string();
    assert!(
        line.starts_with("PostgreSQL: certificate rejected")
            || line.starts_with("PostgreSQL: authentication failed"),
        "{line}"
    );
    stack.assert_no_secret("the error", &line);
}

#[tokio::test]
async fn a_missing_root_certificate_file_is_named_at_connect() {
    let url = url_with(
        stack(),
        stack().var("SECURE_CA_FILE"),
        "/nonexistent/ca.pem",
    );
    let err = Db::connect(&stack().postgres_args(url))
        .await
        .expect_err("unreadable sslrootcert");
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
}

/// PostgreSQL's SSLRequest: length 8, then the code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// A server without TLS on a free local port: it answers `N` to each connection's SSLRequest
/// and records what the client sends until it closes the connection; every connection's bytes
/// arrive on the receiver.
async fn server_without_tls() -> (u16, UnboundedReceiver<Vec<u8>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("its address").port();
    let (sender, received) = unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let sender = sender.clone();
            tokio::spawn(async move {
                let mut first = [0; 8];
                let mut bytes = Vec::new();
                if socket.read_exact(&mut first).await.is_ok() {
                    bytes.extend_from_slice(&first);
                    if first == SSL_REQUEST {
                        let _ = socket.write_all(b"N").await;
                    }
                    // Whatever follows, until the client closes the connection.
                    let _ = socket.read_to_end(&mut bytes).await;
                }
                let _ = sender.send(bytes);
            });
        }
    });
    (port, received)
}

#[tokio::test]
async fn require_and_verify_full_never_fall_back_to_plaintext() {
    let (port, mut received) = server_without_tls().await;
    let verify_full = format!("verify-full&sslrootcert={}", stack().var("SECURE_CA_FILE"));
    for mode in ["require", verify_full.as_str()] {
        let url = format!("postgres://orders:orders@127.0.0.1:{port}/orders?sslmode={mode}");
        assert_refused(ping(url).await, "TLS failed");
        // The attempt sent the SSLRequest, and after the `N` nothing, the startup message (user
        // and database in the clear) included.
        let first = received.recv().await.expect("a connection");
        assert_eq!(
            first, SSL_REQUEST,
            "sslmode={mode} sent more than the SSLRequest"
        );
        while let Ok(more) = received.try_recv() {
            assert_eq!(more, SSL_REQUEST, "sslmode={mode}: a retry sent more");
        }
    }
}
