//! Fields this version does not know (contract §11, additive evolution): kept per object, in
//! the order they came, as compact JSON text, so an order is served back with them exactly.
//!
//! A value is kept as its own JSON text rather than as a [`serde_json::Value`]: `Value` sorts
//! object keys and turns integers beyond 64 bits into floats, and both would change what the
//! producer sent. Only insignificant whitespace is dropped, so a re-sent order that differs in
//! formatting alone still has the same canonical JSON (a duplicate, not a conflict).

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;
use std::fmt;

/// The unknown fields of one object: `(key, compact JSON value)` in arrival order, keys
/// distinct.
#[derive(Clone, Default)]
pub struct Extra(Vec<(String, Box<RawValue>)>);

impl Extra {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Keys and JSON texts, in arrival order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(key, value)| (key.as_str(), value.get()))
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.0.iter().any(|(known, _)| known == key)
    }

    /// Appends a field (tests and generators; decoding keeps what it read). Keys must stay
    /// distinct and must not be a known field of the object: such a document would decode
    /// differently.
    pub fn push(&mut self, key: impl Into<String>, value: &serde_json::Value) {
        // A `Value` always serializes, and its text is compact and valid.
        if let Ok(raw) = serde_json::value::to_raw_value(value) {
            self.0.push((key.into(), raw));
        }
    }

    /// [`Extra::push`] for a value given as JSON text, kept as written (key order, number
    /// digits) but compact. Fails on text that is not one JSON value, or repeats a key.
    pub fn push_json(&mut self, key: impl Into<String>, json: &str) -> Result<(), NotAValue> {
        let raw: Box<RawValue> = serde_json::from_str(json).map_err(|_| NotAValue)?;
        self.push_raw(key.into(), &raw, MAX_DEPTH)
            .map_err(|_| NotAValue)
    }

    /// Appends a field read from a document, re-written compactly. `raw` was only checked for
    /// its syntax; it is refused, as it would be anywhere else in the document, when an object in
    /// it repeats a key, a string holds a lone surrogate, a number is beyond a float's range, or
    /// it nests more than `depth_left` arrays and objects.
    pub(crate) fn push_raw(
        &mut self,
        key: String,
        raw: &RawValue,
        depth_left: usize,
    ) -> Result<(), Unkept> {
        let text = compact(raw.get(), depth_left)?;
        // What `compact` lets through is JSON in its grammar; serde_json's own reading also
        // checks escapes and number ranges (its messages quote no value).
        serde_json::from_str::<Readable>(&text)
            .map_err(|err| Unkept::Unreadable(err.to_string()))?;
        let value =
            RawValue::from_string(text).map_err(|err| Unkept::Unreadable(err.to_string()))?;
        self.0.push((key, value));
        Ok(())
    }
}

/// A JSON value read in full and thrown away, allocating nothing (a `serde_json::Value` would
/// build a tree per unknown field on ingest's decode path): unlike serde's `IgnoredAny`, which
/// serde_json only skips over, this decodes every string (a lone surrogate fails) and number
/// (`1e400` fails).
struct Readable;

impl<'de> serde::Deserialize<'de> for Readable {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Readable)
    }
}

impl<'de> serde::de::Visitor<'de> for Readable {
    type Value = Readable;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_str<E>(self, _: &str) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_unit<E>(self) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Readable, A::Error> {
        while seq.next_element::<Readable>()?.is_some() {}
        Ok(Readable)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Readable, A::Error> {
        while map.next_key::<Readable>()?.is_some() {
            map.next_value::<Readable>()?;
        }
        Ok(Readable)
    }
}

/// Most arrays and objects one inside the other in a document, as serde_json reads them.
pub(crate) const MAX_DEPTH: usize = 127;

/// Why an unknown field's value cannot be kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unkept {
    RepeatedKey,
    TooDeep,
    Unreadable(String),
}

impl fmt::Display for Unkept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unkept::RepeatedKey => f.write_str("an object inside repeats a key"),
            Unkept::TooDeep => write!(f, "nests more than {MAX_DEPTH} arrays and objects"),
            Unkept::Unreadable(reason) => write!(f, "not readable JSON ({reason})"),
        }
    }
}

/// [`Extra::push_json`] was given something other than one JSON value with distinct keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a single JSON value with distinct object keys")]
pub struct NotAValue;

impl PartialEq for Extra {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .all(|((ka, va), (kb, vb))| ka == kb && va.get() == vb.get())
    }
}

impl Eq for Extra {}

impl fmt::Debug for Extra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Written as further entries of the enclosing object (the model flattens it into each struct),
/// after the known fields.
impl Serialize for Extra {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// `json` (valid JSON text) without insignificant whitespace; fails when an object in it
/// repeats a key, or when it nests more than `depth_left` containers. Strings are copied as
/// written (escapes included).
fn compact(json: &str, depth_left: usize) -> Result<String, Unkept> {
    /// One open container: for an object, the keys seen so far and whether a key comes next.
    enum Open<'a> {
        Object {
            keys: Vec<KeyText<'a>>,
            key_next: bool,
        },
        Array,
    }
    let bytes = json.as_bytes();
    let mut out = String::with_capacity(json.len());
    let mut stack: Vec<Open<'_>> = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' => at += 1,
            b'"' => {
                let end = string_end(bytes, at);
                let token = &json[at..end];
                if let Some(Open::Object { keys, key_next }) = stack.last_mut() {
                    if *key_next {
                        let key = KeyText::new(token);
                        if keys.contains(&key) {
                            return Err(Unkept::RepeatedKey);
                        }
                        keys.push(key);
                        *key_next = false;
                    }
                }
                out.push_str(token);
                at = end;
            }
            b'{' | b'[' => {
                if stack.len() >= depth_left {
                    return Err(Unkept::TooDeep);
                }
                stack.push(if byte == b'{' {
                    Open::Object {
                        keys: Vec::new(),
                        key_next: true,
                    }
                } else {
                    Open::Array
                });
                out.push(char::from(byte));
                at += 1;
            }
            b'}' | b']' => {
                stack.pop();
                out.push(char::from(byte));
                at += 1;
            }
            b',' => {
                if let Some(Open::Object { key_next, .. }) = stack.last_mut() {
                    *key_next = true;
                }
                out.push(',');
                at += 1;
            }
            _ => {
                // A number, `true`, `false`, `null` or `:`: copied up to the next structural
                // character or whitespace (never inside a string here).
                let end = bytes[at..]
                    .iter()
                    .position(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b',' | b'}' | b']'))
                    .map_or(bytes.len(), |offset| at + offset);
                let end = if byte == b':' { at + 1 } else { end };
                out.push_str(&json[at..end]);
                at = end;
            }
        }
    }
    Ok(out)
}

/// Index just past the string that starts at `start` (a `"`), in valid JSON.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut at = start + 1;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'"' => return at + 1,
            _ => at += 1,
        }
    }
    bytes.len()
}

/// An object key as written, compared by its decoded text so `"a"` and `"\u0061"` are the same
/// key.
#[derive(Debug)]
enum KeyText<'a> {
    Plain(&'a str),
    Decoded(String),
}

impl<'a> KeyText<'a> {
    fn new(token: &'a str) -> Self {
        let inner = &token[1..token.len().saturating_sub(1).max(1)];
        if !inner.contains('\\') {
            return KeyText::Plain(inner);
        }
        // Valid JSON, so the string decodes; keep the raw text if it somehow does not.
        serde_json::from_str::<String>(token).map_or(KeyText::Plain(inner), KeyText::Decoded)
    }

    fn as_str(&self) -> &str {
        match self {
            KeyText::Plain(text) => text,
            KeyText::Decoded(text) => text,
        }
    }
}

impl PartialEq for KeyText<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_drops_whitespace_outside_strings_only() {
        let text = " { \"a b\" : [ 1 , 2.50 , -3e2 ] ,\n\t\"c\": { \"d\" :\"x  y\\\" z\" } , \"e\":null } ";
        assert_eq!(
            compact(text, MAX_DEPTH),
            Ok("{\"a b\":[1,2.50,-3e2],\"c\":{\"d\":\"x  y\\\" z\"},\"e\":null}".to_owned())
        );
        // Numbers keep their exact text, however long.
        assert_eq!(
            compact("123456789012345678901234567890", 1),
            Ok("123456789012345678901234567890".to_owned())
        );
        assert_eq!(compact("\"\\\\\"", 1), Ok("\"\\\\\"".to_owned()));
        assert_eq!(compact("[ ]", 1), Ok("[]".to_owned()));
        assert_eq!(compact("{}", 1), Ok("{}".to_owned()));
    }

    #[test]
    fn a_repeated_key_at_any_depth_is_refused() {
        let repeated = Err(Unkept::RepeatedKey);
        assert_eq!(compact("{\"a\":1,\"a\":2}", MAX_DEPTH), repeated);
        assert_eq!(
            compact("[{\"x\":{\"a\":1,\"b\":{},\"a\":2}}]", MAX_DEPTH),
            repeated
        );
        assert_eq!(compact("{\"a\":1,\"\\u0061\":2}", MAX_DEPTH), repeated);
        // The same key in sibling objects, or a key equal to a value, is fine.
        assert!(compact("[{\"a\":1},{\"a\":2}]", MAX_DEPTH).is_ok());
        assert!(compact("{\"a\":\"a\",\"b\":{\"a\":\"b\"}}", MAX_DEPTH).is_ok());
    }

    #[test]
    fn nesting_is_bounded_like_the_rest_of_the_document() {
        assert!(compact("[[1]]", 2).is_ok());
        assert_eq!(compact("[[1]]", 1), Err(Unkept::TooDeep));
        assert!(compact("[1,[2],{}]", 2).is_ok());
    }

    #[test]
    fn values_serde_json_cannot_read_are_refused() {
        let raw = |text: &str| RawValue::from_string(text.to_owned()).expect("syntax");
        for bad in ["\"\\ud800\"", "1e400", "[-1e999]"] {
            let mut extra = Extra::default();
            let refused = extra.push_raw("k".into(), &raw(bad), MAX_DEPTH);
            assert!(
                matches!(refused, Err(Unkept::Unreadable(_))),
                "{bad}: {refused:?}"
            );
        }
        let mut extra = Extra::default();
        assert!(extra.push_raw("k".into(), &raw("1e300"), MAX_DEPTH).is_ok());
    }

    #[test]
    fn serializes_as_entries_in_arrival_order() {
        let mut extra = Extra::default();
        extra.push("zeta", &serde_json::json!(1));
        extra.push("alpha", &serde_json::json!({"y": [true]}));
        assert_eq!(
            serde_json::to_string(&extra).expect("serializes"),
            "{\"zeta\":1,\"alpha\":{\"y\":[true]}}"
        );
        assert!(extra.contains_key("alpha"));
        assert_eq!(extra.len(), 2);
    }
}
