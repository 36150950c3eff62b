//! Notices when a configuration file changes. Polls: every [`POLL`] it reads the file and
//! compares a digest of the contents with the last one seen.
//!
//! Why polling and not inotify: the ways a file gets replaced defeat a file watch in different
//! ways. Editors and `mv` rename a new file over the old one (a watch on the old inode goes
//! quiet), Kubernetes Secret and ConfigMap volumes swap a `..data` symlink to a new directory
//! (nothing happens to the watched path itself), and `>` rewrites in place. Reading a small file
//! every two seconds catches all of them, including a change that keeps size and mtime, costs a
//! few system calls, and needs no extra dependency. Two seconds keeps the contract's "within 10
//! seconds" with room to spare.

use pipeline_runtime::shutdown::Shutdown;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::Duration;

/// How often the file is read.
pub const POLL: Duration = Duration::from_secs(2);

// The contract's "within 10 seconds": a change is read at the next poll, which must come well
// inside them (checked here, at compile time, rather than by timing a test).
const _: () = assert!(
    POLL.as_secs() * 2 <= 10,
    "POLL must keep changes within 10 s"
);

/// Calls `apply` with the new contents each time they differ from the previous read (`None`
/// once when the file cannot be read), until `shutdown`. `loaded` is the fingerprint of what the
/// caller loaded at start, so a change made before the first poll is not taken as the baseline.
pub async fn watch_file(
    path: &Path,
    loaded: Option<[u8; 32]>,
    shutdown: Shutdown,
    mut apply: impl FnMut(Option<&[u8]>),
) {
    let mut seen = loaded;
    let mut ticks = tokio::time::interval(POLL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = shutdown.wait() => return,
        }
        let contents = tokio::fs::read(path).await;
        if let Err(err) = &contents {
            // Logged only on the transition (below), with the cause here at debug.
            tracing::debug!(path = %path.display(), %err, "cannot read a watched file");
        }
        let contents = contents.ok();
        let now = fingerprint(contents.as_deref());
        if now != seen {
            seen = now;
            apply(contents.as_deref());
        }
    }
}

/// `None` for an unreadable file, else the SHA-256 of its contents.
pub fn fingerprint(contents: Option<&[u8]>) -> Option<[u8; 32]> {
    contents.map(|bytes| Sha256::digest(bytes).into())
}
