//! The write side's fast path: a batch's rows sent by four binary `COPY`s, the cheapest way
//! PostgreSQL takes rows.
//!
//! The batch `INSERT` (`write.rs`) costs PostgreSQL about a third more CPU per order than `COPY`
//! of the same rows (measured with `pg_stat_activity` sampling during `bench/ingest.sh`): each of
//! its rows is a speculative insertion (`ON CONFLICT`), while `COPY` fills whole pages per WAL
//! record. But `COPY` cannot skip a uid that is already stored: the whole batch fails on it with
//! a unique violation. So the repository tries `COPY` first and, when a uid is taken (a
//! redelivery, or another writer's order under the same uid), rolls back and stores the batch
//! through the `INSERT`, which says per order what happened. [`CopyPolicy`] keeps a stream of
//! redeliveries from paying for both on every batch.

use super::write::{sale, small, split_nanos};
use super::StoreError;
use bytes::{BufMut, BytesMut};
use deadpool_postgres::Transaction;
use futures::SinkExt;
use order_model::ValidOrder;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{IsNull, ToSql, Type};

mod policy;
pub(crate) use policy::CopyPolicy;

/// How a `COPY` of a batch ended, when it did not store it.
pub(super) enum CopyFailed {
    /// A uid of the batch is already stored (or was, concurrently, by another writer): the
    /// transaction is aborted and the batch must go through the `INSERT`.
    UidTaken,
    /// The server refused the `COPY` before taking any row (no such table, no privilege, a
    /// read-only server). The driver sends its `COPY` with a `Sync` that the server honours only
    /// then, so one reply more comes back than the driver counts and the connection's replies
    /// are out of step from then on (rust-postgres issue 789): it must not be used again.
    Refused(StoreError),
    /// Anything else, as the `INSERT` would have reported it.
    Error(StoreError),
}

impl From<tokio_postgres::Error> for CopyFailed {
    fn from(err: tokio_postgres::Error) -> Self {
        if err.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            CopyFailed::UidTaken
        } else {
            CopyFailed::Error(err.into())
        }
    }
}

impl From<StoreError> for CopyFailed {
    fn from(err: StoreError) -> Self {
        CopyFailed::Error(err)
    }
}

/// Copies `orders[index]` for each index of `pick` (distinct uids, sorted, so concurrent
/// writers meet a shared uid in the same order and wait instead of deadlocking) into the four
/// tables, inside `tx`.
pub(super) async fn copy_batch(
    tx: &Transaction<'_>,
    orders: &[&ValidOrder],
    fingerprints: &[[u8; 32]],
    pick: &[usize],
) -> Result<(), CopyFailed> {
    use Type as T;
    let mut heads = Vec::with_capacity(pick.len());
    let mut lines = Vec::with_capacity(pick.len() * 4);
    for &index in pick {
        let order = orders[index].order();
        let (at, ns) = split_nanos(order.date_created);
        heads.push((
            order,
            &fingerprints[index][..],
            small(order.items.len(), "items")?,
            at,
            ns,
            orders[index].canonical_json(),
        ));
        for (line, item) in order.items.iter().enumerate() {
            let position = small(line, "line_no")?;
            lines.push((
                order,
                position,
                sale(&order.order_uid, line, item.sale)?,
                item,
            ));
        }
    }

    // `document` is json, whose binary form is its text: sent as TEXT.
    let types = [
        &[T::TEXT; 8][..],
        &[
            T::INT8,
            T::TIMESTAMPTZ,
            T::INT2,
            T::TEXT,
            T::BYTEA,
            T::INT4,
            T::TEXT,
        ],
    ];
    copy_rows(
        tx,
        "COPY orders (order_uid, track_number, entry, locale, internal_signature, customer_id, \
         delivery_service, shardkey, sm_id, date_created, date_created_ns, oof_shard, \
         fingerprint, item_count, document) FROM STDIN BINARY",
        &types.concat(),
        &heads,
        |(o, fingerprint, item_count, at, ns, document)| {
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
                at,
                ns,
                &o.oof_shard,
                fingerprint,
                item_count,
                document,
            ]
        },
    )
    .await?;

    copy_rows(
        tx,
        "COPY deliveries (order_uid, name, phone, zip, city, address, region, email) \
         FROM STDIN BINARY",
        &[T::TEXT; 8],
        &heads,
        |(o, ..)| {
            let d = &o.delivery;
            [
                &o.order_uid,
                &d.name,
                &d.phone,
                &d.zip,
                &d.city,
                &d.address,
                &d.region,
                &d.email,
            ]
        },
    )
    .await?;

    let types = [
        &[T::TEXT; 5][..],
        &[T::INT8, T::INT8, T::TEXT],
        &[T::INT8; 3],
    ];
    copy_rows(
        tx,
        "COPY payments (order_uid, transaction, request_id, currency, provider, amount, \
         payment_dt, bank, delivery_cost, goods_total, custom_fee) FROM STDIN BINARY",
        &types.concat(),
        &heads,
        |(o, ..)| {
            let p = &o.payment;
            [
                &o.order_uid,
                &p.transaction,
                &p.request_id,
                &p.currency,
                &p.provider,
                &p.amount,
                &p.payment_dt,
                &p.bank,
                &p.delivery_cost,
                &p.goods_total,
                &p.custom_fee,
            ]
        },
    )
    .await?;

    let types = [
        &[T::TEXT, T::INT4, T::INT8, T::TEXT, T::INT8][..],
        &[T::TEXT, T::TEXT, T::INT2, T::TEXT, T::INT8],
        &[T::INT8, T::TEXT, T::INT8],
    ];
    copy_rows(
        tx,
        "COPY items (order_uid, line_no, chrt_id, track_number, price, rid, name, sale, size, \
         total_price, nm_id, brand, status) FROM STDIN BINARY",
        &types.concat(),
        &lines,
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
    Ok(())
}

/// One binary `COPY` (`statement`, with column `types`) of `rows` inside `tx`; `columns` gives
/// a row's values in the statement's column order.
///
/// The rows are encoded into one buffer and sent as one message: the driver's own row writer
/// hands every 4 KB to the connection task, a wake-up and a socket write each (about 400 per
/// batch of 1,000 orders).
async fn copy_rows<R, const N: usize>(
    tx: &Transaction<'_>,
    statement: &str,
    types: &[Type],
    rows: &[R],
    columns: impl for<'r> Fn(&'r R) -> [&'r (dyn ToSql + Sync); N],
) -> Result<(), CopyFailed> {
    let mut data = BytesMut::new();
    data.put_slice(b"PGCOPY\n\xff\r\n\0");
    data.put_i32(0); // flags: no OIDs
    data.put_i32(0); // no header extension
    for row in rows {
        encode_row(&mut data, types, &columns(row))?;
    }
    data.put_i16(-1);

    let statement = tx.prepare_cached(statement).await?;
    let sink = tx
        .copy_in(&statement)
        .await
        .map_err(|err| CopyFailed::Refused(err.into()))?;
    let mut sink = std::pin::pin!(sink);
    sink.send(data.freeze()).await?;
    sink.finish().await?;
    Ok(())
}

/// Appends one row in `COPY`'s binary format: the field count, then each field's length and
/// its binary form.
fn encode_row(
    data: &mut BytesMut,
    types: &[Type],
    values: &[&(dyn ToSql + Sync)],
) -> Result<(), StoreError> {
    let encoding = |err: Box<dyn std::error::Error + Send + Sync>| {
        // The driver's encoding errors name types and ranges, never the value.
        StoreError::Other(format!("encoding a row for COPY: {err}"))
    };
    let fields = i16::try_from(values.len()).map_err(|err| encoding(err.into()))?;
    data.put_i16(fields);
    for (value, ty) in values.iter().zip(types) {
        let at = data.len();
        data.put_i32(0);
        let length = match value.to_sql_checked(ty, data).map_err(encoding)? {
            IsNull::Yes => -1,
            IsNull::No => i32::try_from(data.len() - at - 4).map_err(|err| encoding(err.into()))?,
        };
        data[at..at + 4].copy_from_slice(&length.to_be_bytes());
    }
    Ok(())
}
