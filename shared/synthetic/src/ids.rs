//! Identifiers and random streams derived from `(seed, base time, sequence number)`, so any
//! order of a run can be regenerated on its own (drills, tests) without replaying the run, and
//! so two runs with different seeds or base times never reuse an `order_uid` for different
//! content (which the pipeline would rightly dead-letter as a conflict).

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// SplitMix64's finaliser: a bijection on `u64` that spreads nearby inputs far apart.
pub(crate) const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One 64-bit key per run: different seeds or base times give unrelated keys.
pub(crate) fn run_key(seed: u64, base_time_ms: i64) -> u64 {
    mix64(mix64(seed) ^ (base_time_ms as u64).rotate_left(32) ^ 0x6f72_6465_7273_696d)
}

/// Independent random streams per purpose, so that e.g. drawing a poison mutation never shifts
/// the draws of the order it mutates.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Domain {
    Order = 1,
    Poison = 2,
    Aux = 3,
    Evolution = 4,
}

/// The random stream for record `seq` of a run. The ChaCha seed is assembled byte by byte from
/// fixed arithmetic (not `seed_from_u64`, whose expansion is an implementation detail), and
/// ChaCha's output is specified, so the same inputs give the same bytes on every platform.
pub(crate) fn rng_for(run_key: u64, domain: Domain, seq: u64) -> ChaCha8Rng {
    let mut seed = [0u8; 32];
    for (index, chunk) in seed.chunks_exact_mut(8).enumerate() {
        let word = mix64(run_key ^ mix64(((domain as u64) << 8) | index as u64));
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    let mut rng = ChaCha8Rng::from_seed(seed);
    rng.set_stream(seq);
    rng
}

/// `order_uid` for record `seq`: 32 lowercase hex digits from an invertible 128-bit mix of
/// `(run key, seq)`. Invertible means distinct inputs can never collide.
pub(crate) fn order_uid(run_key: u64, seq: u64) -> String {
    const M1: u128 = 0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645;
    const M2: u128 = 0x5851_f42d_4c95_7f2d_1405_7b7e_f767_814f;
    let mut x = (u128::from(run_key) << 64) | u128::from(seq);
    // Odd multipliers and xor-shifts are each bijective on u128.
    x = x.wrapping_mul(M1 | 1);
    x ^= x >> 67;
    x = x.wrapping_mul(M2 | 1);
    x ^= x >> 59;
    format!("{x:032x}")
}

pub(crate) const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
pub(crate) const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
pub(crate) const HEX: &[u8] = b"0123456789abcdef";

/// Symbols taken from one 64-bit draw. With alphabets of at most 64 symbols, ten of them use at
/// most 60 bits, so the leftover bias of `word % base` is below one in a thousand.
const SYMBOLS_PER_DRAW: usize = 10;

/// `len` characters drawn from the ASCII `alphabet` (at most 64 symbols). One RNG draw serves
/// ten characters: ids are a large share of an order and this is the generator's hot loop.
pub(crate) fn random_chars(rng: &mut impl Rng, alphabet: &[u8], len: usize) -> String {
    let base = alphabet.len() as u64;
    // Hex ids are the most common: shifts instead of divisions for power-of-two alphabets.
    let shift = base.is_power_of_two().then(|| base.trailing_zeros());
    let mut text = String::with_capacity(len);
    let mut word = 0u64;
    for index in 0..len {
        if index % SYMBOLS_PER_DRAW == 0 {
            word = rng.next_u64();
        }
        let symbol = match shift {
            Some(shift) => {
                let symbol = word & (base - 1);
                word >>= shift;
                symbol
            }
            None => {
                let symbol = word % base;
                word /= base;
                symbol
            }
        };
        text.push(char::from(alphabet[symbol as usize]));
    }
    text
}

/// `len` decimal digits, the first one non-zero when `leading_nonzero`.
pub(crate) fn digits(rng: &mut impl Rng, len: u32, leading_nonzero: bool) -> String {
    let mut text = random_chars(rng, b"0123456789", len as usize);
    if leading_nonzero && text.starts_with('0') {
        text.replace_range(..1, &rng.gen_range(1..10u8).to_string());
    }
    text
}

/// A uniformly chosen element. Indexes are drawn as `u32`, never `usize`, because rand's
/// `usize` sampling differs between 32- and 64-bit targets.
pub(crate) fn pick<'a, T>(rng: &mut impl Rng, items: &'a [T]) -> &'a T {
    let len = u32::try_from(items.len()).unwrap_or(u32::MAX);
    &items[rng.gen_range(0..len) as usize]
}

/// A W3C Trace Context `traceparent` (version 00, sampled) with ids from `rng`; all-zero ids are
/// invalid per the spec, hence the `max(1)`.
pub fn traceparent(rng: &mut impl Rng) -> String {
    let trace_id = rng.gen::<u128>().max(1);
    let span_id = rng.gen::<u64>().max(1);
    format!("00-{trace_id:032x}-{span_id:016x}-01")
}
