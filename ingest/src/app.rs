//! Wiring: builds every client from the configuration and runs the pipeline until stopped. Kept
//! apart from `main` so tests start the whole service in-process with their own topics, group,
//! database, key prefix, port 0 and shutdown trigger.

use crate::config::Config;
use crate::events::Events;
use crate::health::Health;
use crate::metrics::IngestMetrics;
use crate::pipeline::cache::CacheStep;
use crate::pipeline::consumer::{IngestConsumer, IngestContext, Shared};
use crate::pipeline::process::Steps;
use crate::pipeline::store::StoreStep;
use crate::pipeline::writer::Writer;
use crate::pipeline::Pipeline;
use anyhow::Context as _;
use backon::{BackoffBuilder, ExponentialBuilder};
use order_cache::OrderCache;
use order_store::{migrate, Db, OrderRepository, StoreError};
use pipeline_kafka::client;
use pipeline_runtime::shutdown::Shutdown;
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::producer::FutureProducer;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// How often readiness re-checks PostgreSQL and Redis while no batch does it.
const PROBE_INTERVAL: Duration = Duration::from_secs(2);
/// Between schema checks at start: 250 ms doubling up to 5 s, jittered; until stopped.
const SCHEMA_WAIT_BACKOFF: ExponentialBuilder =
    crate::pipeline::endless_backoff(Duration::from_millis(250));

pub struct Application {
    pipeline: Pipeline,
    db: Db,
    cache: OrderCache,
    events: Events,
    metrics: Arc<IngestMetrics>,
    addr: SocketAddr,
    server: Pin<Box<dyn Future<Output = ()> + Send>>,
    stop_server: tokio::sync::oneshot::Sender<()>,
}

impl Application {
    /// Builds the clients and binds the HTTP listener. Does not contact PostgreSQL (it may be
    /// down; the service waits for it) and does not join the consumer group yet.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let config = Arc::new(config);
        let metrics = Arc::new(IngestMetrics::new().context("cannot register metrics")?);
        let health = Arc::new(Health::default());
        let events = Events::new(metrics.clone(), health.clone());
        let shared = Arc::new(Shared::new(events.clone()));

        let db = Db::connect(&config.postgres)
            .await
            .context("invalid PostgreSQL settings")?;
        let cache = OrderCache::new(&config.redis).context("invalid Redis settings")?;
        let client_id = format!("ingest-{}", config.group);
        let mut consumer_config =
            client::manual_offset_consumer(&config.kafka, &config.group, &client_id)
                .context("invalid Kafka settings")?;
        consumer_config.set(
            "statistics.interval.ms",
            config.stats_interval_ms.to_string(),
        );
        // librdkafka prefetches up to 64 MB by default (plus a fetch response of up to 50 MB):
        // bounded by INGEST_PREFETCH_MAX_BYTES instead, see the arithmetic in .env.template.
        for (name, value) in config.prefetch_settings() {
            consumer_config.set(name, value);
        }
        let context = IngestContext::new(shared.clone(), &config.kafka.retry_topic);
        let consumer: Arc<IngestConsumer> = Arc::new(
            IngestConsumer::from_config_and_context(&consumer_config, context)
                .context("cannot create the Kafka consumer")?,
        );
        let mut producer_config =
            client::safe_producer(&config.kafka, &format!("{client_id}-writer"), 2)
                .context("invalid Kafka settings")?;
        // A write the broker keeps refusing surfaces as an error (named in /readyz) after this,
        // rather than after librdkafka's two minutes of silent retries.
        producer_config.set("message.timeout.ms", config.produce_timeout_ms.to_string());
        // A missing retry or DLQ topic is a named stall until an operator creates it, not a
        // topic the broker makes up with its defaults (partitions, retention) on the first write.
        producer_config.set("allow.auto.create.topics", "false");
        let producer: FutureProducer = producer_config
            .create()
            .context("cannot create the Kafka producer")?;

        let steps = Steps {
            config: config.clone(),
            store: StoreStep {
                repository: OrderRepository::new(db.clone()),
                db: db.clone(),
                cache: CacheStep {
                    cache: cache.clone(),
                    events: events.clone(),
                },
                shared: shared.clone(),
            },
            writer: Writer::new(producer, shared.clone()),
            shared: shared.clone(),
            consumer: consumer.clone(),
        };
        let pipeline = Pipeline {
            steps,
            consumer,
            shared,
            orders_topic: config.kafka.orders_topic.as_str().into(),
            retry_topic: config.kafka.retry_topic.as_str().into(),
        };

        let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
        let (addr, server) =
            crate::http::serve(config.metrics_addr, metrics.clone(), health, async move {
                let _ = stopped.await;
            })?;
        Ok(Application {
            pipeline,
            db,
            cache,
            events,
            metrics,
            addr,
            server: Box::pin(server),
            stop_server,
        })
    }

    /// Where `/metrics`, `/healthz` and `/readyz` answer.
    pub fn metrics_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn metrics(&self) -> Arc<IngestMetrics> {
        self.metrics.clone()
    }

    /// Serves HTTP, waits for a current schema, then consumes until `shutdown` fires. Fails
    /// (without consuming) when the schema is older than this build.
    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let server = tokio::spawn(self.server);
        let probe = tokio::spawn(probe(
            self.db.clone(),
            self.cache.clone(),
            self.events.clone(),
        ));
        let result = match wait_for_schema(&self.db, &self.events, &shutdown).await {
            Ok(true) => self.pipeline.run(shutdown).await,
            Ok(false) => Ok(()),
            Err(err) => Err(err),
        };
        probe.abort();
        let _ = self.stop_server.send(());
        let _ = server.await;
        result
    }
}

/// Waits until PostgreSQL answers with a current schema. `Ok(false)`: stopped while waiting.
async fn wait_for_schema(db: &Db, events: &Events, shutdown: &Shutdown) -> anyhow::Result<bool> {
    let mut attempt = 0;
    let mut backoff = SCHEMA_WAIT_BACKOFF.build();
    loop {
        match migrate::ensure_current(db).await {
            Ok(()) => {
                events.postgres_reachable(true, None);
                return Ok(true);
            }
            Err(err @ StoreError::SchemaBehind { .. }) => return Err(err.into()),
            Err(err) if err.is_outage() || err.is_transient() => {
                attempt += 1;
                events.schema_wait(&err, attempt);
            }
            Err(err) => return Err(anyhow::anyhow!("cannot check the database schema: {err}")),
        }
        tokio::select! {
            () = shutdown.wait() => return Ok(false),
            () = tokio::time::sleep(backoff.next().unwrap_or(Duration::from_secs(5))) => {}
        }
    }
}

/// Keeps the readiness view of PostgreSQL and Redis fresh while the pipeline is idle.
async fn probe(db: Db, cache: OrderCache, events: Events) {
    let mut interval = tokio::time::interval(PROBE_INTERVAL);
    loop {
        interval.tick().await;
        match db.ping().await {
            Ok(()) => events.postgres_reachable(true, None),
            Err(err) => events.postgres_reachable(false, Some(&err)),
        }
        events.redis_probed(&cache.ping().await);
    }
}
