//! The reference writer: the rows `store_batch` writes, sent by four binary COPYs per batch in
//! one transaction, the fastest plain way PostgreSQL takes them.

use crate::Result;
use futures::pin_mut;
use order_model::ValidOrder;
use order_store::Db;
use std::time::{Duration, Instant};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Transaction;

/// The COPY row of an order's delivery or payment: the order's uid, then the part's fields in
/// the table's column order.
macro_rules! part_row {
    ($order:ident.$part:ident: $($field:ident),+ $(,)?) => {
        [&$order.order_uid, $(&$order.$part.$field),+]
    };
}

/// Time to write `orders` with four binary COPYs per batch of `size`, one transaction per batch.
pub async fn copy(db: &Db, orders: &[ValidOrder], size: usize) -> Result<Duration> {
    use Type as T;
    let mut client = db.pool().get().await?;
    let started = Instant::now();
    for batch in orders.chunks(size) {
        let tx = client.transaction().await?;
        let fingerprints: Vec<[u8; 32]> = batch.iter().map(ValidOrder::fingerprint).collect();
        let heads = batch.iter().zip(&fingerprints).map(|(order, fingerprint)| {
            let o = order.order();
            (
                o,
                &fingerprint[..],
                o.items.len() as i32,
                order.canonical_json(),
            )
        });
        // `document` is json, whose binary form is its text: sent as TEXT.
        let types = [
            &[T::TEXT; 8][..],
            &[T::INT8, T::TIMESTAMPTZ, T::TEXT, T::BYTEA, T::INT4, T::TEXT],
        ];
        copy_rows(
            &tx,
            "COPY orders (order_uid, track_number, entry, locale, internal_signature, \
             customer_id, delivery_service, shardkey, sm_id, date_created, oof_shard, \
             fingerprint, item_count, document) FROM STDIN BINARY",
            &types.concat(),
            heads,
            |(o, fingerprint, item_count, document)| {
                [
                    &o.order_uid,
                    &o.track_number,
                    &o.entry,
                    &o.locale,
                    &o.internal_signature,
                    &o.customer_id,
                    &o.delivery_service,
                    &o.shardkey,
                    &o.sm_id,
                    &o.date_created,
                    &o.oof_shard,
                    fingerprint,
                    item_count,
                    document,
                ]
            },
        )
        .await?;

        copy_rows(
            &tx,
            "COPY deliveries FROM STDIN BINARY",
            &[T::TEXT; 8],
            batch.iter().map(ValidOrder::order),
            |o| part_row!(o.delivery: name, phone, zip, city, address, region, email),
        )
        .await?;

        let types = [
            &[T::TEXT; 5][..],
            &[T::INT8, T::INT8, T::TEXT],
            &[T::INT8; 3],
        ];
        copy_rows(
            &tx,
            "COPY payments FROM STDIN BINARY",
            &types.concat(),
            batch.iter().map(ValidOrder::order),
            |o| {
                part_row!(o.payment: transaction, request_id, currency, provider, amount,
                    payment_dt, bank, delivery_cost, goods_total, custom_fee)
            },
        )
        .await?;

        let lines = batch.iter().flat_map(|order| {
            let o = order.order();
            o.items
                .iter()
                .enumerate()
                .map(move |(line, i)| (o, line as i32, i.sale as i16, i))
        });
        let types = [
            &[T::TEXT, T::INT4, T::INT8, T::TEXT, T::INT8][..],
            &[T::TEXT, T::TEXT, T::INT2, T::TEXT, T::INT8],
            &[T::INT8, T::TEXT, T::INT8],
        ];
        copy_rows(
            &tx,
            "COPY items FROM STDIN BINARY",
            &types.concat(),
            lines,
            |(o, line, sale, i)| {
                [
                    &o.order_uid,
                    line,
                    &i.chrt_id,
                    &i.track_number,
                    &i.price,
                    &i.rid,
                    &i.name,
                    sale,
                    &i.size,
                    &i.total_price,
                    &i.nm_id,
                    &i.brand,
                    &i.status,
                ]
            },
        )
        .await?;
        tx.commit().await?;
    }
    Ok(started.elapsed())
}

/// One binary COPY (`statement`, with column `types`) of `rows` inside `tx`; `columns` gives a
/// row's values in the statement's column order.
async fn copy_rows<R, const N: usize>(
    tx: &Transaction<'_>,
    statement: &str,
    types: &[Type],
    rows: impl IntoIterator<Item = R>,
    columns: impl for<'r> Fn(&'r R) -> [&'r (dyn ToSql + Sync); N],
) -> Result<()> {
    let sink = tx.copy_in(statement).await?;
    let writer = BinaryCopyInWriter::new(sink, types);
    pin_mut!(writer);
    for row in rows {
        writer.as_mut().write(&columns(&row)).await?;
    }
    writer.finish().await?;
    Ok(())
}
