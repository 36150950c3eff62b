//! Property (a): decoding never panics and always classifies, `malformed` exactly when the
//! input is not shaped like an order.

use crate::strategies::{apply, base_order, byte_edit, edit_bytes, json_value, mutation};
use crate::{check_classified, config};
use order_model::DeadLetterKind;
use pipeline_testing::decode_oracle::{has_duplicate_keys, is_order_document};
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::Value;

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_are_classified(bytes in vec(any::<u8>(), 0..2048)) {
        let result = check_classified(&bytes)?;
        // Random bytes are almost never JSON; when they are, the oracle below still holds.
        if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
            prop_assert_eq!(result.is_err_and(|err| err.kind() == DeadLetterKind::Malformed), !is_order_document(&value));
        } else {
            prop_assert_eq!(result.map_err(|err| err.kind()).err(), Some(DeadLetterKind::Malformed));
        }
    }

    #[test]
    fn arbitrary_json_is_classified(value in json_value()) {
        let result = check_classified(value.to_string().as_bytes())?;
        prop_assert!(result.is_err());
        prop_assert_eq!(result.is_err_and(|err| err.kind() == DeadLetterKind::Malformed), !is_order_document(&value));
    }

    /// Field deletions, type swaps, huge numbers, unicode strings, unknown keys, duplicated and
    /// emptied lists on real orders: `malformed` exactly when the result is no longer shaped
    /// like an order, otherwise `invalid` or accepted.
    #[test]
    fn json_mutations_of_real_orders_are_classified(
        mut value in base_order(),
        mutations in vec(mutation(), 1..4),
    ) {
        for mutation in &mutations {
            apply(&mut value, mutation);
        }
        let result = check_classified(value.to_string().as_bytes())?;
        let malformed = matches!(&result, Err(err) if err.kind() == DeadLetterKind::Malformed);
        prop_assert_eq!(malformed, !is_order_document(&value), "{:?}", result.err());
    }

    #[test]
    fn byte_edits_of_real_orders_are_classified(
        value in base_order(),
        edits in vec(byte_edit(), 1..4),
    ) {
        let mut bytes = value.to_string().into_bytes();
        for edit in &edits {
            edit_bytes(&mut bytes, edit);
        }
        let result = check_classified(&bytes)?;
        let malformed = matches!(&result, Err(err) if err.kind() == DeadLetterKind::Malformed);
        let document = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .is_some_and(|value| is_order_document(&value));
        // Duplicate keys are the one case a Value cannot see: a document with them is malformed.
        if !has_duplicate_keys(&bytes) {
            prop_assert_eq!(malformed, !document, "{:?}", result.err());
        }
    }
}
