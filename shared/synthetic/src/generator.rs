//! The seeded generator of realistic, valid orders. Every order is a pure function of
//! `(seed, base time, sequence number)`: [`OrderGenerator::order_with_seq`] regenerates any one
//! of them directly, and the same inputs give the same bytes on every platform.

use super::catalog::{self, Product};
use super::countries::{AddressStyle, Country, COUNTRIES};
use super::ids::{self, digits, pick, random_chars, Domain};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use order_model::{Delivery, Extra, Item, Order, Payment};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// How far back `date_created` is spread by default.
const DEFAULT_DATE_SPREAD: Duration = Duration::days(7);

/// Generates valid orders; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct OrderGenerator {
    seed: u64,
    base_time: DateTime<Utc>,
    pub(crate) run_key: u64,
    next_seq: u64,
    date_spread_secs: i64,
}

impl OrderGenerator {
    /// Orders dated within the week before `base_time`, which is truncated to whole seconds
    /// (sub-microsecond digits would not survive storage, and dates should look like real ones).
    pub fn new(seed: u64, base_time: DateTime<Utc>) -> Self {
        let base_time = base_time.trunc_subsecs(0);
        Self {
            seed,
            base_time,
            run_key: ids::run_key(seed, base_time.timestamp_millis()),
            next_seq: 0,
            date_spread_secs: DEFAULT_DATE_SPREAD.num_seconds(),
        }
    }

    /// The sequence number [`next_order`](Self::next_order) uses next.
    pub fn starting_at(mut self, seq: u64) -> Self {
        self.next_seq = seq;
        self
    }

    /// `date_created` is drawn from `(base_time - spread, base_time]` (at least one second).
    pub fn with_date_spread(mut self, spread: Duration) -> Self {
        self.date_spread_secs = spread.num_seconds().max(1);
        self
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn base_time(&self) -> DateTime<Utc> {
        self.base_time
    }

    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The order with the next sequence number.
    pub fn next_order(&mut self) -> Order {
        let order = self.order_with_seq(self.next_seq);
        self.next_seq += 1;
        order
    }

    /// The `order_uid` the order with sequence number `seq` has.
    pub fn uid_for(&self, seq: u64) -> String {
        ids::order_uid(self.run_key, seq)
    }

    /// The order with sequence number `seq`, independent of any other call.
    pub fn order_with_seq(&self, seq: u64) -> Order {
        let mut rng = ids::rng_for(self.run_key, Domain::Order, seq);
        let country = pick_country(&mut rng);
        let order_uid = self.uid_for(seq);
        let entry = *pick(&mut rng, catalog::ENTRIES);
        let track_number = format!("{entry}M{}", random_chars(&mut rng, ids::UPPER_ALNUM, 10));
        let (delivery, handle) = delivery(&mut rng, country);
        let items: Vec<Item> = (0..item_count(&mut rng))
            .map(|_| item(&mut rng, country, &track_number))
            .collect();
        let date_created = self.date_created(&mut rng);
        let payment = payment(&mut rng, country, &order_uid, &items, date_created);
        Order {
            order_uid,
            track_number,
            entry: entry.to_owned(),
            delivery,
            payment,
            items,
            locale: country.locale.to_owned(),
            internal_signature: maybe_hex(&mut rng, 10, 40),
            customer_id: format!("{handle}{}", rng.gen_range(1..10_000u32)),
            delivery_service: (*pick(&mut rng, &country.couriers)).to_owned(),
            shardkey: rng.gen_range(0..10u32).to_string(),
            sm_id: rng.gen_range(0..=100),
            date_created,
            oof_shard: rng.gen_range(1..=3u32).to_string(),
            extra: Extra::default(),
        }
    }

    /// A random stream of this run for the caller's own decisions (which records to poison or
    /// duplicate, trace ids), reproducible like the orders and independent of them.
    pub fn aux_rng(&self, stream: u64) -> ChaCha8Rng {
        ids::rng_for(self.run_key, Domain::Aux, stream)
    }

    /// Appends the JSON of order `seq` to `buf`, for callers that reuse one buffer per record.
    pub fn write_json_with_seq(&self, seq: u64, buf: &mut Vec<u8>) {
        write_json(&self.order_with_seq(seq), buf);
    }

    fn date_created(&self, rng: &mut ChaCha8Rng) -> DateTime<Utc> {
        let back = Duration::seconds(rng.gen_range(0..self.date_spread_secs));
        // A fifth of the producers send milliseconds; the rest whole seconds like the reference.
        let millis = if rng.gen_ratio(1, 5) {
            rng.gen_range(1..1000)
        } else {
            0
        };
        self.base_time - back - Duration::milliseconds(millis)
    }
}

impl Iterator for OrderGenerator {
    type Item = Order;

    fn next(&mut self) -> Option<Order> {
        Some(self.next_order())
    }
}

/// Serializes an order into `buf`. Our structs of strings and integers always serialize and a
/// `Vec` never fails to grow, so an error here is a bug, not an input problem.
pub(crate) fn write_json(order: &Order, buf: &mut Vec<u8>) {
    serde_json::to_writer(buf, order).expect("an Order always serializes to a Vec");
}

fn pick_country(rng: &mut ChaCha8Rng) -> &'static Country {
    let total: u32 = COUNTRIES.iter().map(|country| country.weight).sum();
    let mut ticket = rng.gen_range(0..total);
    for country in COUNTRIES.iter() {
        if ticket < country.weight {
            return country;
        }
        ticket -= country.weight;
    }
    &COUNTRIES[0]
}

/// Mostly one to five items, sometimes a dozen, rarely a big basket.
fn item_count(rng: &mut ChaCha8Rng) -> u32 {
    match rng.gen_range(0..100u32) {
        0..=39 => 1,
        40..=64 => 2,
        65..=79 => 3,
        80..=87 => 4,
        88..=92 => 5,
        93..=97 => rng.gen_range(6..=12),
        _ => rng.gen_range(13..=60),
    }
}

/// The delivery block and the ASCII handle (`ivanov.aleksei`) the customer id is built from.
fn delivery(rng: &mut ChaCha8Rng, country: &Country) -> (Delivery, String) {
    let names = country.names;
    let (given, given_ascii) = *pick(rng, &names.given);
    let (family, family_ascii) = *pick(rng, &names.family);
    let name = if names.family_first {
        format!("{family}{}{given}", names.joiner)
    } else {
        format!("{given}{}{family}", names.joiner)
    };
    let local = match rng.gen_range(0..5u32) {
        0 => format!("{given_ascii}.{family_ascii}"),
        1 => format!("{given_ascii}{family_ascii}{}", rng.gen_range(1..100u32)),
        2 => format!(
            "{}_{family_ascii}",
            given_ascii.chars().next().unwrap_or('x')
        ),
        3 => format!("{family_ascii}.{given_ascii}+shop"),
        _ => format!("{given_ascii}{}", rng.gen_range(1970..2010u32)),
    };
    let email = format!("{local}@{}", pick(rng, catalog::EMAIL_DOMAINS));
    let (code, national) = country.phone;
    let phone = format!("+{code}{}", digits(rng, national, true));
    let zip = digits(rng, country.zip_digits, false);
    let (city, region) = *pick(rng, &country.cities);
    let street = *pick(rng, &country.streets);
    let house = rng.gen_range(1..=250u32);
    let address = match country.address {
        AddressStyle::HouseFirst => format!("{house} {street}"),
        AddressStyle::HouseLast => format!("{street} {house}"),
        AddressStyle::Russian => format!("{street}, д. {house}, кв. {}", rng.gen_range(1..=400u32)),
        AddressStyle::Japanese => {
            format!(
                "{street}{}-{}-{}",
                rng.gen_range(1..=9u32),
                rng.gen_range(1..=30u32),
                house % 40 + 1
            )
        }
    };
    let delivery = Delivery {
        name,
        phone,
        zip,
        city: city.to_owned(),
        address,
        region: region.to_owned(),
        email,
        extra: Extra::default(),
    };
    (delivery, format!("{family_ascii}.{given_ascii}"))
}

fn item(rng: &mut ChaCha8Rng, country: &Country, track_number: &str) -> Item {
    let product: &Product = pick(rng, catalog::PRODUCTS);
    let (low, high) = product.price_cents;
    let price = shop_price(scale(rng.gen_range(low..=high), country));
    let sale = match rng.gen_range(0..200u32) {
        0 => 100, // a free gift
        1..=90 => 0,
        _ => *pick(rng, &[5, 10, 15, 20, 25, 30, 40, 50, 60, 70]),
    };
    Item {
        chrt_id: rng.gen_range(1_000_000..10_000_000),
        track_number: track_number.to_owned(),
        price,
        rid: format!("{}t", random_chars(rng, ids::HEX, 20)),
        name: product.name.to_owned(),
        sale,
        size: (*pick(rng, product.sizes)).to_owned(),
        // Integer arithmetic, rounding down, exactly as the contract's example does (453 -30% = 317).
        total_price: price * (100 - sale) / 100,
        nm_id: rng.gen_range(100_000..10_000_000),
        brand: (*pick(rng, product.brands)).to_owned(),
        status: *pick(rng, catalog::ITEM_STATUSES),
        extra: Extra::default(),
    }
}

fn payment(
    rng: &mut ChaCha8Rng,
    country: &Country,
    order_uid: &str,
    items: &[Item],
    date_created: DateTime<Utc>,
) -> Payment {
    let goods_total: i64 = items.iter().map(|item| item.total_price).sum();
    let delivery_cost = match rng.gen_range(0..10u32) {
        0..=2 => 0, // free shipping
        _ => scale(*pick(rng, &[199, 299, 499, 999, 1500]), country),
    };
    // Cross-border orders sometimes pay customs duty, a share of the goods.
    let custom_fee = if rng.gen_ratio(1, 10) {
        goods_total * rng.gen_range(5..=20) / 100
    } else {
        0
    };
    Payment {
        transaction: order_uid.to_owned(),
        request_id: maybe_hex(rng, 15, 32),
        currency: country.currency.to_owned(),
        provider: (*pick(rng, catalog::PROVIDERS)).to_owned(),
        amount: goods_total + delivery_cost + custom_fee,
        payment_dt: date_created.timestamp() + rng.gen_range(0..=900),
        bank: (*pick(rng, &country.banks)).to_owned(),
        delivery_cost,
        goods_total,
        custom_fee,
        extra: Extra::default(),
    }
}

/// US cents to this country's minor units.
fn scale(cents: i64, country: &Country) -> i64 {
    let (num, den) = country.price_scale;
    (cents * num / den).max(1)
}

/// Half of the prices end in 99 like shop prices do.
fn shop_price(price: i64) -> i64 {
    if price >= 1_000 && price % 2 == 0 {
        price / 100 * 100 + 99
    } else {
        price
    }
}

/// An empty string, or `len` hex digits `percent` percent of the time.
fn maybe_hex(rng: &mut ChaCha8Rng, percent: u32, len: usize) -> String {
    if rng.gen_range(0..100u32) < percent {
        random_chars(rng, ids::HEX, len)
    } else {
        String::new()
    }
}
