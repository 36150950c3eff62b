//! Which dead letters an operator command applies to: the flags `inspect` and `replay` share
//! (`--kind`, `--since`, `--until`, `--partition`, `--limit`) and the rules for matching them.

use super::record::DeadLetter;
use chrono::{DateTime, NaiveDate, Utc};
use clap::builder::PossibleValue;
use clap::{Args, ValueEnum};
use order_model::DeadLetterKind;

/// A `--kind` value: one of the contract's dead-letter kinds, or `unknown` for a dead letter whose
/// `x-error-kind` is missing or not one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KindFilter(pub Option<DeadLetterKind>);

impl ValueEnum for KindFilter {
    fn value_variants<'a>() -> &'a [Self] {
        const VARIANTS: [KindFilter; 5] = [
            KindFilter(Some(DeadLetterKind::Malformed)),
            KindFilter(Some(DeadLetterKind::Invalid)),
            KindFilter(Some(DeadLetterKind::Conflict)),
            KindFilter(Some(DeadLetterKind::RetriesExhausted)),
            KindFilter(None),
        ];
        &VARIANTS
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(
            self.0.map_or("unknown", DeadLetterKind::as_str),
        ))
    }
}

/// Filters shared by `inspect` and `replay`. All given filters must hold.
#[derive(Debug, Clone, Default, Args)]
pub struct Selection {
    /// Only dead letters of these kinds (repeat the flag or separate with commas).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "KIND")]
    pub kind: Vec<KindFilter>,
    /// Only dead letters whose `x-failed-at` is at or after this time (RFC 3339, or a date for
    /// midnight UTC). A dead letter without a readable `x-failed-at` never matches.
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    pub since: Option<DateTime<Utc>>,
    /// Only dead letters whose `x-failed-at` is before this time (RFC 3339, or a date for
    /// midnight UTC). A dead letter without a readable `x-failed-at` never matches.
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    pub until: Option<DateTime<Utc>>,
    /// Only these partitions of the DLQ topic (repeat the flag or separate with commas).
    #[arg(long, value_delimiter = ',', value_name = "N")]
    pub partition: Vec<i32>,
    /// At most this many dead letters.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
}

impl Selection {
    /// True when any flag narrows the selection (what `replay` requires unless `--all`).
    pub fn is_narrowed(&self) -> bool {
        !self.kind.is_empty()
            || self.since.is_some()
            || self.until.is_some()
            || !self.partition.is_empty()
            || self.limit.is_some()
    }

    /// Rejects contradictory flags before anything is read.
    pub fn validate(&self) -> anyhow::Result<()> {
        if let (Some(since), Some(until)) = (self.since, self.until) {
            anyhow::ensure!(
                since < until,
                "--since ({since}) must be before --until ({until})"
            );
        }
        if let Some(bad) = self.partition.iter().find(|p| **p < 0) {
            anyhow::bail!("--partition {bad}: partitions are numbered from 0");
        }
        Ok(())
    }

    /// Whether a dead letter passes every filter except `--limit` (the caller counts).
    pub fn matches(&self, dead_letter: &DeadLetter) -> bool {
        if !self.partition.is_empty() && !self.partition.contains(&dead_letter.partition) {
            return false;
        }
        if !self.kind.is_empty() && !self.kind.contains(&KindFilter(dead_letter.kind())) {
            return false;
        }
        if self.since.is_none() && self.until.is_none() {
            return true;
        }
        let Some(failed_at) = dead_letter.failed_at() else {
            return false;
        };
        self.since.is_none_or(|since| failed_at >= since)
            && self.until.is_none_or(|until| failed_at < until)
    }

    /// Whether `count` dead letters already reach `--limit`.
    pub fn limit_reached(&self, count: u64) -> bool {
        self.limit.is_some_and(|limit| count >= limit)
    }
}

/// `--since`/`--until`: RFC 3339 (any offset), or `YYYY-MM-DD` meaning midnight UTC.
pub fn parse_time(raw: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(time) = DateTime::parse_from_rfc3339(raw.trim()) {
        return Ok(time.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|midnight| midnight.and_utc())
        .ok_or_else(|| {
            format!("{raw:?} is not an RFC 3339 time (e.g. 2024-05-01T12:00:00Z) or a date")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlq::record::Header;

    fn failed_at(time: &str, kind: &str) -> DeadLetter {
        let header = |name: &str, value: &str| Header {
            name: name.into(),
            value: Some(value.as_bytes().to_vec()),
        };
        DeadLetter {
            topic: "dlq".into(),
            partition: 0,
            offset: 0,
            timestamp_ms: None,
            key: None,
            value: None,
            headers: vec![header("x-failed-at", time), header("x-error-kind", kind)],
        }
    }

    #[test]
    fn time_window_is_half_open_and_needs_a_readable_time() {
        let selection = Selection {
            since: parse_time("2024-05-01").ok(),
            until: parse_time("2024-05-02T00:00:00+00:00").ok(),
            ..Selection::default()
        };
        assert!(selection.matches(&failed_at("2024-05-01T00:00:00Z", "invalid")));
        assert!(selection.matches(&failed_at("2024-05-01T23:00:00-00:30", "invalid")));
        assert!(!selection.matches(&failed_at("2024-05-02T00:00:00Z", "invalid")));
        assert!(!selection.matches(&failed_at("garbage", "invalid")));
        assert!(Selection::default().matches(&failed_at("garbage", "invalid")));
    }

    #[test]
    fn kinds_match_exactly() {
        let selection = Selection {
            kind: vec![KindFilter(Some(DeadLetterKind::Conflict)), KindFilter(None)],
            ..Default::default()
        };
        assert!(selection.matches(&failed_at("2024-05-01T00:00:00Z", "conflict")));
        assert!(selection.matches(&failed_at("2024-05-01T00:00:00Z", "surprise")));
        assert!(!selection.matches(&failed_at("2024-05-01T00:00:00Z", "invalid")));
        assert!(parse_time("tomorrow").is_err());
    }
}
