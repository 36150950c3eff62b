//! Removing what a test created, from a guard's `Drop`: it runs when the test ends, also when it
//! panics. Drop is sync and often runs on a tokio worker, where blocking on the runtime it runs
//! in would deadlock; so the work runs on a fresh thread (with its own small runtime when it is
//! async) and the dropping thread waits for it, with a limit. Cleanup never panics: a failure is
//! written to stderr and the test's own outcome stands. `KEEP_TEST_DATA=1` keeps everything, to
//! look at a failed test's database, topics or keys afterwards.

use std::sync::mpsc;
use std::time::Duration;

/// The variable that keeps test data for debugging (any value but empty or `0`).
pub const KEEP_VAR: &str = "KEEP_TEST_DATA";

/// How long a drop waits for its cleanup before leaving it to finish on its own.
const LIMIT: Duration = Duration::from_secs(60);

/// Whether test data is kept ([`KEEP_VAR`] is set).
pub fn keep() -> bool {
    std::env::var(KEEP_VAR).is_ok_and(|value| !value.is_empty() && value != "0")
}

/// Runs `work` on its own thread and waits for it; `what` names the resource in messages.
pub(crate) fn run<F>(what: String, work: F)
where
    F: FnOnce() -> Result<(), String> + Send + 'static,
{
    if keep() {
        eprintln!("{KEEP_VAR} is set: keeping {what}");
        return;
    }
    let (done, finished) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("test-cleanup".into())
        .spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
                .unwrap_or_else(|_| Err("the cleanup panicked".into()));
            let _ = done.send(outcome);
        });
    if let Err(err) = spawned {
        eprintln!("cannot remove {what}: no cleanup thread ({err})");
        return;
    }
    match finished.recv_timeout(LIMIT) {
        Ok(Ok(())) => {}
        Ok(Err(err)) => eprintln!("cannot remove {what}: {err}"),
        Err(_) => eprintln!("removing {what} takes over {LIMIT:?}; the test goes on"),
    }
}

/// Runs `future` to completion on a runtime of its own (call from [`run`]'s thread only).
#[cfg(any(feature = "store", feature = "kafka"))]
pub(crate) fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("no runtime for the cleanup: {err}"))?;
    Ok(runtime.block_on(future))
}
