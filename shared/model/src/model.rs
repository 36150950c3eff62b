//! The order document exactly as the contract (§1) fixes it: field names, order and JSON types.
//!
//! Field order in these structs *is* the wire order: serde serializes struct fields in
//! declaration order, so encoding a decoded order reproduces the contract's key order.
//! Unknown fields are rejected so that what we store is exactly what we serve back.

use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;
use validator::Validate;

use super::validate::rules;

/// One customer order with its delivery, payment and line items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!(crate::sample_json()))]
pub struct Order {
    #[validate(custom(function = "rules::order_uid"))]
    pub order_uid: String,
    #[validate(custom(function = "rules::non_blank"))]
    pub track_number: String,
    #[validate(custom(function = "rules::non_blank"))]
    pub entry: String,
    #[serde(deserialize_with = "object::one")]
    #[validate(nested)]
    pub delivery: Delivery,
    #[serde(deserialize_with = "object::one")]
    #[validate(nested)]
    pub payment: Payment,
    /// 1 to 1000 items: checked in `validate::cross_field`, so a count error never hides an
    /// item's own errors.
    #[serde(deserialize_with = "object::list")]
    #[validate(nested)]
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

    pub fn serialize<S: Serializer>(
        value: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&value.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        let utc = DateTime::parse_from_rfc3339(&text)
            .map(|parsed| parsed.with_timezone(&Utc))
            .map_err(|err| {
                serde::de::Error::custom(format!("date_created is not RFC 3339: {err}"))
            })?;
        // `0000-01-01T00:00:00+01:00` is year -1 in UTC, which RFC 3339 cannot write: we could
        // never serve it back.
        if !(0..=9999).contains(&utc.year()) {
            return Err(serde::de::Error::custom(
                "date_created is outside the years 0000-9999 in UTC",
            ));
        }
        Ok(utc)
    }
}

/// Parses an order document. serde's derived structs also read a JSON *array* of the field
/// values in declaration order; the contract says an order and its parts are objects, so every
/// level goes through [`object`], and anything else is a wrong shape (malformed).
pub(crate) fn from_json(text: &str) -> serde_json::Result<Order> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let order = object::one(&mut deserializer)?;
    deserializer.end()?;
    Ok(order)
}

/// Deserialization that accepts a struct only in its JSON object form.
mod object {
    use serde::de::value::MapAccessDeserializer;
    use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
    use std::fmt;
    use std::marker::PhantomData;

    struct ObjectOnly<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectOnly<T> {
        type Value = T;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map))
        }
    }

    /// A `T` from a JSON object; an array (or anything else) is an error.
    pub fn one<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<T, D::Error> {
        deserializer.deserialize_map(ObjectOnly(PhantomData))
    }

    /// A list of `T`s, each from a JSON object.
    pub fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<Vec<T>, D::Error> {
        struct Element<T>(T);

        impl<'de, T: Deserialize<'de>> Deserialize<'de> for Element<T> {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                one(deserializer).map(Element)
            }
        }

        let elements = Vec::<Element<T>>::deserialize(deserializer)?;
        Ok(elements.into_iter().map(|Element(item)| item).collect())
    }
}
