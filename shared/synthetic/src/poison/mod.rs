//! Bad records on purpose: each [`PoisonKind`] breaks exactly one thing, either a business rule
//! (`invalid`: a well-formed order the pipeline must reject naming the field) or the format
//! itself (`malformed`: bytes that are not an order at all). Drills and tests use them to prove
//! every rejection path ends in the DLQ with the right kind and message.

mod invalid;
mod malformed;

use super::generator::OrderGenerator;
use super::ids::{self, Domain};
use order_model::DeadLetterKind;

/// Which DLQ `x-error-kind` a poison record must end up with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PoisonClass {
    Invalid,
    Malformed,
}

impl PoisonClass {
    /// The kind ingest must dead-letter such a record with ([`order_model::DecodeError::kind`]).
    pub fn dead_letter_kind(self) -> DeadLetterKind {
        match self {
            PoisonClass::Invalid => DeadLetterKind::Invalid,
            PoisonClass::Malformed => DeadLetterKind::Malformed,
        }
    }
}

/// One way of breaking an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PoisonKind {
    // invalid: decodes as an order, breaks one rule
    BadEmail,
    BadPhone,
    BadZip,
    BadName,
    BlankRequired,
    NegativePrice,
    SaleOver100,
    WrongGoodsTotal,
    WrongAmount,
    TransactionMismatch,
    EmptyItems,
    BadCurrency,
    FutureDate,
    TrackMismatch,
    BadUidChars,
    // malformed: not an order document at all
    NotJson,
    TruncatedJson,
    WrongTypes,
    NotUtf8,
    Oversized,
    JsonArray,
    JsonScalar,
    MissingField,
    DuplicateKey,
}

impl PoisonKind {
    pub const ALL: [PoisonKind; 24] = [
        PoisonKind::BadEmail,
        PoisonKind::BadPhone,
        PoisonKind::BadZip,
        PoisonKind::BadName,
        PoisonKind::BlankRequired,
        PoisonKind::NegativePrice,
        PoisonKind::SaleOver100,
        PoisonKind::WrongGoodsTotal,
        PoisonKind::WrongAmount,
        PoisonKind::TransactionMismatch,
        PoisonKind::EmptyItems,
        PoisonKind::BadCurrency,
        PoisonKind::FutureDate,
        PoisonKind::TrackMismatch,
        PoisonKind::BadUidChars,
        PoisonKind::NotJson,
        PoisonKind::TruncatedJson,
        PoisonKind::WrongTypes,
        PoisonKind::NotUtf8,
        PoisonKind::Oversized,
        PoisonKind::JsonArray,
        PoisonKind::JsonScalar,
        PoisonKind::MissingField,
        PoisonKind::DuplicateKey,
    ];

    pub fn class(self) -> PoisonClass {
        match self {
            PoisonKind::NotJson
            | PoisonKind::TruncatedJson
            | PoisonKind::WrongTypes
            | PoisonKind::NotUtf8
            | PoisonKind::Oversized
            | PoisonKind::JsonArray
            | PoisonKind::JsonScalar
            | PoisonKind::MissingField
            | PoisonKind::DuplicateKey => PoisonClass::Malformed,
            _ => PoisonClass::Invalid,
        }
    }

    /// Kebab-case name, e.g. for a `x-sim-poison` header or a log line.
    pub fn name(self) -> &'static str {
        match self {
            PoisonKind::BadEmail => "bad-email",
            PoisonKind::BadPhone => "bad-phone",
            PoisonKind::BadZip => "bad-zip",
            PoisonKind::BadName => "bad-name",
            PoisonKind::BlankRequired => "blank-required",
            PoisonKind::NegativePrice => "negative-price",
            PoisonKind::SaleOver100 => "sale-over-100",
            PoisonKind::WrongGoodsTotal => "wrong-goods-total",
            PoisonKind::WrongAmount => "wrong-amount",
            PoisonKind::TransactionMismatch => "transaction-mismatch",
            PoisonKind::EmptyItems => "empty-items",
            PoisonKind::BadCurrency => "bad-currency",
            PoisonKind::FutureDate => "future-date",
            PoisonKind::TrackMismatch => "track-mismatch",
            PoisonKind::BadUidChars => "bad-uid-chars",
            PoisonKind::NotJson => "not-json",
            PoisonKind::TruncatedJson => "truncated-json",
            PoisonKind::WrongTypes => "wrong-types",
            PoisonKind::NotUtf8 => "not-utf8",
            PoisonKind::Oversized => "oversized",
            PoisonKind::JsonArray => "json-array",
            PoisonKind::JsonScalar => "json-scalar",
            PoisonKind::MissingField => "missing-field",
            PoisonKind::DuplicateKey => "duplicate-key",
        }
    }

    /// How often this kind appears in a poison mix, relative to the others. Oversized records
    /// are rare because each one costs a megabyte of memory and bandwidth.
    pub fn weight(self) -> u32 {
        match self {
            PoisonKind::Oversized => 1,
            _ => 4,
        }
    }

    /// A poison kind drawn by [`PoisonKind::weight`] from a caller's random stream.
    pub fn pick(rng: &mut impl rand::Rng) -> PoisonKind {
        let total: u32 = PoisonKind::ALL.iter().map(|kind| kind.weight()).sum();
        let mut ticket = rng.gen_range(0..total);
        for kind in PoisonKind::ALL {
            if ticket < kind.weight() {
                return kind;
            }
            ticket -= kind.weight();
        }
        PoisonKind::NotJson
    }
}

/// A bad record: what it is, its Kafka key and value, and for `invalid` ones the field path the
/// rejection message must name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poison {
    pub kind: PoisonKind,
    /// The order's `order_uid` for invalid records (even when that uid is the broken part), a
    /// uid-shaped key for malformed ones.
    pub key: String,
    pub value: Vec<u8>,
    pub expected_path: Option<String>,
}

impl OrderGenerator {
    /// Poison record of `kind` built from the order with sequence number `seq`. Deterministic
    /// like [`order_with_seq`](Self::order_with_seq).
    pub fn poison_with_seq(&self, seq: u64, kind: PoisonKind) -> Poison {
        let mut rng = ids::rng_for(self.run_key, Domain::Poison, seq);
        let order = self.order_with_seq(seq);
        match kind.class() {
            PoisonClass::Invalid => {
                let (order, path) = invalid::break_rule(&mut rng, order, kind, self.base_time());
                let mut value = Vec::with_capacity(1024);
                super::generator::write_json(&order, &mut value);
                Poison {
                    kind,
                    key: order.order_uid,
                    value,
                    expected_path: Some(path),
                }
            }
            PoisonClass::Malformed => {
                let key = order.order_uid.clone();
                let value = malformed::mangle(&mut rng, order, kind);
                Poison {
                    kind,
                    key,
                    value,
                    expected_path: None,
                }
            }
        }
    }
}
