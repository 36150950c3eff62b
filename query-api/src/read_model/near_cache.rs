//! A bounded in-process cache of served orders: the exact response bytes, so a hit costs a
//! hash lookup and a reference-count increment, no serialisation. Orders never change once
//! stored, so an entry is never stale and needs no TTL; the only question is what to forget
//! when full.
//!
//! That question is quick_cache's (CLOCK-PRO-like: a new order enters a small cold queue and is
//! promoted only if it is read again; forgotten uids are remembered as ghosts, so one read
//! soon again gets it straight into the hot queue). A scan through every stored order (a
//! crawler, a bulk export reading one uid after another) passes through the cold queue without
//! flushing the orders that are read again and again.
//!
//! Why quick_cache and not moka (which this used before): a hit here is the whole cost of a
//! read, and moka records every hit in a buffer shared by the HTTP threads and replays it into
//! its LRU lists: 6.8 % of query-api's samples in a profile of cache hits. A quick_cache
//! hit takes the read lock of one of several shards and bumps a counter on the entry only
//! while it is below its cap: the only memory two threads' hits both write is that shard's lock
//! word, when they land on the same shard.
//!
//! Both bounds of the settings hold at once: each entry weighs at least `max_bytes / entries`,
//! so the cache holds at most `entries` orders and at most `max_bytes` bytes of JSON.

use bytes::Bytes;
use quick_cache::sync::Cache;
use quick_cache::Weighter;
use std::sync::Arc;

pub struct NearCache {
    /// `None` when disabled (no entries or no bytes allowed).
    cache: Option<Cache<Arc<str>, Bytes, ByteWeight>>,
    /// The largest order worth holding: a bigger one would evict many for one.
    max_entry_bytes: usize,
}

/// An entry weighs its uid and body, and at least `floor` (the entry bound in bytes).
#[derive(Clone)]
struct ByteWeight {
    floor: u64,
}

impl Weighter<Arc<str>, Bytes> for ByteWeight {
    fn weight(&self, uid: &Arc<str>, body: &Bytes) -> u64 {
        u64::try_from(uid.len() + body.len())
            .unwrap_or(u64::MAX)
            .max(self.floor)
    }
}

impl NearCache {
    /// A cache of at most `entries` orders and `bytes` bytes of JSON; `entries == 0` disables it.
    pub fn new(entries: usize, bytes: usize) -> Self {
        if entries == 0 || bytes == 0 {
            return Self {
                cache: None,
                max_entry_bytes: 0,
            };
        }
        let floor = u64::try_from((bytes / entries).max(1)).unwrap_or(u64::MAX);
        let capacity = u64::try_from(bytes).unwrap_or(u64::MAX);
        let cache = Cache::with_weighter(entries, capacity, ByteWeight { floor });
        Self {
            cache: Some(cache),
            max_entry_bytes: bytes / 16,
        }
    }

    pub fn get(&self, uid: &str) -> Option<Bytes> {
        self.cache.as_ref()?.get(uid)
    }

    pub fn insert(&self, uid: &str, body: Bytes) {
        let Some(cache) = &self.cache else { return };
        if body.len() <= self.max_entry_bytes {
            cache.insert(uid.into(), body);
        }
    }

    /// Orders held now.
    pub fn len(&self) -> usize {
        self.cache.as_ref().map_or(0, Cache::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(n: usize) -> Bytes {
        Bytes::from(format!("{{\"n\":{n}}}"))
    }

    #[test]
    fn stays_within_its_entry_bound() {
        let cache = NearCache::new(320, 1 << 20);
        for n in 0..10_000 {
            cache.insert(&format!("uid{n}"), body(n));
        }
        assert!(cache.len() <= 320, "len {}", cache.len());
        let held = (0..10_000)
            .filter(|n| cache.get(&format!("uid{n}")).is_some())
            .count();
        assert!(held > 0 && held <= 320, "held {held}");
    }

    #[test]
    fn respects_the_byte_budget() {
        let cache = NearCache::new(10_000, 16 * 2 * 100);
        for n in 0..1_000 {
            cache.insert(&format!("uid{n}"), Bytes::from(vec![b'x'; 40]));
        }
        let held = (0..1_000)
            .filter(|n| cache.get(&format!("uid{n}")).is_some())
            .count();
        // Each entry weighs its uid and body (at least 45 bytes): at most 3,200 / 45 of them.
        assert!(held <= 3_200 / 45, "held {held}");
    }

    #[test]
    fn a_scan_does_not_flush_the_orders_read_again_and_again() {
        // 80 popular orders, read over and over while a scan goes through 5,000 others, each
        // read once (a crawler): one popular read per scanned order.
        let cache = NearCache::new(100, 1 << 20);
        let popular: Vec<String> = (0..80).map(|n| format!("hot{n}")).collect();
        let read = |uid: &str, n: usize| {
            let hit = cache.get(uid).is_some();
            if !hit {
                cache.insert(uid, body(n));
            }
            hit
        };
        for n in 0..400 {
            read(&popular[n % popular.len()], n);
        }
        let mut popular_hits = 0;
        for n in 0..5_000 {
            read(&format!("scan{n}"), n);
            if read(&popular[n % popular.len()], n) {
                popular_hits += 1;
            }
        }
        // A recency-only cache of 100 loses every popular order between two of its reads (80
        // scanned orders arrive in between); this cache keeps nearly all of them.
        assert!(
            popular_hits >= 4_500,
            "popular hits {popular_hits} of 5,000"
        );
    }

    #[test]
    fn disabled_cache_holds_nothing() {
        let cache = NearCache::new(0, 1 << 20);
        cache.insert("a", Bytes::from_static(b"{}"));
        assert!(cache.get("a").is_none());
        assert_eq!(cache.len(), 0);
    }
}
