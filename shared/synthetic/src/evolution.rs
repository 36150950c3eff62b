//! Orders as a newer producer sends them: the generator's valid orders plus fields this version
//! does not know, at every level (the order, `delivery`, `payment`, each item), so tests can
//! prove additive evolution end to end (contract §11): accepted, stored and served back with the
//! unknown fields after the known ones, in the order they came.
//!
//! Keys are deliberately not in alphabetical order, and values cover every JSON type, nested
//! objects whose keys are also unsorted, and numbers that a float or a sorted map would change.

use super::generator::OrderGenerator;
use super::ids::{self, Domain};
use order_model::{Extra, Order};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

impl OrderGenerator {
    /// Order `seq` ([`OrderGenerator::order_with_seq`]) with unknown fields at every level.
    /// Deterministic like the order itself.
    pub fn evolved_order_with_seq(&self, seq: u64) -> Order {
        let mut order = self.order_with_seq(seq);
        let mut rng = ids::rng_for(self.run_key, Domain::Evolution, seq);
        add_unknown_fields(&mut order, &mut rng);
        order
    }
}

/// Adds fields this version does not know to every object of `order`.
pub fn add_unknown_fields(order: &mut Order, rng: &mut ChaCha8Rng) {
    let channel = *ids::pick(rng, &["app", "web", "partner-api"]);
    order.extra.push("zz_channel", &json!(channel));
    // Written as text: a serde_json `Value` would sort these keys.
    let tier = *ids::pick(rng, &["gold", "silver"]);
    let points = rng.gen_range(0..50_000u32);
    push(
        &mut order.extra,
        "loyalty",
        &format!(r#"{{"tier":"{tier}","points":{points},"active":true}}"#),
    );
    order.extra.push("gift_wrap", &json!(rng.gen_ratio(1, 3)));
    order.extra.push("coupon", &serde_json::Value::Null);
    // More digits than any 64-bit number: a float or an integer type would change it.
    push(
        &mut order.extra,
        "partner_ref",
        &format!("1{}", ids::digits(rng, 29, false)),
    );
    order
        .delivery
        .extra
        .push("floor", &json!(rng.gen_range(-2..40i32)));
    order
        .delivery
        .extra
        .push("access_code", &json!(ids::digits(rng, 4, false)));
    order
        .payment
        .extra
        .push("installments", &json!(rng.gen_range(1..=12u32)));
    push(
        &mut order.payment.extra,
        "fx_rate",
        &format!(
            "{}.{:03}0",
            rng.gen_range(0..100u32),
            rng.gen_range(0..1000u32)
        ),
    );
    for (index, item) in order.items.iter_mut().enumerate() {
        item.extra
            .push("weight_g", &json!(rng.gen_range(1..20_000u32)));
        push(
            &mut item.extra,
            "attributes",
            &format!(r#"{{"tags":["new","eco"],"line":{index}}}"#),
        );
    }
}

fn push(extra: &mut Extra, key: &str, json: &str) {
    // The texts above are valid JSON by construction.
    extra.push_json(key, json).unwrap_or_default();
}
