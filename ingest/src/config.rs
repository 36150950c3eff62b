//! The `ingest` command line: subcommands and the settings of the consumer pipeline, read from
//! flags, the environment and `.env` (contract §3), parsed once into typed values.

use clap::{Args, Parser, Subcommand};
use order_cache::RedisArgs;
use order_store::PostgresArgs;
use pipeline_kafka::KafkaArgs;
use pipeline_runtime::config::TelemetryArgs;
use std::net::SocketAddr;
use std::time::Duration;

/// Consumes orders from Kafka, stores them in PostgreSQL and caches them in Redis.
///
/// Settings are flags (given before the subcommand) or the environment variables shown.
#[derive(Debug, Parser)]
#[command(name = "ingest", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    /// What to do; `run` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Consume, store and cache orders until SIGINT/SIGTERM (the default).
    Run,
    /// Apply, revert or list the database schema migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Inspect or replay dead letters.
    Dlq {
        #[command(subcommand)]
        command: crate::dlq::DlqCommand,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Revert the newest applied migrations.
    Down {
        /// How many migrations to revert.
        #[arg(long, default_value_t = 1)]
        steps: usize,
    },
    /// List the migrations and whether each is applied.
    Status,
}

/// Everything the pipeline needs. Tests build it directly (see [`Config::for_tests`]).
#[derive(Debug, Clone, Args)]
pub struct Config {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// Kafka consumer group of the pipeline.
    #[arg(long, env = "KAFKA_GROUP", default_value = "orders-ingest")]
    pub group: String,
    #[command(flatten)]
    pub postgres: PostgresArgs,
    #[command(flatten)]
    pub redis: RedisArgs,
    /// Listen address of /metrics, /healthz and /readyz (port 0 picks a free port).
    #[arg(long, env = "METRICS_ADDR", default_value = "0.0.0.0:9100")]
    pub metrics_addr: SocketAddr,
    /// Most records stored in one database round trip.
    #[arg(long, env = "INGEST_BATCH_SIZE", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch_size: u32,
    /// Batches settled concurrently, each on its own database connection.
    #[arg(long, env = "INGEST_MAX_IN_FLIGHT", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..=16))]
    pub max_in_flight: u32,
    /// How long a partial batch waits for more records, in milliseconds.
    #[arg(long, env = "INGEST_BATCH_LINGER_MS", default_value_t = 20)]
    pub batch_linger_ms: u64,
    /// Processing attempts of a record that fails transiently before it is dead-lettered.
    #[arg(long, env = "INGEST_MAX_ATTEMPTS", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,
    /// Delay before the first retry, in milliseconds; each further retry waits 4 times longer.
    #[arg(long, env = "INGEST_RETRY_BASE_DELAY_MS", default_value_t = 1000)]
    pub retry_base_delay_ms: u64,
    /// Upper bound of the retry delay, in milliseconds.
    #[arg(long, env = "INGEST_RETRY_MAX_DELAY_MS", default_value_t = 300_000)]
    pub retry_max_delay_ms: u64,
    /// How long a stop may take to finish the batch in flight, in milliseconds.
    #[arg(long, env = "INGEST_SHUTDOWN_GRACE_MS", default_value_t = 20_000)]
    pub shutdown_grace_ms: u64,
    /// How often librdkafka reports statistics (consumer lag), in milliseconds.
    #[arg(long, env = "INGEST_STATS_INTERVAL_MS", default_value_t = 5000)]
    pub stats_interval_ms: u64,
    /// Most bytes of records (key, value, headers) in one batch: a batch closes at
    /// --batch-size records or at this, whichever comes first (one larger record still makes
    /// a batch of its own). Memory is budgeted in bytes; see the arithmetic in .env.template.
    #[arg(long, env = "INGEST_BATCH_MAX_BYTES", default_value_t = 4 << 20,
          value_parser = clap::value_parser!(u64).range(1 << 16..))]
    pub batch_max_bytes: u64,
    /// Most bytes of consumed records waiting for a batch (not counting the few of a parked
    /// retry partition); beyond it ingest stops taking records from librdkafka until batches
    /// take them.
    #[arg(long, env = "INGEST_PENDING_MAX_BYTES", default_value_t = 4 << 20,
          value_parser = clap::value_parser!(u64).range(1 << 16..))]
    pub pending_max_bytes: u64,
    /// Most bytes librdkafka prefetches ahead of ingest (its queue: queued.max.messages.kbytes);
    /// one fetch response of 1/64 of this (fetch.max.bytes, 64 KiB to 1 MiB, compressed) may be
    /// in flight on top.
    #[arg(long, env = "INGEST_PREFETCH_MAX_BYTES", default_value_t = 8 << 20,
          value_parser = clap::value_parser!(u64).range(1 << 20..1 << 31))]
    pub prefetch_max_bytes: u64,
    /// How long a write to the retry or DLQ topic may wait for the broker's acknowledgement
    /// before it counts as failed (and is tried again, reported as a stall), in milliseconds.
    #[arg(long, env = "INGEST_PRODUCE_TIMEOUT_MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(1000..))]
    pub produce_timeout_ms: u64,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

impl Config {
    pub fn batch_linger(&self) -> Duration {
        Duration::from_millis(self.batch_linger_ms)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }

    /// The longest a retry waits: also the cap on a retry record's own due time.
    pub fn retry_max_delay(&self) -> Duration {
        Duration::from_millis(self.retry_max_delay_ms)
    }

    /// librdkafka's consumer settings for the prefetch budget: its queue of fetched (and
    /// decompressed) records, and small fetch responses. A response counts compressed bytes,
    /// and a producer's batch of up to 1 MB of orders may compress tenfold or more, so a large
    /// response could unpack to many times the budget; a small one still returns at least one
    /// whole batch per partition (the broker never splits one), so it costs no throughput.
    ///
    /// Once the queue is full librdkafka postpones the next fetch by `fetch.queue.backoff.ms`,
    /// 1 s by default: ingest drains a full 8 MiB queue in under a second, then waited out the
    /// rest, and ran at ~7,100 orders/s whatever the machine's speed (`bench/ingest.sh`). A
    /// short backoff resumes fetching as soon as the queue has room, within the same budget.
    pub fn prefetch_settings(&self) -> [(&'static str, String); 5] {
        let queue_kib = (self.prefetch_max_bytes / 1024).max(1);
        let fetch = (self.prefetch_max_bytes / 64).clamp(64 << 10, 1 << 20);
        [
            ("queued.max.messages.kbytes", queue_kib.to_string()),
            ("fetch.max.bytes", fetch.to_string()),
            ("fetch.message.max.bytes", fetch.to_string()),
            // librdkafka wants fetch.max.bytes >= message.max.bytes, which only limits the
            // consumer's own (small) requests.
            ("message.max.bytes", fetch.to_string()),
            ("fetch.queue.backoff.ms", "10".to_owned()),
        ]
    }

    /// The delay before processing attempt `attempt + 1`, after `attempt` failed transiently:
    /// base × 4^(attempt-1), capped.
    pub fn retry_delay(&self, attempt: u32) -> Duration {
        let factor = 4u64.saturating_pow(attempt.saturating_sub(1));
        let millis = self
            .retry_base_delay_ms
            .saturating_mul(factor)
            .min(self.retry_max_delay_ms);
        Duration::from_millis(millis)
    }

    /// Defaults for the given dependencies, with small delays and port 0, for tests.
    pub fn for_tests(
        kafka: KafkaArgs,
        postgres: PostgresArgs,
        redis: RedisArgs,
        group: &str,
    ) -> Self {
        Config {
            kafka,
            postgres,
            redis,
            telemetry: TelemetryArgs::default(),
            group: group.to_owned(),
            metrics_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            batch_size: 500,
            max_in_flight: 2,
            batch_linger_ms: 20,
            max_attempts: 3,
            retry_base_delay_ms: 200,
            retry_max_delay_ms: 2000,
            shutdown_grace_ms: 10_000,
            stats_interval_ms: 1000,
            batch_max_bytes: 4 << 20,
            pending_max_bytes: 4 << 20,
            prefetch_max_bytes: 8 << 20,
            produce_timeout_ms: 30_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_grows_four_fold_and_is_capped() {
        let cli = Cli::parse_from([
            "ingest",
            "--retry-base-delay-ms",
            "1000",
            "--retry-max-delay-ms",
            "60000",
        ]);
        let config = cli.config;
        assert_eq!(config.retry_delay(1), Duration::from_secs(1));
        assert_eq!(config.retry_delay(2), Duration::from_secs(4));
        assert_eq!(config.retry_delay(3), Duration::from_secs(16));
        assert_eq!(config.retry_delay(4), Duration::from_secs(60));
        assert_eq!(config.retry_delay(40), Duration::from_secs(60));
    }

    #[test]
    fn the_prefetch_budget_becomes_librdkafka_settings() {
        let config = Cli::parse_from(["ingest", "--prefetch-max-bytes", "8388608"]).config;
        let [queue, fetch, partition, message, backoff] = config.prefetch_settings();
        assert_eq!(queue, ("queued.max.messages.kbytes", "8192".into()));
        assert_eq!(fetch, ("fetch.max.bytes", "131072".into()));
        assert_eq!(partition.1, fetch.1);
        assert_eq!(message.1, fetch.1);
        assert_eq!(backoff, ("fetch.queue.backoff.ms", "10".into()));
        let small = Cli::parse_from(["ingest", "--prefetch-max-bytes", "1048576"]).config;
        assert_eq!(
            small.prefetch_settings()[1].1,
            "65536",
            "never below 64 KiB"
        );
        assert!(Cli::try_parse_from(["ingest", "--batch-max-bytes", "100"]).is_err());
    }

    #[test]
    fn run_is_the_default_and_migrate_takes_steps() {
        assert!(Cli::parse_from(["ingest"]).command.is_none());
        let cli = Cli::parse_from(["ingest", "--group", "g", "migrate", "down", "--steps", "2"]);
        assert_eq!(cli.config.group, "g");
        assert!(matches!(
            cli.command,
            Some(Command::Migrate {
                action: MigrateAction::Down { steps: 2 }
            })
        ));
    }

    #[test]
    fn command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
