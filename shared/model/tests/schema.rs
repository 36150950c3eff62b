//! `docs/schema/order.schema.json` is the JSON Schema the model generates ([`json_schema_text`]),
//! and it agrees with ingest's decoding: the fixture, generated orders and orders with unknown
//! fields pass it; every wrong shape (a `malformed` record that is JSON) fails it; every broken
//! per-field rule fails it; the cross-field rules, which JSON Schema cannot express, pass it.
//!
//! After changing the model: `ORDER_SCHEMA_WRITE=1 cargo test -p order-model --test schema`
//! rewrites the committed file.

use chrono::{DateTime, TimeZone, Utc};
use jsonschema::Validator;
use order_model::{decode_at, json_schema, json_schema_text, sample_json, DecodeError};
use order_synthetic::{OrderGenerator, Poison, PoisonClass, PoisonKind};
use serde_json::{json, Value};
use std::path::PathBuf;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
        .single()
        .expect("a valid date")
}

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/schema/order.schema.json")
}

/// The schema with `format` asserted too, as a strict producer would (the schema has no string
/// formats, so only `int64` is left to assert, which its range already says).
fn validator() -> Validator {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&json_schema())
        .expect("the schema compiles")
}

/// The generator's poison records of `class` for sequence numbers 0..100 of run `seed`, every
/// kind of that class for each number, with the number.
fn poisons(seed: u64, class: PoisonClass) -> impl Iterator<Item = (u64, Poison)> {
    let generator = OrderGenerator::new(seed, now());
    (0..100)
        .flat_map(move |seq| {
            PoisonKind::ALL
                .into_iter()
                .filter(move |kind| kind.class() == class)
                .map(move |kind| (seq, kind))
        })
        .map(move |(seq, kind)| (seq, generator.poison_with_seq(seq, kind)))
}

fn errors(validator: &Validator, value: &Value) -> Vec<String> {
    validator
        .iter_errors(value)
        .map(|error| format!("{}: {error}", error.instance_path))
        .collect()
}

#[test]
fn the_committed_file_is_what_the_model_generates() {
    let generated = json_schema_text();
    if std::env::var_os("ORDER_SCHEMA_WRITE").is_some() {
        std::fs::write(committed_path(), &generated).expect("write the schema");
        return;
    }
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/schema/order.schema.json is stale: run ORDER_SCHEMA_WRITE=1 cargo test -p order-model --test schema"
    );
    let parsed: Value = serde_json::from_str(&committed).expect("the file is JSON");
    assert_eq!(parsed, json_schema());
}

#[test]
fn it_is_a_2020_12_schema_carrying_the_per_field_rules() {
    let schema = json_schema();
    assert!(jsonschema::meta::is_valid(&schema));
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let order = &schema["properties"];
    assert_eq!(order["order_uid"]["pattern"], "^[A-Za-z0-9_-]{1,64}$");
    assert_eq!(order["items"]["minItems"], 1);
    assert_eq!(order["items"]["maxItems"], 1000);
    assert_eq!(order["sm_id"]["minimum"], 0);
    // No `format` on strings: the patterns carry ingest's rules (see the edge cases below).
    assert_eq!(order["date_created"]["format"], Value::Null);
    assert_eq!(
        schema["$defs"]["Delivery"]["properties"]["email"]["format"],
        Value::Null
    );
    let item = &schema["$defs"]["Item"]["properties"];
    assert_eq!(
        (
            item["sale"]["minimum"].clone(),
            item["sale"]["maximum"].clone()
        ),
        (json!(0), json!(100))
    );
    assert_eq!(
        schema["$defs"]["Delivery"]["properties"]["phone"]["pattern"],
        r"^\+[0-9]{7,15}$"
    );
    // Unknown fields are welcome at every level; the cross-field rules are written down.
    for object in [
        &schema,
        &schema["$defs"]["Delivery"],
        &schema["$defs"]["Payment"],
        &schema["$defs"]["Item"],
    ] {
        assert_eq!(object["additionalProperties"], true);
    }
    let description = schema["description"].as_str().unwrap_or_default();
    for rule in [
        "payment.transaction",
        "track_number",
        "goods_total",
        "amount",
        "24",
    ] {
        assert!(description.contains(rule), "{rule} not described");
    }
}

#[test]
fn the_fixture_generated_and_evolved_orders_pass() {
    let validator = validator();
    assert_eq!(errors(&validator, &sample_json()), Vec::<String>::new());
    let generator = OrderGenerator::new(5, now());
    for seq in 0..500 {
        for order in [
            generator.order_with_seq(seq),
            generator.evolved_order_with_seq(seq),
        ] {
            let text = serde_json::to_string(&order).expect("serializes");
            assert!(decode_at(text.as_bytes(), now()).is_ok());
            // Parsed from the text: a `Value` built from the order would read big numbers the
            // same way, but this is what a producer's validator sees.
            let value: Value = serde_json::from_str(&text).expect("JSON");
            assert_eq!(errors(&validator, &value), Vec::<String>::new(), "{text}");
        }
    }
}

/// Every JSON leaf and object of the fixture replaced by a value of another JSON type, and every
/// field removed: each is `malformed` for ingest and fails the schema.
#[test]
fn every_wrong_shape_fails_it() {
    let validator = validator();
    let fixture = sample_json();
    let mut pointers = Vec::new();
    collect_pointers(&fixture, String::new(), &mut pointers);
    let mut checked = 0;
    for pointer in &pointers {
        let current = fixture.pointer(pointer).expect("exists").clone();
        let others = [
            json!("1"),
            json!(1),
            json!(true),
            Value::Null,
            json!([]),
            json!({}),
        ];
        for other in others
            .iter()
            .filter(|other| json_type(other) != json_type(&current))
        {
            let mut broken = fixture.clone();
            *broken.pointer_mut(pointer).expect("exists") = other.clone();
            assert_malformed_and_refused(&validator, &broken, &format!("{pointer} = {other}"));
            checked += 1;
        }
        if let Some((parent, key)) = pointer.rsplit_once('/') {
            let mut broken = fixture.clone();
            if let Some(object) = broken.pointer_mut(parent).and_then(Value::as_object_mut) {
                object.remove(key);
                assert_malformed_and_refused(&validator, &broken, &format!("without {pointer}"));
            }
        }
    }
    assert!(checked > 200, "{checked}");
}

fn assert_malformed_and_refused(validator: &Validator, value: &Value, what: &str) {
    let decoded = decode_at(value.to_string().as_bytes(), now());
    assert!(
        matches!(decoded, Err(DecodeError::Malformed(_))),
        "{what}: {decoded:?}"
    );
    assert!(!validator.is_valid(value), "{what}: the schema accepts it");
}

fn collect_pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => map.iter().for_each(|(key, child)| {
            let here = format!("{at}/{key}");
            out.push(here.clone());
            collect_pointers(child, here, out);
        }),
        Value::Array(items) => items.iter().enumerate().for_each(|(index, child)| {
            let here = format!("{at}/{index}");
            out.push(here.clone());
            collect_pointers(child, here, out);
        }),
        _ => {}
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The malformed corpus: what is JSON fails the schema, except what JSON Schema cannot see.
#[test]
fn every_malformed_poison_record_that_is_json_fails_it() {
    let validator = validator();
    for (seq, poison) in poisons(9, PoisonClass::Malformed) {
        let kind = poison.kind;
        let Ok(value) = serde_json::from_slice::<Value>(&poison.value) else {
            continue; // not JSON (or not UTF-8): no schema applies
        };
        match kind {
            // JSON Schema sees the parsed value, where a repeated key has become one key,
            // and says nothing of the message's size (1 MiB): both are ingest's own checks.
            PoisonKind::DuplicateKey | PoisonKind::Oversized => {
                assert!(validator.is_valid(&value), "{kind:?} #{seq}")
            }
            _ => assert!(
                !validator.is_valid(&value),
                "{kind:?} #{seq} passes the schema"
            ),
        }
    }
}

/// JSON Schema's `integer` is a number with no fraction, so `30.0` passes it; ingest reads
/// integers only in integer notation and calls `30.0` malformed. Stated here so that the one
/// known difference stays known.
#[test]
fn an_integer_written_with_a_fraction_is_the_known_difference() {
    let mut order = sample_json();
    order["items"][0]["sale"] = json!(30.0);
    assert!(validator().is_valid(&order));
    assert!(matches!(
        decode_at(order.to_string().as_bytes(), now()),
        Err(DecodeError::Malformed(_))
    ));
}

/// The invalid corpus: a broken per-field rule fails the schema; a broken cross-field rule is
/// only described in it, so it passes.
#[test]
fn broken_per_field_rules_fail_it_and_cross_field_rules_are_only_described() {
    let validator = validator();
    for (seq, poison) in poisons(13, PoisonClass::Invalid) {
        let kind = poison.kind;
        let value: Value = serde_json::from_slice(&poison.value).expect("invalid orders are JSON");
        let cross_field = matches!(
            kind,
            PoisonKind::WrongGoodsTotal
                | PoisonKind::WrongAmount
                | PoisonKind::TransactionMismatch
                | PoisonKind::TrackMismatch
                | PoisonKind::FutureDate
        );
        assert_eq!(
            validator.is_valid(&value),
            cross_field,
            "{kind:?} #{seq}: {:?}",
            errors(&validator, &value)
        );
    }
}

/// Dates and addresses at the edges of what ingest reads: each is accepted by ingest, so the
/// schema, with `format` asserted as a strict producer would, must accept it too.
#[test]
fn what_ingest_accepts_at_the_edges_passes_it() {
    let validator = validator();
    let dates = [
        "2021-11-26 06:22:19Z",
        "2021-11-26t06:22:19z",
        "2021-11-26T06:22:19\u{2212}03:00",
        "2021-11-26 06:22:19.123456789+05:30",
        "2016-12-31T23:59:60Z",
        "2016-12-31 20:59:60\u{2212}03:00",
    ];
    let emails = [
        "test@bücher.example",
        "test@пример.рф",
        "a..b@example.com",
        ".ab@example.com",
        "test@localhost",
        "test@[127.0.0.1]",
        "user+tag@xn--bcher-kva.example",
    ];
    let cases = dates
        .iter()
        .map(|date| ("date_created", *date))
        .chain(emails.iter().map(|email| ("email", *email)));
    for (field, text) in cases {
        let mut order = sample_json();
        match field {
            "email" => order["delivery"]["email"] = json!(text),
            _ => order["date_created"] = json!(text),
        }
        let decoded = decode_at(order.to_string().as_bytes(), now());
        assert!(decoded.is_ok(), "{field} {text}: {decoded:?}");
        assert_eq!(errors(&validator, &order), Vec::<String>::new(), "{text}");
    }
    // The other way round is a known difference: the pattern checks a date's shape only.
    let mut order = sample_json();
    order["date_created"] = json!("2021-02-30T06:22:19Z");
    assert!(validator.is_valid(&order));
    assert!(matches!(
        decode_at(order.to_string().as_bytes(), now()),
        Err(DecodeError::Malformed(_))
    ));
}
