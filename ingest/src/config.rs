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
    #[command(flatten)]
    pub postgres: PostgresArgs,
    #[command(flatten)]
    pub redis: RedisArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
    /// Kafka consumer group of the pipeline.
    #[arg(long, env = "KAFKA_GROUP", default_value = "orders-ingest")]
    pub group: String,
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
}

impl Config {
    pub fn batch_linger(&self) -> Duration {
        Duration::from_millis(self.batch_linger_ms)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
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
