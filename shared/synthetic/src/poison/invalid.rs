//! Orders that decode fine but break exactly one rule of contract §1, and the field path the
//! rejection must name. Breaking one rule at a time (fixing up dependent fields, e.g. keeping
//! `amount` consistent when `goods_total` is wrong) makes the expected message exact.

use super::PoisonKind;
use crate::ids::{self, pick};
use chrono::{DateTime, Duration, TimeZone, Utc};
use order_model::Order;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Breaks the rule `kind` stands for; returns the order and the path of the broken field.
pub(super) fn break_rule(
    rng: &mut ChaCha8Rng,
    mut order: Order,
    kind: PoisonKind,
    base_time: DateTime<Utc>,
) -> (Order, String) {
    let uid = order.order_uid.clone();
    let item_index = rng.gen_range(0..u32::try_from(order.items.len()).unwrap_or(1)) as usize;
    let path = match kind {
        PoisonKind::BadEmail => {
            let email = &order.delivery.email;
            let (local, domain) = email
                .split_once('@')
                .unwrap_or((email.as_str(), "example.org"));
            order.delivery.email = match rng.gen_range(0..5u32) {
                0 => format!("{local}.{domain}"),
                1 => format!("{local}@@{domain}"),
                2 => format!("{local}@"),
                3 => format!("@{domain}"),
                _ => format!("{local} at {domain}"),
            };
            "delivery.email".to_owned()
        }
        PoisonKind::BadPhone => {
            let digits = order.delivery.phone.trim_start_matches('+').to_owned();
            order.delivery.phone = match rng.gen_range(0..4u32) {
                0 => digits,                                                        // no leading +
                1 => format!("+{}", &digits[..5]),                                  // too short
                2 => format!("+{digits}{}", "0".repeat(16 - digits.len().min(15))), // too long
                _ => format!("+{} ({}) {}", &digits[..1], &digits[1..4], &digits[4..]),
            };
            "delivery.phone".to_owned()
        }
        PoisonKind::BadZip => {
            order.delivery.zip = match rng.gen_range(0..3u32) {
                0 => "SW1A 1AA".to_owned(),
                1 => "12".to_owned(),
                _ => ids::digits(rng, 11, true),
            };
            "delivery.zip".to_owned()
        }
        PoisonKind::BadName => {
            let suffix = *pick(rng, &[" 2nd", " (VIP)", " 😀", "@home", " #42"]);
            order.delivery.name.push_str(suffix);
            "delivery.name".to_owned()
        }
        PoisonKind::BlankRequired => {
            let blank = (*pick(rng, &["", " ", "\t "])).to_owned();
            match rng.gen_range(0..4u32) {
                0 => {
                    order.delivery.city = blank;
                    "delivery.city".to_owned()
                }
                1 => {
                    order.payment.bank = blank;
                    "payment.bank".to_owned()
                }
                2 => {
                    order.customer_id = blank;
                    "customer_id".to_owned()
                }
                _ => {
                    order.items[item_index].brand = blank;
                    format!("items[{item_index}].brand")
                }
            }
        }
        PoisonKind::NegativePrice => {
            // total_price keeps its value so only `price` is wrong.
            order.items[item_index].price = -order.items[item_index].price.max(1);
            format!("items[{item_index}].price")
        }
        PoisonKind::SaleOver100 => {
            order.items[item_index].sale = rng.gen_range(101..=250);
            format!("items[{item_index}].sale")
        }
        PoisonKind::WrongGoodsTotal => {
            // Off by a little, with amount following along, so only goods_total is wrong.
            let delta = rng.gen_range(1..=500);
            order.payment.goods_total += delta;
            order.payment.amount += delta;
            "payment.goods_total".to_owned()
        }
        PoisonKind::WrongAmount => {
            order.payment.amount += *pick(rng, &[1, 100, 1_000]);
            "payment.amount".to_owned()
        }
        PoisonKind::TransactionMismatch => {
            // Upper-casing differs from the uid only if it has a letter (nearly always).
            let has_letter = uid.bytes().any(|b| b.is_ascii_lowercase());
            order.payment.transaction = match rng.gen_range(0..2u32) {
                0 if has_letter => uid.to_uppercase(),
                _ => random_uid(rng),
            };
            "payment.transaction".to_owned()
        }
        PoisonKind::EmptyItems => {
            order.items.clear();
            order.payment.goods_total = 0;
            order.payment.amount = order.payment.delivery_cost + order.payment.custom_fee;
            "items".to_owned()
        }
        PoisonKind::BadCurrency => {
            order.payment.currency =
                (*pick(rng, &["usd", "US", "EURO", "$", "R$", "840", "rub"])).to_owned();
            "payment.currency".to_owned()
        }
        PoisonKind::FutureDate => {
            // Far enough ahead to stay in the future whatever clock judges it (base times are
            // "now" or a fixed past date).
            let year_2100 = Utc
                .with_ymd_and_hms(2100, 1, 1, 0, 0, 0)
                .single()
                .unwrap_or(base_time);
            let start = base_time.max(year_2100);
            order.date_created = start + Duration::seconds(rng.gen_range(0..3_650 * 86_400));
            "date_created".to_owned()
        }
        PoisonKind::TrackMismatch => {
            order.items[item_index].track_number = format!("{}X", order.track_number);
            format!("items[{item_index}].track_number")
        }
        PoisonKind::BadUidChars => {
            let bad = match rng.gen_range(0..5u32) {
                0 => format!("{}#{}", &uid[..12], &uid[12..]),
                1 => format!("{} {}", &uid[..16], &uid[16..]),
                2 => format!("order/{uid}"),
                3 => format!("{uid}.ü"),
                _ => uid.repeat(3), // 96 characters, over the 64 limit
            };
            // Transaction follows the uid so only `order_uid` is wrong.
            order.payment.transaction.clone_from(&bad);
            order.order_uid = bad;
            "order_uid".to_owned()
        }
        _ => unreachable!("{kind:?} is not an invalid-order kind"),
    };
    (order, path)
}

/// A uid-shaped string unrelated to the order.
fn random_uid(rng: &mut ChaCha8Rng) -> String {
    ids::random_chars(rng, ids::LOWER_ALNUM, 24)
}
