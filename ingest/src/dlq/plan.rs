//! The first pass of a replay: reads the DLQ to decide which dead letters to republish and where,
//! keeping coordinates rather than payloads (so a large DLQ need not fit in memory); plus the plan
//! and summary texts the operator reads.

use super::args::ReplayArgs;
use super::record::DeadLetter;
use super::scan::{DlqTopic, Range};
use pipeline_kafka::KafkaArgs;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;

/// Counts of one replay. In a dry run, `replayed` counts what would have been replayed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplaySummary {
    pub dry_run: bool,
    /// Records read from the DLQ.
    pub scanned: u64,
    /// Records passing `--kind/--since/--until/--partition`.
    pub matched: u64,
    pub replayed: u64,
    pub skipped_already_replayed: u64,
    /// Matched records carrying `x-replayed-from`, skipped without `--include-replayed`.
    pub skipped_replayed_from: u64,
    pub beyond_limit: u64,
    /// Chosen records at coordinates the ledger holds for another record (the topic was
    /// recreated): they were never replayed, so they are not skipped.
    pub reused_offsets: u64,
    /// Chosen records not published: no target topic, publish error, gone from the DLQ.
    pub failed: u64,
}

/// A dead letter chosen for replay.
#[derive(Debug)]
pub struct Choice {
    /// The topic it goes to, or why it cannot go anywhere.
    pub target: Result<String, &'static str>,
    pub kind: String,
    /// The key as people read it (shortened).
    pub key: String,
}

/// What a replay will do: the counts so far and the chosen dead letters by (partition, offset).
#[derive(Debug)]
pub struct Plan {
    pub summary: ReplaySummary,
    pub chosen: BTreeMap<(i32, i64), Choice>,
}

/// Reads the DLQ up to its current end and chooses; `done` is the ledger ([`Ledger::replayed`]).
///
/// [`Ledger::replayed`]: super::ledger::Ledger::replayed
pub async fn plan(
    args: &ReplayArgs,
    kafka: &KafkaArgs,
    client_id: &str,
    done: &HashMap<(i32, i64), Option<i64>>,
) -> anyhow::Result<Plan> {
    let dlq = &kafka.dlq_topic;
    let topic = DlqTopic::connect(kafka, dlq, client_id)?;
    let extent = topic.extent(&args.selection.partition).await?;
    let mut reader = topic.read(&extent)?;
    let mut summary = ReplaySummary {
        dry_run: args.dry_run,
        ..ReplaySummary::default()
    };
    let mut chosen = BTreeMap::new();
    while let Some(dead_letter) = reader.next().await? {
        summary.scanned += 1;
        if !args.selection.matches(&dead_letter) {
            continue;
        }
        summary.matched += 1;
        if dead_letter.is_replayed() && !args.include_replayed {
            summary.skipped_replayed_from += 1;
            continue;
        }
        let recorded = done.get(&(dead_letter.partition, dead_letter.offset));
        if recorded.is_some_and(|stamp| *stamp == dead_letter.timestamp_ms) {
            summary.skipped_already_replayed += 1;
        } else if args.selection.limit_reached(chosen.len() as u64) {
            summary.beyond_limit += 1;
        } else {
            let key = dead_letter.key.as_deref().map(String::from_utf8_lossy);
            let choice = Choice {
                target: target(args, &dead_letter, dlq),
                kind: dead_letter.kind_label(),
                key: super::inspect::cell(key.as_deref().unwrap_or("-"), 40),
            };
            summary.reused_offsets += u64::from(recorded.is_some());
            chosen.insert((dead_letter.partition, dead_letter.offset), choice);
        }
    }
    Ok(Plan { summary, chosen })
}

/// Where a dead letter goes: `--to`, else its `x-original-topic`.
fn target(args: &ReplayArgs, dead_letter: &DeadLetter, dlq: &str) -> Result<String, &'static str> {
    match args.to.as_deref().or(dead_letter.original_topic()) {
        None => Err("no x-original-topic header (give --to)"),
        Some(topic) if topic == dlq => Err("x-original-topic names the DLQ itself"),
        Some(topic) => Ok(topic.to_owned()),
    }
}

impl Plan {
    /// Per partition, the offsets from the first to the last chosen dead letter.
    pub fn ranges(&self) -> Vec<Range> {
        let mut by_partition: BTreeMap<i32, Range> = BTreeMap::new();
        for &(partition, offset) in self.chosen.keys() {
            let range = by_partition.entry(partition).or_insert(Range {
                partition,
                start: offset,
                end: offset + 1,
            });
            range.start = range.start.min(offset);
            range.end = range.end.max(offset + 1);
        }
        by_partition.into_values().collect()
    }

    /// The plan as printed before anything is published.
    pub fn write(&self, out: &mut (dyn Write + Send), dlq: &str) -> std::io::Result<()> {
        let summary = &self.summary;
        let mut targets: BTreeMap<&str, u64> = BTreeMap::new();
        for choice in self.chosen.values() {
            *targets
                .entry(choice.target.as_deref().unwrap_or("(nowhere)"))
                .or_default() += 1;
        }
        let targets: Vec<String> = targets
            .iter()
            .map(|(topic, n)| format!("{n} -> {topic}"))
            .collect();
        let noun = if summary.scanned == 1 {
            "dead letter"
        } else {
            "dead letters"
        };
        writeln!(out, "plan for {dlq} ({} {noun} read):", summary.scanned)?;
        writeln!(out, "  matching the filters         {}", summary.matched)?;
        writeln!(
            out,
            "  skipped, already replayed    {}",
            summary.skipped_already_replayed
        )?;
        writeln!(
            out,
            "  skipped, came from a replay  {}  (--include-replayed replays them too)",
            summary.skipped_replayed_from
        )?;
        writeln!(
            out,
            "  beyond --limit               {}",
            summary.beyond_limit
        )?;
        if summary.reused_offsets > 0 {
            writeln!(
                out,
                "  of which at reused offsets   {}  (the ledger has other records there: \
                 the topic was recreated)",
                summary.reused_offsets
            )?;
        }
        let line = format!(
            "  to replay                    {}  {}",
            self.chosen.len(),
            targets.join(", ")
        );
        writeln!(out, "{}", line.trim_end())
    }
}

/// The closing summary line.
pub fn describe(summary: &ReplaySummary) -> String {
    let (head, verb) = if summary.dry_run {
        ("summary (dry run, nothing published)", "would replay")
    } else {
        ("summary", "replayed")
    };
    format!(
        "{head}: matched {}, {verb} {}, skipped as already replayed {}, \
         skipped as replayed-from {}, beyond --limit {}, failed {}",
        summary.matched,
        summary.replayed,
        summary.skipped_already_replayed,
        summary.skipped_replayed_from,
        summary.beyond_limit,
        summary.failed
    )
}
