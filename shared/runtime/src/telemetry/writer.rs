//! Where log lines go: stderr, written by a thread of its own so that a request or a record never
//! waits for the terminal, a pipe or a log collector.
//!
//! The policy when that thread cannot keep up is to drop and count, never to block: at most
//! [`BUFFERED_LINES`] formatted lines wait in memory; past that, new lines are dropped and
//! counted, and the count is exported as `log_lines_dropped_total` by every binary
//! ([`crate::metrics::register_runtime_metrics`]). Formatting still happens on the caller's thread
//! (it needs the span context); only the write moves.
//!
//! The thread writes through a buffer and flushes whenever it has emptied its queue: one write
//! system call per line cost query-api a fifth of its CPU at tens of thousands of requests a
//! second, while a batch per wake-up costs next to nothing, and a quiet process still has each
//! line out at once (the queue is empty right after it).

use std::io::BufWriter;
use std::sync::OnceLock;
use tracing_appender::non_blocking::{ErrorCounter, NonBlocking, NonBlockingBuilder, WorkerGuard};

/// Lines that may wait for the writer thread: ~5 MB of JSON lines at ~340 bytes each, small next
/// to the binaries' memory limits, and seconds of logs at any request rate we serve.
pub const BUFFERED_LINES: usize = 16_384;

/// Dropped-line counter of the installed writer (the first one; later `init` calls in one process
/// keep the first subscriber, so only its writer matters).
static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();

/// Bytes the writer thread gathers before a write when lines come faster than it wakes up.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// A lossy non-blocking stderr writer and the guard that flushes it when dropped.
pub(super) fn stderr() -> (NonBlocking, WorkerGuard) {
    NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(BUFFERED_LINES)
        .thread_name("log-writer")
        // tracing-appender's worker flushes each time its queue runs empty.
        .finish(BufWriter::with_capacity(
            WRITE_BUFFER_BYTES,
            std::io::stderr(),
        ))
}

/// Remembers `writer`'s counter once its subscriber is the installed one.
pub(super) fn installed(writer: &NonBlocking) {
    let _ = DROPPED.set(writer.error_counter());
}

/// Log lines dropped so far because the writer thread could not keep up.
pub fn dropped_lines() -> u64 {
    DROPPED
        .get()
        .map_or(0, |counter| counter.dropped_lines() as u64)
}
