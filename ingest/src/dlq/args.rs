//! The flags of `ingest dlq replay`: which dead letters (the shared [`Selection`]), where they go
//! and how fast. Kept apart from the planner and the publisher, which both read them.

use super::filter::Selection;
use clap::Parser;

/// Flags of `ingest dlq replay`.
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "replay")]
pub struct ReplayArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// Replay every dead letter; required when no filter is given.
    #[arg(long)]
    pub all: bool,
    /// Publish to this topic instead of each dead letter's `x-original-topic`. Without it, a
    /// dead letter naming any topic but the input topic (ORDERS_TOPIC) is skipped and reported:
    /// a forged dead letter must not choose where the pipeline's credentials write.
    #[arg(long, value_name = "TOPIC")]
    pub to: Option<String>,
    /// Also replay dead letters that came from an earlier replay (they carry `x-replayed-from`).
    #[arg(long)]
    pub include_replayed: bool,
    /// Print the plan and what would be replayed; publish nothing and record nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Publish at most this many records per second, evenly spaced (default: as fast as the
    /// broker acknowledges).
    #[arg(long, value_parser = parse_rate, value_name = "PER_SECOND")]
    pub rate: Option<f64>,
}

/// `--rate`: a positive number of records per second.
pub fn parse_rate(raw: &str) -> Result<f64, String> {
    match raw.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "{raw:?} is not a positive number of records per second"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_rate;

    #[test]
    fn rate_must_be_a_positive_number() {
        assert!(parse_rate("0").is_err() && parse_rate("x").is_err() && parse_rate("-1").is_err());
        assert_eq!(parse_rate("2.5"), Ok(2.5));
    }
}
