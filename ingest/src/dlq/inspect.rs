//! `ingest dlq inspect`: what is in the dead-letter topic, as an aligned table for people or
//! JSON lines for tools, followed by counts per kind.

use super::filter::Selection;
use super::record::DeadLetter;
use super::scan::DlqTopic;
use clap::Parser;
use pipeline_kafka::KafkaArgs;
use std::collections::BTreeMap;
use std::io::Write;

/// Rows buffered to size the table's columns; later rows reuse those widths.
const TABLE_CHUNK: usize = 1000;
const MESSAGE_WIDTH: usize = 60;
const CELL_WIDTH: usize = 48;
const COLUMNS: [&str; 8] = [
    "PARTITION",
    "OFFSET",
    "KIND",
    "ORDER_UID",
    "MESSAGE",
    "FAILED_AT",
    "ATTEMPTS",
    "REPLAYED_FROM",
];

/// Flags of `ingest dlq inspect`.
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "inspect")]
pub struct InspectArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// One JSON object per line with every field and header (summary on stderr).
    #[arg(long)]
    pub json: bool,
}

/// What one inspection found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InspectSummary {
    /// Records read from the DLQ.
    pub scanned: u64,
    /// Records that matched and were printed.
    pub listed: u64,
    /// Printed records per `x-error-kind` as written (`-` when missing).
    pub by_kind: BTreeMap<String, u64>,
    pub limit_reached: bool,
}

/// Lists the matching dead letters to `out`. The summary goes to `out` after a table, or to
/// `info` in JSON mode so `out` stays pure JSON lines.
#[tracing::instrument(skip_all, fields(topic = %kafka.dlq_topic))]
pub async fn inspect(
    args: &InspectArgs,
    kafka: &KafkaArgs,
    group: &str,
    out: &mut (dyn Write + Send),
    info: &mut (dyn Write + Send),
) -> anyhow::Result<InspectSummary> {
    let selection = &args.selection;
    selection.validate()?;
    let topic = DlqTopic::connect(kafka, &kafka.dlq_topic, &super::client_id(group, "inspect"))?;
    let extent = topic.extent(&selection.partition).await?;
    let mut reader = topic.read(&extent)?;
    let mut summary = InspectSummary::default();
    let mut table = Table::default();
    while !selection.limit_reached(summary.listed) {
        let Some(dead_letter) = reader.next().await? else {
            break;
        };
        summary.scanned += 1;
        if !selection.matches(&dead_letter) {
            continue;
        }
        summary.listed += 1;
        *summary.by_kind.entry(dead_letter.kind_label()).or_default() += 1;
        if args.json {
            writeln!(out, "{}", dead_letter.to_json())?;
        } else {
            table.push(out, row(&dead_letter))?;
        }
    }
    summary.limit_reached = selection.limit_reached(summary.listed);
    if args.json {
        writeln!(info, "{}", describe(&summary, &kafka.dlq_topic))?;
    } else {
        table.finish(out)?;
        writeln!(out, "\n{}", describe(&summary, &kafka.dlq_topic))?;
    }
    out.flush()?;
    Ok(summary)
}

fn row(dl: &DeadLetter) -> [String; 8] {
    let text =
        |value: Option<&str>, width| value.map_or_else(|| "-".to_owned(), |v| cell(v, width));
    let failed_at = dl
        .headers
        .iter()
        .rev()
        .find(|h| h.name == pipeline_kafka::headers::FAILED_AT);
    let failed_at = failed_at
        .and_then(|h| h.value.as_deref())
        .map(String::from_utf8_lossy);
    [
        dl.partition.to_string(),
        dl.offset.to_string(),
        cell(&dl.kind_label(), CELL_WIDTH),
        match (&dl.key, dl.order_uid()) {
            (None, _) => "-".to_owned(),
            (Some(_), Some(uid)) => cell(uid, CELL_WIDTH),
            (Some(key), None) => cell(&String::from_utf8_lossy(key), CELL_WIDTH),
        },
        text(dl.message(), MESSAGE_WIDTH),
        text(failed_at.as_deref(), CELL_WIDTH),
        dl.attempts()
            .map_or_else(|| "-".to_owned(), |n| n.to_string()),
        text(
            dl.header(pipeline_kafka::headers::REPLAYED_FROM),
            CELL_WIDTH * 2,
        ),
    ]
}

/// One table cell: control characters (a newline would break the table) become spaces, and long
/// text is cut with `…`.
pub(super) fn cell(text: &str, width: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() <= width {
        return clean;
    }
    let mut cut: String = clean.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Buffers the first rows to size the columns, then streams.
#[derive(Default)]
struct Table {
    rows: Vec<[String; 8]>,
    widths: Option<[usize; 8]>,
}

impl Table {
    fn push(&mut self, out: &mut (dyn Write + Send), row: [String; 8]) -> std::io::Result<()> {
        match self.widths {
            Some(widths) => write_row(out, &widths, &row),
            None => {
                self.rows.push(row);
                if self.rows.len() >= TABLE_CHUNK {
                    self.flush(out)?;
                }
                Ok(())
            }
        }
    }

    fn flush(&mut self, out: &mut (dyn Write + Send)) -> std::io::Result<()> {
        // Partitions arrive interleaved; people read them one after the other.
        self.rows
            .sort_by_key(|row| (row[0].parse::<i32>().ok(), row[1].parse::<i64>().ok()));
        let mut widths = COLUMNS.map(|c| c.chars().count());
        for row in &self.rows {
            for (width, value) in widths.iter_mut().zip(row) {
                *width = (*width).max(value.chars().count());
            }
        }
        write_row(out, &widths, &COLUMNS.map(str::to_owned))?;
        for row in self.rows.drain(..) {
            write_row(out, &widths, &row)?;
        }
        self.widths = Some(widths);
        Ok(())
    }

    fn finish(&mut self, out: &mut (dyn Write + Send)) -> std::io::Result<()> {
        if self.widths.is_none() && !self.rows.is_empty() {
            self.flush(out)?;
        }
        Ok(())
    }
}

fn write_row(
    out: &mut (dyn Write + Send),
    widths: &[usize; 8],
    row: &[String; 8],
) -> std::io::Result<()> {
    let mut line = String::new();
    for (i, (value, width)) in row.iter().zip(widths).enumerate() {
        // Numbers right-aligned, text left-aligned; no padding after the last column.
        let padded = match i {
            0 | 1 | 6 => format!("{value:>width$}"),
            7 => value.clone(),
            _ => format!("{value:<width$}"),
        };
        if i > 0 {
            line.push_str("  ");
        }
        line.push_str(&padded);
    }
    writeln!(out, "{}", line.trim_end())
}

/// E.g. `3 dead letters in orders.dlq (5 read): invalid 2, malformed 1`.
fn describe(summary: &InspectSummary, topic: &str) -> String {
    let noun = if summary.listed == 1 {
        "dead letter"
    } else {
        "dead letters"
    };
    let mut text = format!(
        "{} {noun} in {topic} ({} read)",
        summary.listed, summary.scanned
    );
    if !summary.by_kind.is_empty() {
        let kinds: Vec<String> = summary
            .by_kind
            .iter()
            .map(|(kind, n)| match kind.as_str() {
                "-" => format!("(no x-error-kind) {n}"),
                _ => format!("{kind} {n}"),
            })
            .collect();
        text.push_str(&format!(": {}", kinds.join(", ")));
    }
    if summary.limit_reached {
        text.push_str("; stopped at --limit, more may match");
    }
    text
}
