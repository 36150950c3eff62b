//! The simulator's command line: what to send, how fast, and where. Parsed once in `main` (or
//! built from flags by tests and benchmarks) and handed to the print or Kafka sender. `validate`
//! is a subcommand of its own; without one, the flags publish as they always did.

use crate::manifest::Manifest;
use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use pipeline_kafka::KafkaArgs;
use pipeline_runtime::config::TelemetryArgs;
use std::path::PathBuf;

/// Publishes synthetic orders (valid, invalid, malformed, duplicates) at a steady rate, or checks
/// orders the way ingest will (`validate`).
///
/// Publishing settings are flags (given before any subcommand) or the environment variables
/// shown.
#[derive(Debug, Parser)]
#[command(name = "producer-sim", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub args: Args,
    /// What to do; `run` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Publish (or `--print`) synthetic orders (the default).
    Run,
    /// Check orders the way ingest will: reads JSON lines (one order per line) from FILE, or
    /// from standard input without one, and prints one line per input line: `ok`, or
    /// `invalid: <path>: <reason>; …` / `malformed: <reason>`. Exits 1 when any line fails.
    Validate {
        /// JSON lines to check; standard input when omitted.
        file: Option<PathBuf>,
    },
}

/// Publishes synthetic orders (valid, invalid, malformed, duplicates) at a steady rate.
#[derive(Debug, Clone, Parser)]
#[command(name = "producer-sim", version, about)]
pub struct Args {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
    /// Records to send; omit to run until stopped (Ctrl-C or SIGTERM).
    #[arg(long, env = "SIM_COUNT")]
    pub count: Option<u64>,
    /// Records per second, spread evenly; 0 = as fast as the broker accepts.
    #[arg(long, env = "SIM_RATE", default_value_t = 10.0, value_parser = parse_rate)]
    pub rate: f64,
    /// Share of poison records (0..1), a mix of invalid orders and malformed values.
    #[arg(long, env = "SIM_INVALID_RATIO", default_value_t = 0.0, value_parser = parse_ratio)]
    pub invalid_ratio: f64,
    /// Share of re-sends of earlier valid orders (0..1), byte-identical key and value.
    #[arg(long, env = "SIM_DUPLICATE_RATIO", default_value_t = 0.0, value_parser = parse_ratio)]
    pub duplicate_ratio: f64,
    /// Seed of the run; with the same base time and start sequence it gives the same records.
    /// Default: random, printed at start.
    #[arg(long, env = "SIM_SEED")]
    pub seed: Option<u64>,
    /// Orders are dated in the week before this instant (RFC 3339). Default: now, printed at start.
    #[arg(long, env = "SIM_BASE_TIME", value_parser = parse_time)]
    pub base_time: Option<DateTime<Utc>>,
    /// Sequence number of the first record (sent as header `x-sim-seq`).
    #[arg(long, env = "SIM_START_SEQ", default_value_t = 0)]
    pub start_seq: u64,
    /// Write record values to stdout, one per line, instead of producing to Kafka.
    #[arg(long, env = "SIM_PRINT")]
    pub print: bool,
    /// Also write one line per record sent to this file: `seq<TAB>kind<TAB>key`, where kind is
    /// the `x-sim-kind` value (valid, invalid, malformed, duplicate).
    #[arg(long, env = "SIM_MANIFEST", value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Topic to produce to. Default: the orders topic (`ORDERS_TOPIC`).
    #[arg(long, env = "SIM_TOPIC")]
    pub topic: Option<String>,
    /// How long the producer waits to fill a batch, in milliseconds.
    #[arg(long, env = "SIM_LINGER_MS", default_value_t = 5)]
    pub linger_ms: u32,
}

impl Args {
    /// Arguments as if given on the command line (tests, benchmarks).
    pub fn from_flags<I: IntoIterator<Item = S>, S: Into<std::ffi::OsString> + Clone>(
        flags: I,
    ) -> Self {
        let program = std::iter::once(std::ffi::OsString::from("producer-sim"));
        Args::parse_from(program.chain(flags.into_iter().map(Into::into)))
    }

    pub fn topic(&self) -> &str {
        self.topic.as_deref().unwrap_or(&self.kafka.orders_topic)
    }

    /// The `--manifest` file, created before anything is sent.
    pub fn create_manifest(&self) -> anyhow::Result<Option<Manifest>> {
        self.manifest
            .as_deref()
            .map(|path| {
                Manifest::create(path)
                    .with_context(|| format!("cannot create the manifest {}", path.display()))
            })
            .transpose()
    }
}

fn parse_ratio(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if !(0.0..=1.0).contains(&value) {
        return Err(format!("{value} is not between 0 and 1"));
    }
    Ok(value)
}

fn parse_rate(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!(
            "{value} is not a rate (records per second, 0 = unlimited)"
        ));
    }
    Ok(value)
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|err| format!("`{text}` is not an RFC 3339 time: {err}"))
}
