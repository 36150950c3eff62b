//! The `ingest` binary against the secure stack (`scripts/stack.sh up --secure`): secrets from
//! files (`migrate status` and a ready `run` with both URLs and the Kafka password read from
//! them), and a wrong password, an unknown CA or a host-name mismatch reported as one line naming
//! the service and the cause — a non-zero exit for the subcommands, error log lines and `/readyz`
//! for `ingest run` — with no password or key anywhere in what it prints or serves.

use pipeline_testing::db::TestDb;
use pipeline_testing::process::read_in_background;
use pipeline_testing::secure::{stack, KAFKA_SASL_ENV};
use std::collections::HashMap;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The secure stack's settings as the binary's environment (Kafka over SASL_SSL, PostgreSQL
/// verify-full, Redis rediss), debug logging so that even debug lines are checked for secrets.
fn secure_env() -> HashMap<&'static str, String> {
    let mut env: HashMap<_, _> = stack()
        .env_of(&KAFKA_SASL_ENV)
        .into_iter()
        .chain(stack().env_of(&["DATABASE_URL", "REDIS_URL", "REDIS_TLS_CA_FILE"]))
        .collect();
    env.insert("RUST_LOG", "debug".into());
    env.insert("DB_CONNECT_TIMEOUT_MS", "5000".into());
    // A TLS handshake plus the ACL login can outlast the 250 ms default on a busy machine.
    env.insert("REDIS_TIMEOUT_MS", "2000".into());
    env
}

/// [`secure_env`] on a fresh migrated database (over verify-full TLS), dropped with the guard.
async fn secure_env_with_database() -> (HashMap<&'static str, String>, TestDb) {
    let db = stack().fresh_db().await;
    db.pool().close();
    let mut env = secure_env();
    env.insert("DATABASE_URL", stack().database_url(db.name()));
    (env, db)
}

fn ingest(env: &HashMap<&'static str, String>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ingest"));
    command.env_clear().envs(env).stdin(Stdio::null());
    command
}

fn run(env: &HashMap<&'static str, String>, args: &[&str]) -> Output {
    ingest(env).args(args).output().expect("run ingest")
}

/// Asserts a failed run whose stderr names `service: cause` and holds no secret.
fn assert_fails_naming(output: &Output, line_start: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(!output.status.success(), "must fail:\n{stderr}");
    assert!(
        stderr.contains(line_start),
        "expected `{line_start}`:\n{stderr}"
    );
    stack().assert_no_secret("stderr", &stderr);
    stack().assert_no_secret("stdout", &stdout);
    stderr
}

#[test]
fn dlq_inspect_names_a_wrong_kafka_password_and_exits_non_zero() {
    let mut env = secure_env();
    env.insert("KAFKA_SASL_PASSWORD", "not-the-password".into());
    let output = run(&env, &["dlq", "inspect"]);
    assert_fails_naming(&output, "Kafka: authentication failed");
}

#[tokio::test]
async fn dlq_replay_names_an_unknown_kafka_ca_and_exits_non_zero() {
    // Replay opens its ledger first: a migrated database, over verify-full TLS.
    let (mut env, _db) = secure_env_with_database().await;
    env.insert(
        "KAFKA_SSL_CA_LOCATION",
        stack().var("SECURE_OTHER_CA_FILE").into(),
    );
    let output = run(&env, &["dlq", "replay", "--all", "--dry-run"]);
    assert_fails_naming(&output, "Kafka: certificate rejected");
}

/// A mounted secret: a file holding one setting and a trailing newline, removed on drop.
struct SecretFile(std::path::PathBuf);

impl SecretFile {
    fn new(value: &str) -> Self {
        let path = std::env::temp_dir().join(pipeline_testing::unique_name("secret"));
        std::fs::write(&path, format!("{value}\n")).expect("write the secret file");
        SecretFile(path)
    }
}

impl Drop for SecretFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Moves each of `names` from `env` into a [`SecretFile`] that `{name}_FILE` points at.
fn secrets_from_files(
    env: &mut HashMap<&'static str, String>,
    names: &[(&'static str, &'static str)],
) -> Vec<SecretFile> {
    names
        .iter()
        .map(|(name, file_variable)| {
            let value = env.remove(name).expect("the setting to move");
            let file = SecretFile::new(&value);
            env.insert(file_variable, file.0.display().to_string());
            file
        })
        .collect()
}

#[test]
fn dlq_inspect_reads_the_kafka_password_from_a_file() {
    let mut env = secure_env();
    let _file = secrets_from_files(
        &mut env,
        &[("KAFKA_SASL_PASSWORD", "KAFKA_SASL_PASSWORD_FILE")],
    );
    let output = run(&env, &["dlq", "inspect"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    stack().assert_no_secret("stderr", &stderr);
}

#[test]
fn a_secret_set_both_inline_and_from_a_file_stops_the_start() {
    let mut env = secure_env();
    env.insert("DATABASE_URL_FILE", "/nonexistent/database-url".into());
    let output = run(&env, &["migrate", "status"]);
    let stderr = assert_fails_naming(&output, "DATABASE_URL and DATABASE_URL_FILE");
    assert_eq!(output.status.code(), Some(2), "{stderr}");
}

#[test]
fn migrate_names_a_postgres_host_name_mismatch_and_exits_non_zero() {
    let mut env = secure_env();
    let url = env["DATABASE_URL"].replace("@localhost:", "@127.0.0.1:");
    env.insert("DATABASE_URL", url);
    let output = run(&env, &["migrate", "status"]);
    assert_fails_naming(&output, "PostgreSQL: host name mismatch");
}

/// `DATABASE_URL_FILE` and `REDIS_URL_FILE` (DATABASE_URL and REDIS_URL unset), each file
/// ending in a newline as mounted secrets often do.
const URLS_FROM_FILES: [(&str, &str); 2] = [
    ("DATABASE_URL", "DATABASE_URL_FILE"),
    ("REDIS_URL", "REDIS_URL_FILE"),
];

#[tokio::test]
async fn migrate_status_reads_the_database_url_from_a_file() {
    let (mut env, _db) = secure_env_with_database().await;
    let _files = secrets_from_files(&mut env, &URLS_FROM_FILES);
    assert!(!env.contains_key("DATABASE_URL") && !env.contains_key("REDIS_URL"));
    let output = run(&env, &["migrate", "status"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("0004"), "the applied migrations:\n{stdout}");
    stack().assert_no_secret("stderr", &stderr);
    stack().assert_no_secret("stdout", &stdout);
}

#[tokio::test]
async fn run_is_ready_with_every_secret_read_from_a_file() {
    let (mut env, _db) = secure_env_with_database().await;
    let _files = secrets_from_files(
        &mut env,
        &[
            URLS_FROM_FILES[0],
            URLS_FROM_FILES[1],
            ("KAFKA_SASL_PASSWORD", "KAFKA_SASL_PASSWORD_FILE"),
        ],
    );
    let (status, body, stderr) = run_until(env, |status, _| status == 200).await;
    assert_eq!(status, 200, "{body}\n{stderr}");
    let parsed: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert!(parsed.get("errors").is_none(), "{body}");
    stack().assert_no_secret("the /readyz body", &body);
    stack().assert_no_secret("the log", &stderr);
}

/// Runs `ingest run` with `env` until `/readyz` names each `(dependency, line start)` of
/// `wanted` (or a minute passes); returns the last status, body and the whole log.
async fn run_until_named(
    env: HashMap<&'static str, String>,
    wanted: &[(&str, &str)],
) -> (u16, String, String) {
    run_until(env, |_, parsed| {
        wanted.iter().all(|(dependency, line)| {
            parsed["errors"][dependency]
                .as_str()
                .is_some_and(|text| text.starts_with(line))
        })
    })
    .await
}

/// Runs `ingest run` with `env` until `done` accepts `/readyz`'s status and body (or a minute
/// passes), then stops it with SIGTERM (its log is written by a background thread, flushed at
/// exit); returns the last status, body and the whole log.
async fn run_until(
    mut env: HashMap<&'static str, String>,
    done: impl Fn(u16, &serde_json::Value) -> bool,
) -> (u16, String, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    env.insert("METRICS_ADDR", format!("127.0.0.1:{port}"));
    env.insert("KAFKA_GROUP", pipeline_testing::unique_name("secure"));
    let mut child = ingest(&env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ingest run");
    // Read the log while it is written: a full pipe would stall the process.
    let log = read_in_background(child.stderr.take().expect("stderr"));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let url = format!("http://127.0.0.1:{port}/readyz");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = (0, String::new());
    while Instant::now() < deadline {
        if let Ok(response) = client.get(&url).send().await {
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            let parsed: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            let finished = done(status, &parsed);
            last = (status, body);
            if finished {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(term.is_ok_and(|status| status.success()), "kill -TERM");
    let _ = child.wait();
    let stderr = log.join().expect("the log reader");
    (last.0, last.1, stderr)
}

/// Asserts each wanted line is in `/readyz` and in an error-level log line, with no secret.
fn assert_named(wanted: &[(&str, &str)], status: u16, body: &str, stderr: &str) {
    for (dependency, line) in wanted {
        assert!(
            body.contains(line),
            "/readyz does not name {dependency}: {body}\n{stderr}"
        );
        let logged = stderr
            .lines()
            .any(|l| l.contains("ERROR") && l.contains(line));
        assert!(logged, "no error log line `{line}`:\n{stderr}");
    }
    assert_eq!(status, 503, "{body}");
    stack().assert_no_secret("the /readyz body", body);
    stack().assert_no_secret("the log", stderr);
}

#[tokio::test]
async fn run_names_a_refused_postgres_and_redis_in_readyz_and_the_error_log() {
    let s = stack();
    let mut env = secure_env();
    env.insert(
        "DATABASE_URL",
        env["DATABASE_URL"].replace(s.var("SECURE_CA_FILE"), s.var("SECURE_OTHER_CA_FILE")),
    );
    env.insert(
        "REDIS_URL",
        env["REDIS_URL"].replace(s.var("SECURE_REDIS_PASSWORD"), "not-the-password"),
    );
    let wanted = [
        ("postgres", "PostgreSQL: certificate rejected"),
        ("redis", "Redis: authentication failed"),
    ];
    let (status, body, stderr) = run_until_named(env, &wanted).await;
    assert_named(&wanted, status, &body, &stderr);
}

#[tokio::test]
async fn run_names_a_refused_kafka_login_in_readyz_and_the_error_log() {
    // The consumer starts once the schema is current: a migrated database, over TLS.
    let (mut env, _db) = secure_env_with_database().await;
    env.insert("KAFKA_SASL_PASSWORD", "not-the-password".into());
    let wanted = [("kafka", "Kafka: authentication failed")];
    let (status, body, stderr) = run_until_named(env, &wanted).await;
    assert_named(&wanted, status, &body, &stderr);
}
