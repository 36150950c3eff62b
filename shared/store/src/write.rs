//! The batch insert statement and the column arrays it takes.
//!
//! A whole batch is written by ONE statement: every column travels as a binary array parameter,
//! `unnest` turns the arrays back into rows, and data-modifying CTEs insert the orders (skipping
//! uids that already exist) and then the deliveries, payments and items of just the orders that
//! were inserted. One round trip, one implicit transaction, no per-row statements, and the
//! statement is prepared once per connection. Besides the normalized columns, each order's
//! canonical JSON goes into `orders.document` (migration 0003), which the read side serves.

use super::StoreError;
use chrono::{DateTime, TimeDelta, Utc};
use order_model::ValidOrder;
use tokio_postgres::types::ToSql;

/// Inserts a batch; returns one row per input order: its 1-based position in the arrays,
/// whether this statement inserted it, and otherwise the fingerprint of the order already
/// stored under its uid. All parts of the statement see the snapshot taken when it started,
/// so `o.fingerprint` is only ever an order committed before this batch. A uid that another
/// transaction committed while we waited on its row lock comes back as neither (NULL): the
/// caller looks it up again with [`RESOLVE_SQL`].
pub(super) const INSERT_SQL: &str = "
WITH src AS MATERIALIZED (
    SELECT * FROM unnest(
        $1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
        $8::text[], $9::int8[], $10::timestamptz[], $11::int2[], $12::text[], $13::bytea[],
        $14::int4[],
        $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::text[],
        $22::text[], $23::text[], $24::text[], $25::text[], $26::int8[], $27::int8[],
        $28::text[], $29::int8[], $30::int8[], $31::int8[], $45::text[]
    ) WITH ORDINALITY AS s(
        order_uid, track_number, entry, locale, internal_signature, customer_id,
        delivery_service, shardkey, sm_id, date_created, date_created_ns, oof_shard,
        fingerprint, item_count,
        d_name, d_phone, d_zip, d_city, d_address, d_region, d_email,
        p_transaction, p_request_id, p_currency, p_provider, p_amount, p_payment_dt,
        p_bank, p_delivery_cost, p_goods_total, p_custom_fee, document,
        ord
    )
), ins AS (
    INSERT INTO orders (order_uid, track_number, entry, locale, internal_signature, customer_id,
                        delivery_service, shardkey, sm_id, date_created, date_created_ns,
                        oof_shard, fingerprint, item_count, document)
    SELECT order_uid, track_number, entry, locale, internal_signature, customer_id,
           delivery_service, shardkey, sm_id, date_created, date_created_ns,
           oof_shard, fingerprint, item_count, document::json
    FROM src
    ON CONFLICT (order_uid) DO NOTHING
    RETURNING order_uid
), ins_deliveries AS (
    INSERT INTO deliveries (order_uid, name, phone, zip, city, address, region, email)
    SELECT order_uid, d_name, d_phone, d_zip, d_city, d_address, d_region, d_email
    FROM src WHERE order_uid IN (SELECT order_uid FROM ins)
), ins_payments AS (
    INSERT INTO payments (order_uid, transaction, request_id, currency, provider, amount,
                          payment_dt, bank, delivery_cost, goods_total, custom_fee)
    SELECT order_uid, p_transaction, p_request_id, p_currency, p_provider, p_amount,
           p_payment_dt, p_bank, p_delivery_cost, p_goods_total, p_custom_fee
    FROM src WHERE order_uid IN (SELECT order_uid FROM ins)
), ins_items AS (
    INSERT INTO items (order_uid, line_no, chrt_id, track_number, price, rid, name, sale, size,
                       total_price, nm_id, brand, status)
    SELECT * FROM unnest(
        $32::text[], $33::int4[], $34::int8[], $35::text[], $36::int8[], $37::text[],
        $38::text[], $39::int2[], $40::text[], $41::int8[], $42::int8[], $43::text[],
        $44::int8[]
    ) AS it(order_uid, line_no, chrt_id, track_number, price, rid, name, sale, size,
            total_price, nm_id, brand, status)
    WHERE it.order_uid IN (SELECT order_uid FROM ins)
)
SELECT src.ord, ins.order_uid IS NOT NULL AS inserted,
       CASE WHEN ins.order_uid IS NULL
            THEN (SELECT o.fingerprint FROM orders o WHERE o.order_uid = src.order_uid) END
FROM src
LEFT JOIN ins ON ins.order_uid = src.order_uid";

/// Fingerprints of orders committed by other transactions after our batch statement started.
pub(super) const RESOLVE_SQL: &str =
    "SELECT order_uid, fingerprint FROM orders WHERE order_uid = ANY($1::text[])";

/// `date_created` split into what `timestamptz` holds (whole microseconds, rounded down) and the
/// nanoseconds below that, so a nanosecond timestamp is served back as the same instant.
pub(super) fn split_nanos(at: DateTime<Utc>) -> (DateTime<Utc>, i16) {
    let below_micro = at.timestamp_subsec_nanos() % 1000;
    // < 1000, so both conversions are exact.
    (
        at - TimeDelta::nanoseconds(i64::from(below_micro)),
        below_micro as i16,
    )
}

/// The parameters of [`INSERT_SQL`] for some orders, as column arrays borrowing from them.
#[derive(Default)]
pub(super) struct Columns<'a> {
    uid: Vec<&'a str>,
    track_number: Vec<&'a str>,
    entry: Vec<&'a str>,
    locale: Vec<&'a str>,
    internal_signature: Vec<&'a str>,
    customer_id: Vec<&'a str>,
    delivery_service: Vec<&'a str>,
    shardkey: Vec<&'a str>,
    sm_id: Vec<i64>,
    date_created: Vec<DateTime<Utc>>,
    date_created_ns: Vec<i16>,
    oof_shard: Vec<&'a str>,
    fingerprint: Vec<&'a [u8]>,
    item_count: Vec<i32>,
    /// The canonical JSON, served as is by the read side.
    document: Vec<&'a str>,
    delivery: [Vec<&'a str>; 7],
    p_text: [Vec<&'a str>; 4],
    p_amount: Vec<i64>,
    p_payment_dt: Vec<i64>,
    p_bank: Vec<&'a str>,
    p_money: [Vec<i64>; 3],
    i_uid: Vec<&'a str>,
    i_line: Vec<i32>,
    i_int: [Vec<i64>; 5],
    i_text: [Vec<&'a str>; 5],
    i_sale: Vec<i16>,
}

impl<'a> Columns<'a> {
    /// Columns for `orders[index]` for each index of `pick`, in that order.
    pub(super) fn new(
        orders: &[&'a ValidOrder],
        fingerprints: &'a [[u8; 32]],
        pick: &[usize],
    ) -> Result<Self, StoreError> {
        let mut c = Columns::default();
        for &index in pick {
            let order = orders[index].order();
            let (at, ns) = split_nanos(order.date_created);
            let (d, p) = (&order.delivery, &order.payment);
            c.uid.push(&order.order_uid);
            c.track_number.push(&order.track_number);
            c.entry.push(&order.entry);
            c.locale.push(&order.locale);
            c.internal_signature.push(&order.internal_signature);
            c.customer_id.push(&order.customer_id);
            c.delivery_service.push(&order.delivery_service);
            c.shardkey.push(&order.shardkey);
            c.sm_id.push(order.sm_id);
            c.date_created.push(at);
            c.date_created_ns.push(ns);
            c.oof_shard.push(&order.oof_shard);
            c.fingerprint.push(&fingerprints[index]);
            c.item_count.push(small(order.items.len(), "items")?);
            c.document.push(orders[index].canonical_json());
            let delivery = [
                &d.name, &d.phone, &d.zip, &d.city, &d.address, &d.region, &d.email,
            ];
            for (column, value) in c.delivery.iter_mut().zip(delivery) {
                column.push(value);
            }
            let text = [&p.transaction, &p.request_id, &p.currency, &p.provider];
            for (column, value) in c.p_text.iter_mut().zip(text) {
                column.push(value);
            }
            c.p_amount.push(p.amount);
            c.p_payment_dt.push(p.payment_dt);
            c.p_bank.push(&p.bank);
            for (column, value) in
                c.p_money
                    .iter_mut()
                    .zip([p.delivery_cost, p.goods_total, p.custom_fee])
            {
                column.push(value);
            }
            for (line, item) in order.items.iter().enumerate() {
                c.i_uid.push(&order.order_uid);
                c.i_line.push(small(line, "line_no")?);
                c.i_sale.push(sale(&order.order_uid, line, item.sale)?);
                let ints = [
                    item.chrt_id,
                    item.price,
                    item.total_price,
                    item.nm_id,
                    item.status,
                ];
                for (column, value) in c.i_int.iter_mut().zip(ints) {
                    column.push(value);
                }
                let text = [
                    &item.track_number,
                    &item.rid,
                    &item.name,
                    &item.size,
                    &item.brand,
                ];
                for (column, value) in c.i_text.iter_mut().zip(text) {
                    column.push(value);
                }
            }
        }
        Ok(c)
    }

    /// The 45 parameters in the order [`INSERT_SQL`] numbers them.
    pub(super) fn params(&self) -> [&(dyn ToSql + Sync); 45] {
        let [d_name, d_phone, d_zip, d_city, d_address, d_region, d_email] = &self.delivery;
        let [p_transaction, p_request_id, p_currency, p_provider] = &self.p_text;
        let [p_delivery_cost, p_goods_total, p_custom_fee] = &self.p_money;
        let [chrt_id, price, total_price, nm_id, status] = &self.i_int;
        let [i_track, rid, name, size, brand] = &self.i_text;
        [
            &self.uid,
            &self.track_number,
            &self.entry,
            &self.locale,
            &self.internal_signature,
            &self.customer_id,
            &self.delivery_service,
            &self.shardkey,
            &self.sm_id,
            &self.date_created,
            &self.date_created_ns,
            &self.oof_shard,
            &self.fingerprint,
            &self.item_count,
            d_name,
            d_phone,
            d_zip,
            d_city,
            d_address,
            d_region,
            d_email,
            p_transaction,
            p_request_id,
            p_currency,
            p_provider,
            &self.p_amount,
            &self.p_payment_dt,
            &self.p_bank,
            p_delivery_cost,
            p_goods_total,
            p_custom_fee,
            &self.i_uid,
            &self.i_line,
            chrt_id,
            i_track,
            price,
            rid,
            name,
            &self.i_sale,
            size,
            total_price,
            nm_id,
            brand,
            status,
            &self.document,
        ]
    }
}

/// Counts that the schema stores as `integer`; validated orders are far below the limit.
pub(super) fn small(value: usize, what: &str) -> Result<i32, StoreError> {
    i32::try_from(value).map_err(|_| StoreError::Rejected(format!("{what} {value} out of range")))
}

/// An item's `sale`, which the schema stores as `smallint`.
pub(super) fn sale(order_uid: &str, line: usize, sale: i64) -> Result<i16, StoreError> {
    i16::try_from(sale)
        .map_err(|_| StoreError::Rejected(format!("{order_uid}: items[{line}].sale out of range")))
}
