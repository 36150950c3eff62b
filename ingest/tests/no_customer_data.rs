//! No customer data in logs or DLQ headers: every poison kind of the simulator's corpus (each
//! invalid and malformed way of breaking an order) goes through the real binary, logging at
//! debug level, and neither its log nor any dead letter's `x-error-message` may contain a value
//! of those records (delivery name, phone, e-mail, address, customer id, amounts, item fields).
//! Error texts name field paths and JSON types instead.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use order_synthetic::{OrderGenerator, PoisonKind};
use serde_json::Value;
use std::collections::BTreeSet;

/// The values of an order document a log line or error text could quote: every string in it
/// (names, phone, e-mail, addresses, customer id, payment and item fields, dates), except the
/// order uid (and the payment transaction, which equals it): ingest logs that on purpose, to
/// find the record. Strings too short to be told apart from ordinary words are skipped.
fn customer_values(value: &Value, into: &mut BTreeSet<String>, keys: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                keys.insert(key.clone());
                if key != "order_uid" && key != "transaction" {
                    customer_values(value, into, keys);
                }
            }
        }
        Value::Array(values) => values.iter().for_each(|v| customer_values(v, into, keys)),
        Value::String(text) if text.chars().count() >= 4 => {
            into.insert(text.clone());
        }
        Value::Number(number) if number.to_string().len() >= 4 => {
            into.insert(number.to_string());
        }
        _ => {}
    }
}

/// Where `value` occurs in `text`: a number-like value only counts in quotes (as an error
/// quoting it would show it), so line and column numbers of parse errors do not match.
fn quotes(text: &str, value: &str) -> bool {
    if value
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
    {
        text.contains(&format!("\"{value}\"")) || text.contains(&format!("\\\"{value}\\\""))
    } else {
        text.contains(value)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_customer_value_of_the_poison_corpus_reaches_logs_or_dlq_headers() {
    let world = World::new(2).await;
    let producer = producer();
    let generator = OrderGenerator::new(95, chrono::Utc::now());
    let (mut values, mut keys, mut uids) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    // Three records of each kind: some kinds break the order in one of several ways.
    let corpus = (0..3).flat_map(|round| PoisonKind::ALL.map(|kind| (round, kind)));
    let mut records = 0;
    for (seq, (_, kind)) in corpus.enumerate() {
        records += 1;
        let seq = seq as u64;
        let poison = generator.poison_with_seq(seq, kind);
        let original = serde_json::to_value(generator.order_with_seq(seq)).expect("order");
        uids.insert(poison.key.clone());
        uids.extend(original["order_uid"].as_str().map(str::to_owned));
        customer_values(&original, &mut values, &mut keys);
        if let Ok(sent) = serde_json::from_str::<Value>(&String::from_utf8_lossy(&poison.value)) {
            customer_values(&sent, &mut values, &mut keys);
        }
        produce(
            &producer,
            &world.topics.orders,
            Some(poison.key.as_bytes()),
            &poison.value,
            &[],
        )
        .await;
    }
    // A value that is part of a field name (an unknown field `discount_code` beside an item
    // called "Discount") cannot be told apart from the field path an error must name; an order
    // uid is logged on purpose (it is the key, to find the record).
    values.retain(|v| !keys.iter().any(|k| k.contains(v.as_str())) && !uids.contains(v));
    assert!(
        values.len() > 50,
        "{} customer values collected",
        values.len()
    );

    let log_path = std::env::temp_dir().join(format!("{}.log", world.topics.group));
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut command = world.binary();
    command.env("RUST_LOG", "debug").stderr(log);
    let mut child = command.spawn().expect("spawn ingest");
    let dead = wait_for_records(&world.topics.dlq, records).await;
    child.kill().expect("stop ingest");
    child.wait().expect("reap ingest");
    let logged = std::fs::read_to_string(&log_path).expect("read log");
    std::fs::remove_file(&log_path).ok();
    assert!(
        logged.contains("record dead-lettered"),
        "the log has the dead letters"
    );

    let mut leaks = Vec::new();
    for record in &dead {
        let message = record.header("x-error-message");
        for value in values.iter().filter(|v| quotes(message, v)) {
            leaks.push(format!("x-error-message {message:?} contains {value:?}"));
        }
    }
    for value in values.iter().filter(|v| quotes(&logged, v)) {
        let line = logged
            .lines()
            .find(|l| l.contains(value.as_str()))
            .unwrap_or_default();
        leaks.push(format!(
            "log line contains {value:?}: {}",
            &line[..line.len().min(300)]
        ));
    }
    assert!(
        leaks.is_empty(),
        "{} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}
