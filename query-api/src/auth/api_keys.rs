//! API keys (contract §8, mode `api-key`). The keys file holds SHA-256 digests, never keys, so
//! neither it nor this process holds anything a reader could present. A presented key is hashed
//! once and looked up by its digest; the table is swapped atomically (lock-free reads) when
//! [`super::watch`] sees the file change.
//!
//! Timing: the contract's "compared in constant time" is about never comparing the presented key
//! with a stored key byte by byte, which would let a caller guess a key a byte at a time. No key
//! is ever compared here: what the lookup compares (SipHash with a per-process random seed to find
//! the bucket, then 32-byte equality) is the SHA-256 of the caller's own guess against stored
//! digests. The time that takes could at most tell how the digest of a chosen guess relates to
//! a stored digest — and knowing even a whole stored digest gives no key without a SHA-256
//! preimage (the keys file is not secret for that reason). So the lookup leaks nothing usable, and
//! scales with the number of keys, which a constant-time scan of every entry would not.

use super::{watch, Scopes};
use anyhow::Context;
use arc_swap::ArcSwap;
use pipeline_runtime::shutdown::Shutdown;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Keys are 16–256 characters from `!` to `~` (contract §8).
pub const MIN_KEY_LEN: usize = 16;
pub const MAX_KEY_LEN: usize = 256;
/// Key ids end up in logs: short, printable, no spaces.
const MAX_ID_LEN: usize = 64;

/// One line of the keys file.
#[derive(Debug)]
pub struct KeyEntry {
    /// The key's name: the rate-limit caller and what logs say, never the key.
    pub id: Arc<str>,
    pub scopes: Scopes,
    digest: [u8; 32],
}

/// What is wrong with one line (by number: lines hold digests, which are not repeated in logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub reason: &'static str,
}

/// The keys by the SHA-256 of the key.
#[derive(Debug, Default)]
pub struct KeyTable {
    by_digest: HashMap<[u8; 32], KeyEntry>,
}

impl KeyTable {
    /// The valid lines of `text`, and what is wrong with the others.
    pub fn parse(text: &str) -> (KeyTable, Vec<LineError>) {
        let mut table = KeyTable::default();
        let mut errors = Vec::new();
        let mut ids = std::collections::HashSet::new();
        for (index, line) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match parse_line(line) {
                Err(reason) => errors.push(LineError {
                    line: line_no,
                    reason,
                }),
                Ok(entry) if !ids.insert(Arc::clone(&entry.id)) => errors.push(LineError {
                    line: line_no,
                    reason: "the key id is used by an earlier line",
                }),
                Ok(entry) if table.by_digest.contains_key(&entry.digest) => {
                    errors.push(LineError {
                        line: line_no,
                        reason: "the same key is listed by an earlier line",
                    })
                }
                Ok(entry) => {
                    table.by_digest.insert(entry.digest, entry);
                }
            }
        }
        (table, errors)
    }

    pub fn len(&self) -> usize {
        self.by_digest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_digest.is_empty()
    }

    /// The entry whose key is `key`, if any.
    pub fn find(&self, key: &str) -> Option<&KeyEntry> {
        if !(MIN_KEY_LEN..=MAX_KEY_LEN).contains(&key.len()) {
            return None;
        }
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        // Digests, not keys, are compared: see the module's note on timing.
        self.by_digest.get(&digest)
    }
}

fn parse_line(line: &str) -> Result<KeyEntry, &'static str> {
    let mut fields = line.split_ascii_whitespace();
    let (Some(id), Some(hex), Some(scopes), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err("expected `<key-id> <sha256-hex of the key> <scope>[,<scope>…]`");
    };
    if id.len() > MAX_ID_LEN || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the key id must be 1–64 printable characters");
    }
    let digest = parse_digest(hex).ok_or("the digest must be 64 hex digits (sha256 of the key)")?;
    let names: Vec<&str> = scopes.split(',').collect();
    if names.iter().any(|name| name.is_empty()) {
        return Err("scopes are comma-separated names such as orders:read,orders:list");
    }
    for unknown in names
        .iter()
        .filter(|name| super::Scope::from_name(name).is_none())
    {
        tracing::warn!(
            key_id = id,
            scope = unknown,
            "API_KEYS_FILE: unknown scope ignored"
        );
    }
    Ok(KeyEntry {
        id: Arc::from(id),
        scopes: Scopes::from_names(names),
        digest,
    })
}

fn parse_digest(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let nibble = |b: u8| (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let mut digest = [0u8; 32];
    for (out, pair) in digest.iter_mut().zip(bytes.chunks_exact(2)) {
        *out = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(digest)
}

/// The keys file's current table.
pub struct ApiKeys {
    path: PathBuf,
    table: ArcSwap<KeyTable>,
    /// What [`ApiKeys::load`] read, the baseline for [`ApiKeys::watch`].
    loaded: Option<[u8; 32]>,
}

impl ApiKeys {
    /// Reads the file; any bad line stops the start (a typo must not lock people out silently).
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read API_KEYS_FILE {}", path.display()))?;
        let text = std::str::from_utf8(&bytes)
            .with_context(|| format!("API_KEYS_FILE {} is not UTF-8", path.display()))?;
        let (table, errors) = KeyTable::parse(text);
        if let Some(first) = errors.first() {
            anyhow::bail!(
                "API_KEYS_FILE {} line {}: {} ({} bad line(s))",
                path.display(),
                first.line,
                first.reason,
                errors.len()
            );
        }
        if table.is_empty() {
            tracing::warn!(path = %path.display(), "API_KEYS_FILE lists no keys: every API key is refused");
        }
        tracing::info!(path = %path.display(), keys = table.len(), "api keys loaded");
        Ok(Self {
            path: path.to_owned(),
            table: ArcSwap::from_pointee(table),
            loaded: watch::fingerprint(Some(&bytes)),
        })
    }

    /// Runs `decide` on the entry of `key` when the file lists it; `None` when it does not.
    pub fn check<R>(&self, key: &str, decide: impl FnOnce(&KeyEntry) -> R) -> Option<R> {
        let table = self.table.load();
        table.find(key).map(decide)
    }

    /// Applies the file's changes until `shutdown`. A line that became invalid disables its
    /// key (and is logged by number); a missing file disables every key: both fail closed.
    pub async fn watch(&self, shutdown: Shutdown) {
        watch::watch_file(&self.path, self.loaded, shutdown, |contents| {
            let text = contents.map(|bytes| String::from_utf8_lossy(bytes).into_owned());
            let (table, errors) = match &text {
                Some(text) => KeyTable::parse(text),
                None => {
                    tracing::error!(path = %self.path.display(), "API_KEYS_FILE is gone: refusing every API key until it is back");
                    (KeyTable::default(), Vec::new())
                }
            };
            for error in &errors {
                tracing::error!(path = %self.path.display(), line = error.line, reason = error.reason, "API_KEYS_FILE: line ignored");
            }
            tracing::info!(path = %self.path.display(), keys = table.len(), "api keys reloaded");
            self.table.store(Arc::new(table));
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Scope;

    const KEY: &str = "correct-horse-battery-staple";

    fn hex_digest(key: &str) -> String {
        Sha256::digest(key.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn finds_keys_by_digest_with_their_scopes() {
        let text = format!(
            "# comment\n\n  reader {} orders:read\nlister {} orders:list,orders:read,future:scope\n",
            hex_digest(KEY),
            hex_digest("another-key-0123456789").to_uppercase()
        );
        let (table, errors) = KeyTable::parse(&text);
        assert!(errors.is_empty(), "{errors:?}");
        let reader = table.find(KEY).map(|e| (e.id.to_string(), e.scopes));
        assert_eq!(
            reader,
            Some(("reader".into(), Scopes::default().with(Scope::Read)))
        );
        let lister = table.find("another-key-0123456789").map(|e| e.scopes);
        assert!(lister.is_some_and(|s| s.contains(Scope::List) && s.contains(Scope::Read)));
        assert!(table.find("correct-horse-battery-stapl").is_none());
        assert!(
            table.find(&hex_digest(KEY)).is_none(),
            "the digest is not the key"
        );
    }

    #[test]
    fn bad_lines_are_reported_by_number_and_skipped() {
        let good = hex_digest(KEY);
        let text = format!(
            "a {good} orders:read\nb {good} orders:read\na {} orders:read\nc xyz orders:read\n\
             d {} \ne {} orders:read, extra\nf {} orders:read,,orders:list\n",
            hex_digest("other-key-000000000"),
            hex_digest("k3-000000000000000"),
            hex_digest("k4-000000000000000"),
            hex_digest("k5-000000000000000"),
        );
        let (table, errors) = KeyTable::parse(&text);
        assert_eq!(table.len(), 1);
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn keys_outside_the_length_bounds_never_match() {
        let short = "0123456789abcde";
        let text = format!("s {} orders:read\n", hex_digest(short));
        let (table, _) = KeyTable::parse(&text);
        assert!(table.find(short).is_none());
        assert!(table.find(&"x".repeat(257)).is_none());
    }
}
