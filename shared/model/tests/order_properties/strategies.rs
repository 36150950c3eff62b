//! The inputs of the properties: JSON values close to what the rules want, JSON-level mutations
//! of real orders, and byte-level edits of their text.

use crate::generator;
use order_model::sample_json;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{json, Value};

fn date_text() -> impl Strategy<Value = String> {
    "(0000|1970|2021|2025|9999)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt ]([01][0-9]|2[0-4]):[0-5][0-9]:[0-6][0-9](\\.[0-9]{1,10})?([Zz]|[+-](0[0-9]|1[0-4]):[0-5][0-9])"
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop::sample::select(vec![i64::MAX, i64::MIN, 0, -1, 1, 100, 101, 1000, 1001])
            .prop_map(Value::from),
        Just(json!(u64::MAX)),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        prop::sample::select(vec![1.5, 0.0, -0.0, 1e308, 1817.0]).prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        "\\PC{0,24}".prop_map(Value::from),
        "[A-Za-z0-9_-]{0,70}".prop_map(Value::from),
        "\\+[0-9]{0,17}".prop_map(Value::from),
        "[a-z.+_-]{0,12}@[a-z.-]{0,12}".prop_map(Value::from),
        "[A-Z]{2,4}".prop_map(Value::from),
        date_text().prop_map(Value::from),
        prop::sample::select(vec!["", " ", "\t", "😀", "e\u{301}", "\u{0}", "\u{FEFF}"])
            .prop_map(Value::from),
    ]
}

/// Strings that are often close to what a rule wants, and sometimes anything at all.
fn string_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,24}",
        "[A-Za-z0-9_-]{0,70}",
        "\\+[0-9]{5,17}",
        "[0-9]{2,11}",
        "[a-z.+_-]{1,12}@[a-z-]{1,12}\\.[a-z]{2,3}",
        "[A-Z]{2,4}",
        "[\\p{L} .'-]{0,20}",
        date_text(),
        prop::sample::select(vec!["", " ", "WBILMTESTTRACK", "b563feb7b2b84b6test"])
            .prop_map(str::to_owned),
    ]
}

/// Integers around the rules' edges and anywhere in i64.
fn integer_like() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        -2..1002i64,
        prop::sample::select(vec![i64::MAX, i64::MIN, 317, 1500, 1817]),
    ]
}

pub(crate) fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("[a-z_]{0,10}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A JSON-level change at a node reached by following `path` (indexes taken modulo the number
/// of children; the walk stops at a leaf).
#[derive(Debug, Clone)]
pub(crate) enum Mutation {
    Delete(Vec<usize>),
    Replace(Vec<usize>, Value),
    InsertKey(Vec<usize>, String, Value),
    DuplicateElement(Vec<usize>),
    Empty(Vec<usize>),
    /// A value wrapped in a one-element array (a string field written as `["x"]`).
    Wrap(Vec<usize>),
    /// A string replaced by another string, an integer by another integer: the document keeps
    /// its shape, so this exercises the rules rather than the parser.
    SameType(Vec<usize>, String, i64),
}

pub(crate) fn mutation() -> impl Strategy<Value = Mutation> {
    let path = || vec(any::<usize>(), 0..4);
    prop_oneof![
        3 => path().prop_map(Mutation::Delete),
        6 => (path(), json_value()).prop_map(|(path, value)| Mutation::Replace(path, value)),
        1 => (path(), prop::sample::select(vec!["extra", "order_uid", "name", "items", ""]), json_leaf())
            .prop_map(|(path, key, value)| Mutation::InsertKey(path, key.to_owned(), value)),
        2 => path().prop_map(Mutation::DuplicateElement),
        1 => path().prop_map(Mutation::Empty),
        1 => path().prop_map(Mutation::Wrap),
        8 => (path(), string_like(), integer_like())
            .prop_map(|(path, text, number)| Mutation::SameType(path, text, number)),
    ]
}

/// One concrete step down a JSON tree.
enum Step {
    Key(String),
    Index(usize),
}

/// The node at the end of `path`: each index picks a child modulo the number of children, and
/// the walk stops early at a leaf or an empty container.
fn walk<'a>(root: &'a mut Value, path: &[usize]) -> &'a mut Value {
    let mut steps = Vec::new();
    let mut node: &Value = root;
    for &step in path {
        let (next, child) = match node {
            Value::Object(map) if !map.is_empty() => {
                let (key, child) = map.iter().nth(step % map.len()).expect("in range");
                (Step::Key(key.clone()), child)
            }
            Value::Array(items) if !items.is_empty() => {
                let index = step % items.len();
                (Step::Index(index), &items[index])
            }
            _ => break,
        };
        steps.push(next);
        node = child;
    }
    let mut node = root;
    for step in steps {
        node = match step {
            Step::Key(key) => &mut node[key.as_str()],
            Step::Index(index) => &mut node[index],
        };
    }
    node
}

pub(crate) fn apply(value: &mut Value, mutation: &Mutation) {
    match mutation {
        Mutation::Delete(path) => {
            let (last, parent) = match path.split_last() {
                Some((last, parent)) => (*last, parent),
                None => (0, &[][..]),
            };
            match walk(value, parent) {
                Value::Object(map) if !map.is_empty() => {
                    let key = map.keys().nth(last % map.len()).cloned();
                    if let Some(key) = key {
                        map.remove(&key);
                    }
                }
                Value::Array(items) if !items.is_empty() => {
                    let len = items.len();
                    items.remove(last % len);
                }
                _ => {}
            }
        }
        Mutation::Replace(path, new) => *walk(value, path) = new.clone(),
        Mutation::InsertKey(path, key, new) => {
            if let Value::Object(map) = walk(value, path) {
                map.insert(key.clone(), new.clone());
            }
        }
        Mutation::DuplicateElement(path) => {
            if let Value::Array(items) = walk(value, path) {
                if let Some(first) = items.first().cloned() {
                    items.push(first);
                }
            }
        }
        Mutation::Empty(path) => match walk(value, path) {
            Value::Array(items) => items.clear(),
            Value::Object(map) => map.clear(),
            Value::String(text) => text.clear(),
            other => *other = json!(0),
        },
        Mutation::SameType(path, text, number) => match walk(value, path) {
            Value::String(old) => *old = text.clone(),
            Value::Number(old) => *old = (*number).into(),
            _ => {}
        },
        Mutation::Wrap(path) => {
            let node = walk(value, path);
            *node = Value::Array(vec![node.take()]);
        }
    }
}

/// A real order to start from: the fixture, or a generated order of an arbitrary run.
pub(crate) fn base_order() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(sample_json()),
        3 => (any::<u64>(), 0..10_000u64).prop_map(|(seed, seq)| {
            serde_json::to_value(generator(seed).order_with_seq(seq)).expect("orders serialize")
        }),
    ]
}

/// A byte-level change to a serialized document.
#[derive(Debug, Clone)]
pub(crate) enum ByteEdit {
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
    Splice(usize, String),
}

pub(crate) fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| ByteEdit::Set(at, byte)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| ByteEdit::Insert(at, byte)),
        any::<usize>().prop_map(ByteEdit::Remove),
        any::<usize>().prop_map(ByteEdit::Truncate),
        (
            any::<usize>(),
            prop::sample::select(vec![
                "{", "}", "[", "]", ",", ":", "\"", "\\", "null", "-", "e9", ".5", "\\u0000",
                "\\ud800"
            ])
        )
            .prop_map(|(at, text)| ByteEdit::Splice(at, text.to_owned())),
    ]
}

pub(crate) fn edit_bytes(bytes: &mut Vec<u8>, edit: &ByteEdit) {
    if bytes.is_empty() {
        return;
    }
    let len = bytes.len();
    match edit {
        ByteEdit::Set(at, byte) => bytes[at % len] = *byte,
        ByteEdit::Insert(at, byte) => bytes.insert(at % (len + 1), *byte),
        ByteEdit::Remove(at) => {
            bytes.remove(at % len);
        }
        ByteEdit::Truncate(at) => bytes.truncate(at % len),
        ByteEdit::Splice(at, text) => {
            let at = at % (len + 1);
            bytes.splice(at..at, text.bytes());
        }
    }
}
