//! `ingest dlq replay`: checks the request, plans ([`super::plan`]), prints the plan, then
//! re-reads just the chosen offsets and republishes each dead letter once (see the `dlq` module
//! doc for the ledger's guarantees).

use super::args::ReplayArgs;
use super::ledger::Ledger;
use super::plan::{self, Choice, Plan, ReplaySummary};
use super::publish;
use super::scan::DlqTopic;
use order_store::Db;
use pipeline_kafka::KafkaArgs;
use pipeline_runtime::pacing::Pacer;
use std::io::Write;
use std::time::{Duration, Instant};

/// Up to this many chosen records, each gets its own output line; above, progress lines.
const PER_RECORD_LINES: usize = 100;
const PROGRESS_EVERY: Duration = Duration::from_secs(10);
/// Publishing stops after this many failures in a row (the broker or topic is likely gone).
const MAX_CONSECUTIVE_FAILURES: u32 = 5;

/// Plans, prints the plan, and (unless `--dry-run`) replays, writing one line per record (or
/// progress lines) and a summary to `out`.
#[tracing::instrument(skip_all, fields(topic = %kafka.dlq_topic, dry_run = args.dry_run))]
pub async fn replay(
    args: &ReplayArgs,
    kafka: &KafkaArgs,
    group: &str,
    db: &Db,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<ReplaySummary> {
    check(args, &kafka.dlq_topic)?;
    let ledger = Ledger::open(db, &kafka.dlq_topic).await?;
    let run = Run {
        args,
        kafka,
        ledger: &ledger,
        client_id: super::client_id(group, "replay"),
    };
    if args.dry_run {
        // Reads the ledger only: needs no lock and leaves no trace.
        run.plan_and_replay(out).await
    } else {
        ledger.exclusive(run.plan_and_replay(out)).await
    }
}

/// What every step of one replay works with.
struct Run<'a> {
    args: &'a ReplayArgs,
    kafka: &'a KafkaArgs,
    ledger: &'a Ledger,
    client_id: String,
}

fn check(args: &ReplayArgs, dlq: &str) -> anyhow::Result<()> {
    args.selection.validate()?;
    anyhow::ensure!(
        args.all || args.selection.is_narrowed(),
        "refusing to replay every dead letter of {dlq}: narrow the selection with --kind, --since, \
         --until, --partition or --limit, or pass --all (try --dry-run first)"
    );
    if let Some(to) = &args.to {
        anyhow::ensure!(!to.trim().is_empty(), "--to needs a topic name");
        anyhow::ensure!(
            to != dlq,
            "--to {to} is the DLQ topic itself; replaying into it would loop"
        );
    }
    Ok(())
}

impl Run<'_> {
    async fn plan_and_replay(&self, out: &mut (dyn Write + Send)) -> anyhow::Result<ReplaySummary> {
        let Run {
            args,
            kafka,
            ledger,
            client_id,
        } = self;
        let dlq = &kafka.dlq_topic;
        let done = ledger.replayed().await?;
        let mut plan = plan::plan(args, kafka, client_id, &done).await?;
        plan.write(out, dlq, &kafka.orders_topic)?;
        // Named one by one (up to a point): a forged dead letter is something to look into.
        for ((partition, offset), topic) in plan.foreign.iter().take(PER_RECORD_LINES) {
            writeln!(
            out,
            "skipped {dlq}/{partition}/{offset}: x-original-topic names {topic}, which ingest does \
             not consume (--to {topic} replays it there)"
        )?;
        }
        // Chosen records that cannot go anywhere are reported now, in both modes.
        plan.chosen
            .retain(|(partition, offset), choice| match choice.target {
                Ok(_) => true,
                Err(reason) => {
                    plan.summary.failed += 1;
                    let _ = writeln!(out, "cannot replay {dlq}/{partition}/{offset}: {reason}");
                    false
                }
            });
        if args.dry_run {
            for ((partition, offset), choice) in &plan.chosen {
                let target = choice.target.as_deref().unwrap_or("-");
                let Choice { kind, key, .. } = choice;
                writeln!(
                    out,
                    "would replay {dlq}/{partition}/{offset} ({kind}, key {key}) -> {target}"
                )?;
                plan.summary.replayed += 1;
            }
        } else if !plan.chosen.is_empty() {
            if let Err(err) = self.publish_chosen(&mut plan, out).await {
                writeln!(out, "{}", plan::describe(&plan.summary))?;
                return Err(err);
            }
        }
        writeln!(out, "{}", plan::describe(&plan.summary))?;
        out.flush()?;
        Ok(plan.summary)
    }

    /// The second pass: re-reads the chosen offsets and publishes them, recording each in the
    /// ledger.
    async fn publish_chosen(
        &self,
        plan: &mut Plan,
        out: &mut (dyn Write + Send),
    ) -> anyhow::Result<()> {
        let (kafka, client_id) = (self.kafka, self.client_id.as_str());
        let dlq = &kafka.dlq_topic;
        let ranges = plan.ranges();
        let Plan {
            summary, chosen, ..
        } = plan;
        let total = chosen.len();
        let per_record = total <= PER_RECORD_LINES;
        let producer = publish::producer(kafka, client_id)?;
        // No slack: a replay after a slow send does not burst (a burst of one).
        let pacer = Pacer::new(self.args.rate, Duration::ZERO);
        let mut reader = DlqTopic::connect(kafka, dlq, client_id)?.read(&ranges)?;
        let mut failures_in_a_row = 0;
        let mut last_progress = Instant::now();
        while let Some(dead_letter) = reader.next().await? {
            let coordinates = (dead_letter.partition, dead_letter.offset);
            let Some(Choice {
                target: Ok(target),
                kind,
                key,
            }) = chosen.remove(&coordinates)
            else {
                continue;
            };
            pacer.wait().await;
            let from = dead_letter.coordinates();
            match publish::publish(&producer, &dead_letter, &target).await {
                Ok(at) => {
                    failures_in_a_row = 0;
                    if let Err(err) = self.ledger.record(&dead_letter, &target, at).await {
                        writeln!(
                            out,
                            "published {from} -> {target} but could not record it: \
                         the next replay publishes it again"
                        )?;
                        return Err(err);
                    }
                    summary.replayed += 1;
                    if per_record {
                        writeln!(
                            out,
                            "replayed {from} ({kind}, key {key}) -> {target}/{}@{}",
                            at.partition, at.offset
                        )?;
                    }
                }
                Err(err) => {
                    summary.failed += 1;
                    failures_in_a_row += 1;
                    writeln!(out, "failed {from} -> {target}: {err}")?;
                    anyhow::ensure!(
                        failures_in_a_row < MAX_CONSECUTIVE_FAILURES,
                        "stopped after {failures_in_a_row} failures in a row; \
                     run the replay again to resume"
                    );
                }
            }
            if !per_record && last_progress.elapsed() >= PROGRESS_EVERY {
                writeln!(
                    out,
                    "progress: {} of {total} replayed, {} failed",
                    summary.replayed, summary.failed
                )?;
                last_progress = Instant::now();
            }
        }
        for (partition, offset) in chosen.keys() {
            summary.failed += 1;
            writeln!(
                out,
                "cannot replay {dlq}/{partition}/{offset}: no longer in the DLQ (retention?)"
            )?;
        }
        Ok(())
    }
}
