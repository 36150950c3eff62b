//! The one place that decides what happens to a record: every error class of contract §2 maps to
//! exactly one fate here (store, DLQ, retry), and every storage error to whether it is the
//! record's fault or the dependency's.

use super::dead_letter::Failure;
use super::flow::HoldReason;
use super::record::Record;
use crate::config::Config;
use order_model::{DeadLetterKind, DecodeError};
use order_store::{StoreError, StoreOutcome};
use std::time::Duration;

/// What the database said about one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Stored(StoreOutcome),
    /// The row broke a schema constraint: the record's own fault, never retried.
    Rejected(String),
    /// A failure of this record that may pass (lock or statement timeout, serialization).
    Transient(String),
}

/// How a storage error is handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorClass {
    /// Nothing is wrong with the records: pause (for the named reason), back off, try the
    /// same records again. The cause names PostgreSQL and what it said.
    Outage(HoldReason, String),
    /// Some record in the call is at fault; narrow it down.
    Rejected(String),
    Transient(String),
}

pub fn error_class(err: StoreError) -> ErrorClass {
    match err {
        StoreError::Rejected(message) => ErrorClass::Rejected(message),
        StoreError::Transient(message) => ErrorClass::Transient(message),
        StoreError::Unavailable(message) => ErrorClass::Outage(
            HoldReason::DependencyUnavailable,
            format!("PostgreSQL: {message}"),
        ),
        // A permission, schema or driver problem is ours, not the record's: dead-lettering
        // valid orders for it would lose them from the read side, so it holds consumption
        // like an outage, named for what it is, until someone fixes it.
        StoreError::Refused(line) => ErrorClass::Outage(HoldReason::DatabaseError, line),
        StoreError::Other(message) => {
            ErrorClass::Outage(HoldReason::DatabaseError, format!("PostgreSQL: {message}"))
        }
        behind @ StoreError::SchemaBehind { .. } => {
            ErrorClass::Outage(HoldReason::DatabaseError, format!("PostgreSQL: {behind}"))
        }
    }
}

/// The final fate of a record in this batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    Stored,
    Duplicate,
    DeadLetter {
        failure: Failure,
        attempts: u32,
    },
    Retry {
        attempts: u32,
        delay: Duration,
        reason: String,
    },
    /// Its partition was revoked before its dead letter or retry was written: the new owner
    /// redoes it, so this member writes nothing for it.
    Revoked,
}

/// This attempt's number. The retry topic's count is not trusted: the result is clamped to the
/// configured maximum (`INGEST_MAX_ATTEMPTS`), so a forged count neither overflows nor buys
/// extra attempts, and no dead letter's `x-attempts` exceeds the maximum. A genuine retry never
/// reaches the clamp: its prior count is below the maximum, or it would have been dead-lettered.
fn attempts(record: &Record, config: &Config) -> u32 {
    record
        .prior_attempts()
        .saturating_add(1)
        .min(config.max_attempts)
}

/// A record that could not be decoded: `malformed` or `invalid`, straight to the DLQ.
pub fn undecodable(record: &Record, err: &DecodeError, config: &Config) -> Fate {
    Fate::DeadLetter {
        failure: Failure::new(err.kind(), err.message()),
        attempts: attempts(record, config),
    }
}

pub fn stored(record: &Record, verdict: Verdict, config: &Config) -> Fate {
    let attempts = attempts(record, config);
    match verdict {
        Verdict::Stored(StoreOutcome::Stored) => Fate::Stored,
        Verdict::Stored(StoreOutcome::Duplicate) => Fate::Duplicate,
        Verdict::Stored(StoreOutcome::Conflict) => Fate::DeadLetter {
            failure: Failure::new(
                DeadLetterKind::Conflict,
                "a different order with this order_uid is already stored; the stored order was left unchanged",
            ),
            attempts,
        },
        Verdict::Rejected(reason) => Fate::DeadLetter { failure: Failure::new(DeadLetterKind::Invalid, reason), attempts },
        Verdict::Transient(reason) if attempts >= config.max_attempts => Fate::DeadLetter {
            failure: Failure::new(DeadLetterKind::RetriesExhausted, format!("{attempts} attempts failed; last error: {reason}")),
            attempts,
        },
        Verdict::Transient(reason) => Fate::Retry { attempts, delay: config.retry_delay(attempts), reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn config() -> Config {
        crate::config::Cli::parse_from(["ingest", "--max-attempts", "2"]).config
    }

    #[test]
    fn storage_errors_are_classified_by_who_is_at_fault() {
        assert_eq!(
            error_class(StoreError::Unavailable("connection refused".into())),
            ErrorClass::Outage(
                HoldReason::DependencyUnavailable,
                "PostgreSQL: connection refused".into()
            )
        );
        assert_eq!(
            error_class(StoreError::Other(
                "permission denied for table orders (42501)".into()
            )),
            ErrorClass::Outage(
                HoldReason::DatabaseError,
                "PostgreSQL: permission denied for table orders (42501)".into()
            )
        );
        assert!(matches!(
            error_class(StoreError::Transient("t".into())),
            ErrorClass::Transient(_)
        ));
        assert!(matches!(
            error_class(StoreError::Rejected("r".into())),
            ErrorClass::Rejected(_)
        ));
    }

    #[test]
    fn transient_failures_retry_until_the_last_attempt() {
        let config = config();
        let mut record = crate::pipeline::dead_letter::tests::record("orders", &[], false);
        let fate = stored(&record, Verdict::Transient("timeout".into()), &config);
        assert!(matches!(fate, Fate::Retry { attempts: 1, .. }), "{fate:?}");
        record.from_retry = true;
        record
            .headers
            .push(("x-attempts".into(), Some(b"1".to_vec())));
        let fate = stored(&record, Verdict::Transient("timeout".into()), &config);
        match fate {
            Fate::DeadLetter {
                failure,
                attempts: 2,
            } => assert_eq!(failure.kind, DeadLetterKind::RetriesExhausted),
            other => panic!("unexpected {other:?}"),
        }
        // A forged count is clamped to the maximum (2): the next transient failure is the last
        // attempt, and a rejection reports no more attempts than the maximum either.
        let mut forged = crate::pipeline::dead_letter::tests::record("orders.retry", &[], true);
        forged
            .headers
            .push(("x-attempts".into(), Some(b"4294967295".to_vec())));
        let fate = stored(&forged, Verdict::Transient("timeout".into()), &config);
        assert!(
            matches!(fate, Fate::DeadLetter { attempts: 2, ref failure } if failure.kind == DeadLetterKind::RetriesExhausted),
            "{fate:?}"
        );
        let fate = stored(&forged, Verdict::Rejected("check".into()), &config);
        assert!(
            matches!(fate, Fate::DeadLetter { attempts: 2, ref failure } if failure.kind == DeadLetterKind::Invalid),
            "{fate:?}"
        );
    }

    #[test]
    fn conflicts_and_rejections_are_dead_lettered() {
        let record = crate::pipeline::dead_letter::tests::record("orders", &[], false);
        let config = config();
        let conflict = stored(&record, Verdict::Stored(StoreOutcome::Conflict), &config);
        assert!(
            matches!(conflict, Fate::DeadLetter { ref failure, attempts: 1 } if failure.kind == DeadLetterKind::Conflict)
        );
        let rejected = stored(&record, Verdict::Rejected("check".into()), &config);
        assert!(
            matches!(rejected, Fate::DeadLetter { ref failure, .. } if failure.kind == DeadLetterKind::Invalid)
        );
    }
}
