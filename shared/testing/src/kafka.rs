//! Random topics for one test, created through the admin API and deleted when their guard drops
//! (also when the test panics).

use crate::cleanup;
use pipeline_kafka::KafkaArgs;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use std::time::Duration;

/// The local broker, or `KAFKA_BROKERS`.
pub fn brokers() -> String {
    std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| "localhost:9092".into())
}

/// Settings for the local (plaintext) broker with the default topic names.
pub fn local() -> KafkaArgs {
    KafkaArgs {
        brokers: brokers(),
        orders_topic: "orders".into(),
        retry_topic: "orders.retry".into(),
        dlq_topic: "orders.dlq".into(),
        security: Default::default(),
    }
}

/// Input, retry and DLQ topics private to one test, plus a consumer group name; the topics are
/// deleted when this drops.
#[derive(Debug)]
pub struct TestTopics {
    pub orders: String,
    pub retry: String,
    pub dlq: String,
    pub group: String,
    /// The broker they live on, as the test connects to it.
    kafka: KafkaArgs,
}

impl TestTopics {
    /// Creates three topics with `partitions` partitions each on the local broker.
    pub async fn create(partitions: i32) -> TestTopics {
        Self::create_on(&local(), partitions).await
    }

    /// Creates them on the broker `kafka` names, connecting as it says (secure stack too).
    pub async fn create_on(kafka: &KafkaArgs, partitions: i32) -> TestTopics {
        let base = super::unique_name("t");
        let topics = TestTopics {
            orders: format!("{base}.orders"),
            retry: format!("{base}.retry"),
            dlq: format!("{base}.dlq"),
            group: format!("{base}.group"),
            kafka: kafka.clone(),
        };
        let new: Vec<NewTopic> = [&topics.orders, &topics.retry, &topics.dlq]
            .into_iter()
            .map(|name| NewTopic::new(name, partitions, TopicReplication::Fixed(1)))
            .collect();
        create(kafka, &new).await;
        topics
    }
}

impl Drop for TestTopics {
    fn drop(&mut self) {
        let names = vec![self.orders.clone(), self.retry.clone(), self.dlq.clone()];
        delete_on_drop(&self.kafka, names);
    }
}

/// One topic of the local broker with settings of its own (e.g. a tiny `max.message.bytes`),
/// deleted when this drops.
#[derive(Debug)]
pub struct TestTopic {
    pub name: String,
}

impl TestTopic {
    /// Creates topic `<prefix>_<random>` with one partition and the given topic `config`.
    pub async fn create(prefix: &str, config: &[(&str, &str)]) -> TestTopic {
        let name = super::unique_name(prefix);
        let topic = config.iter().fold(
            NewTopic::new(&name, 1, TopicReplication::Fixed(1)),
            |topic, (key, value)| topic.set(key, value),
        );
        create(&local(), &[topic]).await;
        TestTopic { name }
    }
}

impl Drop for TestTopic {
    fn drop(&mut self) {
        delete_on_drop(&local(), vec![self.name.clone()]);
    }
}

async fn create(kafka: &KafkaArgs, topics: &[NewTopic<'_>]) {
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin(kafka)
        .expect("kafka admin client")
        .create_topics(topics, &options)
        .await
        .expect("create test topics");
    for result in results {
        result.expect("create test topic");
    }
}

/// Deletes `names` from the broker `kafka` names, from a guard's drop (see [`cleanup`]).
fn delete_on_drop(kafka: &KafkaArgs, names: Vec<String>) {
    let kafka = kafka.clone();
    cleanup::run(format!("test topics {}", names.join(", ")), move || {
        let admin = admin(&kafka)?;
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        let results = cleanup::block_on(admin.delete_topics(&names, &options))?
            .map_err(|err| err.to_string())?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) => {}
                Err((topic, code)) => return Err(format!("{topic}: {code}")),
            }
        }
        Ok(())
    });
}

fn admin(kafka: &KafkaArgs) -> Result<AdminClient<DefaultClientContext>, String> {
    pipeline_kafka::client::base(kafka, "tests-admin")
        .map_err(|err| format!("kafka settings: {err}"))?
        .create()
        .map_err(|err| format!("kafka admin client: {err}"))
}
