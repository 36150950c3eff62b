//! The one place that decides what happens to a record: every error class of contract §2 maps to
//! exactly one fate here (store, DLQ, retry), and every storage error to whether it is the
//! record's fault or the dependency's.

use super::dead_letter::Failure;
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
    /// Nothing is wrong with the records: pause, back off, try the same records again.
    Outage(String),
    /// Some record in the call is at fault; narrow it down.
    Rejected(String),
    Transient(String),
}

pub fn error_class(err: StoreError) -> ErrorClass {
    match err {
        StoreError::Rejected(message) => ErrorClass::Rejected(message),
        StoreError::Transient(message) => ErrorClass::Transient(message),
        // A schema or driver problem is ours, not the record's: dead-lettering valid orders
        // for it would lose them from the read side, so it is handled like an outage.
        other @ (StoreError::Unavailable(_)
        | StoreError::Refused(_)
        | StoreError::SchemaBehind { .. }
        | StoreError::Other(_)) => ErrorClass::Outage(other.to_string()),
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
}

/// A record that could not be decoded: `malformed` or `invalid`, straight to the DLQ.
pub fn undecodable(record: &Record, err: &DecodeError) -> Fate {
    Fate::DeadLetter {
        failure: Failure::new(err.kind(), err.message()),
        attempts: record.prior_attempts() + 1,
    }
}

pub fn stored(record: &Record, verdict: Verdict, config: &Config) -> Fate {
    let attempts = record.prior_attempts() + 1;
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
        assert!(matches!(
            error_class(StoreError::Unavailable("down".into())),
            ErrorClass::Outage(_)
        ));
        assert!(matches!(
            error_class(StoreError::Other("bug".into())),
            ErrorClass::Outage(_)
        ));
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
