//! Bytes that are not an order document: wrong format, wrong encoding, wrong shape or too big.
//! The pipeline must classify all of them as `malformed` (contract §1). Unknown fields are not
//! among them: they are accepted (§11, see `evolution.rs`). None contains a line break, so
//! `--print` output stays one record per line.

use super::PoisonKind;
use crate::generator::write_json;
use crate::ids::{self, pick};
use order_model::{Order, MAX_MESSAGE_BYTES};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

/// The record value for malformed `kind`, derived from a valid `order`.
pub(super) fn mangle(rng: &mut ChaCha8Rng, mut order: Order, kind: PoisonKind) -> Vec<u8> {
    match kind {
        PoisonKind::NotJson => not_json(rng, &order),
        PoisonKind::TruncatedJson => {
            let text = to_json(&order);
            // Cut on a character boundary so the record is valid UTF-8 and fails only as JSON.
            let mut cut = rng.gen_range(1..u32::try_from(text.len()).unwrap_or(u32::MAX)) as usize;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.as_bytes()[..cut.max(1)].to_vec()
        }
        PoisonKind::WrongTypes => {
            let mut value = to_value(&order);
            match rng.gen_range(0..4u32) {
                0 => value["payment"]["amount"] = json!(value["payment"]["amount"].to_string()),
                1 => value["items"][0]["sale"] = json!(12.5),
                2 => value["date_created"] = json!(order.date_created.timestamp()),
                _ => value["items"] = value["items"][0].clone(),
            }
            value.to_string().into_bytes()
        }
        PoisonKind::NotUtf8 => {
            let text = to_json(&order);
            if rng.gen_ratio(1, 2) {
                // A Latin-1 'é' (0xE9) where UTF-8 needs two bytes: a legacy encoder.
                let at = text.find("\"name\":\"").map_or(0, |start| start + 8);
                let mut bytes = text.into_bytes();
                bytes.insert(at, 0xE9);
                bytes
            } else {
                // UTF-16LE with a byte-order mark: a Windows tool's "Unicode" export.
                let mut bytes = vec![0xFF, 0xFE];
                bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
                bytes
            }
        }
        PoisonKind::Oversized => {
            // An otherwise valid order padded past the limit. The padding repeats a short chunk,
            // so it compresses to a few kilobytes and the broker's own size limit is not hit.
            let chunk = ids::random_chars(rng, ids::LOWER_ALNUM, 64);
            let extra = rng.gen_range(1..64 * 1024);
            order.internal_signature = chunk.repeat((MAX_MESSAGE_BYTES + extra) / chunk.len() + 1);
            to_json(&order).into_bytes()
        }
        PoisonKind::JsonArray => {
            let one = to_json(&order);
            match rng.gen_range(0..2u32) {
                0 => format!("[{one}]"),
                _ => format!("[{one},{one}]"),
            }
            .into_bytes()
        }
        PoisonKind::JsonScalar => {
            let scalar = match rng.gen_range(0..4u32) {
                0 => json!(order.payment.amount),
                1 => json!(order.order_uid),
                2 => json!(true),
                _ => Value::Null,
            };
            scalar.to_string().into_bytes()
        }
        PoisonKind::MissingField => {
            let mut value = to_value(&order);
            let removed = match rng.gen_range(0..4u32) {
                0 => value.as_object_mut().and_then(|map| map.remove("payment")),
                1 => value
                    .as_object_mut()
                    .and_then(|map| map.remove("date_created")),
                2 => value["delivery"]
                    .as_object_mut()
                    .and_then(|map| map.remove("email")),
                _ => value["items"][0]
                    .as_object_mut()
                    .and_then(|map| map.remove("price")),
            };
            debug_assert!(removed.is_some());
            value.to_string().into_bytes()
        }
        PoisonKind::DuplicateKey => {
            // A key written twice with the same value, as a buggy serializer does: unknown
            // fields are welcome (contract §11), a repeated key never is.
            let text = to_json(&order);
            let repeated = match rng.gen_range(0..3u32) {
                0 => text.replacen('{', &format!("{{\"order_uid\":\"{}\",", order.order_uid), 1),
                1 => text.replacen(
                    "\"zip\":",
                    &format!("\"zip\":\"{}\",\"zip\":", order.delivery.zip),
                    1,
                ),
                _ => {
                    let sale = order.items[0].sale;
                    text.replacen("\"sale\":", &format!("\"sale\":{sale},\"sale\":"), 1)
                }
            };
            repeated.into_bytes()
        }
        _ => unreachable!("{kind:?} is not a malformed-record kind"),
    }
}

fn not_json(rng: &mut ChaCha8Rng, order: &Order) -> Vec<u8> {
    let uid = &order.order_uid;
    let amount = order.payment.amount;
    let currency = &order.payment.currency;
    match rng.gen_range(0..5u32) {
        0 => format!(
            "order {uid}: {amount} {currency}, {} item(s)",
            order.items.len()
        ),
        1 => format!(
            "<order uid=\"{uid}\"><amount currency=\"{currency}\">{amount}</amount></order>"
        ),
        2 => format!("order_uid={uid}&amount={amount}&currency={currency}"),
        3 => format!("{{order_uid: '{uid}', amount: {amount}}}"),
        _ => (*pick(rng, &["", "null;", "undefined", "{{{", "OK"])).to_owned(),
    }
    .into_bytes()
}

fn to_json(order: &Order) -> String {
    let mut buf = Vec::with_capacity(1024);
    write_json(order, &mut buf);
    // serde_json only writes UTF-8.
    String::from_utf8(buf).unwrap_or_default()
}

fn to_value(order: &Order) -> Value {
    serde_json::to_value(order).unwrap_or(Value::Null)
}
