//! Waiting on a condition instead of sleeping and hoping: a test names what it waits for, polls
//! it, and fails with that name once a deadline generous enough for a slow shared CI machine
//! passes. The deadline is a bound on a hang, never a judgement of speed (benchmarks do that).

use std::future::Future;
use std::time::Duration;

/// How long any condition may take before a test fails (slow shared CI machines).
pub const DEADLINE: Duration = Duration::from_secs(120);

/// How often a condition is polled.
const POLL: Duration = Duration::from_millis(100);

/// Polls `condition` until it returns true; fails naming `what` once [`DEADLINE`] passes.
pub async fn until<F, Fut>(what: &str, condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    within(what, DEADLINE, condition).await
}

/// [`until`] with another bound, for a condition known to hang otherwise (not a speed check).
pub async fn within<F, Fut>(what: &str, limit: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let give_up = tokio::time::Instant::now() + limit;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < give_up,
            "not within {limit:?}: {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}
