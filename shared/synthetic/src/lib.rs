//! Synthetic orders for the simulator, tests and benchmarks: a seeded generator of realistic
//! valid orders ([`OrderGenerator`]), the same orders as a newer producer sends them, with fields
//! this version does not know ([`OrderGenerator::evolved_order_with_seq`]), and deliberately bad
//! records ([`PoisonKind`]).
//!
//! Everything is a pure function of `(seed, base time, sequence number)` through ChaCha8, so a
//! run is reproduced byte for byte on any platform by passing the same three values, and any
//! single order of a run can be regenerated on its own. `order_uid`s are 32 hex digits derived
//! bijectively from the run and the sequence number: unique within a run, and different between
//! runs with different seeds or base times.
//!
//! ```
//! use order_synthetic::OrderGenerator;
//! let generator = OrderGenerator::new(7, chrono::Utc::now());
//! let order = generator.order_with_seq(42);
//! assert_eq!(order, generator.order_with_seq(42));
//! assert_eq!(order.payment.transaction, order.order_uid);
//! ```

mod catalog;
mod countries;
mod evolution;
mod generator;
mod ids;
mod names;
mod poison;
mod tables;

pub use evolution::add_unknown_fields;
pub use generator::OrderGenerator;
pub use ids::traceparent;
pub use poison::{Poison, PoisonClass, PoisonKind};
