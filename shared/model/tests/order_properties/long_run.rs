//! The long, `#[ignore]`d fuzzing run of `docs/FUZZING.md`: mutations and byte edits of a seed
//! corpus, for as many cases as `FUZZ_CASES` asks.

use crate::strategies::{apply, byte_edit, edit_bytes, mutation};
use crate::{check_classified, env_cases, generator};
use order_model::{DeadLetterKind, SAMPLE_JSON};
use order_synthetic::PoisonKind;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::time::Instant;

/// Seeds for the long run: the contract fixture, generated orders of a few runs, and every kind
/// of generator poison (one oversized record).
fn corpus() -> Vec<Vec<u8>> {
    let mut corpus = vec![SAMPLE_JSON.as_bytes().to_vec()];
    for seed in 0..4 {
        let generator = generator(seed);
        for seq in 0..16 {
            let mut buf = Vec::new();
            generator.write_json_with_seq(seq, &mut buf);
            corpus.push(buf);
        }
        for (seq, kind) in PoisonKind::ALL.into_iter().enumerate() {
            if kind != PoisonKind::Oversized || seed == 0 {
                corpus.push(generator.poison_with_seq(seq as u64, kind).value);
            }
        }
    }
    corpus
}

/// Run with `FUZZ_CASES=1000000 cargo test --release -p order-model --test order_properties --
/// --ignored fuzz_decode_long --nocapture`.
#[test]
#[ignore = "long run: see docs/FUZZING.md"]
fn fuzz_decode_long() {
    let cases = env_cases("FUZZ_CASES", 1_000_000);
    let corpus = corpus();
    let seed_count = corpus.len();
    let input = (
        prop::sample::select(corpus),
        vec(mutation(), 0..4),
        prop_oneof![2 => Just(Vec::new()), 1 => vec(byte_edit(), 1..3)],
    );
    let mut runner = TestRunner::new(Config {
        cases,
        // The corpus makes rejects impossible; never give up early.
        max_global_rejects: u32::MAX,
        ..Config::default()
    });
    let counts: [AtomicU64; 4] = Default::default();
    let started = Instant::now();
    let outcome = runner.run(&input, |(seed, mutations, edits)| {
        let mut bytes = seed;
        if !mutations.is_empty() {
            if let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) {
                for mutation in &mutations {
                    apply(&mut value, mutation);
                }
                bytes = value.to_string().into_bytes();
            }
        }
        for edit in &edits {
            edit_bytes(&mut bytes, edit);
        }
        let slot = match check_classified(&bytes)? {
            Ok(_) => 0,
            Err(err) if err.kind() == DeadLetterKind::Invalid => 1,
            Err(_) => 2,
        };
        counts[slot].fetch_add(1, AtomicOrdering::Relaxed);
        counts[3].fetch_add(1, AtomicOrdering::Relaxed);
        Ok(())
    });
    let elapsed = started.elapsed();
    let [valid, invalid, malformed, total] = counts.map(|count| count.into_inner());
    println!(
        "fuzz_decode_long: {cases} cases, {total} executions (shrinking included) in {:.1}s \
         ({:.0}/s); seeds {seed_count}; accepted {valid}, invalid {invalid}, malformed {malformed}",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64().max(1e-9),
    );
    if let Err(failure) = outcome {
        panic!("fuzz_decode_long found a failure: {failure}");
    }
}
