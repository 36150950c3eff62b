//! Liveness and readiness. Ready means "can serve reads", which needs PostgreSQL (the source of
//! truth) with a current schema. Redis down is reported but does not make the instance
//! not-ready: reads still work from PostgreSQL, only slower, and pulling every instance out of
//! the load balancer because of a cache outage would turn a degradation into a full outage.
//! The same holds for the read replica (`DATABASE_READ_URL`): down, it is shown, and reads go to
//! the primary.

use order_cache::OrderCache;
use order_store::{migrate, Db, StoreError};
use serde::Serialize;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Bound on each dependency probe: a readiness answer must come back quickly.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

const SCHEMA_UNKNOWN: u8 = 0;
const SCHEMA_CURRENT: u8 = 1;
const SCHEMA_BEHIND: u8 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ready,
    NotReady,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DependencyState {
    Up,
    Down,
}

/// `GET /readyz` body.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"status": "ready", "postgres": "up", "redis": "down"}))]
pub struct Readiness {
    /// `ready` when reads can be served (PostgreSQL up).
    pub status: Status,
    pub postgres: DependencyState,
    /// `down` degrades latency but not readiness.
    pub redis: DependencyState,
    /// With `DATABASE_READ_URL` only: `down` sends reads to the primary, not readiness.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postgres_replica: Option<DependencyState>,
}

/// Probes the dependencies. Cheap to clone.
#[derive(Clone)]
pub struct Health {
    db: Db,
    cache: OrderCache,
    replica: Option<Db>,
    schema: Arc<AtomicU8>,
}

impl Health {
    /// `schema_current`: whether the start-up check already confirmed the schema.
    pub fn new(db: Db, cache: OrderCache, schema_current: bool) -> Self {
        let schema = if schema_current {
            SCHEMA_CURRENT
        } else {
            SCHEMA_UNKNOWN
        };
        Self {
            db,
            cache,
            replica: None,
            schema: Arc::new(AtomicU8::new(schema)),
        }
    }

    /// Also probes the read replica.
    pub fn with_replica(mut self, replica: Option<Db>) -> Self {
        self.replica = replica;
        self
    }

    pub async fn check(&self) -> Readiness {
        let (postgres, redis, postgres_replica) =
            tokio::join!(self.postgres(), self.redis(), self.replica());
        let status = if postgres == DependencyState::Up {
            Status::Ready
        } else {
            Status::NotReady
        };
        Readiness {
            status,
            postgres,
            redis,
            postgres_replica,
        }
    }

    async fn replica(&self) -> Option<DependencyState> {
        let replica = self.replica.as_ref()?;
        Some(
            match tokio::time::timeout(PROBE_TIMEOUT, replica.ping()).await {
                Ok(Ok(())) => DependencyState::Up,
                _ => DependencyState::Down,
            },
        )
    }

    async fn postgres(&self) -> DependencyState {
        let ping = tokio::time::timeout(PROBE_TIMEOUT, self.db.ping()).await;
        if !matches!(ping, Ok(Ok(()))) {
            return DependencyState::Down;
        }
        match self.schema.load(Ordering::Acquire) {
            SCHEMA_CURRENT => DependencyState::Up,
            SCHEMA_BEHIND => DependencyState::Down,
            // PostgreSQL was unreachable at start: the schema check is owed until now.
            _ => match tokio::time::timeout(PROBE_TIMEOUT, migrate::ensure_current(&self.db)).await
            {
                Ok(Ok(())) => {
                    self.schema.store(SCHEMA_CURRENT, Ordering::Release);
                    tracing::info!("postgres reachable and its schema is current");
                    DependencyState::Up
                }
                Ok(Err(err @ StoreError::SchemaBehind { .. })) => {
                    self.schema.store(SCHEMA_BEHIND, Ordering::Release);
                    tracing::error!(%err, "refusing to report ready");
                    DependencyState::Down
                }
                _ => DependencyState::Down,
            },
        }
    }

    async fn redis(&self) -> DependencyState {
        match tokio::time::timeout(PROBE_TIMEOUT, self.cache.ping()).await {
            Ok(Ok(())) => DependencyState::Up,
            _ => DependencyState::Down,
        }
    }
}
