//! The database reads of one HTTP thread, sent together. A miss in both caches used to cost its
//! own statement: a pooled connection, a round trip, a PostgreSQL backend woken for it and the
//! statement's fixed cost — on a busy 2-core machine those wake-ups, not the index probes, were
//! most of a miss's price (`docs/BENCHMARKS.md`, the miss path). Now a miss queues its uid on
//! its thread's [`Batch`]; one driver task at a time takes what is queued and reads it in one
//! statement, and the misses that arrive meanwhile queue for the next one.
//!
//! Nothing waits for a batch to fill: the driver starts as soon as the first uid is queued (after
//! one yield, so that misses already readable on the thread's sockets join it). A lone miss is
//! read at once; many concurrent misses share statements. Batching therefore adds no latency at
//! low load and groups reads exactly when there are many of them.

use std::sync::Mutex;
use tokio::sync::oneshot;

/// At most this many uids per statement: bounds one statement's size and the time the first of
/// its waiters waits for the last one's rows.
pub const MAX_BATCH: usize = 64;

/// A uid waiting for its read, and where its answer goes.
pub type Waiter<T> = (Box<str>, oneshot::Sender<T>);

/// One HTTP thread's queue of uids to read (`T`: the answer each waiter gets).
pub struct Batch<T> {
    queue: Mutex<Queue<T>>,
}

struct Queue<T> {
    waiting: Vec<Waiter<T>>,
    /// A driver is running: it will take what is queued, so nobody else starts one.
    driving: bool,
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Self {
            queue: Mutex::new(Queue {
                waiting: Vec::new(),
                driving: false,
            }),
        }
    }
}

impl<T> Batch<T> {
    /// Queues `uid`. The second value is `true` when no driver is running: the caller must start
    /// one, which then takes batches through [`Batch::drive`] until there are none.
    pub fn join(&self, uid: &str) -> (oneshot::Receiver<T>, bool) {
        let (answer, receiver) = oneshot::channel();
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        queue.waiting.push((uid.into(), answer));
        let start = !queue.driving;
        queue.driving = true;
        (receiver, start)
    }

    /// For the driver that [`Batch::join`] asked to be started.
    pub fn drive(&self) -> Driving<'_, T> {
        Driving {
            batch: self,
            done: false,
        }
    }

    fn next(&self) -> Vec<Waiter<T>> {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if queue.waiting.is_empty() {
            queue.driving = false;
            return Vec::new();
        }
        let take = queue.waiting.len().min(MAX_BATCH);
        let rest = queue.waiting.split_off(take);
        std::mem::replace(&mut queue.waiting, rest)
    }
}

/// The running driver's hold on its batch. Should the driver end before it has seen the queue
/// empty (a panic, its runtime shutting down), dropping this fails the queued waiters (their
/// receivers close) and lets the next [`Batch::join`] start a new driver, instead of leaving
/// the thread's misses queued behind a driver that is gone.
pub struct Driving<'a, T> {
    batch: &'a Batch<T>,
    done: bool,
}

impl<T> Driving<'_, T> {
    /// The next batch: up to [`MAX_BATCH`] waiters, oldest first. Empty when nothing is
    /// queued: the driver must then stop (the next [`Batch::join`] starts another).
    pub fn next(&mut self) -> Vec<Waiter<T>> {
        let batch = self.batch.next();
        self.done = batch.is_empty();
        batch
    }
}

impl<T> Drop for Driving<'_, T> {
    fn drop(&mut self) {
        if !self.done {
            let mut queue = self.batch.queue.lock().unwrap_or_else(|p| p.into_inner());
            queue.waiting.clear();
            queue.driving = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uids<T>(batch: &[Waiter<T>]) -> Vec<&str> {
        batch.iter().map(|(uid, _)| &**uid).collect()
    }

    #[test]
    fn the_first_to_join_starts_the_driver_and_the_rest_queue_for_it() {
        let batch = Batch::<u8>::default();
        let (_a, start_a) = batch.join("a");
        let (_b, start_b) = batch.join("b");
        assert!(start_a);
        assert!(!start_b, "a driver is already running");
        let mut driver = batch.drive();
        assert_eq!(uids(&driver.next()), ["a", "b"]);
        // Joined while the driver reads: queued for its next round, no second driver.
        let (_c, start_c) = batch.join("c");
        assert!(!start_c);
        assert_eq!(uids(&driver.next()), ["c"]);
        assert!(driver.next().is_empty());
        drop(driver);
        // The driver has stopped: the next uid starts a new one.
        let (_d, start_d) = batch.join("d");
        assert!(start_d);
    }

    #[test]
    fn a_batch_holds_at_most_max_batch_uids_oldest_first() {
        let batch = Batch::<u8>::default();
        let names: Vec<String> = (0..MAX_BATCH + 3).map(|n| format!("u{n}")).collect();
        let _receivers: Vec<_> = names.iter().map(|uid| batch.join(uid)).collect();
        let mut driver = batch.drive();
        let first = driver.next();
        assert_eq!(first.len(), MAX_BATCH);
        assert_eq!(first[0].0.as_ref(), "u0");
        assert_eq!(uids(&driver.next()), ["u64", "u65", "u66"]);
        assert!(driver.next().is_empty());
    }

    #[test]
    fn every_waiter_gets_the_answer_sent_for_its_uid() {
        let batch = Batch::<String>::default();
        let (a, _) = batch.join("a");
        let (b, _) = batch.join("b");
        for (uid, answer) in batch.drive().next() {
            answer.send(format!("order {uid}")).expect("waiting");
        }
        assert_eq!(a.blocking_recv().expect("answered"), "order a");
        assert_eq!(b.blocking_recv().expect("answered"), "order b");
    }

    #[test]
    fn a_driver_that_ends_early_fails_its_waiters_and_lets_the_next_miss_start_another() {
        let batch = Batch::<u8>::default();
        let (a, _) = batch.join("a");
        let (b, _) = batch.join("b");
        let mut driver = batch.drive();
        let in_hand = driver.next();
        let (c, start_c) = batch.join("c");
        assert!(!start_c);
        // The driver dies holding a and b, with c queued.
        drop(in_hand);
        drop(driver);
        for receiver in [a, b, c] {
            assert!(
                receiver.blocking_recv().is_err(),
                "the waiter is told, not left waiting"
            );
        }
        let (_d, start_d) = batch.join("d");
        assert!(start_d, "a new driver starts");
    }
}
