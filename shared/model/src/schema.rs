//! The JSON Schema (2020-12) of the order document, generated from the model's declarations so it
//! cannot drift from what ingest reads and checks. `docs/schema/order.schema.json` is this
//! text, committed for producers; `tests/schema.rs` fails when the two differ (and rewrites the
//! file with `ORDER_SCHEMA_WRITE=1`). query-api serves it at `/api-docs/order.schema.json`.

use super::Order;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

/// The schema's `$id`: a name, not a location (the file travels with the code).
pub const SCHEMA_ID: &str = "urn:order-pipeline:schema:order";

/// The schema as a JSON value.
pub fn json_schema() -> Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator.into_root_schema_for::<Order>().to_value();
    if let Some(root) = schema.as_object_mut() {
        root.insert("$id".into(), SCHEMA_ID.into());
        root.insert("title".into(), "Order".into());
    }
    complete(&mut schema);
    schema
}

/// [`json_schema`] as the committed file's text: indented, keys in a reading order (properties
/// in the contract's field order), with a final newline.
pub fn json_schema_text() -> String {
    let mut out = String::new();
    write(&json_schema(), 0, None, &mut out);
    out.push('\n');
    out
}

/// Adds what the derive cannot say per field: every 64-bit integer's range (larger numbers are
/// `malformed`), and an explicit `additionalProperties: true` on every object, so a reader sees
/// that unknown fields are welcome rather than having to know the default.
///
/// Removes every string `format` (the derive writes `email` for `#[validate(email)]`): a
/// validator that asserts formats, as strict producers run it, would refuse what ingest accepts
/// (a space between date and time, U+2212 in the offset, an internationalized e-mail domain, a
/// local part with two dots). The `pattern`s say what ingest reads, never less.
fn complete(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.get("type").and_then(Value::as_str) == Some("string") {
                map.remove("format");
            }
            if map.get("format").and_then(Value::as_str) == Some("int64") {
                map.entry("minimum").or_insert(i64::MIN.into());
                map.entry("maximum").or_insert(i64::MAX.into());
            }
            if map.contains_key("properties") {
                map.insert("additionalProperties".into(), true.into());
            }
            // Doc comments are wrapped at 100 columns; a description is prose, one line per
            // paragraph.
            if let Some(Value::String(text)) = map.get_mut("description") {
                *text = unwrap_lines(text);
            }
            map.values_mut().for_each(complete);
        }
        Value::Array(values) => values.iter_mut().for_each(complete),
        _ => {}
    }
}

/// Joins the lines of each paragraph (paragraphs stay apart).
fn unwrap_lines(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| {
            paragraph
                .split('\n')
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Keys of a schema object in the order a person reads them; others follow alphabetically.
const KEY_ORDER: &[&str] = &[
    "$schema",
    "$id",
    "$ref",
    "title",
    "description",
    "type",
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "items",
    "required",
    "properties",
    "additionalProperties",
    "examples",
    "$defs",
];

fn write(value: &Value, depth: usize, order: Option<&[Value]>, out: &mut String) {
    match value {
        Value::Object(map) if !map.is_empty() => write_object(map, depth, order, out),
        Value::Array(values) if !values.is_empty() => {
            out.push('[');
            for (index, item) in values.iter().enumerate() {
                out.push_str(if index == 0 { "\n" } else { ",\n" });
                indent(depth + 1, out);
                write(item, depth + 1, None, out);
            }
            out.push('\n');
            indent(depth, out);
            out.push(']');
        }
        // Scalars and empty containers: serde_json's own text.
        other => out.push_str(&other.to_string()),
    }
}

/// `order`: for a `properties` object, its parent's `required` list, which is in declaration
/// (contract) order.
fn write_object(map: &Map<String, Value>, depth: usize, order: Option<&[Value]>, out: &mut String) {
    let rank = |key: &str| match order {
        Some(names) => names.iter().position(|name| name == key),
        None => KEY_ORDER.iter().position(|known| *known == key),
    };
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_by_key(|key| (rank(key).unwrap_or(usize::MAX), key.as_str()));
    let required = map
        .get("required")
        .and_then(Value::as_array)
        .map(Vec::as_slice);
    out.push('{');
    for (index, key) in keys.into_iter().enumerate() {
        out.push_str(if index == 0 { "\n" } else { ",\n" });
        indent(depth + 1, out);
        out.push_str(&Value::from(key.as_str()).to_string());
        out.push_str(": ");
        let child_order = if key == "properties" { required } else { None };
        write(&map[key], depth + 1, child_order, out);
    }
    out.push('\n');
    indent(depth, out);
    out.push('}');
}

fn indent(depth: usize, out: &mut String) {
    out.extend(std::iter::repeat_n("  ", depth));
}
