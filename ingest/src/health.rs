//! What `/readyz` reports: the state of each dependency as the pipeline last saw it. Written by
//! the pipeline (through [`crate::events`]) and read by the HTTP handlers, so it is a handful of
//! atomics rather than anything that could block the consume loop.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Mutex;

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
    outage: AtomicBool,
    consumer: AtomicU8,
    assigned: AtomicUsize,
    redis: AtomicU8,
    /// The last error of each dependency that is failing, one line each (contract §9: a wrong
    /// password or certificate is named here). Written rarely, so a mutex is cheap enough.
    errors: Mutex<BTreeMap<Dependency, String>>,
}

impl Health {
    /// Ready: PostgreSQL answers, the consumer is in its group, and nothing is paused for an
    /// outage.
    pub fn is_ready(&self) -> bool {
        self.postgres_up.load(Ordering::Relaxed)
            && !self.outage.load(Ordering::Relaxed)
            && self.consumer_state() == ConsumerState::Running
    }

    pub fn set_postgres_up(&self, up: bool) -> bool {
        self.postgres_up.swap(up, Ordering::Relaxed) != up
    }

    pub fn postgres_up(&self) -> bool {
        self.postgres_up.load(Ordering::Relaxed)
    }

    /// Marks an outage; returns whether this changed the state.
    pub fn set_outage(&self, outage: bool) -> bool {
        self.outage.swap(outage, Ordering::Relaxed) != outage
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
        let postgres = match (self.postgres_up(), self.outage.load(Ordering::Relaxed)) {
            (_, true) => "outage",
            (true, false) => "up",
            (false, false) => "down",
        };
        let kafka = match self.consumer_state() {
            ConsumerState::Starting => "starting",
            ConsumerState::Running => "running",
            ConsumerState::Stopped => "stopped",
        };
        let redis = match self.redis.load(Ordering::Relaxed) {
            REDIS_UP => "up",
            REDIS_DOWN => "degraded",
            _ => "unknown",
        };
        let mut body = json!({
            "ready": self.is_ready(),
            "dependencies": { "postgres": postgres, "kafka": kafka, "redis": redis },
            "assigned_partitions": self.assigned.load(Ordering::Relaxed),
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

    #[test]
    fn ready_needs_postgres_a_running_consumer_and_no_outage() {
        let health = Health::default();
        assert!(!health.is_ready());
        health.set_postgres_up(true);
        health.set_consumer(ConsumerState::Running);
        assert!(health.is_ready());
        health.set_outage(true);
        assert!(!health.is_ready());
        assert_eq!(health.report()["dependencies"]["postgres"], "outage");
        health.set_outage(false);
        health.set_redis_up(false);
        assert!(health.is_ready(), "Redis never decides readiness");
    }

    #[test]
    fn errors_are_listed_by_dependency_until_cleared() {
        let health = Health::default();
        assert!(health.report().get("errors").is_none());
        assert!(health.set_error(Dependency::Kafka, Some("Kafka: authentication failed: x")));
        assert!(!health.set_error(Dependency::Kafka, Some("Kafka: authentication failed: x")));
        assert_eq!(
            health.report()["errors"]["kafka"],
            "Kafka: authentication failed: x"
        );
        assert!(health.set_error(Dependency::Kafka, None));
        assert!(health.report().get("errors").is_none());
    }
}
