//! How fast the order repository writes and reads, next to the fastest plain way PostgreSQL can
//! take the same rows (binary `COPY`), so a regression or a missed target shows as a ratio.
//!
//! ```text
//! cargo run --release -p shared --example store_bench --features testing
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

use futures::pin_mut;
use order_model::{decode, ValidOrder, SAMPLE_JSON};
use order_store::PostgresArgs;
use order_store::{Db, OrderRepository};
use pipeline_testing::db::{drop_db, fresh_db, postgres_args};
use serde_json::{json, Value};
use std::error::Error;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Transaction;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

const READERS: usize = 16;

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

/// `count` valid orders of about three items each, uids prefixed by `prefix`.
fn orders(prefix: &str, count: usize) -> Result<Vec<ValidOrder>> {
    let sample: Value = serde_json::from_str(SAMPLE_JSON)?;
    let base = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")?;
    (0..count)
        .map(|n| {
            let uid = format!("{prefix}{n:08}");
            let items = 2 + n % 3; // 2, 3 or 4: three on average
            let mut order = sample.clone();
            let mut lines = Vec::with_capacity(items);
            for line in 0..items {
                let mut item = sample["items"][0].clone();
                item["chrt_id"] = json!(9_000_000 + n * 4 + line);
                item["rid"] = json!(format!("{uid}-{line}"));
                item["total_price"] = json!(100 + line);
                lines.push(item);
            }
            let goods: usize = (0..items).map(|line| 100 + line).sum();
            order["order_uid"] = json!(uid);
            order["payment"]["transaction"] = json!(uid);
            order["payment"]["goods_total"] = json!(goods);
            order["payment"]["amount"] = json!(goods + 1500);
            order["items"] = Value::Array(lines);
            let at = base + chrono::Duration::milliseconds(n as i64 * 1500);
            order["date_created"] = json!(at.to_rfc3339());
            order["customer_id"] = json!(format!("customer-{}", n % 997));
            Ok(decode(order.to_string().as_bytes())?)
        })
        .collect()
}

/// Time to write `orders` with `store_batch` in batches of `size`, one writer.
async fn ours(repo: &OrderRepository, orders: &[ValidOrder], size: usize) -> Result<Duration> {
    let started = Instant::now();
    for batch in orders.chunks(size) {
        repo.store_batch(batch).await?;
    }
    Ok(started.elapsed())
}

/// Time to write `orders` with four binary COPYs per batch of `size`, one transaction per batch.
async fn copy(db: &Db, orders: &[ValidOrder], size: usize) -> Result<Duration> {
    use Type as T;
    let mut client = db.pool().get().await?;
    let started = Instant::now();
    for batch in orders.chunks(size) {
        let tx = client.transaction().await?;
        let fingerprints: Vec<[u8; 32]> = batch.iter().map(ValidOrder::fingerprint).collect();
        let heads = batch.iter().zip(&fingerprints).map(|(order, fingerprint)| {
            let o = order.order();
            (
                o,
                &fingerprint[..],
                o.items.len() as i32,
                order.canonical_json(),
            )
        });
        // `document` is json, whose binary form is its text: sent as TEXT.
        let types = [
            &[T::TEXT; 8][..],
            &[T::INT8, T::TIMESTAMPTZ, T::TEXT, T::BYTEA, T::INT4, T::TEXT],
        ];
        copy_rows(
            &tx,
            "COPY orders (order_uid, track_number, entry, locale, internal_signature, \
             customer_id, delivery_service, shardkey, sm_id, date_created, oof_shard, \
             fingerprint, item_count, document) FROM STDIN BINARY",
            &types.concat(),
            heads,
            |(o, fingerprint, item_count, document)| {
                [
                    &o.order_uid,
                    &o.track_number,
                    &o.entry,
                    &o.locale,
                    &o.internal_signature,
                    &o.customer_id,
                    &o.delivery_service,
                    &o.shardkey,
                    &o.sm_id,
                    &o.date_created,
                    &o.oof_shard,
                    fingerprint,
                    item_count,
                    document,
                ]
            },
        )
        .await?;

        copy_rows(
            &tx,
            "COPY deliveries FROM STDIN BINARY",
            &[T::TEXT; 8],
            batch.iter().map(ValidOrder::order),
            |o| {
                let d = &o.delivery;
                [
                    &o.order_uid,
                    &d.name,
                    &d.phone,
                    &d.zip,
                    &d.city,
                    &d.address,
                    &d.region,
                    &d.email,
                ]
            },
        )
        .await?;

        let types = [
            &[T::TEXT; 5][..],
            &[T::INT8, T::INT8, T::TEXT],
            &[T::INT8; 3],
        ];
        copy_rows(
            &tx,
            "COPY payments FROM STDIN BINARY",
            &types.concat(),
            batch.iter().map(ValidOrder::order),
            |o| {
                let p = &o.payment;
                [
                    &o.order_uid,
                    &p.transaction,
                    &p.request_id,
                    &p.currency,
                    &p.provider,
                    &p.amount,
                    &p.payment_dt,
                    &p.bank,
                    &p.delivery_cost,
                    &p.goods_total,
                    &p.custom_fee,
                ]
            },
        )
        .await?;

        let lines = batch.iter().flat_map(|order| {
            let o = order.order();
            o.items
                .iter()
                .enumerate()
                .map(move |(line, i)| (o, line as i32, i.sale as i16, i))
        });
        let types = [
            &[T::TEXT, T::INT4, T::INT8, T::TEXT, T::INT8][..],
            &[T::TEXT, T::TEXT, T::INT2, T::TEXT, T::INT8],
            &[T::INT8, T::TEXT, T::INT8],
        ];
        copy_rows(
            &tx,
            "COPY items FROM STDIN BINARY",
            &types.concat(),
            lines,
            |(o, line, sale, i)| {
                [
                    &o.order_uid,
                    line,
                    &i.chrt_id,
                    &i.track_number,
                    &i.price,
                    &i.rid,
                    &i.name,
                    sale,
                    &i.size,
                    &i.total_price,
                    &i.nm_id,
                    &i.brand,
                    &i.status,
                ]
            },
        )
        .await?;
        tx.commit().await?;
    }
    Ok(started.elapsed())
}

/// One binary COPY (`statement`, with column `types`) of `rows` inside `tx`; `columns` gives a
/// row's values in the statement's column order.
async fn copy_rows<R, const N: usize>(
    tx: &Transaction<'_>,
    statement: &str,
    types: &[Type],
    rows: impl IntoIterator<Item = R>,
    columns: impl for<'r> Fn(&'r R) -> [&'r (dyn ToSql + Sync); N],
) -> Result<()> {
    let sink = tx.copy_in(statement).await?;
    let writer = BinaryCopyInWriter::new(sink, types);
    pin_mut!(writer);
    for row in rows {
        writer.as_mut().write(&columns(&row)).await?;
    }
    writer.finish().await?;
    Ok(())
}

/// Reads done in `secs` seconds by [`READERS`] tasks, each running `read` on pseudo-random uids,
/// and the time they took.
async fn reads<F, Fut>(uids: Arc<Vec<String>>, secs: f64, read: F) -> Result<(u64, Duration)>
where
    F: Fn(String) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<bool>> + Send + 'static,
{
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let tasks: Vec<_> = (0..READERS as u64)
        .map(|reader| {
            let (uids, done, read) = (uids.clone(), done.clone(), read.clone());
            tokio::spawn(async move {
                let mut state = 0x9e37_79b9_7f4a_7c15_u64 ^ (reader + 1);
                while Instant::now() < deadline {
                    state ^= state << 13; // xorshift64
                    state ^= state >> 7;
                    state ^= state << 17;
                    let uid = uids[(state % uids.len() as u64) as usize].clone();
                    if !read(uid).await? {
                        return Err::<(), Box<dyn Error + Send + Sync>>("order not found".into());
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();
    let started = Instant::now();
    for task in tasks {
        task.await??;
    }
    Ok((done.load(Ordering::Relaxed), started.elapsed()))
}

/// The reference read: the same order as plain rows in two queries, no JSON assembly.
async fn read_rows(db: Db, uid: String) -> Result<bool> {
    let client = db.pool().get().await?;
    let head = client
        .prepare_cached(
            "SELECT o.*, d.*, p.* FROM orders o JOIN deliveries d USING (order_uid) \
             JOIN payments p USING (order_uid) WHERE o.order_uid = $1",
        )
        .await?;
    let lines = client
        .prepare_cached("SELECT * FROM items WHERE order_uid = $1 ORDER BY line_no")
        .await?;
    let params: [&(dyn ToSql + Sync); 1] = [&uid];
    let (head, lines) = futures::try_join!(
        client.query_opt(&head, &params),
        client.query(&lines, &params)
    )?;
    Ok(head.is_some() && !lines.is_empty())
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
