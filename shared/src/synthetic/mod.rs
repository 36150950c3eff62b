//! Placeholder replaced by the producer-sim work (seeded synthetic order generator).
