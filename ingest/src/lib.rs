//! `ingest`: the write side of the order pipeline. Kafka → PostgreSQL (+ Redis), with a dead
//! letter topic for what cannot be stored and a retry topic for what may succeed later.
//!
//! - [`config`]: the command line and settings. [`app`]: wiring, [`Application`].
//! - [`pipeline`]: the consume loop and its steps (see its docs for the map).
//! - [`events`]: every log line and metric; [`metrics`], [`health`], [`http`].
//! - [`migrate`]: `ingest migrate`. [`dlq`]: `ingest dlq inspect|replay`.

pub mod app;
pub mod config;
pub mod dlq;
pub mod events;
pub mod health;
pub mod http;
pub mod metrics;
pub mod migrate;
pub mod pipeline;

pub use app::Application;
pub use config::{Cli, Command, Config, MigrateAction};
