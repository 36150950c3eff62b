//! A bounded in-process cache of served orders. Orders never change once stored, so an entry is
//! never stale and needs no TTL; the only question is what to forget when full.
//!
//! Each shard keeps two generations: inserts go to `hot`; when `hot` reaches half the shard's
//! budget it becomes `cold` and the old `cold` is dropped. A hit in `cold` moves the entry back
//! to `hot`. That approximates LRU with O(1) work, no linked list, and a hard bound on both
//! entries and bytes. Sharding keeps lock hold times tiny under concurrent reads.

use bytes::Bytes;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

const SHARDS: usize = 16;

#[derive(Default)]
struct Generation {
    entries: HashMap<Box<str>, Bytes>,
    bytes: usize,
}

impl Generation {
    fn insert(&mut self, uid: &str, body: Bytes) {
        self.bytes += body.len();
        if let Some(old) = self.entries.insert(uid.into(), body) {
            self.bytes -= old.len();
        }
    }
}

#[derive(Default)]
struct Shard {
    hot: Generation,
    cold: Generation,
}

pub struct NearCache {
    shards: Vec<Mutex<Shard>>,
    hasher: RandomState,
    /// Per shard and generation.
    max_entries: usize,
    max_bytes: usize,
    len: AtomicUsize,
}

impl NearCache {
    /// A cache of at most `entries` orders and `bytes` bytes of JSON; `entries == 0` disables it.
    pub fn new(entries: usize, bytes: usize) -> Self {
        let enabled = entries > 0 && bytes > 0;
        Self {
            shards: if enabled {
                (0..SHARDS).map(|_| Mutex::default()).collect()
            } else {
                Vec::new()
            },
            hasher: RandomState::new(),
            max_entries: (entries / SHARDS / 2).max(1),
            max_bytes: (bytes / SHARDS / 2).max(1),
            len: AtomicUsize::new(0),
        }
    }

    fn shard(&self, uid: &str) -> Option<&Mutex<Shard>> {
        if self.shards.is_empty() {
            return None;
        }
        let index = usize::try_from(self.hasher.hash_one(uid)).unwrap_or(0) % self.shards.len();
        self.shards.get(index)
    }

    pub fn get(&self, uid: &str) -> Option<Bytes> {
        let mut shard = self
            .shard(uid)?
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(body) = shard.hot.entries.get(uid) {
            return Some(body.clone());
        }
        let body = shard.cold.entries.remove(uid)?;
        shard.cold.bytes -= body.len();
        // Moved from cold to hot: the count only changes if that rotates a generation out.
        self.insert_locked(&mut shard, uid, body.clone());
        Some(body)
    }

    pub fn insert(&self, uid: &str, body: Bytes) {
        // An order bigger than a generation's byte budget would evict everything for nothing.
        if body.len() > self.max_bytes {
            return;
        }
        let Some(shard) = self.shard(uid) else { return };
        let mut shard = shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if shard.hot.entries.contains_key(uid) {
            return;
        }
        if let Some(old) = shard.cold.entries.remove(uid) {
            shard.cold.bytes -= old.len();
        } else {
            self.len.fetch_add(1, Ordering::Relaxed);
        }
        self.insert_locked(&mut shard, uid, body);
    }

    /// Puts `body` in `hot`, rotating first when `hot` is full.
    fn insert_locked(&self, shard: &mut Shard, uid: &str, body: Bytes) {
        let full = shard.hot.entries.len() >= self.max_entries
            || shard.hot.bytes + body.len() > self.max_bytes;
        if full {
            let hot = std::mem::take(&mut shard.hot);
            let dropped = std::mem::replace(&mut shard.cold, hot);
            self.len.fetch_sub(dropped.entries.len(), Ordering::Relaxed);
        }
        shard.hot.insert(uid, body);
    }

    /// Orders held now.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_recent_orders_and_stays_bounded() {
        let cache = NearCache::new(320, 1 << 20);
        for n in 0..10_000 {
            cache.insert(&format!("uid{n}"), Bytes::from(format!("{{\"n\":{n}}}")));
            assert!(cache.len() <= 320, "len {} after {n}", cache.len());
        }
        assert_eq!(cache.get("uid9999").as_deref(), Some(&b"{\"n\":9999}"[..]));
        assert!(cache.get("uid0").is_none());
        let held = (0..10_000)
            .filter(|n| cache.get(&format!("uid{n}")).is_some())
            .count();
        assert_eq!(held, cache.len());
    }

    #[test]
    fn respects_the_byte_budget() {
        let cache = NearCache::new(10_000, 16 * 2 * 100);
        for n in 0..1_000 {
            cache.insert(&format!("uid{n}"), Bytes::from(vec![b'x'; 40]));
        }
        assert!(cache.len() <= 16 * 2 * 2, "len {}", cache.len());
    }

    #[test]
    fn disabled_cache_holds_nothing() {
        let cache = NearCache::new(0, 1 << 20);
        cache.insert("a", Bytes::from_static(b"{}"));
        assert!(cache.get("a").is_none());
        assert_eq!(cache.len(), 0);
    }
}
