//! The order document (contract §1): its types ([`Order`]), how bytes become a trusted order
//! ([`decode`]), the business rules an order must satisfy ([`validate`]), the uid grammar
//! ([`OrderUid`]) and the dead-letter kinds a rejected record ends with ([`DeadLetterKind`]).
//! Pure data and rules: no I/O and no async runtime, so producers' tools and fuzzers build it
//! alone.
//!
//! Everything downstream takes a [`ValidOrder`]: it can only be built by [`decode`], so no other
//! module re-checks the rules.
//!
//! Fields a newer producer adds are kept ([`Extra`], contract §11) and are part of the canonical
//! JSON; [`json_schema`] is the document's JSON Schema, made from the same declarations.

mod decode;
mod extra;
mod kind;
mod model;
mod read;
mod schema;
mod uid;
mod validate;

pub use decode::{check, decode, decode_at, DecodeError, MAX_MESSAGE_BYTES};
pub use extra::{Extra, NotAValue};
pub use kind::{DeadLetterKind, UnknownKind};
pub use model::{Delivery, Item, Order, Payment};
pub use schema::{json_schema, json_schema_text, SCHEMA_ID};
pub use uid::{OrderUid, UidError, MAX_UID_LEN};
pub use validate::{validate, FieldError};

use sha2::{Digest, Sha256};

/// An order that passed every rule of the contract. Construct it with [`decode`] (or
/// [`ValidOrder::try_from`] for an already-decoded [`Order`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidOrder {
    order: Order,
    canonical: String,
}

impl ValidOrder {
    pub fn uid(&self) -> &str {
        &self.order.order_uid
    }

    pub fn order(&self) -> &Order {
        &self.order
    }

    /// The JSON the read side serves for this order (contract key order, UTC date).
    pub fn canonical_json(&self) -> &str {
        &self.canonical
    }

    /// A fingerprint of the canonical JSON: equal fingerprints mean the same order content, which
    /// is how a redelivery (duplicate) is told apart from a different order reusing a uid
    /// (conflict).
    pub fn fingerprint(&self) -> [u8; 32] {
        Sha256::digest(self.canonical.as_bytes()).into()
    }

    pub fn into_order(self) -> Order {
        self.order
    }

    /// Paths of the fields this version does not know (`gift_wrap`, `delivery.floor`,
    /// `items[2].color`), for logs: names only, never values.
    pub fn unknown_field_paths(&self) -> Vec<String> {
        self.order.unknown_field_paths()
    }
}

impl Order {
    /// See [`ValidOrder::unknown_field_paths`].
    pub fn unknown_field_paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self.extra.iter().map(|(key, _)| key.to_owned()).collect();
        let nested = [
            ("delivery", &self.delivery.extra),
            ("payment", &self.payment.extra),
        ];
        for (object, extra) in nested {
            paths.extend(extra.iter().map(|(key, _)| format!("{object}.{key}")));
        }
        for (index, item) in self.items.iter().enumerate() {
            paths.extend(
                item.extra
                    .iter()
                    .map(|(key, _)| format!("items[{index}].{key}")),
            );
        }
        paths
    }

    /// Whether any object of the order carries a field this version does not know.
    pub fn has_unknown_fields(&self) -> bool {
        !(self.extra.is_empty()
            && self.delivery.extra.is_empty()
            && self.payment.extra.is_empty()
            && self.items.iter().all(|item| item.extra.is_empty()))
    }
}

impl TryFrom<Order> for ValidOrder {
    type Error = Vec<FieldError>;

    fn try_from(order: Order) -> Result<Self, Self::Error> {
        validate(&order, chrono::Utc::now())?;
        Ok(Self::trusted(order))
    }
}

impl ValidOrder {
    /// Wraps an order read back from the pipeline's own store, which only ever holds orders that
    /// passed [`decode`]. Anything else must go through [`decode`] or [`ValidOrder::try_from`].
    pub fn from_store(order: Order) -> Self {
        Self::trusted(order)
    }

    /// [`ValidOrder::from_store`] for a stored canonical document: parsed (an `Err` names what is
    /// wrong, never a value) but not validated again.
    pub fn from_store_json(json: &str) -> Result<Self, String> {
        read::from_json(json)
            .map(Self::trusted)
            .map_err(|err| err.to_string())
    }

    fn trusted(order: Order) -> Self {
        // Serializing plain structs of strings and integers into a String cannot fail.
        let canonical = serde_json::to_string(&order).unwrap_or_default();
        Self { order, canonical }
    }
}

/// The reference order from the contract (`tests/fixtures/model.json`), used for OpenAPI examples
/// and tests.
pub const SAMPLE_JSON: &str = include_str!("../../../tests/fixtures/model.json");

/// [`SAMPLE_JSON`] as a JSON value.
pub fn sample_json() -> serde_json::Value {
    serde_json::from_str(SAMPLE_JSON).unwrap_or(serde_json::Value::Null)
}
