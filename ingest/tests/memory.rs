//! Memory is bounded in bytes, not records: a backlog of near-1 MiB valid orders (1,000 items
//! each) is stored completely by the real binary with its default settings, while its peak
//! resident set (the kernel's VmHWM) stays under the memory limit of its Kubernetes manifest.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{json, Value};

/// ingest's `resources.limits.memory` in k8s/base/ingest-deployment.yaml.
const MEMORY_LIMIT_MIB: u64 = 256;
const ORDERS: usize = 200;
const TARGET_BYTES: usize = 1_000_000; // 0.95 MiB

/// Letters that compress about as badly as real product names, from a fixed-seed generator.
fn words(seed: u64, len: usize) -> String {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|i| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if i % 8 == 7 {
                ' '
            } else {
                char::from(b'a' + (state >> 59) as u8 % 26)
            }
        })
        .collect()
}

/// `json` (a valid order) grown to 1,000 items with long names, totals fixed so it stays valid,
/// just under `target` bytes.
fn big_order(json: &str, target: usize) -> Vec<u8> {
    let mut order: Value = serde_json::from_str(json).expect("order json");
    let mut item = order["items"][0].clone();
    item["track_number"] = order["track_number"].clone();
    let mut skeleton = order.clone();
    skeleton["items"] = json!([]);
    let base = serde_json::to_vec(&skeleton).expect("json").len();
    item["name"] = json!("");
    let per_item = serde_json::to_vec(&item).expect("json").len() + 1;
    let name_len = (target - base) / 1000 - per_item - 8;
    let items: Vec<Value> = (0..1000)
        .map(|line| {
            let mut item = item.clone();
            let name = format!("Item {line:04} {}", words(line as u64, name_len));
            item["name"] = json!(&name[..name_len]);
            item["rid"] = json!(format!("rid-{line:04}"));
            item
        })
        .collect();
    let goods_total: i64 = items
        .iter()
        .map(|i| i["total_price"].as_i64().unwrap())
        .sum();
    let payment = &mut order["payment"];
    let amount = goods_total
        + payment["delivery_cost"].as_i64().unwrap()
        + payment["custom_fee"].as_i64().unwrap();
    payment["goods_total"] = json!(goods_total);
    payment["amount"] = json!(amount);
    order["items"] = Value::Array(items);
    let bytes = serde_json::to_vec(&order).expect("json");
    assert!(
        bytes.len() <= target && bytes.len() > target - 30_000,
        "{} bytes",
        bytes.len()
    );
    order_model::decode(&bytes).expect("the big order is valid");
    bytes
}

/// Peak resident set size of a running process, in KiB.
fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .expect("VmHWM")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_of_near_1_mib_orders_is_stored_within_the_memory_limit() {
    let world = World::new(3).await;
    let producer = producer();
    let orders: Vec<(String, Vec<u8>)> = orders(60, ORDERS)
        .into_iter()
        .map(|(uid, json)| (uid, big_order(&json, TARGET_BYTES)))
        .collect();
    let sends = orders.iter().map(|(uid, value)| {
        produce(
            &producer,
            &world.topics.orders,
            Some(uid.as_bytes()),
            value,
            &[],
        )
    });
    futures::future::join_all(sends).await;
    let backlog: usize = orders.iter().map(|(_, v)| v.len()).sum();

    // Default settings: no INGEST_* tuning at all.
    let mut command = world.binary();
    command.env_remove("INGEST_BATCH_SIZE");
    let mut child = command.spawn().expect("spawn ingest");
    let started = std::time::Instant::now();
    let mut peak = 0;
    wait_until("every big order stored", || {
        peak = peak.max(vm_hwm_kib(child.id()));
        async { world.stored_count().await >= ORDERS as i64 }
    })
    .await;
    peak = peak.max(vm_hwm_kib(child.id()));
    let took = started.elapsed();
    child.kill().expect("stop ingest");
    child.wait().expect("reap ingest");
    eprintln!(
        "{ORDERS} orders, {:.0} MiB of backlog, stored in {took:.1?}; ingest peak RSS {:.1} MiB",
        backlog as f64 / 1048576.0,
        peak as f64 / 1024.0
    );

    assert!(
        peak < MEMORY_LIMIT_MIB * 1024,
        "peak RSS {} KiB over the {MEMORY_LIMIT_MIB} MiB limit",
        peak
    );
    let client = world.db.pool().get().await.expect("db");
    let row = client
        .query_one(
            "SELECT count(*), count(DISTINCT order_uid), (SELECT count(*) FROM items) FROM orders",
            &[],
        )
        .await
        .expect("counts");
    let (rows, distinct, items): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    let n = ORDERS as i64;
    assert_eq!((rows, distinct, items), (n, n, n * 1000));
    assert!(read_topic_async(&world.topics.dlq).await.is_empty());
}
