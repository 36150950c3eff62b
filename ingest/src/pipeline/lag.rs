//! Consumer lag from librdkafka's periodic statistics (`statistics.interval.ms`): the JSON has,
//! per topic and partition, `consumer_lag` = high watermark − committed offset, which is exactly
//! "how far behind is the group". Only the few fields used are parsed, so a newer librdkafka
//! adding fields cannot break it.

use serde::Deserialize;
use std::collections::HashMap;

#[derive(Debug, Deserialize)]
struct Statistics {
    #[serde(default)]
    topics: HashMap<String, TopicStatistics>,
}

#[derive(Debug, Deserialize)]
struct TopicStatistics {
    #[serde(default)]
    partitions: HashMap<String, PartitionStatistics>,
}

#[derive(Debug, Deserialize)]
struct PartitionStatistics {
    #[serde(default = "unknown")]
    consumer_lag: i64,
}

fn unknown() -> i64 {
    -1
}

/// `(topic, partition, lag)` for every real partition with a known lag. librdkafka reports
/// partition -1 (its internal "unassigned" queue) and -1 for a lag it cannot compute yet (no
/// committed offset or no watermark); both are skipped.
pub fn parse(json: &[u8]) -> Result<Vec<(String, i32, i64)>, serde_json::Error> {
    let statistics: Statistics = serde_json::from_slice(json)?;
    let mut lags = Vec::new();
    for (topic, stats) in statistics.topics {
        for (partition, stats) in stats.partitions {
            let Ok(partition) = partition.parse::<i32>() else {
                continue;
            };
            if partition >= 0 && stats.consumer_lag >= 0 {
                lags.push((topic.clone(), partition, stats.consumer_lag));
            }
        }
    }
    lags.sort();
    Ok(lags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_consumer_lag_per_partition() {
        let json = br#"{"name":"c","topics":{"orders":{"topic":"orders","partitions":{
            "0":{"partition":0,"consumer_lag":12,"hi_offset":40},
            "1":{"partition":1,"consumer_lag":-1},
            "-1":{"partition":-1,"consumer_lag":-1}}}}}"#;
        assert_eq!(
            parse(json).expect("valid"),
            vec![("orders".to_owned(), 0, 12)]
        );
        assert!(parse(b"{}").expect("no topics").is_empty());
        assert!(parse(b"not json").is_err());
    }
}
