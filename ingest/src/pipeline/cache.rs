//! The cache step: while a batch's commit is made durable, its orders are written to Redis in
//! one pipelined round trip (see [`super::store`]), so the read side finds them warm. Redis is a
//! cache, not a store of record: a failure is reported and the pipeline moves on (the read side
//! fills misses from PostgreSQL).

use crate::events::Events;
use order_cache::OrderCache;
use order_model::ValidOrder;

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

    /// Removes the entries of orders announced by [`CacheStep::put`] whose commit then failed.
    /// Should this fail too, the entries expire with their TTL.
    #[tracing::instrument(name = "uncache", skip_all, fields(orders = orders.len()))]
    pub async fn remove(&self, orders: &[&ValidOrder]) {
        let uids = orders.iter().map(|order| order.uid());
        if let Err(err) = self.cache.remove_many(uids).await {
            self.events.cache_write_failed(orders.len(), &err);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Health;
    use crate::metrics::IngestMetrics;
    use order_cache::RedisArgs;
    use std::sync::Arc;

    fn step(redis_url: &str) -> (CacheStep, Arc<IngestMetrics>) {
        let metrics = Arc::new(IngestMetrics::new().expect("metrics"));
        let events = Events::new(metrics.clone(), Arc::new(Health::default()));
        let args = RedisArgs {
            redis_url: redis_url.into(),
            cluster_urls: None,
            ttl_secs: 60,
            key_prefix: "unit:".into(),
            timeout_ms: 200,
            tls: Default::default(),
        };
        let cache = OrderCache::new(&args).expect("redis settings");
        (CacheStep { cache, events }, metrics)
    }

    #[tokio::test]
    async fn an_unreachable_redis_is_counted_and_does_not_fail_the_batch() {
        // Nothing listens on port 1: a real refused connection, not a stand-in.
        let (step, metrics) = step("redis://127.0.0.1:1");
        let order = order_model::decode(order_model::SAMPLE_JSON.as_bytes()).expect("sample");
        step.put(&[&order]).await;
        assert_eq!(metrics.cache_errors.get(), 1);
        step.put(&[]).await;
        assert_eq!(
            metrics.cache_errors.get(),
            1,
            "an empty batch makes no call"
        );
    }
}
