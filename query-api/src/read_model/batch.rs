//! The database reads of one HTTP thread, sent together. A miss in both caches used to cost its
//! own statement: a pooled connection, a round trip, a PostgreSQL backend woken for it and the
//! statement's fixed cost — on a busy 2-core machine those wake-ups, not the index probes, were
//! most of a miss's price (`docs/BENCHMARKS.md`, the miss path). Now a miss queues its uid on
//! its thread's [`Batch`]; a driver task takes what is queued and reads it in one statement,
//! and the misses that arrive meanwhile queue for the next one. Up to [`MAX_DRIVERS`] drivers
//! run at once per thread, so one batch that waits (for a Redis connection being opened, a
//! slow replica) does not hold back the lookups queued after it.
//!
//! Nothing waits for a batch to fill: the driver starts as soon as the first uid is queued, and
//! only yields while that brings more misses into the batch (those already readable on the
//! thread's sockets, a few times at most). A lone miss is read after one yield; many concurrent
//! misses share statements. Batching therefore adds no timer and no wait at low load and groups
//! reads exactly when there are many of them.

use std::sync::Mutex;
use tokio::sync::oneshot;

/// At most this many uids per statement: bounds one statement's size and the time the first of
/// its waiters waits for the last one's rows.
pub const MAX_BATCH: usize = 64;

/// At most this many batches in flight per HTTP thread.
pub const MAX_DRIVERS: usize = 2;

/// A uid waiting for its read, and where its answer goes.
pub type Waiter<T> = (Box<str>, oneshot::Sender<T>);

/// One HTTP thread's queue of uids to read (`T`: the answer each waiter gets).
pub struct Batch<T> {
    queue: Mutex<Queue<T>>,
}

struct Queue<T> {
    waiting: Vec<Waiter<T>>,
    /// Drivers running; while there are [`MAX_DRIVERS`], a new uid waits for one of them.
    drivers: usize,
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Self {
            queue: Mutex::new(Queue {
                waiting: Vec::new(),
                drivers: 0,
            }),
        }
    }
}

impl<T> Batch<T> {
    /// Queues `uid`. The second value is `true` when fewer than [`MAX_DRIVERS`] run: the caller
    /// must start one, which then takes batches through [`Batch::drive`] until there are none.
    pub fn join(&self, uid: &str) -> (oneshot::Receiver<T>, bool) {
        let (answer, receiver) = oneshot::channel();
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        queue.waiting.push((uid.into(), answer));
        let start = queue.drivers < MAX_DRIVERS;
        if start {
            queue.drivers += 1;
        }
        (receiver, start)
    }

    /// For the driver that [`Batch::join`] asked to be started.
    pub fn drive(&self) -> Driving<'_, T> {
        Driving {
            batch: self,
            done: false,
        }
    }

    /// How many uids are queued.
    pub fn queued(&self) -> usize {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .waiting
            .len()
    }

    fn next(&self) -> Vec<Waiter<T>> {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if queue.waiting.is_empty() {
            queue.drivers -= 1;
            return Vec::new();
        }
        let take = queue.waiting.len().min(MAX_BATCH);
        let rest = queue.waiting.split_off(take);
        std::mem::replace(&mut queue.waiting, rest)
    }
}

/// A running driver's hold on its batch. Should the driver end before it has seen the queue
/// empty (a panic, its runtime shutting down), dropping this counts it out, and when it was the
/// last one fails the queued waiters (their receivers close), instead of leaving the thread's
/// lookups queued behind drivers that are gone.
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
            queue.drivers -= 1;
            if queue.drivers == 0 {
                queue.waiting.clear();
            }
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
    fn the_first_to_join_start_drivers_and_the_rest_queue_for_them() {
        let batch = Batch::<u8>::default();
        let (_a, start_a) = batch.join("a");
        let (_b, start_b) = batch.join("b");
        let (_c, start_c) = batch.join("c");
        assert!(start_a && start_b);
        assert!(!start_c, "{MAX_DRIVERS} drivers are already running");
        let mut first = batch.drive();
        let mut second = batch.drive();
        assert_eq!(uids(&first.next()), ["a", "b", "c"]);
        // Joined while both drivers are busy: queued for whichever takes the next batch.
        let (_d, start_d) = batch.join("d");
        assert!(!start_d);
        assert_eq!(uids(&second.next()), ["d"]);
        assert!(first.next().is_empty(), "nothing left: this driver stops");
        drop(first);
        // One driver's place is free again.
        let (_e, start_e) = batch.join("e");
        assert!(start_e);
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
    fn drivers_that_end_early_fail_their_waiters_and_free_their_places() {
        let batch = Batch::<u8>::default();
        let (a, _) = batch.join("a");
        let (_b, _) = batch.join("b");
        let mut first = batch.drive();
        let second = batch.drive();
        let in_hand = first.next();
        let (c, start_c) = batch.join("c");
        assert!(!start_c);
        // The first dies holding a and b: they are told; c stays queued for the second.
        drop(in_hand);
        drop(first);
        assert!(
            a.blocking_recv().is_err(),
            "the waiter is told, not left waiting"
        );
        let (_d, start_d) = batch.join("d");
        assert!(start_d, "the dead driver's place is free");
        let replacement = batch.drive();
        // Both die with c and d queued: nobody is left to read them, so they are told.
        drop(second);
        drop(replacement);
        assert!(
            c.blocking_recv().is_err(),
            "the waiter is told, not left waiting"
        );
        let (_e, start_e) = batch.join("e");
        assert!(start_e, "a new driver starts");
    }
}
