//! Operator tooling for the dead-letter topic (contract §3): `ingest dlq inspect` lists dead
//! letters, `ingest dlq replay` republishes them to the topic they came from.
//!
//! Both read the DLQ with a plain `assign()`ed consumer ([`scan`]): no group membership and no
//! committed offsets, so they never disturb the pipeline, and they stop at the high watermarks
//! the topic had when they started instead of waiting for new dead letters.
//!
//! # Why the replay ledger lives in PostgreSQL
//!
//! Replay must be resumable and must never publish the same dead letter twice. Each replayed
//! dead letter `(dlq topic, partition, offset)` is recorded in the `dlq_replays` table
//! ([`ledger`], migration `0002_dlq_replays`) right after the broker acknowledged the
//! republished record (idempotent `acks=all` producer); records already in the table are never
//! published again, and a session advisory lock keeps two replays of one DLQ from racing. Each
//! row also keeps the dead letter's record timestamp: offsets restart when a DLQ topic is
//! recreated (to purge it, say), and the new records must not hide behind the old rows. The
//! one gap is a crash between the acknowledgement and the insert: that single record is
//! published again by the next run, and the pipeline turns it into a counted duplicate (or the
//! same dead letter again, which then carries `x-replayed-from` and is not replayed by default).
//!
//! A Kafka-only ledger was considered: a transactional producer writing the replayed record and
//! a marker to a compacted ledger topic atomically would close even that gap, but only for
//! readers using `read_committed`, it needs one more topic per DLQ to provision and retain, and
//! the ledger could only be audited by reading a topic. `ingest` already owns a PostgreSQL
//! database (`DATABASE_URL`), where the ledger is one small table operators can query with SQL.

mod args;
mod filter;
mod inspect;
mod ledger;
mod plan;
mod publish;
mod record;
mod replay;
mod scan;

pub use args::ReplayArgs;
pub use filter::{KindFilter, Selection};
pub use inspect::{inspect, InspectArgs, InspectSummary};
pub use plan::ReplaySummary;
pub use record::{DeadLetter, Header};
pub use replay::replay;

use anyhow::Context as _;
use clap::Subcommand;
use order_store::Db;
use order_store::PostgresArgs;
use pipeline_kafka::KafkaArgs;

/// `ingest dlq …`: look at and republish dead letters.
#[derive(Debug, Clone, Subcommand)]
pub enum DlqCommand {
    /// List dead letters: partition, offset, kind, order_uid, message, failed-at, attempts.
    ///
    /// Reads every partition of DLQ_TOPIC from the beginning up to the end it has when the
    /// command starts, then prints a summary with the count of each kind. Nothing is committed:
    /// inspecting never changes what the pipeline or a later replay sees.
    Inspect(InspectArgs),
    /// Republish dead letters to their original topic (or --to), tagged `x-replayed-from`.
    ///
    /// Without --to only dead letters whose `x-original-topic` is the input topic (ORDERS_TOPIC)
    /// are replayed; one naming any other topic is skipped and reported with that topic.
    ///
    /// Each record keeps its key and value byte for byte and its original headers (the DLQ's
    /// `x-original-*`, `x-error-*`, `x-attempts`, `x-failed-at` and `x-consumer-group` are
    /// dropped) and gains `x-replayed-from: <dlq topic>/<partition>/<offset>`. Without a filter
    /// (--kind, --since, --until, --partition, --limit) it refuses to run unless --all is given,
    /// and it prints the plan (how many match, where they go) before publishing anything.
    ///
    /// Replay is resumable and publishes a dead letter at most once: every record is sent with
    /// an idempotent acks=all producer and, once the broker acknowledged it, recorded in the
    /// PostgreSQL table `dlq_replays` (run `ingest migrate up` first); recorded dead letters are
    /// skipped. If the process dies between the acknowledgement and that insert, the one record
    /// in flight is published again by the next run, and the pipeline counts it as a duplicate.
    Replay(ReplayArgs),
}

/// Runs a `dlq` subcommand, printing to stdout (and, for `inspect --json`, the summary to
/// stderr). `group` names the pipeline's consumer group; the tools use it only to name their own
/// Kafka clients, never joining it. Fails when a dead letter could not be replayed.
pub async fn run(
    command: DlqCommand,
    kafka: &KafkaArgs,
    group: &str,
    postgres: &PostgresArgs,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout();
    match command {
        DlqCommand::Inspect(args) => {
            let mut info = std::io::stderr();
            inspect(&args, kafka, group, &mut out, &mut info).await?;
            Ok(())
        }
        DlqCommand::Replay(args) => {
            let db = Db::connect(postgres)
                .await
                .context("cannot use the database")?;
            let summary = replay(&args, kafka, group, &db, &mut out).await?;
            if summary.failed > 0 {
                anyhow::bail!(
                    "{} dead letter(s) could not be replayed (see above)",
                    summary.failed
                );
            }
            Ok(())
        }
    }
}

/// Client ids of the tools' Kafka clients, e.g. `orders-ingest.dlq-replay`, so broker logs and
/// quotas tell them apart from the pipeline.
fn client_id(group: &str, tool: &str) -> String {
    format!("{group}.dlq-{tool}")
}
