//! The query-api binary itself: unusable access settings stop it at start with one line naming
//! the fix; `AUTH_MODE=off` starts with a warning; and whatever it serves, its logs carry neither
//! tokens nor customer values.

mod support;

use pipeline_testing::db::{role_url, TestDb, READER};
use pipeline_testing::prefix::TestPrefix;
use serde_json::{json, Value};
use std::process::Stdio;
use std::time::Duration;
use support::jwt::{claims, now_plus, Signer, AUDIENCE, ISSUER};
use support::keys::{KeysFile, FULL_SCOPES};
use support::{sample_order, TestResult};
use tokio::io::{AsyncBufReadExt, BufReader};

const BINARY: &str = env!("CARGO_BIN_EXE_query-api");

/// Environment variables, and what the one line of the error must mention.
type Case<'a> = (Vec<(&'a str, &'a str)>, &'a [&'a str]);

/// The binary with only `vars` set, in an empty directory (no `.env` is read).
fn command(dir: &std::path::Path, vars: &[(&str, &str)]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(BINARY);
    command
        .env_clear()
        .current_dir(dir)
        .env("HTTP_ADDR", "127.0.0.1:0")
        .env("ADMIN_ADDR", "127.0.0.1:0")
        .env("DATABASE_URL", "postgres://orders:orders@127.0.0.1:1/none")
        .env("DB_CONNECT_TIMEOUT_MS", "200")
        .envs(vars.iter().copied())
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn unusable_access_settings_stop_the_start_with_one_line() -> TestResult {
    let dir = tempfile::tempdir()?;
    let bad_keys = dir.path().join("bad-keys");
    std::fs::write(&bad_keys, "# fine\nok 00 orders:read\n")?;
    let bad_keys = bad_keys.to_string_lossy().into_owned();
    let cases: Vec<Case> = vec![
        (vec![], &["AUTH_MODE", "api-key, jwt, api-key,jwt or off"]),
        (
            vec![("AUTH_MODE", "")],
            &["AUTH_MODE", "api-key, jwt, api-key,jwt or off"],
        ),
        (
            vec![("AUTH_MODE", "none")],
            &["AUTH_MODE", "api-key, jwt, api-key,jwt or off"],
        ),
        (vec![("AUTH_MODE", "api-key")], &["API_KEYS_FILE"]),
        (
            vec![("AUTH_MODE", "api-key"), ("API_KEYS_FILE", "/no/such/file")],
            &["API_KEYS_FILE", "/no/such/file"],
        ),
        (
            vec![("AUTH_MODE", "api-key"), ("API_KEYS_FILE", &bad_keys)],
            &["line 2", "64 hex digits"],
        ),
        (
            vec![
                ("AUTH_MODE", "jwt"),
                ("AUTH_JWKS_URL", "http://127.0.0.1:1/jwks"),
            ],
            &["AUTH_ISSUER", "AUTH_AUDIENCE"],
        ),
        (
            vec![
                ("AUTH_MODE", "jwt"),
                ("AUTH_ISSUER", "i"),
                ("AUTH_AUDIENCE", "a"),
            ],
            &["AUTH_JWKS_URL", "AUTH_JWKS_FILE"],
        ),
        (
            vec![
                ("AUTH_MODE", "jwt"),
                ("AUTH_ISSUER", "i"),
                ("AUTH_AUDIENCE", "a"),
                ("AUTH_JWKS_URL", "ftp://x/"),
            ],
            &["http or https"],
        ),
        (
            vec![
                ("AUTH_MODE", "off"),
                ("RATE_LIMIT_PER_SEC", "5"),
                ("RATE_LIMIT_BURST", "0"),
            ],
            &["RATE_LIMIT_BURST"],
        ),
    ];
    for (vars, expected) in cases {
        let output = command(dir.path(), &vars).output().await?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{vars:?} started");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{vars:?}: one line, got {stderr}");
        for needle in expected {
            assert!(
                lines[0].contains(needle),
                "{vars:?}: {needle:?} missing in {stderr}"
            );
        }
    }
    Ok(())
}

/// A running binary and its log, read line by line.
struct Running {
    child: tokio::process::Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    log: Vec<String>,
}

impl Running {
    fn start(mut command: tokio::process::Command) -> std::io::Result<Self> {
        let mut child = command
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| std::io::Error::other("no stderr"))?;
        let (sender, lines) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                let _ = sender.send(line);
            }
        });
        Ok(Self {
            child,
            lines,
            log: Vec::new(),
        })
    }

    /// Reads the log until a line contains `needle`; returns that line parsed as JSON.
    async fn until(&mut self, needle: &str) -> Result<Value, Box<dyn std::error::Error>> {
        loop {
            let line = tokio::time::timeout(Duration::from_secs(20), self.lines.recv())
                .await?
                .ok_or_else(|| {
                    format!("exited before logging {needle:?}:\n{}", self.log.join("\n"))
                })?;
            self.log.push(line.clone());
            if line.contains(needle) {
                return Ok(serde_json::from_str(&line)?);
            }
        }
    }

    /// Stops the process (SIGKILL is enough: nothing to flush) and returns the whole log.
    async fn finish(mut self) -> Vec<String> {
        let _ = self.child.kill().await;
        while let Ok(Some(line)) =
            tokio::time::timeout(Duration::from_secs(5), self.lines.recv()).await
        {
            self.log.push(line);
        }
        self.log
    }
}

fn port(line: &Value) -> u64 {
    line["fields"]["port"].as_u64().unwrap_or_default()
}

#[tokio::test]
async fn auth_off_warns_and_says_so_on_both_readiness_endpoints() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut running = Running::start(command(
        dir.path(),
        &[("AUTH_MODE", "off"), ("LOG_FORMAT", "json")],
    ))?;
    let warning = running.until("AUTH_MODE=off").await?;
    assert_eq!(warning["level"], "WARN");
    let http = port(&running.until("query-api listening").await?);
    let admin = port(&running.until("admin endpoints").await?);
    let client = reqwest::Client::new();
    for port in [http, admin] {
        let body: Value = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await?
            .json()
            .await?;
        assert_eq!(body["auth"], "off", "port {port}");
    }
    running.finish().await;
    Ok(())
}

#[tokio::test]
async fn logs_carry_neither_tokens_nor_customer_values() -> TestResult {
    let db = TestDb::create().await;
    // Stored as the owner, read by query-api with only the read-only role's grants.
    let database_url = role_url(db.name(), READER);
    let order = sample_order();
    order_store::OrderRepository::new(db.db().clone())
        .store_batch(std::slice::from_ref(&order))
        .await?;
    let keys = KeysFile::new(&[("full", FULL_SCOPES), ("reader", "orders:read")]);
    let keys_file = keys.path().to_string_lossy().into_owned();
    // JWTs too: an RS256 and an ES256 key in a JWKS file next to the keys file.
    let (rsa, ec) = (Signer::rsa("rsa-1"), Signer::ec("ec-1"));
    let impostor = Signer::ec("ec-1"); // same kid, another key: a bad signature
    let dir = keys
        .path()
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .to_owned();
    let jwks_file = dir.join("jwks.json");
    std::fs::write(
        &jwks_file,
        json!({"keys": [rsa.jwk(), ec.jwk()]}).to_string(),
    )?;
    let jwks_file = jwks_file.to_string_lossy().into_owned();
    let mut expired = claims("user-1", "orders:read orders:list");
    expired["exp"] = json!(now_plus(-3600));
    let tokens = [
        rsa.token(&claims("user-1", "orders:read orders:list")),
        ec.token(&claims("user-2", "orders:read orders:list")),
        ec.token(&claims("user-3", "orders:read")),
        impostor.token(&claims("user-4", "orders:read orders:list")),
        rsa.token(&expired),
        Signer::rsa("rsa-unknown").token(&claims("user-5", "orders:read")),
    ];
    let redis = TestPrefix::new();
    let mut running = Running::start(command(
        &dir,
        &[
            ("AUTH_MODE", "api-key,jwt"),
            ("API_KEYS_FILE", &keys_file),
            ("AUTH_JWKS_FILE", &jwks_file),
            ("AUTH_ISSUER", ISSUER),
            ("AUTH_AUDIENCE", AUDIENCE),
            ("DATABASE_URL", &database_url),
            ("REDIS_URL", &redis.redis_url),
            ("ORDER_CACHE_KEY_PREFIX", &redis.key_prefix),
            ("RUST_LOG", "trace"),
            ("LOG_FORMAT", "json"),
        ],
    ))?;
    let http = port(&running.until("query-api listening").await?);
    let base = format!("http://127.0.0.1:{http}");
    let client = reqwest::Client::new();
    let wrong = support::keys::random_key();
    let uid = order.uid();
    let mut requests = vec![
        (format!("/order/{uid}"), keys.key("full")),
        (format!("/order/{uid}"), keys.key("full")),
        ("/orders".to_owned(), keys.key("full")),
        ("/orders".to_owned(), keys.key("reader")),
        (format!("/order/{uid}"), wrong.clone()),
    ];
    for token in &tokens {
        requests.push((format!("/order/{uid}"), token.clone()));
        requests.push(("/orders".to_owned(), token.clone()));
    }
    let mut statuses = Vec::new();
    for (path, token) in requests {
        let status = client
            .get(format!("{base}{path}"))
            .bearer_auth(&token)
            .send()
            .await?
            .status();
        assert!(
            [200, 401, 403].contains(&status.as_u16()),
            "{path}: {status}"
        );
        statuses.push(status.as_u16());
    }
    // The JWTs were judged (accepted, refused for a scope, refused), so their path was logged.
    assert_eq!(
        &statuses[5..],
        [200, 200, 200, 200, 200, 403, 401, 401, 401, 401, 401, 401],
        "the JWT answers"
    );
    let log = running.finish().await.join("\n");
    assert!(log.contains("request"), "the access log ran");
    for secret in [keys.key("full"), keys.key("reader"), wrong] {
        assert!(!log.contains(&secret), "a token in the log");
    }
    for token in &tokens {
        assert!(!log.contains(token.as_str()), "a JWT in the log");
        // Nor its claims or its signature on their own.
        for part in token.split('.').skip(1) {
            assert!(!log.contains(part), "part of a JWT in the log: {part}");
        }
    }
    let delivery = &order.order().delivery;
    for value in [
        &delivery.name,
        &delivery.phone,
        &delivery.email,
        &delivery.address,
    ] {
        assert!(
            !log.contains(value.as_str()),
            "a customer value in the log: {value}"
        );
    }
    Ok(())
}
