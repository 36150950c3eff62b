//! Code shared by the order pipeline's binaries (`ingest`, `query-api`, `producer-sim`).
//!
//! - [`order`]: the order document, decoding (malformed vs invalid) and validation.
//! - [`synthetic`]: seeded generator of realistic orders (producer-sim, tests, benchmarks).
//! - [`store`]: PostgreSQL pool, migrations and the order repository.
//! - [`cache`]: the Redis read model `order:{uid}`.
//! - [`kafka`]: client configuration and the contract's header names.
//! - [`config`]: clap argument groups read from flags, the environment and `.env`.
//! - [`telemetry`], [`metrics`], [`shutdown`]: logging, Prometheus plumbing, graceful stop.
//! - `testing` (feature): fresh databases, topics and key prefixes for isolated tests.

pub mod cache;
pub mod config;
pub mod kafka;
pub mod metrics;
pub mod order;
pub mod shutdown;
pub mod store;
pub mod synthetic;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
