//! Generating records on their own thread, ahead of the sender. Building and serializing an
//! order costs about as much CPU as handing it to librdkafka, so overlapping the two lets an
//! unpaced run use a second core; the bounded channel keeps the lead (and memory) small.

use crate::mix::{RecordMix, SimRecord};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Records per hand-over: amortizes channel synchronization over many records.
const BATCH: usize = 256;
/// Batches in flight between the threads.
const DEPTH: usize = 4;

/// Records from a generator thread, in the mix's order.
#[derive(Debug)]
pub struct Ahead {
    batches: Receiver<Vec<SimRecord>>,
    current: std::vec::IntoIter<SimRecord>,
    thread: Option<JoinHandle<()>>,
}

impl Ahead {
    /// Starts generating `count` records (or endlessly), until `stop` is raised or the
    /// receiving side is dropped.
    pub fn spawn(
        mut mix: RecordMix,
        count: Option<u64>,
        stop: Arc<AtomicBool>,
    ) -> std::io::Result<Self> {
        let (sender, batches) = sync_channel(DEPTH);
        let thread = std::thread::Builder::new()
            .name("generator".into())
            .spawn(move || {
                let mut left = count.unwrap_or(u64::MAX);
                while left > 0 && !stop.load(Ordering::Relaxed) {
                    let size = left.min(BATCH as u64) as usize;
                    let batch: Vec<SimRecord> = (0..size).map(|_| mix.next_record()).collect();
                    left -= size as u64;
                    if sender.send(batch).is_err() {
                        return; // the sender stopped early
                    }
                }
            })?;
        Ok(Self {
            batches,
            current: Vec::new().into_iter(),
            thread: Some(thread),
        })
    }
}

impl Iterator for Ahead {
    type Item = SimRecord;

    /// The next record; `None` once the generator has finished or stopped.
    fn next(&mut self) -> Option<SimRecord> {
        loop {
            if let Some(record) = self.current.next() {
                return Some(record);
            }
            self.current = self.batches.recv().ok()?.into_iter();
        }
    }
}

impl Drop for Ahead {
    fn drop(&mut self) {
        // Unblock the generator (its next send fails) before waiting for it.
        let (_, closed) = sync_channel(0);
        drop(std::mem::replace(&mut self.batches, closed));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
