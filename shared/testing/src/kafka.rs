//! Random topics for one test, created through the admin API and deleted when dropped.

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use std::time::Duration;

/// The local broker, or `KAFKA_BROKERS`.
pub fn brokers() -> String {
    std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| "localhost:9092".into())
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
    /// Creates three topics with `partitions` partitions each.
    pub async fn create(partitions: i32) -> TestTopics {
        let base = super::unique_name("t");
        let topics = TestTopics {
            orders: format!("{base}.orders"),
            retry: format!("{base}.retry"),
            dlq: format!("{base}.dlq"),
            group: format!("{base}.group"),
        };
        let admin = admin();
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
        let names = [self.orders.as_str(), self.retry.as_str(), self.dlq.as_str()];
        let _ = admin().delete_topics(&names, &AdminOptions::new()).await;
    }
}

fn admin() -> AdminClient<DefaultClientContext> {
    pipeline_kafka::client::base(&brokers(), "tests-admin")
        .create()
        .expect("kafka admin client")
}
