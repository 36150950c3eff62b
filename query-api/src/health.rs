//! Liveness and readiness. Ready means "can serve reads", which needs PostgreSQL (the source of
//! truth) with a current schema. Redis down is reported but does not make the instance
//! not-ready: reads still work from PostgreSQL, only slower, and pulling every instance out of
//! the load balancer because of a cache outage would turn a degradation into a full outage.
//! The body also says how access is controlled (`"auth": "off"` stands out) and, with JWT, whether
//! the verification keys are loaded: without them and without API keys nobody can read, so the
//! instance is not ready.

use crate::auth::Auth;
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
#[schema(example = json!({"status": "ready", "postgres": "up", "redis": "down", "auth": "api-key"}))]
pub struct Readiness {
    /// `ready` when reads can be served (PostgreSQL up).
    pub status: Status,
    pub postgres: DependencyState,
    /// `down` degrades latency but not readiness.
    pub redis: DependencyState,
    /// `AUTH_MODE`: `off`, `api-key`, `jwt` or `api-key,jwt`.
    pub auth: &'static str,
    /// With `jwt`: whether the JWKS is loaded (a failed refresh keeps the previous keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<DependencyState>,
}

/// Probes the dependencies. Cheap to clone.
#[derive(Clone)]
pub struct Health {
    db: Db,
    cache: OrderCache,
    schema: Arc<AtomicU8>,
    auth: Arc<Auth>,
}

impl Health {
    /// `schema_current`: whether the start-up check already confirmed the schema.
    pub fn new(db: Db, cache: OrderCache, schema_current: bool, auth: Arc<Auth>) -> Self {
        let schema = if schema_current {
            SCHEMA_CURRENT
        } else {
            SCHEMA_UNKNOWN
        };
        Self {
            db,
            cache,
            schema: Arc::new(AtomicU8::new(schema)),
            auth,
        }
    }

    pub async fn check(&self) -> Readiness {
        let (postgres, redis) = tokio::join!(self.postgres(), self.redis());
        let jwks = self.auth.jwks().map(|jwks| {
            if jwks.loaded() {
                DependencyState::Up
            } else {
                DependencyState::Down
            }
        });
        let locked_out = self.auth.jwt_only() && jwks == Some(DependencyState::Down);
        let status = if postgres == DependencyState::Up && !locked_out {
            Status::Ready
        } else {
            Status::NotReady
        };
        Readiness {
            status,
            postgres,
            redis,
            auth: self.auth.mode(),
            jwks,
        }
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
