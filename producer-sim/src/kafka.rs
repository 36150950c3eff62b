//! Producing the record stream to Kafka without losing or dropping anything: one idempotent
//! `acks=all` producer, a full local queue means wait-and-retry (never drop), and every record's
//! delivery report is counted so the summary and the exit code tell the truth.
//!
//! A [`ThreadedProducer`] with a counting delivery callback is used rather than
//! `FutureProducer`: the latter allocates a oneshot channel and a future per record, which costs
//! throughput for no benefit here (the callback needs no per-record state beyond its kind).

use crate::ahead::Ahead;
use crate::args::Args;
use crate::manifest::Manifest;
use crate::mix::{MixSettings, RecordMix, SimKind, SimRecord};
use crate::pacing;
use crate::summary::{spawn_progress, Stats, Summary};
use anyhow::Context;
use pipeline_kafka::failure::{LastFailure, ReportingContext};
use pipeline_kafka::headers::{SIM_KIND, TRACEPARENT};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{
    BaseRecord, DeliveryResult, Producer, ProducerContext, PurgeConfig, ThreadedProducer,
};
use rdkafka::{ClientContext, Message};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Header with the record's position in the run.
pub const SIM_SEQ: &str = "x-sim-seq";
/// Header naming the [`order_synthetic::PoisonKind`] of a poison record.
pub const SIM_POISON: &str = "x-sim-poison";
/// Header on duplicates: the `x-sim-seq` of the record re-sent.
pub const SIM_DUPLICATE_OF: &str = "x-sim-duplicate-of";

/// How long to wait for outstanding deliveries when the run ends.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);
/// Delivery failures logged individually before going quiet (the summary has the total).
const FAILURES_LOGGED: u64 = 5;

/// Counts delivery reports by [`SimKind`] (the delivery opaque is the kind's index) and keeps
/// the login or TLS failure librdkafka reported, if any.
struct CountingContext {
    stats: Arc<Stats>,
    failures: AtomicU64,
    reporting: ReportingContext,
}

impl ClientContext for CountingContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        self.reporting.log(level, fac, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.reporting.error(error, reason);
    }
}

impl ProducerContext for CountingContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, kind: usize) {
        let kind = SimKind::from_index(kind).unwrap_or(SimKind::Valid);
        match result {
            Ok(_) => self.stats.record_acked(kind),
            Err((err, message)) => {
                self.stats.record_failed(kind);
                if self.failures.fetch_add(1, Ordering::Relaxed) < FAILURES_LOGGED {
                    let key = message
                        .key()
                        .map(String::from_utf8_lossy)
                        .unwrap_or_default();
                    tracing::warn!(%err, %kind, %key, "delivery failed");
                }
            }
        }
    }
}

type SimProducer = ThreadedProducer<CountingContext>;

/// Produces `--count` records (or until `stop`) to the topic and waits for their delivery
/// reports. The blocking send loop runs on its own thread; librdkafka does the I/O.
pub async fn run(
    args: &Args,
    settings: &MixSettings,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Summary> {
    let stats = Arc::new(Stats::default());
    let (producer, last) = create_producer(args, Arc::clone(&stats))?;
    let topic = args.topic().to_owned();
    let mix = RecordMix::new(settings);
    let (count, rate) = (args.count, args.rate);
    let seed = settings.seed;
    let manifest = args.create_manifest()?;
    tokio::task::spawn_blocking(move || {
        check_topic(&producer, &topic).or_else(|err| last.explain(err))?;
        let done = Arc::new(AtomicBool::new(false));
        let progress = spawn_progress(Arc::clone(&stats), Arc::clone(&done));
        let started = Instant::now();
        let next_seq = send_all(&producer, &topic, mix, count, rate, &stats, &stop, manifest)?;
        finish(&producer, &stats);
        let elapsed = started.elapsed();
        done.store(true, Ordering::Relaxed);
        if let Some(progress) = progress {
            let _ = progress.join();
        }
        Ok(Summary {
            seed,
            sent: stats.sent(),
            acked: Some(stats.acked()),
            failed: stats.failed(),
            elapsed,
            next_seq,
        })
    })
    .await
    .context("producer task panicked")?
}

fn create_producer(args: &Args, stats: Arc<Stats>) -> anyhow::Result<(SimProducer, LastFailure)> {
    let mut config =
        pipeline_kafka::client::safe_producer(&args.kafka, "producer-sim", args.linger_ms)?;
    // Bounds the local queue's memory (librdkafka's default is 1 GiB). 256 MiB holds far more
    // than the 100,000 queued records that block first, even with megabyte-sized poison.
    config.set("queue.buffering.max.kbytes", "262144");
    let reporting = ReportingContext::default();
    let last = reporting.last.clone();
    let context = CountingContext {
        stats,
        failures: AtomicU64::new(0),
        reporting,
    };
    let producer = config
        .create_with_context(context)
        .context("cannot create the Kafka producer")?;
    Ok((producer, last))
}

/// Fails fast with a clear message when the broker is unreachable or the topic missing, instead
/// of queueing records that would time out minutes later. A topic that the broker is creating
/// on our request (`auto.create.topics.enable`) gets a few seconds to appear.
fn check_topic(producer: &SimProducer, topic: &str) -> anyhow::Result<()> {
    for _ in 0..20 {
        let metadata = producer
            .client()
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .with_context(|| format!("cannot reach Kafka to produce to topic {topic}"))?;
        match metadata
            .topics()
            .first()
            .and_then(|found| found.error())
            .map(RDKafkaErrorCode::from)
        {
            None => return Ok(()),
            Some(
                RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::LeaderNotAvailable,
            ) => {
                std::thread::sleep(Duration::from_millis(250));
            }
            Some(err) => anyhow::bail!("topic {topic} is not usable: {err}"),
        }
    }
    anyhow::bail!("topic {topic} does not exist (scripts/stack.sh up creates the default topics)")
}

/// The send loop; returns the `seq` the next run would continue from.
#[allow(clippy::too_many_arguments)] // the run's settings, plus where each record is noted
fn send_all(
    producer: &SimProducer,
    topic: &str,
    mix: RecordMix,
    count: Option<u64>,
    rate: f64,
    stats: &Stats,
    stop: &Arc<AtomicBool>,
    mut manifest: Option<Manifest>,
) -> anyhow::Result<u64> {
    let mut next_seq = mix.next_seq();
    let records =
        Ahead::spawn(mix, count, Arc::clone(stop)).context("cannot start the generator thread")?;
    let pacer = pacing::pacer(rate);
    for mut record in records {
        if !pacer.wait_blocking(stop) {
            break;
        }
        // With trace export on, each record starts a trace its `traceparent` carries into
        // ingest; otherwise the generator's seeded value stands in (no span is made).
        let span = if pipeline_runtime::telemetry::exporting() {
            tracing::info_span!("publish", order_uid = %record.key, seq = record.seq)
        } else {
            tracing::Span::none()
        };
        if let Some(traceparent) = pipeline_runtime::telemetry::traceparent(&span) {
            record.traceparent = traceparent;
        }
        match span.in_scope(|| send(producer, topic, &record, stop)) {
            Ok(true) => stats.record_sent(record.kind),
            // Stopped while the queue was full: this record was never sent.
            Ok(false) => break,
            Err(err) => {
                // Rejected before queueing (e.g. too large): a failed delivery, counted as such.
                stats.record_sent(record.kind);
                stats.record_failed(record.kind);
                tracing::warn!(%err, seq = record.seq, kind = %record.kind, "record rejected by the producer");
            }
        }
        if let Some(manifest) = manifest.as_mut() {
            manifest
                .record(&record)
                .context("cannot write the manifest")?;
        }
        next_seq = record.seq + 1;
    }
    if let Some(manifest) = manifest {
        manifest.finish().context("cannot write the manifest")?;
    }
    Ok(next_seq)
}

/// A record's headers (contract §2 and the simulator's own): its trace context, what it was
/// meant to be, its place in the run, and for poison records and duplicates, which.
pub fn headers(record: &SimRecord) -> OwnedHeaders {
    let seq = record.seq.to_string();
    let mut headers = OwnedHeaders::new_with_capacity(5)
        .insert(Header {
            key: TRACEPARENT,
            value: Some(record.traceparent.as_str()),
        })
        .insert(Header {
            key: SIM_KIND,
            value: Some(record.kind.as_str()),
        })
        .insert(Header {
            key: SIM_SEQ,
            value: Some(seq.as_str()),
        });
    if let Some(poison) = record.poison {
        headers = headers.insert(Header {
            key: SIM_POISON,
            value: Some(poison.name()),
        });
    }
    if let Some(original) = record.duplicate_of {
        headers = headers.insert(Header {
            key: SIM_DUPLICATE_OF,
            value: Some(original.to_string().as_str()),
        });
    }
    headers
}

/// Queues one record. `Ok(false)` means `stop` was raised while waiting for queue space.
fn send(
    producer: &SimProducer,
    topic: &str,
    record: &SimRecord,
    stop: &AtomicBool,
) -> Result<bool, KafkaError> {
    let mut pending = BaseRecord::with_opaque_to(topic, record.kind.index())
        .key(record.key.as_bytes())
        .payload(record.value.as_slice())
        .headers(headers(record));
    loop {
        match producer.send(pending) {
            Ok(()) => return Ok(true),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                // Back-pressure: wait for deliveries to free space; never drop the record.
                if stop.load(Ordering::Relaxed) {
                    return Ok(false);
                }
                pending = back;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err((err, _)) => return Err(err),
        }
    }
}

/// Waits for outstanding deliveries; whatever is still queued after [`FLUSH_TIMEOUT`] is purged
/// so that its delivery reports arrive (as failures) before the summary is taken.
fn finish(producer: &SimProducer, stats: &Stats) {
    if let Err(err) = producer.flush(FLUSH_TIMEOUT) {
        let pending = stats.sent().total() - stats.acked().total() - stats.failed().total();
        tracing::warn!(%err, pending, "flush timed out; purging undelivered records");
        producer.purge(PurgeConfig::default().queue().inflight());
        let _ = producer.flush(Duration::from_secs(5));
    }
}
