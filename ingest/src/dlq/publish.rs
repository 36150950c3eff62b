//! Republishing one dead letter: the record to send (original key and value byte for byte, the
//! original headers, `x-replayed-from`), the producer that sends it, and the pacing of `--rate`.

use super::record::DeadLetter;
use anyhow::Context as _;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use pipeline_kafka::failure::ReportingContext;
use pipeline_kafka::headers::REPLAYED_FROM;
use pipeline_kafka::KafkaArgs;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::Duration;

/// How long one record may take to be acknowledged before it counts as failed.
const DELIVERY_TIMEOUT_MS: &str = "30000";
/// How long `send` may wait for room in the producer's queue.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(5);

/// The replay producer; its context logs login and TLS failures as one line.
pub type ReplayProducer = FutureProducer<ReportingContext>;

/// Idempotent, `acks=all`, no lingering: each record is awaited before the next one is sent.
pub fn producer(kafka: &KafkaArgs, client_id: &str) -> anyhow::Result<ReplayProducer> {
    let mut config = pipeline_kafka::client::safe_producer(kafka, client_id, 0)?;
    config.set("message.timeout.ms", DELIVERY_TIMEOUT_MS);
    config
        .create_with_context(ReportingContext::default())
        .context("cannot create a Kafka producer")
}

/// Where a record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub partition: i32,
    pub offset: i64,
}

/// Sends `dead_letter` to `target` and waits for the acknowledgement.
pub async fn publish(
    producer: &ReplayProducer,
    dead_letter: &DeadLetter,
    target: &str,
) -> Result<Delivered, KafkaError> {
    let replayed_from = dead_letter.coordinates();
    let mut headers = OwnedHeaders::new();
    for header in dead_letter.replay_headers() {
        headers = headers.insert(Header {
            key: &header.name,
            value: header.value.as_deref(),
        });
    }
    headers = headers.insert(Header {
        key: REPLAYED_FROM,
        value: Some(replayed_from.as_bytes()),
    });
    // A null key or value stays null (not empty): byte for byte includes absence.
    let mut record = FutureRecord::<[u8], [u8]>::to(target).headers(headers);
    if let Some(key) = dead_letter.key.as_deref() {
        record = record.key(key);
    }
    if let Some(value) = dead_letter.value.as_deref() {
        record = record.payload(value);
    }
    match producer.send(record, QUEUE_TIMEOUT).await {
        Ok(delivery) => Ok(Delivered {
            partition: delivery.partition,
            offset: delivery.offset,
        }),
        Err((err, _record)) => Err(err),
    }
}

/// Spaces sends evenly at `rate` per second (governor's GCRA with a burst of one). After a slow
/// send it does not catch up with a burst: the next send may go at once, the one after it a full
/// interval later.
pub struct Pacer<C: Clock = DefaultClock> {
    limiter: Option<RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<C::Instant>>>,
    clock: C,
}

impl<C: Clock> std::fmt::Debug for Pacer<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("limited", &self.limiter.is_some())
            .finish()
    }
}

impl Pacer {
    /// `None` sends as fast as acknowledgements allow.
    pub fn new(rate: Option<f64>) -> Pacer {
        Pacer::with_clock(rate, DefaultClock::default())
    }
}

impl<C: Clock + Clone> Pacer<C> {
    pub fn with_clock(rate: Option<f64>, clock: C) -> Self {
        let limiter = rate
            .filter(|r| r.is_finite() && *r > 0.0)
            .and_then(|r| Quota::with_period(Duration::from_secs_f64(1.0 / r)))
            .map(|quota| RateLimiter::direct_with_clock(quota, clock.clone()));
        Pacer { limiter, clock }
    }

    /// Takes the next slot if it is free now; otherwise says how long until it is.
    pub fn try_take(&self) -> Result<(), Duration> {
        match &self.limiter {
            None => Ok(()),
            Some(limiter) => limiter
                .check()
                .map_err(|not_until| not_until.wait_time_from(self.clock.now())),
        }
    }

    /// Waits for the next slot and takes it.
    pub async fn wait(&self) {
        while let Err(wait) = self.try_take() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    #[test]
    fn pacer_spaces_sends_evenly_without_catching_up() {
        let clock = FakeRelativeClock::default();
        let pacer = Pacer::with_clock(Some(20.0), clock.clone());
        assert_eq!(pacer.try_take(), Ok(()), "the first send goes at once");
        assert_eq!(pacer.try_take(), Err(Duration::from_millis(50)));
        clock.advance(Duration::from_millis(30));
        assert_eq!(pacer.try_take(), Err(Duration::from_millis(20)));
        clock.advance(Duration::from_millis(20));
        assert_eq!(pacer.try_take(), Ok(()));
        // A slow send (a second) earns no burst: one send now, the next a full interval later.
        clock.advance(Duration::from_secs(1));
        assert_eq!(pacer.try_take(), Ok(()));
        assert_eq!(pacer.try_take(), Err(Duration::from_millis(50)));
    }

    #[test]
    fn without_a_rate_nothing_waits() {
        let pacer = Pacer::with_clock(None, FakeRelativeClock::default());
        for _ in 0..100 {
            assert_eq!(pacer.try_take(), Ok(()));
        }
    }
}
