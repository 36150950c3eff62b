//! Kafka pieces every binary shares: client configuration ([`client`]) and the record headers the
//! contract fixes ([`headers`]). Role-specific code (the ingest consumer, the DLQ writer, the
//! simulator's producer) lives with its binary.

mod config;

pub use config::KafkaArgs;

pub mod client;
pub mod headers;
