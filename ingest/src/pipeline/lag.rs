//! What librdkafka's periodic statistics (`statistics.interval.ms`, rdkafka's typed
//! [`Statistics`]) say about the partitions this member consumes: `consumer_lag` = high
//! watermark − committed offset, which is exactly "how far behind is the group", and the offsets
//! around it (the committed one, the log start and end) that tell whether retention is about to
//! delete records nobody has consumed yet. librdkafka also queries the watermarks of paused
//! partitions for these statistics, so they stay current while consumption is held.

use rdkafka::statistics::Statistics;

/// One partition's position, as of the last statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: i32,
    /// High watermark − committed offset; `None` while librdkafka cannot tell (no committed
    /// offset or no watermark yet).
    pub lag: Option<i64>,
    pub committed: Option<i64>,
    /// The first offset the broker still holds (retention deletes below it).
    pub log_start: Option<i64>,
    pub high_watermark: Option<i64>,
}

/// Every real partition in `statistics`, sorted. librdkafka reports partition -1 (its internal
/// "unassigned" queue), which is skipped, and -1 for any offset it does not know yet.
pub fn partitions(statistics: &Statistics) -> Vec<PartitionLag> {
    let known = |value: i64| (value >= 0).then_some(value);
    let mut lags: Vec<PartitionLag> = statistics
        .topics
        .iter()
        .flat_map(|(topic, stats)| {
            stats
                .partitions
                .values()
                .filter(|p| p.partition >= 0)
                .map(move |p| PartitionLag {
                    topic: topic.clone(),
                    partition: p.partition,
                    lag: known(p.consumer_lag),
                    committed: known(p.committed_offset),
                    log_start: known(p.lo_offset),
                    high_watermark: known(p.hi_offset),
                })
        })
        .collect();
    lags.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    lags
}

/// Whether any broker connection is up. Bootstrap and logical entries (the group coordinator)
/// count as well: any of them being up means the cluster answers.
pub fn brokers_up(statistics: &Statistics) -> Option<bool> {
    if statistics.brokers.is_empty() {
        return None;
    }
    Some(statistics.brokers.values().any(|b| b.state == "UP"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::statistics::{Broker, Partition, Topic};
    use std::collections::HashMap;

    fn partition(id: i32, lag: i64, committed: i64) -> (i32, Partition) {
        let stats = Partition {
            partition: id,
            consumer_lag: lag,
            committed_offset: committed,
            lo_offset: 2,
            hi_offset: 40,
            ..Partition::default()
        };
        (id, stats)
    }

    #[test]
    fn reads_each_real_partition_with_what_is_known() {
        let topic = Topic {
            partitions: HashMap::from([
                partition(0, 12, 28),
                partition(1, -1, -1),
                partition(-1, -1, -1),
            ]),
            ..Topic::default()
        };
        let statistics = Statistics {
            topics: HashMap::from([("orders".to_owned(), topic)]),
            ..Statistics::default()
        };
        let lags = partitions(&statistics);
        assert_eq!(lags.len(), 2, "{lags:?}");
        assert_eq!(
            lags[0],
            PartitionLag {
                topic: "orders".into(),
                partition: 0,
                lag: Some(12),
                committed: Some(28),
                log_start: Some(2),
                high_watermark: Some(40),
            }
        );
        assert_eq!((lags[1].lag, lags[1].committed), (None, None));
        assert!(partitions(&Statistics::default()).is_empty());
    }

    #[test]
    fn brokers_are_up_when_any_connection_is() {
        let broker = |state: &str| Broker {
            state: state.into(),
            ..Broker::default()
        };
        let mut statistics = Statistics::default();
        assert_eq!(brokers_up(&statistics), None);
        statistics.brokers.insert("a".into(), broker("DOWN"));
        statistics.brokers.insert("b".into(), broker("CONNECT"));
        assert_eq!(brokers_up(&statistics), Some(false));
        statistics.brokers.insert("c".into(), broker("UP"));
        assert_eq!(brokers_up(&statistics), Some(true));
    }
}
