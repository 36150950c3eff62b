//! Kafka pieces every binary shares: client configuration ([`client`], with the security settings
//! of [`security`]), one-line diagnosis of login and TLS failures ([`failure`]) and the record
//! headers the contract fixes ([`headers`]). Role-specific code (the ingest consumer, the DLQ
//! writer, the simulator's producer) lives with its binary.

mod config;

pub use config::KafkaArgs;
pub use security::{KafkaConfigError, KafkaSecurityArgs, SaslMechanism, SecurityProtocol};

pub mod client;
pub mod failure;
pub mod headers;
pub mod security;

/// Settings a binary may read from a mounted secret file (`KAFKA_SASL_PASSWORD_FILE`).
pub const SECRET_SETTINGS: &[&str] = &["KAFKA_SASL_PASSWORD"];
