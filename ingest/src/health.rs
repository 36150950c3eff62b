//! What `/readyz` reports: the state of each dependency as the pipeline last saw it, and every
//! reason it is not making progress, named (the dependency and the cause in words). Written by
//! the pipeline (through [`crate::events`]) and read by the HTTP handlers: atomics, and one
//! short-lived lock on the list of stalls, never held while anything else happens.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

/// One reason ingest is not making progress, as `/readyz` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stall {
    /// The `reason` label of `ingest_stalled`, e.g. `database_error`.
    pub reason: &'static str,
    /// `postgres`, `kafka` or `ingest`.
    pub dependency: &'static str,
    /// What is wrong, e.g. "PostgreSQL: permission denied for table orders (42501)".
    pub cause: String,
    pub since: SystemTime,
    /// Whether it stops all consumption (and makes ingest not ready); a parked retry partition
    /// does not: the retry topic is working as designed, and every other partition flows.
    pub blocking: bool,
}

/// Where the consumer is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ConsumerState {
    /// Waiting for the database schema check, or for the first group assignment.
    Starting = 0,
    /// A member of the group (possibly with no partitions, when there are more members).
    Running = 1,
    /// Shutting down or stopped.
    Stopped = 2,
}

/// Last known Redis state (0 = not checked yet); it never affects readiness: orders are
/// stored without it.
const REDIS_UP: u8 = 1;
const REDIS_DOWN: u8 = 2;

/// The dependencies `/readyz` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dependency {
    Kafka,
    Postgres,
    Redis,
}

impl Dependency {
    fn key(self) -> &'static str {
        match self {
            Dependency::Kafka => "kafka",
            Dependency::Postgres => "postgres",
            Dependency::Redis => "redis",
        }
    }
}

#[derive(Debug, Default)]
pub struct Health {
    postgres_up: AtomicBool,
    /// Some stall holds every partition.
    blocked: AtomicBool,
    consumer: AtomicU8,
    assigned: AtomicUsize,
    redis: AtomicU8,
    stalls: Mutex<Vec<Stall>>,
    /// The last error of each dependency that is failing, one line each (contract §9: a wrong
    /// password or certificate is named here). Written rarely, so a mutex is cheap enough.
    errors: Mutex<BTreeMap<Dependency, String>>,
}

impl Health {
    /// Ready: PostgreSQL answers, the consumer is in its group, and no stall holds consumption.
    pub fn is_ready(&self) -> bool {
        self.postgres_up.load(Ordering::Relaxed)
            && !self.blocked.load(Ordering::Relaxed)
            && self.consumer_state() == ConsumerState::Running
    }

    /// Replaces the list of stalls (oldest first).
    pub fn set_stalls(&self, stalls: Vec<Stall>) {
        self.blocked
            .store(stalls.iter().any(|s| s.blocking), Ordering::Relaxed);
        *self.stalls.lock().unwrap_or_else(PoisonError::into_inner) = stalls;
    }

    pub fn stalls(&self) -> Vec<Stall> {
        self.stalls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn set_postgres_up(&self, up: bool) -> bool {
        self.postgres_up.swap(up, Ordering::Relaxed) != up
    }

    pub fn postgres_up(&self) -> bool {
        self.postgres_up.load(Ordering::Relaxed)
    }

    pub fn set_consumer(&self, state: ConsumerState) {
        self.consumer.store(state as u8, Ordering::Relaxed);
    }

    pub fn consumer_state(&self) -> ConsumerState {
        match self.consumer.load(Ordering::Relaxed) {
            1 => ConsumerState::Running,
            2 => ConsumerState::Stopped,
            _ => ConsumerState::Starting,
        }
    }

    pub fn set_assigned(&self, partitions: usize) {
        self.assigned.store(partitions, Ordering::Relaxed);
    }

    pub fn set_redis_up(&self, up: bool) {
        self.redis
            .store(if up { REDIS_UP } else { REDIS_DOWN }, Ordering::Relaxed);
    }

    /// Records (`Some`) or clears (`None`) a dependency's error; true when it changed.
    pub fn set_error(&self, dependency: Dependency, error: Option<&str>) -> bool {
        let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        match error {
            Some(text) if errors.get(&dependency).map(String::as_str) != Some(text) => {
                errors.insert(dependency, text.to_owned());
                true
            }
            None => errors.remove(&dependency).is_some(),
            Some(_) => false,
        }
    }

    pub fn has_error(&self, dependency: Dependency) -> bool {
        let errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        errors.contains_key(&dependency)
    }

    fn errors(&self) -> Map<String, Value> {
        let errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        errors
            .iter()
            .map(|(dependency, text)| (dependency.key().to_owned(), Value::from(text.as_str())))
            .collect()
    }

    /// The `/readyz` body.
    pub fn report(&self) -> Value {
        let stalls = self.stalls();
        let held = |reason: &str| stalls.iter().any(|s| s.reason == reason);
        let postgres = if held("dependency_unavailable") {
            "outage"
        } else if held("database_error") {
            "error"
        } else if self.postgres_up() {
            "up"
        } else {
            "down"
        };
        let kafka = match self.consumer_state() {
            ConsumerState::Running if held("kafka_unavailable") => "unavailable",
            ConsumerState::Running if held("produce_failed") => "refusing writes",
            ConsumerState::Starting => "starting",
            ConsumerState::Running => "running",
            ConsumerState::Stopped => "stopped",
        };
        let redis = match self.redis.load(Ordering::Relaxed) {
            REDIS_UP => "up",
            REDIS_DOWN => "degraded",
            _ => "unknown",
        };
        let now = SystemTime::now();
        let stalls: Vec<Value> = stalls
            .iter()
            .map(|s| {
                let since: DateTime<Utc> = s.since.into();
                json!({
                    "reason": s.reason,
                    "dependency": s.dependency,
                    "cause": s.cause,
                    "since": since.to_rfc3339_opts(SecondsFormat::Secs, true),
                    "seconds": now.duration_since(s.since).map_or(0, |d| d.as_secs()),
                    "blocking": s.blocking,
                })
            })
            .collect();
        let mut body = json!({
            "ready": self.is_ready(),
            "dependencies": { "postgres": postgres, "kafka": kafka, "redis": redis },
            "assigned_partitions": self.assigned.load(Ordering::Relaxed),
            "stalls": stalls,
        });
        let errors = self.errors();
        if !errors.is_empty() {
            body["errors"] = Value::Object(errors);
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stall(reason: &'static str, blocking: bool) -> Stall {
        Stall {
            reason,
            dependency: "postgres",
            cause: "PostgreSQL: permission denied for table orders (42501)".into(),
            since: SystemTime::now(),
            blocking,
        }
    }

    #[test]
    fn ready_needs_postgres_a_running_consumer_and_no_blocking_stall() {
        let health = Health::default();
        assert!(!health.is_ready());
        health.set_postgres_up(true);
        health.set_consumer(ConsumerState::Running);
        assert!(health.is_ready());
        health.set_stalls(vec![stall("retry_parked", false)]);
        assert!(
            health.is_ready(),
            "a parked retry partition is not an outage"
        );
        health.set_stalls(vec![stall("database_error", true)]);
        assert!(!health.is_ready());
        let report = health.report();
        assert_eq!(report["dependencies"]["postgres"], "error");
        assert_eq!(report["stalls"][0]["reason"], "database_error");
        assert_eq!(report["stalls"][0]["dependency"], "postgres");
        assert!(report["stalls"][0]["cause"]
            .as_str()
            .is_some_and(|c| c.contains("permission denied")));
        health.set_stalls(Vec::new());
        health.set_redis_up(false);
        assert!(health.is_ready(), "Redis never decides readiness");
    }
}
