//! Helper for `bench/http.sh`: prepares what the HTTP benchmark reads, so the shell script stays
//! a shell script. Not part of the service.
//!
//! - `seed --count N --dir D`: a fresh database (copy of the migrated test template) holding N
//!   synthetic orders; writes `D/uids.txt` and each order's served JSON to `D/www/order/<uid>`
//!   (what nginx serves), and `D/api-keys` with one random API key (both scopes, digest only);
//!   prints `DB_NAME=… DATABASE_URL=… API_KEY=… API_KEYS_FILE=…`.
//! - `warm --url U --uids F`: requests every uid once (32 at a time) so the caches hold them.
//! - `warm` and `compare` send `Authorization: Bearer $API_KEY` when `API_KEY` is set (query-api
//!   runs with access control on; nginx ignores the header).
//! - `compare --urls U1,U2 --uids F --dir D --sample N`: fetches N uids from every URL and
//!   counts bodies that differ from each other or from the file nginx serves.
//! - `drop --db NAME`: drops the database.

use futures::stream::{self, StreamExt};
use order_model::ValidOrder;
use order_store::OrderRepository;
use order_synthetic::OrderGenerator;
use pipeline_testing::db::{database_url, drop_db, fresh_db};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn flag(args: &[String], name: &str) -> Result<String> {
    args.iter()
        .position(|arg| arg == name)
        .and_then(|at| args.get(at + 1))
        .cloned()
        .ok_or_else(|| format!("missing {name}").into())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("seed") => {
            seed(
                flag(&args, "--count")?.parse()?,
                PathBuf::from(flag(&args, "--dir")?),
            )
            .await
        }
        Some("warm") => warm(&flag(&args, "--url")?, &flag(&args, "--uids")?).await,
        Some("compare") => {
            let urls = flag(&args, "--urls")?;
            let dir = PathBuf::from(flag(&args, "--dir")?);
            compare(
                &urls,
                &flag(&args, "--uids")?,
                &dir,
                flag(&args, "--sample")?.parse()?,
            )
            .await
        }
        Some("drop") => {
            drop_db(&flag(&args, "--db")?).await;
            Ok(())
        }
        _ => Err("usage: bench_seed seed|warm|compare|drop …".into()),
    }
}

async fn seed(count: u64, dir: PathBuf) -> Result<()> {
    let (db, name) = fresh_db().await;
    let repository = OrderRepository::new(db);
    // Fixed seed and base time: every run benchmarks the same orders.
    let base = chrono::DateTime::parse_from_rfc3339("2025-06-01T12:00:00Z")?.to_utc();
    let generator = OrderGenerator::new(20_240_601, base);
    let www = dir.join("www").join("order");
    std::fs::create_dir_all(&www)?;
    let mut uids = String::new();
    let mut bytes = 0usize;
    let mut seq = 0;
    while seq < count {
        let end = (seq + 500).min(count);
        let batch: Vec<ValidOrder> = (seq..end)
            .map(|n| ValidOrder::try_from(generator.order_with_seq(n)))
            .collect::<std::result::Result<_, _>>()
            .map_err(|errors| format!("generated an invalid order: {errors:?}"))?;
        repository.store_batch(&batch).await?;
        for order in &batch {
            // What the API serves is the canonical JSON as read back; for a freshly validated
            // order that is its canonical JSON, byte for byte.
            std::fs::write(www.join(order.uid()), order.canonical_json())?;
            bytes += order.canonical_json().len();
            uids.push_str(order.uid());
            uids.push('\n');
        }
        seq = end;
    }
    std::fs::write(dir.join("uids.txt"), uids)?;
    let key = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let digest: String = Sha256::digest(key.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let keys_file = dir.join("api-keys");
    std::fs::write(
        &keys_file,
        format!("bench {digest} orders:read,orders:list\n"),
    )?;
    eprintln!(
        "stored {count} orders, {} bytes of JSON on average",
        bytes / count.max(1) as usize
    );
    println!("DB_NAME={name}");
    println!("DATABASE_URL={}", database_url(&name));
    println!("API_KEY={key}");
    println!("API_KEYS_FILE={}", keys_file.display());
    Ok(())
}

/// A client that sends `$API_KEY` as its bearer credential, when set.
fn client() -> Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Ok(key) = std::env::var("API_KEY") {
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {key}").parse()?,
        );
    }
    Ok(reqwest::Client::builder()
        .default_headers(headers)
        .build()?)
}

fn read_uids(path: &str) -> Result<Vec<String>> {
    Ok(std::fs::read_to_string(path)?
        .lines()
        .map(str::to_owned)
        .collect())
}

async fn warm(url: &str, uids: &str) -> Result<()> {
    let client = client()?;
    let uids = read_uids(uids)?;
    let failures = stream::iter(uids.iter())
        .map(|uid| {
            let request = client.get(format!("{url}/order/{uid}")).send();
            async move {
                request
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false)
            }
        })
        .buffer_unordered(32)
        .filter(|ok| futures::future::ready(!ok))
        .count()
        .await;
    eprintln!("warmed {} uids on {url}, {failures} failures", uids.len());
    if failures > 0 {
        return Err(format!("{failures} warm-up requests failed").into());
    }
    Ok(())
}

async fn compare(urls: &str, uids: &str, dir: &std::path::Path, sample: usize) -> Result<()> {
    let client = client()?;
    let uids = read_uids(uids)?;
    let step = (uids.len() / sample.max(1)).max(1);
    let (mut checked, mut differing) = (0, 0);
    for uid in uids.iter().step_by(step).take(sample) {
        let expected = std::fs::read(dir.join("www").join("order").join(uid))?;
        for url in urls.split(',') {
            let body = client
                .get(format!("{url}/order/{uid}"))
                .send()
                .await?
                .bytes()
                .await?;
            if body != expected {
                differing += 1;
            }
        }
        checked += 1;
    }
    println!("COMPARE checked={checked} differing={differing}");
    Ok(())
}
