//! The record stream: which record comes next (valid order, poison, or a re-send of an earlier
//! order), with its key, value and headers. Pure and seeded, so a run is reproducible from
//! `(seed, base time, start seq, ratios)` and the ratios can be tested without Kafka.

use chrono::{DateTime, Utc};
use order_synthetic::{OrderGenerator, PoisonClass, PoisonKind};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::fmt;

/// What the simulator meant a record to be; the `x-sim-kind` header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimKind {
    Valid,
    Invalid,
    Malformed,
    Duplicate,
}

impl SimKind {
    pub const ALL: [SimKind; 4] = [
        SimKind::Valid,
        SimKind::Invalid,
        SimKind::Malformed,
        SimKind::Duplicate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SimKind::Valid => "valid",
            SimKind::Invalid => "invalid",
            SimKind::Malformed => "malformed",
            SimKind::Duplicate => "duplicate",
        }
    }

    /// Position in [`SimKind::ALL`], for per-kind counters.
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn from_index(index: usize) -> Option<SimKind> {
        SimKind::ALL.get(index).copied()
    }
}

impl fmt::Display for SimKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One record to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRecord {
    /// Position in the run (`x-sim-seq`); valid orders are `order_with_seq(seq)`.
    pub seq: u64,
    pub kind: SimKind,
    pub key: String,
    pub value: Vec<u8>,
    /// W3C `traceparent`, new for every record (a re-send is a new publish).
    pub traceparent: String,
    pub poison: Option<PoisonKind>,
    /// For duplicates, the `seq` of the record re-sent.
    pub duplicate_of: Option<u64>,
}

/// Everything that decides the content of a run.
#[derive(Debug, Clone)]
pub struct MixSettings {
    pub seed: u64,
    pub base_time: DateTime<Utc>,
    pub start_seq: u64,
    pub invalid_ratio: f64,
    pub duplicate_ratio: f64,
}

/// Earlier valid records kept for re-sending: enough to look like real redeliveries without
/// holding a whole run in memory.
const HISTORY: usize = 1024;

/// An earlier valid record: `(seq, key, value)`.
type Sent = (u64, String, Vec<u8>);

/// Iterator of [`SimRecord`]s; see the [module docs](self).
#[derive(Debug)]
pub struct RecordMix {
    generator: OrderGenerator,
    rng: ChaCha8Rng,
    next_seq: u64,
    invalid_ratio: f64,
    duplicate_ratio: f64,
    history: Vec<Sent>,
    /// Where the next valid record goes once `history` is full (a ring).
    history_slot: usize,
}

impl RecordMix {
    pub fn new(settings: &MixSettings) -> Self {
        let generator = OrderGenerator::new(settings.seed, settings.base_time);
        Self {
            rng: generator.aux_rng(settings.start_seq),
            generator,
            next_seq: settings.start_seq,
            invalid_ratio: settings.invalid_ratio,
            duplicate_ratio: settings.duplicate_ratio,
            history: Vec::new(),
            history_slot: 0,
        }
    }

    pub fn generator(&self) -> &OrderGenerator {
        &self.generator
    }

    /// The `seq` the next record will have.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The next record.
    pub fn next_record(&mut self) -> SimRecord {
        let seq = self.next_seq;
        self.next_seq += 1;
        let draw: f64 = self.rng.gen();
        let traceparent = order_synthetic::traceparent(&mut self.rng);
        if draw < self.invalid_ratio {
            let kind = PoisonKind::pick(&mut self.rng);
            let poison = self.generator.poison_with_seq(seq, kind);
            let sim_kind = match kind.class() {
                PoisonClass::Invalid => SimKind::Invalid,
                PoisonClass::Malformed => SimKind::Malformed,
            };
            return SimRecord {
                seq,
                kind: sim_kind,
                key: poison.key,
                value: poison.value,
                traceparent,
                poison: Some(kind),
                duplicate_of: None,
            };
        }
        if draw < self.invalid_ratio + self.duplicate_ratio && !self.history.is_empty() {
            let len = u32::try_from(self.history.len()).unwrap_or(u32::MAX);
            let (original, key, value) = &self.history[self.rng.gen_range(0..len) as usize];
            return SimRecord {
                seq,
                kind: SimKind::Duplicate,
                key: key.clone(),
                value: value.clone(),
                traceparent,
                poison: None,
                duplicate_of: Some(*original),
            };
        }
        let order = self.generator.order_with_seq(seq);
        let mut value = Vec::with_capacity(2048);
        // Plain structs of strings and integers into a Vec: cannot fail.
        serde_json::to_writer(&mut value, &order).expect("an Order always serializes");
        let record = SimRecord {
            seq,
            kind: SimKind::Valid,
            key: order.order_uid,
            value,
            traceparent,
            poison: None,
            duplicate_of: None,
        };
        if self.duplicate_ratio > 0.0 {
            self.remember(&record);
        }
        record
    }

    fn remember(&mut self, record: &SimRecord) {
        let entry = (record.seq, record.key.clone(), record.value.clone());
        if self.history.len() < HISTORY {
            self.history.push(entry);
        } else {
            self.history[self.history_slot] = entry;
            self.history_slot = (self.history_slot + 1) % HISTORY;
        }
    }
}

impl Iterator for RecordMix {
    type Item = SimRecord;

    fn next(&mut self) -> Option<SimRecord> {
        Some(self.next_record())
    }
}
