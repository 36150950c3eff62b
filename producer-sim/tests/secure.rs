//! The `producer-sim` binary against the secure stack (`scripts/stack.sh up --secure`): it
//! publishes over SASL_SSL (password from a mounted file) and over mutual TLS, and a wrong
//! password or an unknown CA makes it exit non-zero with one line naming Kafka and the cause,
//! with no secret in its output.

use pipeline_testing::kafka::TestTopics;
use pipeline_testing::secure::{stack, KAFKA_SASL_ENV};
use std::process::{Command, Output, Stdio};

fn producer_sim(env: &[(&str, String)], count: u32, topic: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_producer-sim"))
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("RUST_LOG", "debug")
        .args(["--count", &count.to_string(), "--rate", "0", "--seed", "11"])
        .args(["--topic", topic])
        .stdin(Stdio::null())
        .output()
        .expect("run producer-sim")
}

fn sasl_env() -> Vec<(&'static str, String)> {
    stack().env_of(&KAFKA_SASL_ENV)
}

fn set(env: &mut Vec<(&'static str, String)>, key: &'static str, value: String) {
    env.retain(|(k, _)| *k != key);
    env.push((key, value));
}

fn assert_clean_success(output: &Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    stack().assert_no_secret("stderr", &stderr);
}

fn assert_fails_naming(output: &Output, line_start: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "must fail:\n{stderr}");
    let line = stderr
        .lines()
        .find(|line| line.starts_with("producer-sim: error:"))
        .unwrap_or_else(|| panic!("no error line:\n{stderr}"));
    assert!(line.contains(line_start), "expected `{line_start}`: {line}");
    stack().assert_no_secret("stderr", &stderr);
}

#[tokio::test]
async fn publishes_over_sasl_ssl_with_the_password_from_a_file_and_over_mutual_tls() {
    let kafka = stack().kafka_args();
    let topics = TestTopics::create_on(&kafka, 1).await;

    let mut env = sasl_env();
    env.retain(|(k, _)| *k != "KAFKA_SASL_PASSWORD");
    let file = std::env::temp_dir().join(pipeline_testing::unique_name("sim-pw"));
    std::fs::write(&file, format!("{}\n", stack().var("KAFKA_SASL_PASSWORD"))).expect("write");
    env.push(("KAFKA_SASL_PASSWORD_FILE", file.display().to_string()));
    let output = producer_sim(&env, 25, &topics.orders);
    let _ = std::fs::remove_file(&file);
    assert_clean_success(&output);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("acked 25, failed 0"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let mtls = vec![
        (
            "KAFKA_BROKERS",
            stack().var("SECURE_KAFKA_MTLS_BROKERS").to_owned(),
        ),
        ("KAFKA_SECURITY_PROTOCOL", "ssl".to_owned()),
        (
            "KAFKA_SSL_CA_LOCATION",
            stack().var("SECURE_CA_FILE").to_owned(),
        ),
        (
            "KAFKA_SSL_CERTIFICATE_LOCATION",
            stack().var("SECURE_CLIENT_CERT").to_owned(),
        ),
        (
            "KAFKA_SSL_KEY_LOCATION",
            stack().var("SECURE_CLIENT_KEY").to_owned(),
        ),
    ];
    assert_clean_success(&producer_sim(&mtls, 5, &topics.orders));
}

#[test]
fn a_wrong_password_exits_non_zero_naming_kafka_authentication() {
    let mut env = sasl_env();
    set(&mut env, "KAFKA_SASL_PASSWORD", "not-the-password".into());
    assert_fails_naming(
        &producer_sim(&env, 1, "orders"),
        "Kafka: authentication failed",
    );
}

#[test]
fn an_unknown_ca_exits_non_zero_naming_the_certificate() {
    let mut env = sasl_env();
    set(
        &mut env,
        "KAFKA_SSL_CA_LOCATION",
        stack().var("SECURE_OTHER_CA_FILE").into(),
    );
    assert_fails_naming(
        &producer_sim(&env, 1, "orders"),
        "Kafka: certificate rejected",
    );
}
