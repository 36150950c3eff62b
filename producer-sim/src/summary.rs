//! Counting what was sent and what the broker confirmed, a once-a-second progress line for
//! people watching a terminal, and the end-of-run summary (which also decides the exit code).

use crate::mix::SimKind;
use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Live counters, shared between the sending loop, delivery callbacks and the progress line.
#[derive(Debug, Default)]
pub struct Stats {
    sent: [AtomicU64; 4],
    acked: [AtomicU64; 4],
    failed: [AtomicU64; 4],
}

impl Stats {
    pub fn record_sent(&self, kind: SimKind) {
        self.sent[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_acked(&self, kind: SimKind) {
        self.acked[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_failed(&self, kind: SimKind) {
        self.failed[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(counters: &[AtomicU64; 4]) -> KindCounts {
        KindCounts(std::array::from_fn(|index| {
            counters[index].load(Ordering::Relaxed)
        }))
    }

    pub fn sent(&self) -> KindCounts {
        Self::snapshot(&self.sent)
    }

    pub fn acked(&self) -> KindCounts {
        Self::snapshot(&self.acked)
    }

    pub fn failed(&self) -> KindCounts {
        Self::snapshot(&self.failed)
    }
}

/// A count per [`SimKind`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindCounts(pub [u64; 4]);

impl KindCounts {
    pub fn get(&self, kind: SimKind) -> u64 {
        self.0[kind.index()]
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

impl fmt::Display for KindCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = SimKind::ALL
            .iter()
            .map(|kind| format!("{kind} {}", self.get(*kind)))
            .collect();
        write!(f, "{} ({})", self.total(), parts.join(", "))
    }
}

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub seed: u64,
    pub sent: KindCounts,
    /// Confirmed by the broker (Kafka mode); `None` when printing.
    pub acked: Option<KindCounts>,
    pub failed: KindCounts,
    pub elapsed: Duration,
    /// The `x-sim-seq` the next run continues from (`--start-seq`).
    pub next_seq: u64,
}

impl Summary {
    /// Records neither acknowledged nor reported failed (the flush timed out).
    pub fn unconfirmed(&self) -> u64 {
        let acked = self.acked.map_or(self.sent.total(), |acked| acked.total());
        self.sent
            .total()
            .saturating_sub(acked + self.failed.total())
    }

    /// Every record that was sent is confirmed delivered.
    pub fn is_clean(&self) -> bool {
        self.failed.total() == 0 && self.unconfirmed() == 0
    }

    /// Confirmed (or, when printing, written) records per second.
    pub fn rate(&self) -> f64 {
        let done = self.acked.map_or(self.sent.total(), |acked| acked.total());
        done as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "producer-sim: sent {}", self.sent)?;
        if let Some(acked) = self.acked {
            write!(
                f,
                ", acked {}, failed {}",
                acked.total(),
                self.failed.total()
            )?;
        }
        if self.unconfirmed() > 0 {
            write!(f, ", unconfirmed {}", self.unconfirmed())?;
        }
        write!(
            f,
            ", elapsed {:.3} s, rate {:.0} records/s, seed {}, next seq {}",
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.seed,
            self.next_seq
        )
    }
}

/// Prints a progress line to stderr every second while `done` is false, only when stderr is a
/// terminal (log files and CI output should not fill up with carriage returns).
pub fn spawn_progress(
    stats: Arc<Stats>,
    done: Arc<AtomicBool>,
) -> Option<std::thread::JoinHandle<()>> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let started = Instant::now();
    std::thread::Builder::new()
        .name("progress".into())
        .spawn(move || {
            let mut shown = false;
            let mut last = (started, 0u64);
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let now = Instant::now();
                if now - last.0 < Duration::from_secs(1) {
                    continue;
                }
                let sent = stats.sent().total();
                let rate = (sent - last.1) as f64 / (now - last.0).as_secs_f64();
                last = (now, sent);
                let line = format!(
                    "\r{:>6.0}s  sent {sent}  acked {}  failed {}  {rate:.0}/s ",
                    (now - started).as_secs_f64(),
                    stats.acked().total(),
                    stats.failed().total()
                );
                // Progress is a courtesy: a failed write to the terminal must not stop the run.
                let _ = std::io::stderr().write_all(line.as_bytes());
                shown = true;
            }
            if shown {
                let _ = std::io::stderr().write_all(b"\r\x1b[2K");
            }
        })
        .ok()
}
