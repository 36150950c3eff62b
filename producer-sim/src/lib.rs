//! The synthetic order producer: turns a seed into a reproducible stream of records (valid
//! orders, poison, duplicates — [`mix`], generated ahead on its own thread — [`ahead`]), paces
//! it ([`pacing`]) and writes it to Kafka ([`kafka`]) or stdout ([`print`](mod@print)), then
//! reports what happened ([`summary`]). [`validate`](mod@validate) checks a producer's own orders
//! with ingest's decoding and validation.

pub mod ahead;
mod args;
pub mod kafka;
pub mod manifest;
pub mod mix;
pub mod pacing;
pub mod print;
pub mod summary;
pub mod validate;

use anyhow::Context;
use chrono::{SubsecRound, Utc};
use pipeline_runtime::shutdown::Shutdown;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub use args::{Args, Cli, Command};
pub use manifest::Manifest;
pub use mix::{MixSettings, RecordMix, SimKind, SimRecord};
pub use summary::Summary;

/// Runs until `--count` records are sent or `shutdown` fires, then flushes and returns what
/// happened. The summary is also printed to stderr.
pub async fn run(args: Args, shutdown: Shutdown) -> anyhow::Result<Summary> {
    if args.invalid_ratio + args.duplicate_ratio > 1.0 {
        anyhow::bail!("--invalid-ratio plus --duplicate-ratio must not exceed 1");
    }
    let settings = MixSettings {
        seed: args.seed.unwrap_or_else(rand::random),
        base_time: args.base_time.unwrap_or_else(Utc::now).trunc_subsecs(0),
        start_seq: args.start_seq,
        invalid_ratio: args.invalid_ratio,
        duplicate_ratio: args.duplicate_ratio,
    };
    eprintln!(
        "producer-sim: seed {} base time {} start seq {} (pass --seed {0} --base-time {1} --start-seq {2} to repeat this run)",
        settings.seed,
        settings.base_time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        settings.start_seq,
    );
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            shutdown.wait().await;
            stop.store(true, Ordering::Relaxed);
        })
    };
    let summary = if args.print {
        let mix = RecordMix::new(&settings);
        let (count, rate) = (args.count, args.rate);
        let stop = Arc::clone(&stop);
        let manifest = args.create_manifest()?;
        tokio::task::spawn_blocking(move || {
            let out = &mut std::io::stdout().lock();
            print::run_with_manifest(mix, count, rate, &stop, out, manifest)
        })
        .await
        .context("print task panicked")??
    } else {
        kafka::run(&args, &settings, Arc::clone(&stop)).await?
    };
    watcher.abort();
    eprintln!("{summary}");
    Ok(summary)
}
