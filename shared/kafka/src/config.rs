//! The Kafka settings group (contract §3, §9): brokers, topic names and security, flattened into
//! each binary's clap arguments.

use crate::security::KafkaSecurityArgs;
use clap::Args;

/// Kafka brokers, topic names and how to authenticate.
#[derive(Debug, Clone, Args)]
pub struct KafkaArgs {
    /// Comma-separated bootstrap servers.
    #[arg(
        long = "kafka-brokers",
        env = "KAFKA_BROKERS",
        default_value = "localhost:9092"
    )]
    pub brokers: String,
    /// Topic the orders arrive on.
    #[arg(long, env = "ORDERS_TOPIC", default_value = "orders")]
    pub orders_topic: String,
    /// Topic for delayed retries of records that failed transiently.
    #[arg(long, env = "RETRY_TOPIC", default_value = "orders.retry")]
    pub retry_topic: String,
    /// Dead-letter topic.
    #[arg(long, env = "DLQ_TOPIC", default_value = "orders.dlq")]
    pub dlq_topic: String,
    #[command(flatten)]
    pub security: KafkaSecurityArgs,
}
