//! Bytes from Kafka (or anywhere) to a [`ValidOrder`], telling `malformed` from `invalid`.
//!
//! *Malformed* means we cannot even read it as an order (too big, not UTF-8, not JSON, wrong
//! shape or types). *Invalid* means it is a well-formed order that breaks a business rule. The
//! two end up in the DLQ with different `x-error-kind`s, so operators know whether to fix the
//! producer's serializer or its data.

use super::{validate, DeadLetterKind, FieldError, Order, ValidOrder};
use chrono::{DateTime, Utc};

/// Larger message values are rejected as malformed before parsing (contract §1).
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// Why a message is not a valid order. Messages name field paths and JSON types, never a value
/// from the message: they end up in logs and in the DLQ's `x-error-message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("malformed: {0}")]
    Malformed(String),
    #[error("invalid: {}", FieldError::join(.0))]
    Invalid(Vec<FieldError>),
}

impl DecodeError {
    /// The `x-error-kind` value for this error.
    pub fn kind(&self) -> DeadLetterKind {
        match self {
            DecodeError::Malformed(_) => DeadLetterKind::Malformed,
            DecodeError::Invalid(_) => DeadLetterKind::Invalid,
        }
    }

    /// The rejection of a message of `length` bytes, more than [`MAX_MESSAGE_BYTES`] (for
    /// callers that only know the length, e.g. of a line they did not keep whole).
    pub fn too_big(length: usize) -> Self {
        DecodeError::Malformed(format!(
            "message is {length} bytes, more than the {MAX_MESSAGE_BYTES}-byte limit"
        ))
    }

    /// The human-readable reason without the kind prefix (the `x-error-message` value).
    pub fn message(&self) -> String {
        match self {
            DecodeError::Malformed(reason) => reason.clone(),
            DecodeError::Invalid(errors) => FieldError::join(errors),
        }
    }
}

/// Decodes and validates one message value, judging `date_created` against the current time.
pub fn decode(bytes: &[u8]) -> Result<ValidOrder, DecodeError> {
    decode_at(bytes, Utc::now())
}

/// [`decode`] with an explicit "now", for deterministic tests.
pub fn decode_at(bytes: &[u8], now: DateTime<Utc>) -> Result<ValidOrder, DecodeError> {
    read_and_validate(bytes, now).map(ValidOrder::trusted)
}

/// [`decode`]'s verdict without building the canonical JSON, for callers that only need to know
/// (`producer-sim validate`): the same reading and the same rules, so the same answer.
pub fn check(bytes: &[u8]) -> Result<(), DecodeError> {
    read_and_validate(bytes, Utc::now()).map(drop)
}

fn read_and_validate(bytes: &[u8], now: DateTime<Utc>) -> Result<Order, DecodeError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(DecodeError::too_big(bytes.len()));
    }
    let text = std::str::from_utf8(bytes).map_err(|err| {
        DecodeError::Malformed(format!(
            "message is not UTF-8 (invalid bytes at offset {})",
            err.valid_up_to()
        ))
    })?;
    let order: Order = super::read::from_json(text)
        .map_err(|err| DecodeError::Malformed(format!("not an order document: {err}")))?;
    validate(&order, now).map_err(DecodeError::Invalid)?;
    Ok(order)
}
