//! Reading an order document, by hand rather than with serde's derive, for three reasons:
//!
//! - **Messages without customer data** (#18): serde's own errors quote the offending value
//!   (`invalid type: string "Ivan", expected u64`), and they end up in logs and in the DLQ's
//!   `x-error-message`. Every error here names the field path and JSON types only:
//!   `items[2].price: expected an integer, found a string`.
//! - **Unknown fields are kept** (contract §11), in arrival order, at every level ([`Extra`]).
//! - **Objects only**: serde's derived structs also read an array of the field values; the
//!   contract says every level is an object.
//!
//! A known field missing, repeated or of the wrong JSON type is an error (the order is
//! `malformed`); business rules are [`crate::validate`]'s job.

mod seeds;

use crate::extra::{Extra, MAX_DEPTH};
use crate::model::{Delivery, Item, Order, Payment};
use chrono::{DateTime, Utc};
use seeds::{missing, repeated, AnyJson, ItemsAt, KeySeed, ObjectAt, Path, ScalarAt};
use serde::de::{DeserializeSeed, Deserializer, Error, MapAccess};
use serde_json::value::RawValue;
use std::marker::PhantomData;

/// One of the document's objects (the order, delivery, payment, an item).
trait Object: Sized {
    fn read<'de, A: MapAccess<'de>>(map: A, path: &Path<'_>) -> Result<Self, A::Error>;
}

/// How a field's value is read from the object that holds it.
trait Field: Sized {
    fn next<'de, A: MapAccess<'de>>(map: &mut A, path: &Path<'_>) -> Result<Self, A::Error>;
}

macro_rules! scalar_fields {
    ($($ty:ty),*) => {$(
        impl Field for $ty {
            fn next<'de, A: MapAccess<'de>>(map: &mut A, path: &Path<'_>) -> Result<Self, A::Error> {
                map.next_value_seed(AnyJson(ScalarAt::<$ty>(path, PhantomData)))
            }
        }
    )*};
}
scalar_fields!(String, i64, DateTime<Utc>);

impl Field for Vec<Item> {
    fn next<'de, A: MapAccess<'de>>(map: &mut A, path: &Path<'_>) -> Result<Self, A::Error> {
        map.next_value_seed(AnyJson(ItemsAt(path)))
    }
}

/// Keeps the value of a key the object does not know.
fn read_extra<'de, A: MapAccess<'de>>(
    map: &mut A,
    path: &Path<'_>,
    key: &str,
    extra: &mut Extra,
) -> Result<(), A::Error> {
    let here = Path::Field(path, key);
    if extra.contains_key(key) {
        return Err(repeated(&here));
    }
    let raw: Box<RawValue> = map.next_value()?;
    // The containers around the value count towards the document's nesting limit.
    let depth_left = MAX_DEPTH.saturating_sub(path.depth() + 1);
    extra
        .push_raw(key.to_owned(), &raw, depth_left)
        .map_err(|why| A::Error::custom(format_args!("{here}: {why}")))
}

/// Implements [`Object`] for a model struct: every listed field exactly once, anything else
/// into its `extra`.
macro_rules! object {
    ($ty:ident { $($field:ident: $fty:ty),* $(,)? }) => {
        impl Object for $ty {
            fn read<'de, A: MapAccess<'de>>(mut map: A, path: &Path<'_>) -> Result<Self, A::Error> {
                $(let mut $field: Option<$fty> = None;)*
                let mut extra = Extra::default();
                while let Some(key) = map.next_key_seed(KeySeed)? {
                    match key.as_str() {
                        $(stringify!($field) => {
                            let here = Path::Field(path, stringify!($field));
                            if $field.is_some() {
                                return Err(repeated(&here));
                            }
                            $field = Some(<$fty as Field>::next(&mut map, &here)?);
                        })*
                        other => read_extra(&mut map, path, other, &mut extra)?,
                    }
                }
                Ok($ty {
                    $($field: $field.ok_or_else(|| missing(&Path::Field(path, stringify!($field))))?,)*
                    extra,
                })
            }
        }

        impl Field for $ty {
            fn next<'de, A: MapAccess<'de>>(map: &mut A, path: &Path<'_>) -> Result<Self, A::Error> {
                map.next_value_seed(AnyJson(ObjectAt::<$ty>(path, PhantomData)))
            }
        }
    };
}

object!(Order {
    order_uid: String, track_number: String, entry: String, delivery: Delivery,
    payment: Payment, items: Vec<Item>, locale: String, internal_signature: String,
    customer_id: String, delivery_service: String, shardkey: String, sm_id: i64,
    date_created: DateTime<Utc>, oof_shard: String,
});

object!(Delivery {
    name: String,
    phone: String,
    zip: String,
    city: String,
    address: String,
    region: String,
    email: String,
});

object!(Payment {
    transaction: String,
    request_id: String,
    currency: String,
    provider: String,
    amount: i64,
    payment_dt: i64,
    bank: String,
    delivery_cost: i64,
    goods_total: i64,
    custom_fee: i64,
});

object!(Item {
    chrt_id: i64,
    track_number: String,
    price: i64,
    rid: String,
    name: String,
    sale: i64,
    size: String,
    total_price: i64,
    nm_id: i64,
    brand: String,
    status: i64,
});

/// Any serde deserializer: the same reading, so `serde_json::from_str::<Order>` agrees with
/// [`crate::decode`] on what an order is.
impl<'de> serde::Deserialize<'de> for Order {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ObjectAt::<Order>(&Path::Root, PhantomData))
    }
}

/// Parses an order document: one JSON object and nothing after it.
pub(crate) fn from_json(text: &str) -> serde_json::Result<Order> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let order =
        AnyJson(ObjectAt::<Order>(&Path::Root, PhantomData)).deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(order)
}
