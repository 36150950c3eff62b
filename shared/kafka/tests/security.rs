//! Kafka clients against the secure stack (`scripts/stack.sh up --secure`): SASL_SSL with each
//! mechanism and mutual TLS carry records both ways through the one client builder, and a wrong
//! password, an unknown CA or a foreign client certificate is reported as one line naming Kafka
//! and the cause, without the password.

use pipeline_kafka::failure::{LastFailure, ReportingContext};
use pipeline_kafka::{client, KafkaArgs, SaslMechanism};
use pipeline_testing::kafka::TestTopics;
use pipeline_testing::secure::stack;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;
use std::time::Duration;

/// Produces one record to `topic` and reads it back, both over `kafka`'s security settings.
async fn round_trip(kafka: &KafkaArgs, topic: &str) {
    let producer: FutureProducer = client::safe_producer(kafka, "security-test", 0)
        .expect("settings")
        .create()
        .expect("producer");
    let payload = format!(
        "over {:?} {}",
        kafka.security.protocol,
        pipeline_testing::unique_name("record")
    );
    producer
        .send(
            FutureRecord::to(topic).key("k").payload(&payload),
            Duration::from_secs(20),
        )
        .await
        .map_err(|(err, _)| err)
        .expect("acknowledged");
    let group = pipeline_testing::unique_name("sec");
    let consumer: BaseConsumer = client::manual_offset_consumer(kafka, &group, "security-test")
        .expect("settings")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        // Earlier round trips wrote to the same topic: wait for this one's record.
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(200)) {
            if message.payload() == Some(payload.as_bytes()) {
                return;
            }
        }
    }
    panic!(
        "the record never came back over {:?}",
        kafka.security.protocol
    );
}

/// What a client with `kafka`'s settings reports while trying to reach the broker.
fn failure_of(kafka: &KafkaArgs) -> String {
    let context = ReportingContext::default();
    let last: LastFailure = context.last.clone();
    let consumer: BaseConsumer<ReportingContext> = client::base(kafka, "security-test")
        .expect("settings")
        .create_with_context(context)
        .expect("client");
    // Fails (times out) because the broker refuses us; polling then delivers the client's
    // error and log events, which say why.
    let result = consumer.fetch_metadata(None, Duration::from_secs(10));
    assert!(result.is_err(), "the broker must refuse these settings");
    for _ in 0..5 {
        let _ = consumer.poll(Duration::from_millis(100));
    }
    let line = last.get().expect("a diagnosed failure").to_string();
    stack().assert_no_secret("the failure", &line);
    line
}

#[tokio::test]
async fn sasl_ssl_with_every_mechanism_and_mutual_tls_carry_records() {
    let secure = stack().kafka_args();
    let topics = TestTopics::create_on(&secure, 1).await;
    for mechanism in [
        SaslMechanism::Plain,
        SaslMechanism::ScramSha256,
        SaslMechanism::ScramSha512,
    ] {
        let mut kafka = secure.clone();
        kafka.security.sasl_mechanism = Some(mechanism);
        round_trip(&kafka, &topics.orders).await;
    }
    round_trip(&stack().kafka_mtls_args("SECURE_CLIENT"), &topics.orders).await;
}

#[test]
fn a_wrong_password_is_an_authentication_failure() {
    let mut kafka = stack().kafka_args();
    kafka.security.sasl_password = Some("not-the-password".into());
    let line = failure_of(&kafka);
    assert!(line.starts_with("Kafka: authentication failed"), "{line}");
}

#[test]
fn an_unknown_ca_is_a_certificate_failure() {
    let mut kafka = stack().kafka_args();
    kafka.security.ssl_ca_location = Some(stack().var("SECURE_OTHER_CA_FILE").into());
    let line = failure_of(&kafka);
    assert!(line.starts_with("Kafka: certificate rejected"), "{line}");
}

#[test]
fn a_host_name_the_broker_certificate_does_not_list_is_refused() {
    let mut kafka = stack().kafka_args();
    kafka.brokers = kafka.brokers.replace("localhost:", "127.0.0.1:");
    let line = failure_of(&kafka);
    // OpenSSL reports a name mismatch as a failed verification; either way the line says so.
    assert!(
        line.starts_with("Kafka: host name mismatch")
            || line.starts_with("Kafka: certificate rejected"),
        "{line}"
    );
}

#[test]
fn mutual_tls_refuses_a_client_certificate_from_another_ca() {
    let kafka = stack().kafka_mtls_args("SECURE_OTHER_CLIENT");
    let line = failure_of(&kafka);
    assert!(line.starts_with("Kafka: "), "{line}");
}
