//! The building blocks of [`super`]: field paths for messages, and serde seeds that read one
//! scalar, object or item list and fail naming the path and the JSON type found, never the value.

use super::Object;
use crate::model::Item;
use chrono::{DateTime, Datelike, Utc};
use serde::de::{DeserializeSeed, Deserializer, Error, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// Where a value sits in the document; only ever displayed, so nothing is built up front.
#[derive(Clone, Copy)]
pub(super) enum Path<'a> {
    Root,
    Field(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    /// How many objects and arrays enclose this value's own container, e.g. 0 for the order,
    /// 2 for an item (the order, then `items`).
    pub(super) fn depth(&self) -> usize {
        match self {
            Path::Root => 0,
            Path::Field(parent, _) | Path::Index(parent, _) => parent.depth() + 1,
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => f.write_str("the order"),
            Path::Field(Path::Root, name) => write_key(f, name, false),
            Path::Field(parent, name) => {
                write!(f, "{parent}")?;
                write_key(f, name, true)
            }
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// Most characters of an unknown key shown in a message.
const MAX_KEY_SHOWN: usize = 64;

/// A key as a path segment: `.name` for plain keys, `["odd key"]` for the rest, shortened.
fn write_key(f: &mut fmt::Formatter<'_>, key: &str, dotted: bool) -> fmt::Result {
    let plain = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let shown: String = key.chars().take(MAX_KEY_SHOWN).collect();
    let ellipsis = if shown.len() < key.len() { "…" } else { "" };
    if plain {
        let dot = if dotted { "." } else { "" };
        write!(f, "{dot}{shown}{ellipsis}")
    } else {
        let quoted = serde_json::to_string(&shown).unwrap_or_default();
        write!(f, "[{quoted}{ellipsis}]")
    }
}

fn wrong_type<E: Error>(path: &Path<'_>, expected: &str, found: &str) -> E {
    E::custom(format_args!("{path}: expected {expected}, found {found}"))
}

pub(super) fn missing<E: Error>(path: &Path<'_>) -> E {
    E::custom(format_args!("{path}: missing"))
}

pub(super) fn repeated<E: Error>(path: &Path<'_>) -> E {
    E::custom(format_args!("{path}: the key appears more than once"))
}

/// A scalar field's type: what it is called in messages and how it is made from a JSON string
/// or integer (`Err` carries the reason, never the value).
pub(super) trait Scalar: Sized {
    const EXPECTED: &'static str;
    fn parse_text(_: &str) -> Option<Result<Self, String>> {
        None
    }
    fn from_i64(_: i64) -> Option<Self> {
        None
    }
}

impl Scalar for String {
    const EXPECTED: &'static str = "a string";
    fn parse_text(text: &str) -> Option<Result<Self, String>> {
        Some(Ok(text.to_owned()))
    }
}

impl Scalar for i64 {
    const EXPECTED: &'static str = "an integer";
    fn from_i64(value: i64) -> Option<Self> {
        Some(value)
    }
}

impl Scalar for DateTime<Utc> {
    const EXPECTED: &'static str = "an RFC 3339 date-time string";
    fn parse_text(text: &str) -> Option<Result<Self, String>> {
        let parsed = DateTime::parse_from_rfc3339(text)
            .map(|parsed| parsed.with_timezone(&Utc))
            .map_err(|err| format!("not an RFC 3339 date-time ({err})"))
            .and_then(|utc| {
                // `0000-01-01T00:00:00+01:00` is year -1 in UTC, which RFC 3339 cannot write: we
                // could never serve it back.
                if (0..=9999).contains(&utc.year()) {
                    Ok(utc)
                } else {
                    Err("outside the years 0000-9999 in UTC".to_owned())
                }
            });
        Some(parsed)
    }
}

/// The seed of a visitor below: any JSON type is taken, and the visitor names a wrong one.
pub(super) struct AnyJson<V>(pub(super) V);

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for AnyJson<V> {
    type Value = V::Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        deserializer.deserialize_any(self.0)
    }
}

/// Reads one scalar, or fails naming the path and the JSON type found.
pub(super) struct ScalarAt<'p, T>(pub(super) &'p Path<'p>, pub(super) PhantomData<T>);

impl<'de, T: Scalar> Visitor<'de> for ScalarAt<'_, T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTED)
    }
    fn visit_str<E: Error>(self, text: &str) -> Result<T, E> {
        match T::parse_text(text) {
            Some(Ok(value)) => Ok(value),
            Some(Err(reason)) => Err(E::custom(format_args!("{}: {reason}", self.0))),
            None => Err(wrong_type(self.0, T::EXPECTED, "a string")),
        }
    }
    fn visit_i64<E: Error>(self, value: i64) -> Result<T, E> {
        T::from_i64(value).ok_or_else(|| wrong_type(self.0, T::EXPECTED, "a number"))
    }
    fn visit_u64<E: Error>(self, value: u64) -> Result<T, E> {
        match i64::try_from(value) {
            Ok(value) => self.visit_i64(value),
            Err(_) => Err(wrong_type(self.0, T::EXPECTED, "an integer above 2^63-1")),
        }
    }
    fn visit_f64<E: Error>(self, _: f64) -> Result<T, E> {
        Err(wrong_type(
            self.0,
            T::EXPECTED,
            "a number with a fraction, an exponent or beyond 64 bits",
        ))
    }
    fn visit_bool<E: Error>(self, _: bool) -> Result<T, E> {
        Err(wrong_type(self.0, T::EXPECTED, "a boolean"))
    }
    fn visit_unit<E: Error>(self) -> Result<T, E> {
        Err(wrong_type(self.0, T::EXPECTED, "null"))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<T, A::Error> {
        Err(wrong_type(self.0, T::EXPECTED, "an object"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<T, A::Error> {
        Err(wrong_type(self.0, T::EXPECTED, "an array"))
    }
}

/// Reads one object, or fails naming the path and the JSON type found.
pub(super) struct ObjectAt<'p, T>(pub(super) &'p Path<'p>, pub(super) PhantomData<T>);

impl<'de, T: Object> Visitor<'de> for ObjectAt<'_, T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::read(map, self.0)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<T, A::Error> {
        Err(wrong_type(self.0, "an object", "an array"))
    }
    fn visit_str<E: Error>(self, _: &str) -> Result<T, E> {
        Err(wrong_type(self.0, "an object", "a string"))
    }
    fn visit_i64<E: Error>(self, _: i64) -> Result<T, E> {
        Err(wrong_type(self.0, "an object", "a number"))
    }
    fn visit_u64<E: Error>(self, _: u64) -> Result<T, E> {
        Err(wrong_type(self.0, "an object", "a number"))
    }
    fn visit_f64<E: Error>(self, _: f64) -> Result<T, E> {
        Err(wrong_type(self.0, "an object", "a number"))
    }
    fn visit_bool<E: Error>(self, _: bool) -> Result<T, E> {
        Err(wrong_type(self.0, "an object", "a boolean"))
    }
    fn visit_unit<E: Error>(self) -> Result<T, E> {
        Err(wrong_type(self.0, "an object", "null"))
    }
}

/// `items`: an array of item objects.
pub(super) struct ItemsAt<'p>(pub(super) &'p Path<'p>);

impl<'de> Visitor<'de> for ItemsAt<'_> {
    type Value = Vec<Item>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Item>, A::Error> {
        // Capped: the length hint comes from the input.
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        loop {
            let here = Path::Index(self.0, items.len());
            match seq.next_element_seed(AnyJson(ObjectAt::<Item>(&here, PhantomData)))? {
                Some(item) => items.push(item),
                None => return Ok(items),
            }
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Vec<Item>, A::Error> {
        Err(wrong_type(self.0, "an array of objects", "an object"))
    }
    fn visit_str<E: Error>(self, _: &str) -> Result<Vec<Item>, E> {
        Err(wrong_type(self.0, "an array of objects", "a string"))
    }
    fn visit_i64<E: Error>(self, _: i64) -> Result<Vec<Item>, E> {
        Err(wrong_type(self.0, "an array of objects", "a number"))
    }
    fn visit_u64<E: Error>(self, _: u64) -> Result<Vec<Item>, E> {
        Err(wrong_type(self.0, "an array of objects", "a number"))
    }
    fn visit_f64<E: Error>(self, _: f64) -> Result<Vec<Item>, E> {
        Err(wrong_type(self.0, "an array of objects", "a number"))
    }
    fn visit_bool<E: Error>(self, _: bool) -> Result<Vec<Item>, E> {
        Err(wrong_type(self.0, "an array of objects", "a boolean"))
    }
    fn visit_unit<E: Error>(self) -> Result<Vec<Item>, E> {
        Err(wrong_type(self.0, "an array of objects", "null"))
    }
}

/// An object key: borrowed from the input when it has no escapes.
pub(super) enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    pub(super) fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(key) => key,
            Key::Owned(key) => key,
        }
    }
}

pub(super) struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key<'de>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key<'de>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E: Error>(self, key: &'de str) -> Result<Key<'de>, E> {
        Ok(Key::Borrowed(key))
    }
    fn visit_str<E: Error>(self, key: &str) -> Result<Key<'de>, E> {
        Ok(Key::Owned(key.to_owned()))
    }
}
