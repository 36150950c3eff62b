//! Why a record ended in the dead-letter topic: the `x-error-kind` values of contract §2. One
//! enum for everything that names a kind — ingest's classifier, its metric labels, the DLQ
//! filter and command line, the simulator's expectations — so a kind cannot be misspelt.

use std::fmt;

/// The four dead-letter kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeadLetterKind {
    /// Not readable as an order: too big, not UTF-8, not JSON, wrong shape.
    Malformed,
    /// A well-formed order that breaks a rule.
    Invalid,
    /// Another order is already stored under the same uid.
    Conflict,
    /// A transient failure that outlasted every retry.
    RetriesExhausted,
}

impl DeadLetterKind {
    pub const ALL: [DeadLetterKind; 4] = [
        DeadLetterKind::Malformed,
        DeadLetterKind::Invalid,
        DeadLetterKind::Conflict,
        DeadLetterKind::RetriesExhausted,
    ];

    /// The header value (and metric label) for this kind.
    pub const fn as_str(self) -> &'static str {
        match self {
            DeadLetterKind::Malformed => "malformed",
            DeadLetterKind::Invalid => "invalid",
            DeadLetterKind::Conflict => "conflict",
            DeadLetterKind::RetriesExhausted => "retries-exhausted",
        }
    }
}

impl fmt::Display for DeadLetterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not one of the four kinds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dead-letter kind (expected malformed, invalid, conflict or retries-exhausted)")]
pub struct UnknownKind;

impl std::str::FromStr for DeadLetterKind {
    type Err = UnknownKind;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == value)
            .ok_or(UnknownKind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_header_value() {
        for kind in DeadLetterKind::ALL {
            assert_eq!(kind.as_str().parse::<DeadLetterKind>(), Ok(kind));
        }
        assert_eq!("poison".parse::<DeadLetterKind>(), Err(UnknownKind));
    }
}
