//! Helper for `bench/freshness.sh`: how long after a producer sends an order does query-api
//! serve it? Not part of the pipeline.
//!
//! Streams producer-sim's valid orders (its [`RecordMix`], key = `order_uid`, the same headers)
//! to `--topic` at a steady `--rate` for `--seconds`, through the pipeline's own producer
//! settings (`pipeline_kafka::client::safe_producer`: idempotent, `acks=all`, producer-sim's
//! linger). Every `--sample-every`-th order is timed from just before it is handed to the
//! producer until the first `200` from `GET {url}/order/{uid}`, polled every `--poll-ms` and
//! less often as the sample ages (see [`poll`]); one not served within `--timeout-ms` counts as
//! a timeout. The broker's acknowledgement of each sampled order is timed too, to tell Kafka's
//! share from ingest's.
//!
//! Polling has a cost on the system it measures: query-api never caches a not-found answer, so
//! every `404` poll is a Redis GET plus a PostgreSQL read. Sampling and the back-off keep that
//! small: at 2,000 orders/s, one in 20 makes 100 sampled orders a second, each polled about
//! five times when orders are served within 50 ms and about 40 times when they take 1.5 s
//! (the total is printed as `polls`), against 2,000 writes a second.
//!
//! Before the measured stream, one probe order must be served (within `--warmup-timeout-ms`),
//! so the consumer group's join and the first connections are not counted.
//!
//! Prints one line: `FRESH_JSON {...}` (latencies in ms). Exits non-zero when no sample was
//! served or a delivery failed, since the figures would then mean nothing.
//!
//! Usage: `freshness --url http://127.0.0.1:PORT --topic T [--brokers B] [--rate 2000]
//! [--seconds 10] [--sample-every 20] [--poll-ms 10] [--timeout-ms 5000] [--seed N]`.
//! Kafka security comes from the same `KAFKA_*` variables as producer-sim's.

use producer_sim::pacing;
use producer_sim::{MixSettings, RecordMix, SimRecord};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The run's settings, from the command line.
#[derive(Debug, Clone)]
struct Settings {
    url: String,
    topic: String,
    brokers: String,
    rate: f64,
    seconds: f64,
    sample_every: u64,
    poll: Duration,
    timeout: Duration,
    warmup_timeout: Duration,
    seed: u64,
}

impl Settings {
    fn parse(args: &[String]) -> Result<Self> {
        let value = |name: &str| -> Option<&str> {
            let at = args.iter().position(|arg| arg == name)?;
            args.get(at + 1).map(String::as_str)
        };
        let number = |name: &str, default: f64| -> Result<f64> {
            match value(name) {
                None => Ok(default),
                Some(text) => match text.parse::<f64>() {
                    Ok(n) if n.is_finite() && n > 0.0 => Ok(n),
                    _ => Err(format!("{name} needs a positive number, not {text:?}").into()),
                },
            }
        };
        let millis = |name: &str, default: f64| -> Result<Duration> {
            Ok(Duration::from_secs_f64(number(name, default)? / 1000.0))
        };
        let clock = SystemTime::now().duration_since(UNIX_EPOCH)?;
        Ok(Self {
            url: value("--url")
                .ok_or("missing --url")?
                .trim_end_matches('/')
                .to_owned(),
            topic: value("--topic").ok_or("missing --topic")?.to_owned(),
            brokers: value("--brokers").unwrap_or("localhost:9092").to_owned(),
            rate: number("--rate", 2000.0)?,
            seconds: number("--seconds", 10.0)?,
            // Whole numbers by construction: both checked positive and rounded.
            sample_every: number("--sample-every", 20.0)?.round().max(1.0) as u64,
            poll: millis("--poll-ms", 10.0)?,
            timeout: millis("--timeout-ms", 5000.0)?,
            warmup_timeout: millis("--warmup-timeout-ms", 60_000.0)?,
            seed: match value("--seed") {
                Some(text) => text.parse()?,
                None => u64::try_from(clock.as_nanos() % u128::from(u64::MAX))?,
            },
        })
    }
}

/// Counts delivery failures and times the broker's acknowledgement of sampled records (the
/// delivery opaque is the sample's id, 0 for records that are not sampled).
#[derive(Default)]
struct Deliveries {
    failed: AtomicU64,
    pending: Mutex<HashMap<usize, Instant>>,
    acked: Mutex<Vec<Duration>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, sample: usize) {
        let now = Instant::now();
        if result.is_err() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        if sample == 0 {
            return;
        }
        let sent = lock(&self.pending).remove(&sample);
        if let (Some(sent), Ok(_)) = (sent, result) {
            lock(&self.acked).push(now - sent);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A sampled order: its uid and the instant just before it went to the producer.
struct Sample {
    uid: String,
    sent: Instant,
}

/// What became of one sample.
enum Outcome {
    Served { latency: Duration, polls: u64 },
    TimedOut { polls: u64 },
}

/// What the send loop did.
struct Sent {
    records: u64,
    samples: u64,
    elapsed: Duration,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = Settings::parse(&args)?;
    // producer-sim's own flags and variables give the Kafka connection and its linger, so the
    // records travel exactly as the simulator's do.
    let sim = producer_sim::Args::from_flags(["--kafka-brokers", &settings.brokers]);
    let producer: ThreadedProducer<Deliveries> =
        pipeline_kafka::client::safe_producer(&sim.kafka, "freshness-bench", sim.linger_ms)?
            .create_with_context(Deliveries::default())?;
    let producer = Arc::new(producer);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let mut mix = RecordMix::new(&MixSettings {
        seed: settings.seed,
        base_time: chrono::Utc::now(),
        start_seq: 0,
        invalid_ratio: 0.0,
        duplicate_ratio: 0.0,
    });

    let probe = mix.next_record();
    let probe_sent = Instant::now();
    send(&producer, &settings.topic, &probe, 0)?;
    let warm = Settings {
        timeout: settings.warmup_timeout,
        poll: Duration::from_millis(50),
        ..settings.clone()
    };
    let warm_sample = Sample {
        uid: probe.key.clone(),
        sent: probe_sent,
    };
    if let Outcome::TimedOut { .. } = poll(&http, &warm, warm_sample).await {
        return Err(format!(
            "the probe order {} was not served within {:?}: is ingest consuming {}?",
            probe.key, settings.warmup_timeout, settings.topic
        )
        .into());
    }

    let (samples_tx, mut samples_rx) = mpsc::unbounded_channel::<Sample>();
    let sender = {
        let (producer, settings) = (Arc::clone(&producer), settings.clone());
        std::thread::spawn(move || send_all(&producer, &settings, mix, &samples_tx))
    };
    let mut pollers = JoinSet::new();
    while let Some(sample) = samples_rx.recv().await {
        let (http, settings) = (http.clone(), settings.clone());
        pollers.spawn(async move { poll(&http, &settings, sample).await });
    }
    let sent = sender.join().map_err(|_| "the send loop panicked")??;
    let mut served = Vec::new();
    let (mut timeouts, mut polls) = (0u64, 0u64);
    while let Some(outcome) = pollers.join_next().await {
        match outcome? {
            Outcome::Served { latency, polls: n } => {
                served.push(latency);
                polls += n;
            }
            Outcome::TimedOut { polls: n } => {
                timeouts += 1;
                polls += n;
            }
        }
    }
    let producer_ref = Arc::clone(&producer);
    tokio::task::spawn_blocking(move || producer_ref.flush(Duration::from_secs(30))).await??;
    let context = producer.context();
    let failed = context.failed.load(Ordering::Relaxed);
    let mut acked = lock(&context.acked).clone();

    served.sort_unstable();
    acked.sort_unstable();
    let achieved = sent.records as f64 / sent.elapsed.as_secs_f64().max(1e-9);
    let report = serde_json::json!({
        "count": sent.records,
        "sampled": sent.samples,
        "served": served.len(),
        "timeouts": timeouts,
        "failed_deliveries": failed,
        "rate": settings.rate,
        "achieved_rps": (achieved * 10.0).round() / 10.0,
        "seconds": settings.seconds,
        "sample_every": settings.sample_every,
        "poll_ms": ms(settings.poll),
        "polls": polls,
        "p50_ms": quantile(&served, 0.50),
        "p95_ms": quantile(&served, 0.95),
        "p99_ms": quantile(&served, 0.99),
        "max_ms": served.last().copied().map(ms),
        "ack_p50_ms": quantile(&acked, 0.50),
        "ack_p99_ms": quantile(&acked, 0.99),
        "ack_max_ms": acked.last().copied().map(ms),
    });
    println!("FRESH_JSON {report}");
    if served.is_empty() || failed > 0 {
        return Err(format!(
            "{} samples served, {failed} deliveries failed",
            served.len()
        )
        .into());
    }
    Ok(())
}

/// The paced send loop (on its own thread: librdkafka's `send` may block on a full queue).
/// Hands every sampled order to the pollers right after queueing it.
fn send_all(
    producer: &ThreadedProducer<Deliveries>,
    settings: &Settings,
    mut mix: RecordMix,
    samples: &mpsc::UnboundedSender<Sample>,
) -> Result<Sent> {
    // Whole records by construction: rate and seconds are positive.
    let count = (settings.rate * settings.seconds).round() as u64;
    let stop = AtomicBool::new(false);
    let pacer = pacing::pacer(settings.rate);
    let mut sent = Sent {
        records: 0,
        samples: 0,
        elapsed: Duration::ZERO,
    };
    let started = Instant::now();
    for n in 0..count {
        let record = mix.next_record();
        if !pacer.wait_blocking(&stop) {
            break; // `stop` is never raised: the loop ends at `count`
        }
        let sampled = n % settings.sample_every == 0;
        let id = if sampled {
            usize::try_from(sent.samples + 1)?
        } else {
            0
        };
        let at = Instant::now();
        if sampled {
            lock(&producer.context().pending).insert(id, at);
        }
        send(producer, &settings.topic, &record, id)?;
        sent.records += 1;
        if sampled {
            sent.samples += 1;
            let sample = Sample {
                uid: record.key,
                sent: at,
            };
            samples.send(sample).map_err(|_| "the pollers stopped")?;
        }
    }
    sent.elapsed = started.elapsed();
    Ok(sent)
}

/// Queues one record like producer-sim does (key, JSON value, its headers); waits for room
/// when the local queue is full rather than dropping the record.
fn send(
    producer: &ThreadedProducer<Deliveries>,
    topic: &str,
    record: &SimRecord,
    sample: usize,
) -> Result<()> {
    let mut pending = BaseRecord::with_opaque_to(topic, sample)
        .key(record.key.as_bytes())
        .payload(record.value.as_slice())
        .headers(producer_sim::kafka::headers(record));
    loop {
        match producer.send(pending) {
            Ok(()) => return Ok(()),
            Err((
                rdkafka::error::KafkaError::MessageProduction(
                    rdkafka::types::RDKafkaErrorCode::QueueFull,
                ),
                back,
            )) => {
                pending = back;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err((err, _)) => return Err(err.into()),
        }
    }
}

/// Polls the order until it is served or the sample's time is up. Transport errors and other
/// statuses count as "not yet" (query-api's 503 while a dependency recovers, for instance).
///
/// Every `--poll-ms` at first; once a sample is older than ten intervals, the gap grows to a
/// tenth of its age, so a slow pipeline is not loaded with hundreds of 404 polls per order while
/// each latency stays measured to within 10 % (and to within one interval below that).
async fn poll(http: &reqwest::Client, settings: &Settings, sample: Sample) -> Outcome {
    let url = format!("{}/order/{}", settings.url, sample.uid);
    let deadline = sample.sent + settings.timeout;
    // The first poll one interval after the send: nothing is served sooner than that.
    let mut next = sample.sent + settings.poll;
    let mut polls = 0;
    loop {
        tokio::time::sleep_until(next.into()).await;
        let now = Instant::now();
        if now > deadline {
            return Outcome::TimedOut { polls };
        }
        next = now + settings.poll.max((now - sample.sent) / 10);
        polls += 1;
        if let Ok(response) = http.get(&url).send().await {
            let status = response.status();
            let at = Instant::now();
            // The body is read so the connection goes back to the pool.
            let _ = response.bytes().await;
            if status == reqwest::StatusCode::OK {
                return Outcome::Served {
                    latency: at - sample.sent,
                    polls,
                };
            }
        }
    }
}

fn ms(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 10_000.0).round() / 10.0
}

/// Nearest-rank quantile of sorted durations, in ms; `None` when there are none.
fn quantile(sorted: &[Duration], q: f64) -> Option<f64> {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.clamp(1, sorted.len().max(1)) - 1)
        .copied()
        .map(ms)
}
