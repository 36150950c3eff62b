//! The order document as the contract (§1) fixes it: field names, order and JSON types, plus the
//! fields a newer producer may add ([`Extra`], §11). The same declarations drive validation
//! (`validator`), the JSON Schema (`schemars`, see `schema.rs`) and the OpenAPI document
//! (`utoipa`), so the three cannot disagree about a field.
//!
//! Field order in these structs *is* the wire order: serde serializes struct fields in
//! declaration order, then the unknown fields in the order they came. Reading is in `read/`,
//! by hand, so that errors never quote a value.
//!
//! Per-field rules appear twice on purpose: as `#[validate]` (what ingest enforces) and, where
//! the rule is a custom function, as the JSON Schema equivalent in `#[schemars]` (what producers
//! check against); `tests/schema.rs` keeps them in agreement over the test corpora.

use super::extra::Extra;
use super::validate::rules;
use chrono::{DateTime, SecondsFormat, Utc};
use schemars::JsonSchema;
use serde::{Serialize, Serializer};
use utoipa::ToSchema;
use validator::Validate;

/// Regular expressions of the per-field rules, for the JSON Schema (ECMA 262 syntax, which the
/// Rust `regex` crate reads the same way for these).
pub(crate) mod patterns {
    pub const ORDER_UID: &str = "^[A-Za-z0-9_-]{1,64}$";
    /// Something other than whitespace somewhere: `rules::non_blank`.
    pub const NON_BLANK: &str = r"\S";
    pub const PHONE: &str = r"^\+[0-9]{7,15}$";
    pub const ZIP: &str = "^[0-9]{3,10}$";
    pub const CURRENCY: &str = "^[A-Z]{3}$";
    /// Runs of letters (each may carry combining marks) separated by runs of ` . ' -`, or only
    /// ` . ' -` with one that is not a space: `rules::person_name`. Written so that no
    /// character can be matched two ways, which keeps backtracking engines linear.
    pub const PERSON_NAME: &str = r"^(?:[ .'-]*\p{Alphabetic}[\p{Alphabetic}\p{M}]*(?:[ .'-]+\p{Alphabetic}[\p{Alphabetic}\p{M}]*)*[ .'-]*|[ .'-]*[.'-][ .'-]*)$";
    /// The local part as `validator` (WHATWG) allows it; the domain only loosely, as it may be
    /// an internationalized name.
    pub const EMAIL: &str = r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[^@\s]+$";
    /// RFC 3339 as ingest reads it (also a space or `t` between date and time, and U+2212 as
    /// the offset's minus sign).
    pub const DATE_TIME: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+\-−][0-9]{2}:[0-9]{2})$";
}

/// One customer order with its delivery, payment and line items.
///
/// Cross-field rules that JSON Schema cannot express (ingest enforces them; an order breaking one
/// is dead-lettered as `invalid`): `payment.transaction` equals `order_uid`; every item's
/// `track_number` equals the order's; `payment.goods_total` is the sum of `items[].total_price`;
/// `payment.amount` is `goods_total + delivery_cost + custom_fee`; `date_created` is at most 24
/// hours in the future.
///
/// Fields not listed here are allowed at every level (additive evolution): they are stored and
/// served back after the known fields of their object, in the order they came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema, JsonSchema, Validate)]
#[schema(example = json!(crate::sample_json()))]
pub struct Order {
    /// 1-64 characters of `A-Z a-z 0-9 _ -`; also the Kafka record key.
    #[validate(custom(function = "rules::order_uid"))]
    #[schemars(regex(pattern = patterns::ORDER_UID))]
    pub order_uid: String,
    /// Not blank. Every item's `track_number` must equal it.
    #[validate(custom(function = "rules::non_blank"))]
    #[schemars(regex(pattern = patterns::NON_BLANK))]
    pub track_number: String,
    #[validate(custom(function = "rules::non_blank"))]
    #[schemars(regex(pattern = patterns::NON_BLANK))]
    pub entry: String,
    #[validate(nested)]
    pub delivery: Delivery,
    #[validate(nested)]
    pub payment: Payment,
    /// 1 to 1000 items.
    // The count is checked in `validate::cross_field`, so a count error never hides an item's
    // own errors.
    #[validate(nested)]
    #[schemars(length(min = 1, max = 1000))]
    pub items: Vec<Item>,
    #[validate(custom(function = "rules::non_blank"))]
    #[schemars(regex(pattern = patterns::NON_BLANK))]
    pub locale: String,
    /// May be empty.
    pub internal_signature: String,
    #[validate(custom(function = "rules::non_blank"))]
    #[schemars(regex(pattern = patterns::NON_BLANK))]
    pub customer_id: String,
    #[validate(custom(function = "rules::non_blank"))]
    #[schemars(regex(pattern = patterns::NON_BLANK))]
    pub delivery_service: String,
    #[validate(custom(function = "rules::non_blank"))]
    #[schemars(regex(pattern = patterns::NON_BLANK))]
    pub shardkey: String,
    #[validate(range(min = 0, message = "must not be negative"))]
    pub sm_id: i64,
    /// RFC 3339, in a year 0000-9999 once converted to UTC, at most 24 hours in the future.
    /// Served back in UTC (`Z`), the same instant.
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    #[schemars(with = "String", regex(pattern = patterns::DATE_TIME))]
    pub date_created: DateTime<Utc>,
    #[validate(custom(function = "rules::non_blank"))]
    #[schemars(regex(pattern = patterns::NON_BLANK))]
    pub oof_shard: String,
    /// Fields this version does not know, kept as they came.
    #[serde(flatten)]
    #[schema(ignore)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Where and to whom the order goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema, JsonSchema, Validate)]
pub struct Delivery {
    /// Letters of any script (with their combining marks), spaces, `-`, `'` and `.`; not blank.
    #[validate(custom(function = "rules::person_name"))]
    #[schemars(regex(pattern = patterns::PERSON_NAME))]
    pub name: String,
    /// `+` then 7-15 digits.
    #[validate(custom(function = "rules::phone"))]
    #[schemars(regex(pattern = patterns::PHONE))]
    pub phone: String,
    /// 3-10 digits.
    #[validate(custom(function = "rules::zip"))]
    #[schemars(regex(pattern = patterns::ZIP))]
    pub zip: String,
    #[validate(custom(function = "rules::non_blank"))]
    #[schemars(regex(pattern = patterns::NON_BLANK))]
    pub city: String,
    #[validate(custom(function = "rules::non_blank"))]
    #[schemars(regex(pattern = patterns::NON_BLANK))]
    pub address: String,
    #[validate(custom(function = "rules::non_blank"))]
    #[schemars(regex(pattern = patterns::NON_BLANK))]
    pub region: String,
    /// A syntactically valid address (as HTML's `input type=email` accepts; the domain may be
    /// internationalized).
    #[validate(email(message = "must be a valid e-mail address"))]
    #[schemars(regex(pattern = patterns::EMAIL))]
    pub email: String,
    #[serde(flatten)]
    #[schema(ignore)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// How the order was paid. Money is in minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema, JsonSchema, Validate)]
pub struct Payment {
    /// Must equal the order's `order_uid`.
    pub transaction: String,
    /// May be empty.
    pub request_id: String,
    /// Three upper-case letters (ISO 4217 style).
    #[validate(custom(function = "rules::currency"))]
    #[schemars(regex(pattern = patterns::CURRENCY))]
    pub currency: String,
    #[validate(custom(function = "rules::non_blank"))]
    #[schemars(regex(pattern = patterns::NON_BLANK))]
    pub provider: String,
    /// Must equal `goods_total + delivery_cost + custom_fee`.
    #[validate(range(min = 0, message = "must not be negative"))]
    pub amount: i64,
    /// Unix seconds.
    pub payment_dt: i64,
    #[validate(custom(function = "rules::non_blank"))]
    #[schemars(regex(pattern = patterns::NON_BLANK))]
    pub bank: String,
    #[validate(range(min = 0, message = "must not be negative"))]
    pub delivery_cost: i64,
    /// Must equal the sum of the items' `total_price`.
    #[validate(range(min = 0, message = "must not be negative"))]
    pub goods_total: i64,
    #[validate(range(min = 0, message = "must not be negative"))]
    pub custom_fee: i64,
    #[serde(flatten)]
    #[schema(ignore)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// One line of the order. Money is in minor units; `sale` is a percentage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema, JsonSchema, Validate)]
pub struct Item {
    #[validate(range(min = 0, message = "must not be negative"))]
    pub chrt_id: i64,
    /// Must equal the order's `track_number`.
    #[validate(custom(function = "rules::non_blank"))]
    #[schemars(regex(pattern = patterns::NON_BLANK))]
    pub track_number: String,
    #[validate(range(min = 0, message = "must not be negative"))]
    pub price: i64,
    #[validate(custom(function = "rules::non_blank"))]
    #[schemars(regex(pattern = patterns::NON_BLANK))]
    pub rid: String,
    #[validate(custom(function = "rules::non_blank"))]
    #[schemars(regex(pattern = patterns::NON_BLANK))]
    pub name: String,
    #[validate(range(min = 0, max = 100, message = "must be between 0 and 100"))]
    pub sale: i64,
    #[validate(custom(function = "rules::non_blank"))]
    #[schemars(regex(pattern = patterns::NON_BLANK))]
    pub size: String,
    #[validate(range(min = 0, message = "must not be negative"))]
    pub total_price: i64,
    #[validate(range(min = 0, message = "must not be negative"))]
    pub nm_id: i64,
    #[validate(custom(function = "rules::non_blank"))]
    #[schemars(regex(pattern = patterns::NON_BLANK))]
    pub brand: String,
    #[validate(range(min = 0, message = "must not be negative"))]
    pub status: i64,
    #[serde(flatten)]
    #[schema(ignore)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// `date_created` is rendered in UTC with `Z`, keeping sub-second digits only when there are
/// some, so `2021-11-26T06:22:19Z` comes back byte for byte.
fn rfc3339<S: Serializer>(value: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}
