//! The order document exactly as the contract (§1) fixes it: field names, order and JSON types.
//!
//! Field order in these structs *is* the wire order: serde serializes struct fields in
//! declaration order, so encoding a decoded order reproduces the contract's key order.
//! Unknown fields are rejected so that what we store is exactly what we serve back.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;
use validator::Validate;

use super::validate::rules;

/// One customer order with its delivery, payment and line items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!(crate::order::sample_json()))]
pub struct Order {
    #[validate(custom(function = "rules::order_uid"))]
    pub order_uid: String,
    #[validate(custom(function = "rules::non_blank"))]
    pub track_number: String,
    #[validate(custom(function = "rules::non_blank"))]
    pub entry: String,
    #[validate(nested)]
    pub delivery: Delivery,
    #[validate(nested)]
    pub payment: Payment,
    #[validate(length(min = 1, max = 1000, message = "must have 1 to 1000 items"), nested)]
    pub items: Vec<Item>,
    #[validate(custom(function = "rules::non_blank"))]
    pub locale: String,
    pub internal_signature: String,
    #[validate(custom(function = "rules::non_blank"))]
    pub customer_id: String,
    #[validate(custom(function = "rules::non_blank"))]
    pub delivery_service: String,
    #[validate(custom(function = "rules::non_blank"))]
    pub shardkey: String,
    #[validate(range(min = 0, message = "must not be negative"))]
    pub sm_id: i64,
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub date_created: DateTime<Utc>,
    #[validate(custom(function = "rules::non_blank"))]
    pub oof_shard: String,
}

/// Where and to whom the order goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    #[validate(custom(function = "rules::person_name"))]
    pub name: String,
    #[validate(custom(function = "rules::phone"))]
    pub phone: String,
    #[validate(custom(function = "rules::zip"))]
    pub zip: String,
    #[validate(custom(function = "rules::non_blank"))]
    pub city: String,
    #[validate(custom(function = "rules::non_blank"))]
    pub address: String,
    #[validate(custom(function = "rules::non_blank"))]
    pub region: String,
    #[validate(email(message = "must be a valid e-mail address"))]
    pub email: String,
}

/// How the order was paid. Money is in minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct Payment {
    pub transaction: String,
    pub request_id: String,
    #[validate(custom(function = "rules::currency"))]
    pub currency: String,
    #[validate(custom(function = "rules::non_blank"))]
    pub provider: String,
    #[validate(range(min = 0, message = "must not be negative"))]
    pub amount: i64,
    /// Unix seconds.
    pub payment_dt: i64,
    #[validate(custom(function = "rules::non_blank"))]
    pub bank: String,
    #[validate(range(min = 0, message = "must not be negative"))]
    pub delivery_cost: i64,
    #[validate(range(min = 0, message = "must not be negative"))]
    pub goods_total: i64,
    #[validate(range(min = 0, message = "must not be negative"))]
    pub custom_fee: i64,
}

/// One line of the order. Money is in minor units; `sale` is a percentage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct Item {
    #[validate(range(min = 0, message = "must not be negative"))]
    pub chrt_id: i64,
    #[validate(custom(function = "rules::non_blank"))]
    pub track_number: String,
    #[validate(range(min = 0, message = "must not be negative"))]
    pub price: i64,
    #[validate(custom(function = "rules::non_blank"))]
    pub rid: String,
    #[validate(custom(function = "rules::non_blank"))]
    pub name: String,
    #[validate(range(min = 0, max = 100, message = "must be between 0 and 100"))]
    pub sale: i64,
    #[validate(custom(function = "rules::non_blank"))]
    pub size: String,
    #[validate(range(min = 0, message = "must not be negative"))]
    pub total_price: i64,
    #[validate(range(min = 0, message = "must not be negative"))]
    pub nm_id: i64,
    #[validate(custom(function = "rules::non_blank"))]
    pub brand: String,
    #[validate(range(min = 0, message = "must not be negative"))]
    pub status: i64,
}

/// `date_created` travels as RFC 3339. We render it in UTC with `Z`, keeping sub-second digits
/// only when there are some, so `2021-11-26T06:22:19Z` comes back byte for byte.
mod rfc3339 {
    use super::*;

    pub fn serialize<S: Serializer>(value: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&value.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|parsed| parsed.with_timezone(&Utc))
            .map_err(|err| serde::de::Error::custom(format!("date_created is not RFC 3339: {err}")))
    }
}
