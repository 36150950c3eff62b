//! The figures every request updates — requests by route and status, their duration, where each
//! order read was answered — counted per thread and moved into the shared Prometheus metrics
//! when they are scraped. Shared, they cost each request about twenty atomic read-modify-writes
//! (a lock and a reference count per label lookup, the counters, the histogram's buckets, count
//! and sum) on cache lines that both cores write: in a loop on this 2-core machine, 101 ns per
//! request on one thread and 455 ns on each of two threads at once, against 31 and 19 ns here.
//! Each thread writes its own [`Shard`] instead, under a lock no other thread takes between
//! scrapes, and a scrape empties every shard into the registry first, so it shows every request
//! answered before it.

use super::ReadSource;
use prometheus::local::LocalHistogram;
use prometheus::{HistogramVec, IntCounterVec};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use warp::http::StatusCode;

/// Threads beyond this many share shards: still exact, only their lines are shared again.
const SHARDS: usize = 16;

thread_local! {
    /// This thread's shard, handed out in turn at its first request.
    static SHARD: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The next shard to hand out.
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

/// The per-thread counts of one set of metrics.
pub(super) struct PerThread {
    shards: Box<[Padded<Mutex<Shard>>]>,
}

impl std::fmt::Debug for PerThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerThread").finish_non_exhaustive()
    }
}

/// A whole cache line (two on CPUs that fetch lines in pairs) per shard, so that no two
/// threads' shards share one.
#[repr(align(128))]
struct Padded<T>(T);

#[derive(Default)]
struct Shard {
    /// Requests answered since the last scrape, by route template and status: a few pairs.
    requests: Vec<(&'static str, StatusCode, u64)>,
    /// Durations since the last scrape, by route template.
    durations: Vec<(&'static str, LocalHistogram)>,
    /// Order reads since the last scrape, by [`ReadSource`] (its index in [`SOURCES`]).
    reads: [u64; SOURCES.len()],
}

const SOURCES: [ReadSource; 3] = [ReadSource::Memory, ReadSource::Redis, ReadSource::Postgres];

/// The shared metrics a scrape moves the shards' counts into (the durations flush into the
/// histograms they were made from).
pub(super) struct Targets<'a> {
    pub http_requests: &'a IntCounterVec,
    pub cache_requests: &'a IntCounterVec,
    pub read_sources: &'a IntCounterVec,
}

impl PerThread {
    pub fn new() -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| Padded(Mutex::new(Shard::default())))
                .collect(),
        }
    }

    /// Counts a request answered with `status` on `route` after `elapsed`; `durations` makes
    /// the thread's histogram for a route it has not answered before.
    pub fn request(
        &self,
        route: &'static str,
        status: StatusCode,
        elapsed: Duration,
        durations: &HistogramVec,
    ) {
        let mut shard = self.shard();
        match shard
            .requests
            .iter_mut()
            .find(|(r, s, _)| *r == route && *s == status)
        {
            Some((_, _, count)) => *count += 1,
            None => shard.requests.push((route, status, 1)),
        }
        let seconds = elapsed.as_secs_f64();
        match shard.durations.iter().find(|(r, _)| *r == route) {
            Some((_, histogram)) => histogram.observe(seconds),
            None => {
                let histogram = durations.with_label_values(&[route]).local();
                histogram.observe(seconds);
                shard.durations.push((route, histogram));
            }
        }
    }

    /// Counts an order read answered by `source`.
    pub fn read(&self, source: ReadSource) {
        let index = SOURCES.iter().position(|s| *s == source).unwrap_or(0);
        self.shard().reads[index] += 1;
    }

    /// Moves every shard's counts into `targets` and empties the shards.
    pub fn drain_into(&self, targets: &Targets<'_>) {
        for Padded(shard) in self.shards.iter() {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            for (route, status, count) in &mut shard.requests {
                if *count > 0 {
                    targets
                        .http_requests
                        .with_label_values(&[*route, status.as_str()])
                        .inc_by(std::mem::take(count));
                }
            }
            for (_, histogram) in &shard.durations {
                histogram.flush();
            }
            for (source, count) in SOURCES.iter().zip(&mut shard.reads) {
                if *count > 0 {
                    let count = std::mem::take(count);
                    targets
                        .cache_requests
                        .with_label_values(&[source.cache_result()])
                        .inc_by(count);
                    targets
                        .read_sources
                        .with_label_values(&[source.as_str()])
                        .inc_by(count);
                }
            }
        }
    }

    /// The calling thread's shard, locked (only a scrape can be holding it).
    fn shard(&self) -> std::sync::MutexGuard<'_, Shard> {
        let index = SHARD.with(|shard| {
            shard.get().unwrap_or_else(|| {
                let index = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
                shard.set(Some(index));
                index
            })
        });
        let Padded(shard) = &self.shards[index];
        shard.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::{HistogramOpts, Opts};

    fn targets() -> (IntCounterVec, HistogramVec, IntCounterVec, IntCounterVec) {
        let counter = |name: &str, label: &str| {
            IntCounterVec::new(Opts::new(name, "help"), &[label]).expect("valid")
        };
        (
            IntCounterVec::new(Opts::new("requests", "help"), &["route", "status"]).expect("valid"),
            HistogramVec::new(HistogramOpts::new("duration", "help"), &["route"]).expect("valid"),
            counter("cache", "result"),
            counter("sources", "source"),
        )
    }

    #[test]
    fn counts_from_every_thread_reach_the_shared_metrics_once() {
        let (http_requests, http_duration, cache_requests, read_sources) = targets();
        let per_thread = PerThread::new();
        std::thread::scope(|scope| {
            for _ in 0..3 {
                scope.spawn(|| {
                    for _ in 0..100 {
                        let elapsed = Duration::from_micros(300);
                        per_thread.request("/order/{uid}", StatusCode::OK, elapsed, &http_duration);
                        per_thread.read(ReadSource::Redis);
                    }
                    per_thread.request(
                        "/order/{uid}",
                        StatusCode::NOT_FOUND,
                        Duration::from_millis(2),
                        &http_duration,
                    );
                    per_thread.read(ReadSource::Postgres);
                });
            }
        });
        let targets = Targets {
            http_requests: &http_requests,
            cache_requests: &cache_requests,
            read_sources: &read_sources,
        };
        per_thread.drain_into(&targets);
        // A second scrape adds nothing: the shards were emptied.
        per_thread.drain_into(&targets);
        let requests = |status: &str| {
            http_requests
                .with_label_values(&["/order/{uid}", status])
                .get()
        };
        assert_eq!((requests("200"), requests("404")), (300, 3));
        let duration = http_duration.with_label_values(&["/order/{uid}"]);
        assert_eq!(duration.get_sample_count(), 303);
        assert!((duration.get_sample_sum() - (300.0 * 0.0003 + 3.0 * 0.002)).abs() < 1e-9);
        let cache = |result: &str| cache_requests.with_label_values(&[result]).get();
        assert_eq!((cache("hit"), cache("miss")), (300, 3));
        let source = |name: &str| read_sources.with_label_values(&[name]).get();
        assert_eq!(
            (source("memory"), source("redis"), source("postgres")),
            (0, 300, 3)
        );
    }
}
