//! Property (b): every order the generator makes is valid and round-trips exactly, and its
//! poison fails the way the generator claims.

use crate::{check_classified, config, generator, now};
use chrono::Duration;
use order_model::{decode_at, DecodeError};
use order_synthetic::{OrderGenerator, PoisonKind};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

proptest! {
    #![proptest_config(config())]

    #[test]
    fn generated_orders_are_valid_and_round_trip(
        seed in any::<u64>(),
        seq in any::<u64>(),
        base_offset_days in -20_000i64..20_000,
    ) {
        let base = now() + Duration::days(base_offset_days);
        let order = OrderGenerator::new(seed, base).order_with_seq(seq);
        let encoded = serde_json::to_string(&order).expect("orders serialize");
        let decoded = decode_at(encoded.as_bytes(), base)
            .map_err(|err| TestCaseError::fail(format!("generated order rejected: {err}\n{encoded}")))?;
        // decode(encode(order)) == order
        prop_assert_eq!(decoded.order(), &order);
        // Our encoding is already canonical, and canonical JSON is a fixed point.
        prop_assert_eq!(decoded.canonical_json(), encoded.as_str());
        let again = decode_at(decoded.canonical_json().as_bytes(), base)
            .map_err(|err| TestCaseError::fail(format!("canonical rejected: {err}")))?;
        prop_assert_eq!(again.canonical_json(), decoded.canonical_json());
        prop_assert_eq!(again.fingerprint(), decoded.fingerprint());
        // Pretty-printed or with keys in another order it is the same order.
        let pretty = serde_json::to_string_pretty(&serde_json::to_value(&order).expect("value"))
            .expect("pretty");
        let reordered = decode_at(pretty.as_bytes(), base)
            .map_err(|err| TestCaseError::fail(format!("reordered rejected: {err}")))?;
        prop_assert_eq!(reordered.canonical_json(), decoded.canonical_json());
    }

    #[test]
    fn generator_poison_fails_the_way_it_claims(seed in any::<u64>(), seq in 0..100_000u64, pick in any::<prop::sample::Index>()) {
        // Oversized poison is a megabyte each: covered by the unit tests, not sampled here.
        let kinds: Vec<PoisonKind> = PoisonKind::ALL.into_iter().filter(|kind| *kind != PoisonKind::Oversized).collect();
        let kind = *pick.get(&kinds);
        let poison = generator(seed).poison_with_seq(seq, kind);
        let err = check_classified(&poison.value)?.err()
            .ok_or_else(|| TestCaseError::fail(format!("{kind:?} accepted")))?;
        prop_assert_eq!(err.kind(), kind.class().dead_letter_kind());
        if let (DecodeError::Invalid(errors), Some(path)) = (&err, &poison.expected_path) {
            prop_assert!(errors.iter().any(|error| &error.path == path), "{:?}: {}", kind, err);
        }
    }
}
