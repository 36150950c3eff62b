//! The cache step: after a batch is stored, its orders are written to Redis in one pipelined
//! round trip, so the read side finds them warm. Redis is a cache, not a store of record: a
//! failure is reported and the pipeline moves on (the read side fills misses from PostgreSQL).

use crate::events::Events;
use shared::cache::OrderCache;
use shared::order::ValidOrder;

#[derive(Debug, Clone)]
pub struct CacheStep {
    pub cache: OrderCache,
    pub events: Events,
}

impl CacheStep {
    /// Writes the given orders (stored ones, and duplicates to repair a lost or expired entry).
    #[tracing::instrument(name = "cache", skip_all, fields(orders = orders.len()))]
    pub async fn put(&self, orders: &[&ValidOrder]) {
        if orders.is_empty() {
            return;
        }
        let entries = orders
            .iter()
            .map(|order| (order.uid(), order.canonical_json()));
        match self.cache.put_many(entries).await {
            Ok(_) => self.events.cache_written(),
            Err(err) => self.events.cache_write_failed(orders.len(), &err),
        }
    }
}
