//! Liveness and readiness. Ready means "can serve reads", which needs PostgreSQL (the source of
//! truth) with a current schema. Redis down is reported but does not make the instance
//! not-ready: reads still work from PostgreSQL, only slower, and pulling every instance out of
//! the load balancer because of a cache outage would turn a degradation into a full outage.
//! A failing dependency's last error is in the body under `errors`, one line each; a wrong
//! password or certificate names the service and the cause (contract §9) and is logged at error
//! level when it first appears. The read replica (`DATABASE_READ_URL`) is shown like Redis: down,
//! it degrades (reads go to the primary) but does not make the instance not-ready.
//! The body also says how access is controlled (`"auth": "off"` stands out) and, with JWT, whether
//! the verification keys are loaded: without them and without API keys nobody can read, so the
//! instance is not ready.

use crate::auth::Auth;
use order_cache::{CacheError, OrderCache};
use order_store::{migrate, Db, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
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
#[schema(example = json!({"status": "ready", "postgres": "up", "redis": "down", "auth": "api-key",
    "errors": {"redis": "Redis: authentication failed: Password authentication failed (check the ACL user and password of REDIS_URL)"}}))]
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
    /// With `DATABASE_READ_URL` only: `down` sends reads to the primary, not readiness.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postgres_replica: Option<DependencyState>,
    /// The last error of each dependency that is down (`postgres`, `redis`,
    /// `postgres_replica`), one line each.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, String>,
}

/// Probes the dependencies. Cheap to clone.
#[derive(Clone)]
pub struct Health {
    db: Db,
    cache: OrderCache,
    replica: Option<Db>,
    schema: Arc<AtomicU8>,
    /// The errors of the last check, so a new one is logged once, not at every probe.
    logged: Arc<Mutex<BTreeMap<String, String>>>,
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
            replica: None,
            schema: Arc::new(AtomicU8::new(schema)),
            logged: Arc::default(),
            auth,
        }
    }

    /// Also probes the read replica.
    pub fn with_replica(mut self, replica: Option<Db>) -> Self {
        self.replica = replica;
        self
    }

    pub async fn check(&self) -> Readiness {
        let ((postgres, pg_error), (redis, redis_error), (postgres_replica, replica_error)) =
            tokio::join!(self.postgres(), self.redis(), self.replica());
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
        let problems = [
            ("postgres", pg_error),
            ("redis", redis_error),
            ("postgres_replica", replica_error),
        ];
        self.log_new(&problems);
        let errors = problems
            .into_iter()
            .filter_map(|(name, problem)| problem.map(|p| (name.to_owned(), p.text)))
            .collect();
        Readiness {
            status,
            postgres,
            redis,
            auth: self.auth.mode(),
            jwks,
            postgres_replica,
            errors,
        }
    }

    async fn replica(&self) -> (Option<DependencyState>, Option<Problem>) {
        let Some(replica) = &self.replica else {
            return (None, None);
        };
        match tokio::time::timeout(PROBE_TIMEOUT, replica.ping()).await {
            Ok(Ok(())) => (Some(DependencyState::Up), None),
            Ok(Err(err)) => (Some(DependencyState::Down), Some(Problem::store(&err))),
            Err(_) => {
                let text =
                    format!("the PostgreSQL replica did not answer within {PROBE_TIMEOUT:?}");
                (Some(DependencyState::Down), Some(Problem::plain(text)))
            }
        }
    }

    /// Logs each error that was not there at the previous check: refusals (one line naming the
    /// service and the cause) at error level, other failures as warnings.
    fn log_new(&self, problems: &[(&str, Option<Problem>)]) {
        let mut logged = self.logged.lock().unwrap_or_else(|p| p.into_inner());
        for (dependency, problem) in problems {
            let Some(problem) = problem else {
                logged.remove(*dependency);
                continue;
            };
            if logged.get(*dependency) == Some(&problem.text) {
                continue;
            }
            if problem.refused {
                tracing::error!("{}", problem.text);
            } else {
                tracing::warn!(dependency, error = problem.text.as_str(), "dependency down");
            }
            logged.insert((*dependency).to_owned(), problem.text.clone());
        }
    }

    async fn postgres(&self) -> (DependencyState, Option<Problem>) {
        match tokio::time::timeout(PROBE_TIMEOUT, self.db.ping()).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => return (DependencyState::Down, Some(Problem::store(&err))),
            Err(_) => {
                let text = format!("PostgreSQL did not answer within {PROBE_TIMEOUT:?}");
                return (DependencyState::Down, Some(Problem::plain(text)));
            }
        }
        let state = self.schema_state().await;
        let problem = (state == DependencyState::Down).then(|| {
            Problem::plain("the database schema is not current: run `ingest migrate up`".into())
        });
        (state, problem)
    }

    async fn schema_state(&self) -> DependencyState {
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

    async fn redis(&self) -> (DependencyState, Option<Problem>) {
        // A TLS connect may need the longer REDIS_TIMEOUT_MS it was given; cut short, it would
        // start over at every probe and never report why it fails.
        let limit = PROBE_TIMEOUT.max(self.cache.timeout());
        match tokio::time::timeout(limit, self.cache.ping()).await {
            Ok(Ok(())) => (DependencyState::Up, None),
            Ok(Err(err)) => (DependencyState::Down, Some(Problem::cache(&err))),
            Err(_) => {
                let text = format!("Redis did not answer within {limit:?}");
                (DependencyState::Down, Some(Problem::plain(text)))
            }
        }
    }
}

/// A dependency's error line, and whether it is a refusal an operator must fix.
struct Problem {
    text: String,
    refused: bool,
}

impl Problem {
    fn plain(text: String) -> Self {
        Problem {
            text,
            refused: false,
        }
    }

    fn store(err: &StoreError) -> Self {
        Problem {
            text: err.to_string(),
            refused: err.is_refused(),
        }
    }

    fn cache(err: &CacheError) -> Self {
        Problem {
            text: err.to_string(),
            refused: err.is_refused(),
        }
    }
}
