//! Properties of order decoding over generated inputs: it never panics and always classifies
//! (`malformed` exactly when the bytes are not an order-shaped document), every generated valid
//! order round-trips exactly, and a rejection names its failing paths sorted and once each.
//!
//! `PROPTEST_CASES` sets the cases per property (default 512, so `cargo test` stays fast).
//! `fuzz_decode_long` is the long, `#[ignore]`d run described in `docs/FUZZING.md`
//! (`FUZZ_CASES`, default 1,000,000).

use chrono::{DateTime, Duration, TimeZone, Utc};
use order_model::{decode_at, sample_json, DeadLetterKind, DecodeError, ValidOrder, SAMPLE_JSON};
use order_synthetic::{OrderGenerator, PoisonKind};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};
// The well-formedness oracle (malformed exactly when it says no), shared with the fuzz target.
use pipeline_testing::decode_oracle::{
    has_duplicate_keys, is_order_document, path_order, segments,
};
use std::cmp::Ordering;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::time::Instant;

// ---------------------------------------------------------------------------------------------
// Configuration and shared helpers
// ---------------------------------------------------------------------------------------------

fn env_cases(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|text| text.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn config() -> Config {
    Config {
        cases: env_cases("PROPTEST_CASES", 512),
        ..Config::default()
    }
}

/// The fixed "now" of every decode: generated orders are dated before it.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
        .single()
        .expect("a valid date")
}

fn generator(seed: u64) -> OrderGenerator {
    OrderGenerator::new(seed, now())
}

/// What every decode must satisfy whatever the input: an error of a known kind with a message,
/// or an order whose served JSON decodes to the same order and the same bytes.
fn check_classified(bytes: &[u8]) -> Result<Result<ValidOrder, DecodeError>, TestCaseError> {
    let result = decode_at(bytes, now());
    match &result {
        Ok(order) => {
            let again = decode_at(order.canonical_json().as_bytes(), now())
                .map_err(|err| TestCaseError::fail(format!("canonical JSON rejected: {err}")))?;
            prop_assert_eq!(again.canonical_json(), order.canonical_json());
            prop_assert_eq!(&again, order);
        }
        Err(err) => {
            prop_assert!(matches!(
                err.kind(),
                DeadLetterKind::Malformed | DeadLetterKind::Invalid
            ));
            prop_assert!(!err.message().is_empty());
            if let DecodeError::Invalid(errors) = err {
                check_paths(err, errors)?;
            }
        }
    }
    Ok(result)
}

/// A contract field path: `name(.name)*` with optional `[n]` indexes.
fn looks_like_path(path: &str) -> bool {
    !path.is_empty()
        && segments(path).iter().all(|(name, _)| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        })
        && path.matches('[').count() == path.matches(']').count()
}

/// Property (c): the message names at least one path, each once, sorted; and it says the same
/// as the error list.
fn check_paths(err: &DecodeError, errors: &[order_model::FieldError]) -> Result<(), TestCaseError> {
    let message = err.message();
    prop_assert!(!errors.is_empty(), "invalid without a path");
    let listed: Vec<&str> = message
        .split("; ")
        .map(|entry| entry.split_once(": ").map_or("", |(path, _)| path))
        .collect();
    let paths: Vec<&str> = errors.iter().map(|error| error.path.as_str()).collect();
    prop_assert_eq!(&listed, &paths, "message {:?}", message);
    for path in &paths {
        prop_assert!(looks_like_path(path), "not a field path: {:?}", path);
    }
    for pair in paths.windows(2) {
        prop_assert_eq!(
            path_order(pair[0], pair[1]),
            Ordering::Less,
            "not sorted and deduplicated: {:?}",
            message
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Strategies: JSON values and mutations of real orders
// ---------------------------------------------------------------------------------------------

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

fn json_value() -> impl Strategy<Value = Value> {
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
enum Mutation {
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

fn mutation() -> impl Strategy<Value = Mutation> {
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

fn apply(value: &mut Value, mutation: &Mutation) {
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
fn base_order() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(sample_json()),
        3 => (any::<u64>(), 0..10_000u64).prop_map(|(seed, seq)| {
            serde_json::to_value(generator(seed).order_with_seq(seq)).expect("orders serialize")
        }),
    ]
}

/// A byte-level change to a serialized document.
#[derive(Debug, Clone)]
enum ByteEdit {
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
    Splice(usize, String),
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
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

fn edit_bytes(bytes: &mut Vec<u8>, edit: &ByteEdit) {
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

// ---------------------------------------------------------------------------------------------
// (a) Decoding never panics and always classifies
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_are_classified(bytes in vec(any::<u8>(), 0..2048)) {
        let result = check_classified(&bytes)?;
        // Random bytes are almost never JSON; when they are, the oracle below still holds.
        if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
            prop_assert_eq!(result.is_err_and(|err| err.kind() == DeadLetterKind::Malformed), !is_order_document(&value));
        } else {
            prop_assert_eq!(result.map_err(|err| err.kind()).err(), Some(DeadLetterKind::Malformed));
        }
    }

    #[test]
    fn arbitrary_json_is_classified(value in json_value()) {
        let result = check_classified(value.to_string().as_bytes())?;
        prop_assert!(result.is_err());
        prop_assert_eq!(result.is_err_and(|err| err.kind() == DeadLetterKind::Malformed), !is_order_document(&value));
    }

    /// Field deletions, type swaps, huge numbers, unicode strings, unknown keys, duplicated and
    /// emptied lists on real orders: `malformed` exactly when the result is no longer shaped
    /// like an order, otherwise `invalid` or accepted.
    #[test]
    fn json_mutations_of_real_orders_are_classified(
        mut value in base_order(),
        mutations in vec(mutation(), 1..4),
    ) {
        for mutation in &mutations {
            apply(&mut value, mutation);
        }
        let result = check_classified(value.to_string().as_bytes())?;
        let malformed = matches!(&result, Err(err) if err.kind() == DeadLetterKind::Malformed);
        prop_assert_eq!(malformed, !is_order_document(&value), "{:?}", result.err());
    }

    #[test]
    fn byte_edits_of_real_orders_are_classified(
        value in base_order(),
        edits in vec(byte_edit(), 1..4),
    ) {
        let mut bytes = value.to_string().into_bytes();
        for edit in &edits {
            edit_bytes(&mut bytes, edit);
        }
        let result = check_classified(&bytes)?;
        let malformed = matches!(&result, Err(err) if err.kind() == DeadLetterKind::Malformed);
        let document = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .is_some_and(|value| is_order_document(&value));
        // Duplicate keys are the one case a Value cannot see: a document with them is malformed.
        if !has_duplicate_keys(&bytes) {
            prop_assert_eq!(malformed, !document, "{:?}", result.err());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (b) Generated valid orders round-trip
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn generated_orders_are_valid_and_round_trip(
        seed in any::<u64>(),
        seq in any::<u64>(),
        base_offset_days in -20_000i64..20_000,
    ) {
        let base = now() + Duration::days(base_offset_days);
        let order = OrderGenerator::new(seed, base).order_with_seq(seq);
        let encoded = serde_json::to_string(&order).expect("orders serialize");
        let decoded = decode_at(encoded.as_bytes(), base)
            .map_err(|err| TestCaseError::fail(format!("generated order rejected: {err}\n{encoded}")))?;
        // decode(encode(order)) == order
        prop_assert_eq!(decoded.order(), &order);
        // Our encoding is already canonical, and canonical JSON is a fixed point.
        prop_assert_eq!(decoded.canonical_json(), encoded.as_str());
        let again = decode_at(decoded.canonical_json().as_bytes(), base)
            .map_err(|err| TestCaseError::fail(format!("canonical rejected: {err}")))?;
        prop_assert_eq!(again.canonical_json(), decoded.canonical_json());
        prop_assert_eq!(again.fingerprint(), decoded.fingerprint());
        // Pretty-printed or with keys in another order it is the same order.
        let pretty = serde_json::to_string_pretty(&serde_json::to_value(&order).expect("value"))
            .expect("pretty");
        let reordered = decode_at(pretty.as_bytes(), base)
            .map_err(|err| TestCaseError::fail(format!("reordered rejected: {err}")))?;
        prop_assert_eq!(reordered.canonical_json(), decoded.canonical_json());
    }

    #[test]
    fn generator_poison_fails_the_way_it_claims(seed in any::<u64>(), seq in 0..100_000u64, pick in any::<prop::sample::Index>()) {
        // Oversized poison is a megabyte each: covered by the unit tests, not sampled here.
        let kinds: Vec<PoisonKind> = PoisonKind::ALL.into_iter().filter(|kind| *kind != PoisonKind::Oversized).collect();
        let kind = *pick.get(&kinds);
        let poison = generator(seed).poison_with_seq(seq, kind);
        let err = check_classified(&poison.value)?.err()
            .ok_or_else(|| TestCaseError::fail(format!("{kind:?} accepted")))?;
        prop_assert_eq!(err.kind(), kind.class().dead_letter_kind());
        if let (DecodeError::Invalid(errors), Some(path)) = (&err, &poison.expected_path) {
            prop_assert!(errors.iter().any(|error| &error.path == path), "{:?}: {}", kind, err);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (c) Rejections name every broken path, sorted, once
// ---------------------------------------------------------------------------------------------

/// Rule breakers that do not interfere with each other, each with the path it must produce
/// (`{i}` is replaced by the item index the breaker was applied to).
/// Breaks one rule in an order (the `usize` is an item index).
type Breaker = fn(&mut Value, usize);

const BREAKERS: &[(&str, Breaker)] = &[
    ("order_uid", |v, _| {
        let uid = format!("{} !", v["order_uid"].as_str().unwrap_or(""));
        v["order_uid"] = json!(uid);
        v["payment"]["transaction"] = json!(uid);
    }),
    ("payment.transaction", |v, _| {
        v["payment"]["transaction"] = json!("someone-else")
    }),
    ("entry", |v, _| v["entry"] = json!("")),
    ("delivery.name", |v, _| {
        v["delivery"]["name"] = json!("R2-D2")
    }),
    ("delivery.phone", |v, _| {
        v["delivery"]["phone"] = json!("+12345")
    }),
    ("delivery.zip", |v, _| v["delivery"]["zip"] = json!("12")),
    ("delivery.email", |v, _| {
        v["delivery"]["email"] = json!("nobody.example.com")
    }),
    ("delivery.city", |v, _| v["delivery"]["city"] = json!(" ")),
    ("payment.currency", |v, _| {
        v["payment"]["currency"] = json!("usd")
    }),
    ("payment.bank", |v, _| v["payment"]["bank"] = json!("")),
    ("payment.goods_total", |v, _| {
        v["payment"]["goods_total"] = json!(v["payment"]["goods_total"].as_i64().unwrap_or(0) + 1);
        v["payment"]["amount"] = json!(v["payment"]["amount"].as_i64().unwrap_or(0) + 1);
    }),
    ("payment.amount", |v, _| {
        v["payment"]["amount"] = json!(v["payment"]["amount"].as_i64().unwrap_or(0) + 1000)
    }),
    ("items[{i}].sale", |v, i| v["items"][i]["sale"] = json!(101)),
    ("items[{i}].nm_id", |v, i| {
        v["items"][i]["nm_id"] = json!(-1)
    }),
    ("items[{i}].rid", |v, i| v["items"][i]["rid"] = json!("")),
    ("items[{i}].track_number", |v, i| {
        v["items"][i]["track_number"] = json!("ELSEWHERE")
    }),
    ("locale", |v, _| v["locale"] = json!("")),
    ("sm_id", |v, _| v["sm_id"] = json!(-1)),
    ("date_created", |v, _| {
        v["date_created"] = json!("2099-01-01T00:00:00Z")
    }),
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_broken_rule_is_named_once_in_order(
        seed in any::<u64>(),
        seq in 0..100_000u64,
        chosen in vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 1..8),
    ) {
        let mut value = serde_json::to_value(generator(seed).order_with_seq(seq)).expect("value");
        let items = value["items"].as_array().map_or(1, Vec::len);
        let mut expected = Vec::new();
        for (breaker, item) in &chosen {
            let (path, breaker) = BREAKERS[breaker.index(BREAKERS.len())];
            let item = item.index(items);
            breaker(&mut value, item);
            expected.push(path.replace("{i}", &item.to_string()));
        }
        // The uid breaker also rewrites transaction: if both were chosen, the later one wins.
        if expected.iter().any(|path| path == "order_uid") && expected.iter().any(|path| path == "payment.transaction") {
            let uid = value["order_uid"].as_str().unwrap_or("").to_owned();
            if value["payment"]["transaction"] == json!(uid) {
                expected.retain(|path| path != "payment.transaction");
            }
        }
        expected.sort_by(|a, b| path_order(a, b));
        expected.dedup();

        let err = check_classified(value.to_string().as_bytes())?.err()
            .ok_or_else(|| TestCaseError::fail("a broken order was accepted"))?;
        let DecodeError::Invalid(errors) = &err else {
            return Err(TestCaseError::fail(format!("expected invalid, got {err}")));
        };
        let paths: Vec<&str> = errors.iter().map(|error| error.path.as_str()).collect();
        prop_assert_eq!(paths, expected.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

// ---------------------------------------------------------------------------------------------
// The long run (`docs/FUZZING.md`)
// ---------------------------------------------------------------------------------------------

/// Seeds for the long run: the contract fixture, generated orders of a few runs, and every kind
/// of generator poison (one oversized record).
fn corpus() -> Vec<Vec<u8>> {
    let mut corpus = vec![SAMPLE_JSON.as_bytes().to_vec()];
    for seed in 0..4 {
        let generator = generator(seed);
        for seq in 0..16 {
            let mut buf = Vec::new();
            generator.write_json_with_seq(seq, &mut buf);
            corpus.push(buf);
        }
        for (seq, kind) in PoisonKind::ALL.into_iter().enumerate() {
            if kind != PoisonKind::Oversized || seed == 0 {
                corpus.push(generator.poison_with_seq(seq as u64, kind).value);
            }
        }
    }
    corpus
}

/// Run with `FUZZ_CASES=1000000 cargo test --release -p shared --test order_properties --
/// --ignored fuzz_decode_long --nocapture`.
#[test]
#[ignore = "long run: see docs/FUZZING.md"]
fn fuzz_decode_long() {
    let cases = env_cases("FUZZ_CASES", 1_000_000);
    let corpus = corpus();
    let seed_count = corpus.len();
    let input = (
        prop::sample::select(corpus),
        vec(mutation(), 0..4),
        prop_oneof![2 => Just(Vec::new()), 1 => vec(byte_edit(), 1..3)],
    );
    let mut runner = TestRunner::new(Config {
        cases,
        // The corpus makes rejects impossible; never give up early.
        max_global_rejects: u32::MAX,
        ..Config::default()
    });
    let counts: [AtomicU64; 4] = Default::default();
    let started = Instant::now();
    let outcome = runner.run(&input, |(seed, mutations, edits)| {
        let mut bytes = seed;
        if !mutations.is_empty() {
            if let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) {
                for mutation in &mutations {
                    apply(&mut value, mutation);
                }
                bytes = value.to_string().into_bytes();
            }
        }
        for edit in &edits {
            edit_bytes(&mut bytes, edit);
        }
        let slot = match check_classified(&bytes)? {
            Ok(_) => 0,
            Err(err) if err.kind() == DeadLetterKind::Invalid => 1,
            Err(_) => 2,
        };
        counts[slot].fetch_add(1, AtomicOrdering::Relaxed);
        counts[3].fetch_add(1, AtomicOrdering::Relaxed);
        Ok(())
    });
    let elapsed = started.elapsed();
    let [valid, invalid, malformed, total] = counts.map(|count| count.into_inner());
    println!(
        "fuzz_decode_long: {cases} cases, {total} executions (shrinking included) in {:.1}s \
         ({:.0}/s); seeds {seed_count}; accepted {valid}, invalid {invalid}, malformed {malformed}",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64().max(1e-9),
    );
    if let Err(failure) = outcome {
        panic!("fuzz_decode_long found a failure: {failure}");
    }
}
