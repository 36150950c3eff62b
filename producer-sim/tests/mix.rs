//! The record stream without Kafka: reproducible, ratios as asked, duplicates byte-identical,
//! and every record is what its kind says (checked with the pipeline's own decoder).

use chrono::{TimeZone, Utc};
use order_model::decode;
use producer_sim::{MixSettings, RecordMix, SimKind};
use std::collections::{HashMap, HashSet};

fn settings(invalid_ratio: f64, duplicate_ratio: f64) -> MixSettings {
    MixSettings {
        seed: 1234,
        base_time: Utc
            .with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
            .single()
            .expect("valid date"),
        start_seq: 100,
        invalid_ratio,
        duplicate_ratio,
    }
}

#[test]
fn same_settings_same_stream() {
    let first: Vec<_> = RecordMix::new(&settings(0.2, 0.2)).take(1_000).collect();
    let again: Vec<_> = RecordMix::new(&settings(0.2, 0.2)).take(1_000).collect();
    assert_eq!(first, again);
    let other: Vec<_> = RecordMix::new(&MixSettings {
        seed: 4321,
        ..settings(0.2, 0.2)
    })
    .take(1_000)
    .collect();
    assert_ne!(first, other);
    assert_eq!(first[0].seq, 100);
    assert_eq!(first[999].seq, 1_099);
}

#[test]
fn valid_orders_do_not_depend_on_the_mix() {
    // Order `seq` is the same whatever the ratios, so drills can regenerate it from the seq alone.
    let mix = RecordMix::new(&settings(0.3, 0.3));
    let generator = mix.generator().clone();
    for record in mix.take(500).filter(|record| record.kind == SimKind::Valid) {
        let order = generator.order_with_seq(record.seq);
        assert_eq!(record.value, serde_json::to_vec(&order).expect("serialize"));
        assert_eq!(record.key, order.order_uid);
    }
}

/// Four standard deviations of a share `p` measured over `n` records: seeded runs are
/// deterministic, but the bound should still be one a fair coin meets.
fn tolerance(p: f64, n: f64) -> f64 {
    4.0 * (p * (1.0 - p) / n).sqrt() + 0.002
}

#[test]
fn ratios_hold_over_ten_thousand_records() {
    const N: f64 = 10_000.0;
    for (invalid, duplicate) in [(0.0, 0.0), (0.1, 0.1), (0.25, 0.05), (0.0, 0.5), (1.0, 0.0)] {
        let mut counts: HashMap<SimKind, f64> = HashMap::new();
        for record in RecordMix::new(&settings(invalid, duplicate)).take(N as usize) {
            *counts.entry(record.kind).or_default() += 1.0;
        }
        let share = |kind| counts.get(&kind).copied().unwrap_or(0.0) / N;
        let poison = share(SimKind::Invalid) + share(SimKind::Malformed);
        assert!(
            (poison - invalid).abs() <= tolerance(invalid, N),
            "poison {poison} for {invalid}"
        );
        let duplicates = share(SimKind::Duplicate);
        assert!(
            (duplicates - duplicate).abs() <= tolerance(duplicate, N),
            "duplicates {duplicates} for {duplicate}"
        );
        if invalid > 0.0 {
            // 15 invalid kinds of weight 4; 9 malformed kinds, 8 of weight 4 and one of weight 1.
            let expected = 60.0 / 93.0;
            let invalid_share = share(SimKind::Invalid) / poison;
            let tolerance = tolerance(expected, poison * N);
            assert!(
                (invalid_share - expected).abs() <= tolerance,
                "invalid share of poison {invalid_share}"
            );
        }
    }
}

#[test]
fn every_record_is_what_its_kind_says() {
    let mut valid: HashMap<String, (u64, Vec<u8>)> = HashMap::new();
    let mut seqs = HashSet::new();
    for record in RecordMix::new(&settings(0.2, 0.2)).take(3_000) {
        assert!(seqs.insert(record.seq));
        assert!(record.traceparent.starts_with("00-") && record.traceparent.len() == 55);
        let decoded = decode(&record.value);
        match record.kind {
            SimKind::Valid => {
                let order = decoded.unwrap_or_else(|err| panic!("valid record rejected: {err}"));
                assert_eq!(order.uid(), record.key);
                assert!(
                    valid
                        .insert(record.key.clone(), (record.seq, record.value))
                        .is_none(),
                    "uid reused"
                );
            }
            SimKind::Duplicate => {
                let (original_seq, original) = valid
                    .get(&record.key)
                    .expect("duplicates re-send an earlier order");
                assert_eq!(
                    &record.value, original,
                    "a duplicate must be byte-identical"
                );
                assert_eq!(record.duplicate_of, Some(*original_seq));
            }
            SimKind::Invalid | SimKind::Malformed => {
                let error = decoded.expect_err("poison must be rejected");
                assert_eq!(
                    error.kind().as_str(),
                    record.kind.as_str(),
                    "{:?}: {error}",
                    record.poison
                );
                assert!(record.poison.is_some());
            }
        }
    }
}
