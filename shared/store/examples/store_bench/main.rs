//! How fast the order repository writes and reads, next to the fastest plain way PostgreSQL can
//! take the same rows (binary `COPY`), so a regression or a missed target shows as a ratio.
//!
//! ```text
//! cargo run --release -p order-store --example store_bench
//! ```
//!
//! Writes go into one fresh database through `OrderRepository::store_batch`, and the same rows
//! (other uids' namespace, same shapes) into a second fresh database through four binary COPYs
//! per batch in one transaction, with the same batch sizes. Reads are `get` from 16 concurrent
//! tasks, next to fetching the same order as plain rows (two queries, decoded in Rust).
//! Environment: `BENCH_ORDERS` (orders per big-batch figure, default 20000), `BENCH_SINGLES`
//! (orders for the batch-of-1 figure, default 2000), `BENCH_READ_SECS` (per read variant,
//! default 8), `BENCH_ROUNDS` (alternations of ours and the reference, default 4).
//! Prints a table and one `BENCH_JSON {...}` line for the benchmark runner.

mod copy;
mod orders;
mod reads;

use copy::copy;
use order_model::ValidOrder;
use order_store::PostgresArgs;
use order_store::{Db, OrderRepository};
use orders::orders;
use pipeline_testing::db::{drop_db, fresh_db, postgres_args};
use reads::{read_rows, reads, READERS};
use serde_json::{json, Value};
use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// What to measure, from the environment.
#[derive(Clone, Copy)]
struct Settings {
    /// Orders per figure for batches of 100 and 1000.
    big: usize,
    /// Orders for batches of 1 (each is a commit, so fewer).
    singles: usize,
    /// Seconds of reads, per variant.
    read_secs: f64,
    /// Alternations of ours and the reference.
    rounds: usize,
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Time to write `orders` with `store_batch` in batches of `size`, one writer.
async fn ours(repo: &OrderRepository, orders: &[ValidOrder], size: usize) -> Result<Duration> {
    let started = Instant::now();
    for batch in orders.chunks(size) {
        repo.store_batch(batch).await?;
    }
    Ok(started.elapsed())
}

#[tokio::main]
async fn main() -> Result<()> {
    let settings = Settings {
        big: env_number("BENCH_ORDERS", 20_000) as usize,
        singles: env_number("BENCH_SINGLES", 2_000) as usize,
        read_secs: env_number("BENCH_READ_SECS", 8) as f64,
        rounds: env_number("BENCH_ROUNDS", 4).max(1) as usize,
    };
    let ((test_db, ours_name), (copy_db, copy_name)) = (fresh_db().await, fresh_db().await);
    test_db.pool().close();
    // One connection per reader (the test pool is smaller).
    let args = PostgresArgs {
        pool_size: READERS,
        ..postgres_args(&ours_name)
    };
    let ours_db = Db::connect(&args).await?;
    let outcome = run(&ours_db, &copy_db, settings).await;
    ours_db.pool().close();
    copy_db.pool().close();
    drop_db(&ours_name).await;
    drop_db(&copy_name).await;
    outcome
}

/// Ours and the reference alternate in rounds, so that load from elsewhere on the machine
/// weighs on both alike; each figure is total work over total time.
async fn run(ours_db: &Db, copy_db: &Db, settings: Settings) -> Result<()> {
    let Settings {
        big,
        singles,
        read_secs,
        rounds,
    } = settings;
    let repo = OrderRepository::new(ours_db.clone());
    let mut figures = Vec::new();
    for (size, count) in [(1, singles), (100, big), (1000, big)] {
        // Warm the pools and prepared statements outside the measurement.
        ours(&repo, &orders(&format!("w{size}x"), size)?, size).await?;
        copy(copy_db, &orders(&format!("w{size}x"), size)?, size).await?;
        let (mut ours_time, mut copy_time) = (Duration::ZERO, Duration::ZERO);
        let per_round = count.div_ceil(rounds);
        for round in 0..rounds {
            let batch = orders(&format!("b{size}r{round}x"), per_round)?;
            ours_time += ours(&repo, &batch, size).await?;
            copy_time += copy(copy_db, &batch, size).await?;
        }
        let done = (per_round * rounds) as f64;
        figures.push((
            format!("store_batch({size})"),
            "orders/s",
            done / ours_time.as_secs_f64(),
            done / copy_time.as_secs_f64(),
            "binary COPY",
        ));
    }

    let uids: Vec<String> = (0..rounds)
        .flat_map(|round| (0..big.div_ceil(rounds)).map(move |n| format!("b1000r{round}x{n:08}")))
        .collect();
    let uids = Arc::new(uids);
    let slice = read_secs / rounds as f64;
    let (mut get, mut rows) = ((0, Duration::ZERO), (0, Duration::ZERO));
    for _ in 0..rounds {
        let repo = repo.clone();
        let (n, took) = reads(uids.clone(), slice, move |uid: String| {
            let repo = repo.clone();
            async move { Ok(repo.get(&uid).await?.is_some()) }
        })
        .await?;
        get = (get.0 + n, get.1 + took);
        let db = ours_db.clone();
        let (n, took) = reads(uids.clone(), slice, move |uid| read_rows(db.clone(), uid)).await?;
        rows = (rows.0 + n, rows.1 + took);
    }
    figures.push((
        format!("get, {READERS} readers"),
        "reads/s",
        get.0 as f64 / get.1.as_secs_f64(),
        rows.0 as f64 / rows.1.as_secs_f64(),
        "rows, 2 queries",
    ));

    println!(
        "{:<22} {:>10} {:>12} {:>7}  reference is",
        "figure", "ours", "reference", "ratio"
    );
    let mut report = serde_json::Map::new();
    for (figure, unit, ours, reference, what) in &figures {
        let ratio = ours / reference;
        println!("{figure:<22} {ours:>10.0} {reference:>12.0} {ratio:>7.2}  {what} ({unit})");
        report.insert(
            figure.clone(),
            json!({ "unit": unit, "ours": ours.round(), "reference": reference.round(),
                    "ratio": (ratio * 1000.0).round() / 1000.0, "reference_is": what }),
        );
    }
    report.insert("orders_per_big_figure".into(), json!(big));
    report.insert("orders_for_batch_of_1".into(), json!(singles));
    report.insert("rounds".into(), json!(rounds));
    println!("BENCH_JSON {}", Value::Object(report));
    Ok(())
}
