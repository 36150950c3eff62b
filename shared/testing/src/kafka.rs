//! Random topics for one test, created through the admin API and deleted when dropped.

use pipeline_kafka::KafkaArgs;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
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

/// Input, retry and DLQ topics private to one test, plus a consumer group name.
#[derive(Debug, Clone)]
pub struct TestTopics {
    pub orders: String,
    pub retry: String,
    pub dlq: String,
    pub group: String,
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
        };
        let admin = admin(kafka);
        let new: Vec<NewTopic> = [&topics.orders, &topics.retry, &topics.dlq]
            .into_iter()
            .map(|name| NewTopic::new(name, partitions, TopicReplication::Fixed(1)))
            .collect();
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        let results = admin
            .create_topics(&new, &options)
            .await
            .expect("create test topics");
        for result in results {
            result.expect("create test topic");
        }
        topics
    }

    /// Deletes the topics (best effort: a leftover random topic harms nobody).
    pub async fn delete(&self) {
        self.delete_on(&local()).await;
    }

    /// Deletes them from the broker `kafka` names.
    pub async fn delete_on(&self, kafka: &KafkaArgs) {
        let names = [self.orders.as_str(), self.retry.as_str(), self.dlq.as_str()];
        let _ = admin(kafka)
            .delete_topics(&names, &AdminOptions::new())
            .await;
    }
}

fn admin(kafka: &KafkaArgs) -> AdminClient<DefaultClientContext> {
    pipeline_kafka::client::base(kafka, "tests-admin")
        .expect("kafka settings")
        .create()
        .expect("kafka admin client")
}
