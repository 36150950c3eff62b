//! Fixtures of the DLQ tool tests: an isolated environment (topics, database, producer) and
//! synthetic dead letters carrying the contract's headers (§2), written straight to the DLQ.
// Shared by several test binaries; each uses only part of it.
#![allow(dead_code)]

use clap::Parser;
use ingest::dlq::{InspectArgs, ReplayArgs, ReplaySummary};
use pipeline_kafka::KafkaArgs;
use pipeline_testing::db::TestDb;
use pipeline_testing::kafka::TestTopics;
use pipeline_testing::kafka_args;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use std::time::Duration;

pub const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TIMEOUT: Duration = Duration::from_secs(30);

/// `ingest dlq inspect <flags>`, parsed as the binary would.
pub fn inspect_args(flags: &[&str]) -> InspectArgs {
    InspectArgs::try_parse_from(std::iter::once("inspect").chain(flags.iter().copied()))
        .expect("inspect flags")
}

/// `ingest dlq replay <flags>`, parsed as the binary would.
pub fn replay_args(flags: &[&str]) -> ReplayArgs {
    ReplayArgs::try_parse_from(std::iter::once("replay").chain(flags.iter().copied()))
        .expect("replay flags")
}

/// Topics, a database and a producer private to one test (removed when it drops).
pub struct Env {
    pub topics: TestTopics,
    pub kafka: KafkaArgs,
    pub db: TestDb,
    producer: FutureProducer,
}

impl Env {
    pub async fn new(partitions: i32) -> Env {
        let topics = TestTopics::create(partitions).await;
        let kafka = kafka_args(&topics);
        let db = TestDb::create().await;
        let producer = pipeline_kafka::client::safe_producer(&kafka, "dlq-tests", 0)
            .expect("kafka settings")
            .create()
            .expect("test producer");
        Env {
            topics,
            kafka,
            db,
            producer,
        }
    }

    /// [`Letter::new`] from this environment's orders topic.
    pub fn letter(&self, uid: &str, kind: &str, failed_at: &str) -> Letter {
        Letter::new(&self.topics.orders, uid, kind, failed_at)
    }

    /// `ingest dlq replay` with `args` against this environment: its result and what it printed.
    pub async fn try_replay(&self, args: &ReplayArgs) -> (anyhow::Result<ReplaySummary>, String) {
        let mut out = Vec::new();
        let result =
            ingest::dlq::replay(args, &self.kafka, &self.topics.group, &self.db, &mut out).await;
        (result, String::from_utf8(out).expect("utf-8 output"))
    }

    /// [`Env::try_replay`], which must succeed.
    pub async fn replay(&self, args: &ReplayArgs) -> (ReplaySummary, String) {
        let (result, text) = self.try_replay(args).await;
        match result {
            Ok(summary) => (summary, text),
            Err(err) => panic!("replay failed: {err:#}\n{text}"),
        }
    }

    /// Sum of the high watermarks of `topic`: how many records were ever written to it.
    pub fn high_watermarks(&self, topic: &str) -> i64 {
        let consumer: BaseConsumer = pipeline_kafka::client::base(&self.kafka, "dlq-tests")
            .expect("kafka settings")
            .create()
            .expect("consumer");
        let metadata = consumer
            .fetch_metadata(Some(topic), TIMEOUT)
            .expect("metadata");
        metadata.topics()[0]
            .partitions()
            .iter()
            .map(|p| {
                consumer
                    .fetch_watermarks(topic, p.id(), TIMEOUT)
                    .expect("watermarks")
                    .1
            })
            .sum()
    }

    pub async fn ledger_rows(&self) -> i64 {
        let client = self.db.pool().get().await.expect("connection");
        let row = client
            .query_one(
                "SELECT count(*) FROM dlq_replays WHERE dlq_topic = $1",
                &[&self.topics.dlq],
            )
            .await
            .expect("count ledger rows");
        row.get(0)
    }

    /// A ledger row for `partition/offset` left by an earlier DLQ topic of the same name.
    pub async fn stale_ledger_row(&self, partition: i32, offset: i64) {
        let client = self.db.pool().get().await.expect("connection");
        client
            .execute(
                r#"INSERT INTO dlq_replays (dlq_topic, partition, "offset", dlq_timestamp_ms,
                                            target_topic)
                   VALUES ($1, $2, $3, 1, 'old')"#,
                &[&self.topics.dlq, &partition, &offset],
            )
            .await
            .expect("insert a stale ledger row");
    }

    /// Takes the lock a running replay of this DLQ holds, until the returned connection drops.
    pub async fn hold_replay_lock(&self) -> deadpool_postgres::Object {
        let client = self.db.pool().get().await.expect("connection");
        let name = format!("ingest.dlq-replay:{}", self.topics.dlq);
        client
            .execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", &[&name])
            .await
            .expect("take the replay lock");
        client
    }
}

/// A dead letter to write: by default, what the pipeline writes for an order that failed once.
#[derive(Debug, Clone)]
pub struct Letter {
    pub partition: i32,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Letter {
    pub fn new(orders_topic: &str, uid: &str, kind: &str, failed_at: &str) -> Letter {
        Letter::bare(0)
            .key(Some(uid.as_bytes()))
            .value(Some(format!(r#"{{"order_uid":"{uid}"}}"#).as_bytes()))
            .header("traceparent", Some(TRACEPARENT.as_bytes()))
            .header("x-sim-kind", None)
            .header("x-original-topic", Some(orders_topic.as_bytes()))
            .header("x-original-partition", Some(b"0"))
            .header("x-original-offset", Some(b"41"))
            .header("x-original-timestamp", Some(b"1714557600000"))
            .header("x-error-kind", Some(kind.as_bytes()))
            .header("x-error-message", Some(b"rejected"))
            .header("x-attempts", Some(b"1"))
            .header("x-failed-at", Some(failed_at.as_bytes()))
            .header("x-consumer-group", Some(b"orders-ingest"))
    }

    /// A record with no headers at all.
    pub fn bare(partition: i32) -> Letter {
        Letter {
            partition,
            key: Some(b"bare".to_vec()),
            value: Some(b"{}".to_vec()),
            headers: Vec::new(),
        }
    }

    pub fn partition(mut self, partition: i32) -> Letter {
        self.partition = partition;
        self
    }

    pub fn key(mut self, key: Option<&[u8]>) -> Letter {
        self.key = key.map(<[u8]>::to_vec);
        self
    }

    pub fn value(mut self, value: Option<&[u8]>) -> Letter {
        self.value = value.map(<[u8]>::to_vec);
        self
    }

    pub fn header(mut self, name: &str, value: Option<&[u8]>) -> Letter {
        self.headers
            .push((name.to_owned(), value.map(<[u8]>::to_vec)));
        self
    }

    pub fn without(mut self, name: &str) -> Letter {
        self.headers.retain(|(n, _)| n != name);
        self
    }

    pub fn error_message(self, message: &str) -> Letter {
        self.without("x-error-message")
            .header("x-error-message", Some(message.as_bytes()))
    }
}

/// Writes `letter` to the test DLQ; returns its `<dlq>/<partition>/<offset>`.
pub async fn put(env: &Env, letter: &Letter) -> String {
    let mut headers = OwnedHeaders::new();
    for (name, value) in &letter.headers {
        headers = headers.insert(Header {
            key: name,
            value: value.as_deref(),
        });
    }
    let mut record = FutureRecord::<[u8], [u8]>::to(&env.topics.dlq)
        .partition(letter.partition)
        .headers(headers);
    if let Some(key) = letter.key.as_deref() {
        record = record.key(key);
    }
    if let Some(value) = letter.value.as_deref() {
        record = record.payload(value);
    }
    let delivery = env
        .producer
        .send(record, TIMEOUT)
        .await
        .expect("write a dead letter");
    format!(
        "{}/{}/{}",
        env.topics.dlq, delivery.partition, delivery.offset
    )
}

/// [`put`] of each of `letters`, one after the other; their `<dlq>/<partition>/<offset>`s.
pub async fn put_all(env: &Env, letters: &[Letter]) -> Vec<String> {
    let mut coordinates = Vec::with_capacity(letters.len());
    for letter in letters {
        coordinates.push(put(env, letter).await);
    }
    coordinates
}

/// The first `count` records of every partition of `topic`, read from the beginning.
pub async fn read_topic(env: &Env, topic: &str, count: usize) -> Vec<OwnedMessage> {
    let mut config = pipeline_kafka::client::base(&env.kafka, "dlq-tests").expect("kafka settings");
    config
        .set("group.id", pipeline_testing::unique_name("dlq-tests"))
        .set("enable.auto.commit", "false");
    let consumer: StreamConsumer = config.create().expect("consumer");
    let metadata = consumer
        .fetch_metadata(Some(topic), TIMEOUT)
        .expect("metadata");
    let mut assignment = TopicPartitionList::new();
    for partition in metadata.topics()[0].partitions() {
        assignment
            .add_partition_offset(topic, partition.id(), Offset::Beginning)
            .expect("assignment");
    }
    consumer.assign(&assignment).expect("assign");
    let mut records = Vec::new();
    while records.len() < count {
        let message = tokio::time::timeout(TIMEOUT, consumer.recv())
            .await
            .unwrap_or_else(|_| panic!("only {} of {count} records in {topic}", records.len()))
            .expect("record");
        records.push(message.detach());
    }
    records
}
