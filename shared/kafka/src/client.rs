//! Client configuration builders, so every producer and consumer in the project is tuned the
//! same way, connects the same way (security settings, properties file), and a setting is
//! changed in one place.

use crate::{KafkaArgs, KafkaConfigError};
use rdkafka::ClientConfig;

/// Base settings for any client talking to `kafka`'s brokers, security included. Fails on
/// security settings that cannot work together or an unreadable properties file.
pub fn base(kafka: &KafkaArgs, client_id: &str) -> Result<ClientConfig, KafkaConfigError> {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &kafka.brokers)
        .set("client.id", client_id)
        .set("socket.keepalive.enable", "true")
        // Fail fast on a missing broker at start-up instead of retrying silently forever.
        .set("reconnect.backoff.max.ms", "2000");
    kafka.security.apply(&mut config)?;
    Ok(config)
}

/// A producer that never loses or reorders an acknowledged record: idempotent, `acks=all`.
/// `linger_ms` trades latency for batching (the simulator lingers, the DLQ writer does not).
/// Set after [`base`] has applied `KAFKA_PROPERTIES_FILE`, so the file cannot weaken them.
pub fn safe_producer(
    kafka: &KafkaArgs,
    client_id: &str,
    linger_ms: u32,
) -> Result<ClientConfig, KafkaConfigError> {
    let mut config = base(kafka, client_id)?;
    config
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", "lz4")
        .set("linger.ms", linger_ms.to_string())
        .set("batch.num.messages", "10000")
        .set("message.timeout.ms", "120000")
        .set("message.max.bytes", "4194304");
    Ok(config)
}

/// A consumer-group member whose offsets move only when the application stores them
/// (`enable.auto.offset.store=false`), so nothing is committed before its outcome is durable.
pub fn manual_offset_consumer(
    kafka: &KafkaArgs,
    group: &str,
    client_id: &str,
) -> Result<ClientConfig, KafkaConfigError> {
    let mut config = base(kafka, client_id)?;
    config
        .set("group.id", group)
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("partition.assignment.strategy", "cooperative-sticky")
        // Longer than a broker failure takes to detect (the controller fences a dead broker
        // after `broker.session.timeout.ms`, 9 s by default): until then an offset commit waits
        // for the dead follower, and the coordinator answers this member's heartbeats only
        // after that commit, so a shorter session gets a live member thrown out of the group
        // (and its uncommitted records processed twice) whenever any broker dies. The cost: a
        // crashed instance's partitions move to the others after up to 30 s.
        .set("session.timeout.ms", "30000")
        .set("heartbeat.interval.ms", "3000")
        .set("max.poll.interval.ms", "300000")
        .set("fetch.wait.max.ms", "50")
        .set("queued.min.messages", "20000")
        .set("enable.partition.eof", "false");
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KafkaSecurityArgs;

    fn kafka(properties_file: Option<std::path::PathBuf>) -> KafkaArgs {
        KafkaArgs {
            brokers: "localhost:29092,localhost:29094".into(),
            orders_topic: "orders".into(),
            retry_topic: "orders.retry".into(),
            dlq_topic: "orders.dlq".into(),
            security: KafkaSecurityArgs {
                properties_file,
                ..KafkaSecurityArgs::default()
            },
        }
    }

    /// Contract §10: every producer waits for all in-sync replicas and is idempotent.
    #[test]
    fn a_safe_producer_is_idempotent_with_acks_all() {
        for linger_ms in [0, 5] {
            let config = safe_producer(&kafka(None), "test", linger_ms).expect("valid");
            assert_eq!(config.get("acks"), Some("all"));
            assert_eq!(config.get("enable.idempotence"), Some("true"));
            assert_eq!(
                config.get("linger.ms"),
                Some(linger_ms.to_string().as_str())
            );
        }
    }

    /// `KAFKA_PROPERTIES_FILE` tunes anything else, but cannot weaken what §10 fixes.
    #[test]
    fn a_properties_file_cannot_weaken_a_safe_producer() {
        let path = std::env::temp_dir().join(format!("kafka-acks-{}", std::process::id()));
        std::fs::write(
            &path,
            "acks=1\nenable.idempotence=false\nsocket.timeout.ms=30000\n",
        )
        .expect("write");
        let config = safe_producer(&kafka(Some(path.clone())), "test", 0);
        let _ = std::fs::remove_file(&path);
        let config = config.expect("valid");
        assert_eq!(config.get("acks"), Some("all"));
        assert_eq!(config.get("enable.idempotence"), Some("true"));
        // The file was read: its other settings stand.
        assert_eq!(config.get("socket.timeout.ms"), Some("30000"));
    }
}
