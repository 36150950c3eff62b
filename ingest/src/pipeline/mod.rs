//! The consume loop: poll Kafka, assemble batches, settle one batch while the next is polled,
//! and stop cleanly.
//!
//! - [`record`]: a consumed record, decoded once. [`batch`]: batch assembly and parked retries.
//! - [`process`]: settling a batch through [`classify`], [`store`], [`cache`], [`dead_letter`]
//!   and [`retry`] (both written by [`writer`]), then [`offsets`].
//! - [`consumer`]: rebalance callbacks, librdkafka telemetry ([`lag`]); [`state`]: offsets
//!   shared with those callbacks; [`flow`]: the one place that pauses and resumes partitions.
//!
//! Up to `--max-in-flight` batches settle concurrently (each on its own task and database
//! connection) while the next one is polled and decoded; the offset tracker lets them finish in
//! any order. Running them on their own tasks lets a revoke, which librdkafka calls on the
//! polling thread, wait for the batches holding records of the revoked partitions.
//! When they are all busy and the next batch is full — or the records waiting for a batch use up
//! their byte budget — the loop stops polling, except when every partition is held (see
//! [`flow`]): then it keeps polling, which serves rebalances and keeps the member within
//! `max.poll.interval.ms`. Memory is bounded in bytes at every stage: librdkafka's prefetch,
//! the records waiting for a batch, and each batch in flight (settings in [`crate::config`]).

pub mod batch;
pub mod cache;
pub mod classify;
pub mod consumer;
pub mod dead_letter;
pub mod flow;
pub mod lag;
pub mod offsets;
pub mod process;
pub mod record;
pub mod retry;
pub mod stall;
pub mod state;
pub mod store;
pub mod writer;

use crate::health::ConsumerState;
use backon::ExponentialBuilder;
use batch::{Assembler, Limits};
use consumer::{IngestConsumer, Shared};
use flow::HoldReason;
use pipeline_runtime::shutdown::Shutdown;
use process::{Finished, Steps};
use rdkafka::consumer::Consumer;
use record::Record;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::{JoinError, JoinSet};
use tokio::time::{sleep_until, Instant};

/// A batch in flight for this long pauses every partition so the loop can keep polling.
const STALL_AFTER: Duration = Duration::from_secs(60);
/// Upper bound between two housekeeping passes (due retries, stall check).
const HOUSEKEEPING: Duration = Duration::from_secs(1);

/// Retries that never give up: `first`, doubling up to 5 s, jittered so that instances (or the
/// records of a batch) do not retry in step.
pub(crate) const fn endless_backoff(first: Duration) -> ExponentialBuilder {
    ExponentialBuilder::new()
        .with_min_delay(first)
        .with_max_delay(Duration::from_secs(5))
        .with_jitter()
        .without_max_times()
}

pub struct Pipeline {
    pub steps: Steps,
    pub consumer: Arc<IngestConsumer>,
    pub shared: Arc<Shared>,
    pub orders_topic: Arc<str>,
    pub retry_topic: Arc<str>,
}

impl Pipeline {
    /// Consumes until `shutdown` fires, then finishes the batches in flight (within the grace
    /// period), commits what is settled and flushes the producer.
    pub async fn run(&self, shutdown: Shutdown) -> anyhow::Result<()> {
        self.consumer
            .subscribe(&[&self.orders_topic, &self.retry_topic])?;
        let config = &self.steps.config;
        let max_in_flight = config.max_in_flight.max(1) as usize;
        let limits = Limits {
            batch_size: config.batch_size as usize,
            batch_bytes: usize::try_from(config.batch_max_bytes).unwrap_or(usize::MAX),
            pending_bytes: usize::try_from(config.pending_max_bytes).unwrap_or(usize::MAX),
            retry_max_delay: config.retry_max_delay(),
        };
        let mut assembler = Assembler::new(limits, config.batch_linger());
        let mut in_flight: JoinSet<Finished> = JoinSet::new();
        // Bytes of the records in the batches in flight.
        let mut in_flight_bytes: usize = 0;
        // When a batch last started or finished: no progress for long means a stalled batch.
        let mut progress = Instant::now();
        let mut stop_at: Option<Instant> = None;
        // Held while batches stopped settling for no reason any step named.
        let mut stuck = None;
        loop {
            let stopping = stop_at.is_some();
            let room = in_flight.len() < max_in_flight;
            let poll = !stopping && (assembler.has_room() || self.shared.flow.holding());
            let linger = assembler.deadline().filter(|_| room && !stopping);
            let housekeeping = assembler
                .next_due()
                .map_or(Instant::now() + HOUSEKEEPING, |due| {
                    due.min(Instant::now() + HOUSEKEEPING)
                });
            tokio::select! {
                biased;
                () = shutdown.wait(), if !stopping => {
                    tracing::info!(in_flight = in_flight.len(), "stopping: finishing the batches in flight");
                    stop_at = Some(Instant::now() + config.shutdown_grace());
                }
                Some(result) = in_flight.join_next(), if !in_flight.is_empty() => {
                    let done = batch_ended(result);
                    in_flight_bytes = in_flight_bytes.saturating_sub(done.bytes);
                    assembler.finished(&done.uids);
                    progress = Instant::now();
                    if in_flight.is_empty() {
                        stuck = None;
                    }
                }
                () = self.shared.flow.changed() => {}
                message = self.consumer.recv(), if poll => match message {
                    Ok(message) => {
                        let record = self.admit(&message);
                        assembler.push(record, &self.shared);
                    }
                    Err(err) => self.shared.events.kafka_error(&err, "consume"),
                },
                () = sleep_until(linger.unwrap_or_else(Instant::now)), if linger.is_some() => {}
                () = sleep_until(stop_at.unwrap_or_else(Instant::now)), if stopping => {
                    let open = self.shared.tracker().open_records();
                    self.shared.events.shutdown_abandoned(open);
                    // Aborts them and waits until they are gone (their claims released).
                    in_flight.shutdown().await;
                }
                () = sleep_until(housekeeping) => {
                    assembler.release_due(Instant::now(), &self.shared);
                    if stuck.is_none() && !in_flight.is_empty() && progress.elapsed() > STALL_AFTER {
                        let cause = format!("no batch settled for {} s", STALL_AFTER.as_secs());
                        stuck = Some(self.shared.flow.hold(HoldReason::BatchStuck, &cause));
                    }
                }
            }
            if self.shared.flow.needs_apply() {
                self.shared.flow.apply(self.consumer.as_ref());
            }
            // Not `stopping`: the signal may have arrived in this very iteration.
            if stop_at.is_some() {
                if in_flight.is_empty() {
                    break;
                }
                continue;
            }
            while in_flight.len() < max_in_flight && assembler.is_ready(Instant::now()) {
                let (batch, uids) = assembler.take(&self.shared);
                if batch.is_empty() {
                    break;
                }
                in_flight_bytes += batch.iter().map(|r| r.size).sum::<usize>();
                self.steps.spawn(batch, uids, &mut in_flight);
                progress = Instant::now();
            }
            self.shared
                .events
                .held_bytes(assembler.held_bytes(), in_flight_bytes);
        }
        in_flight.shutdown().await;
        self.finish(assembler.held_back());
        Ok(())
    }

    /// Copies a message out of librdkafka and registers it with the offset tracker.
    fn admit(&self, message: &rdkafka::message::BorrowedMessage<'_>) -> Record {
        use rdkafka::Message;
        let from_retry = message.topic() == &*self.retry_topic;
        let topic = if from_retry {
            self.retry_topic.clone()
        } else if message.topic() == &*self.orders_topic {
            self.orders_topic.clone()
        } else {
            Arc::from(message.topic())
        };
        let tp = record::TopicPartition {
            topic: topic.clone(),
            partition: message.partition(),
        };
        let epoch = self.shared.tracker().admit(&tp, message.offset());
        let record = Record::from_message(message, topic, from_retry, epoch);
        // Counted once per order: a retry of the same record is not a new arrival.
        if let (Ok(order), false) = (&record.decoded, from_retry) {
            if order.order().has_unknown_fields() {
                let _entered = record.span.enter();
                self.shared
                    .events
                    .unknown_fields(&order.unknown_field_paths());
            }
        }
        record
    }

    /// Commits every settled offset synchronously and flushes the producer.
    fn finish(&self, unprocessed: usize) {
        self.shared.events.consumer_state(ConsumerState::Stopped);
        let offsets = self.shared.tracker().safe_offsets();
        self.shared
            .commit(self.consumer.as_ref(), &offsets, "shutdown");
        if let Err(err) =
            rdkafka::producer::Producer::flush(self.steps.writer.producer(), Duration::from_secs(5))
        {
            tracing::warn!(%err, "producer flush on shutdown failed");
        }
        tracing::info!(
            unprocessed,
            committed_partitions = offsets.len(),
            "pipeline stopped"
        );
    }
}

/// A batch task ended, with its order uids and bytes: a panic in it is a bug, and stops the
/// pipeline as it did inline; a cancelled one (shutdown) has none to report.
fn batch_ended(result: Result<Finished, JoinError>) -> Finished {
    match result {
        Ok(done) => done,
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        Err(_) => Finished::default(),
    }
}
