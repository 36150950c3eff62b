//! When the repository tries `COPY` first: always, except just after batches whose uids were
//! already stored, which a `COPY` cannot take (see the parent module).

use std::sync::atomic::{AtomicU32, Ordering};

/// Whether to try `COPY` before the `INSERT`. A batch holding a uid already stored pays for
/// both (the `COPY` up to that uid, then the `INSERT`), and redeliveries come in runs (a
/// consumer restarting from its last commit, a producer re-sending): after such a batch the
/// next ones skip the `COPY`, twice as many after each further failure (at most
/// [`CopyPolicy::MAX_SKIP`]), until one `COPY` succeeds again. Shared by a repository's clones;
/// concurrent batches may see it a step late, which only costs a wasted attempt.
#[derive(Debug, Default)]
pub(crate) struct CopyPolicy {
    /// Batches still to send straight to the `INSERT`.
    skip: AtomicU32,
    /// How many to skip after the next failure.
    next_skip: AtomicU32,
}

impl CopyPolicy {
    const MAX_SKIP: u32 = 64;

    /// Whether this batch should try `COPY`.
    pub(crate) fn try_copy(&self) -> bool {
        self.skip
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_err()
    }

    /// A `COPY` stored its batch.
    pub(crate) fn copied(&self) {
        self.next_skip.store(1, Ordering::Relaxed);
    }

    /// A `COPY` met a uid already stored.
    pub(crate) fn uid_taken(&self) {
        let skip = self.next_skip.load(Ordering::Relaxed).max(1);
        self.skip.store(skip, Ordering::Relaxed);
        self.next_skip
            .store((skip * 2).min(Self::MAX_SKIP), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::CopyPolicy;

    fn tries(policy: &CopyPolicy, batches: usize) -> Vec<bool> {
        (0..batches).map(|_| policy.try_copy()).collect()
    }

    #[test]
    fn copy_is_tried_until_a_uid_is_taken_then_skipped_for_longer_each_time() {
        let policy = CopyPolicy::default();
        assert_eq!(tries(&policy, 3), [true; 3]);
        policy.uid_taken();
        assert_eq!(tries(&policy, 2), [false, true]);
        policy.uid_taken();
        assert_eq!(tries(&policy, 3), [false, false, true]);
        policy.uid_taken();
        assert_eq!(tries(&policy, 5), [false, false, false, false, true]);
        for _ in 0..10 {
            policy.uid_taken();
        }
        assert_eq!(tries(&policy, 65).iter().filter(|&&copy| copy).count(), 1);
    }

    #[test]
    fn a_successful_copy_resets_the_skip() {
        let policy = CopyPolicy::default();
        for _ in 0..5 {
            policy.uid_taken();
        }
        policy.copied();
        policy.uid_taken();
        assert_eq!(tries(&policy, 2), [false, true]);
    }
}
